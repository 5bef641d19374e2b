"""The JSON API: one router per area over the services, the tus endpoint and the log's
public read API. Bodies are the wire models of ``custody.protocol``; the composition root
(``custody.server``) mounts these beside the web application's pages.
"""

from __future__ import annotations

from fastapi import APIRouter

from custody.api import accounts, assurance, log, people, trails, transfers, tus, viewing

routers: tuple[APIRouter, ...] = (
    accounts.router,
    transfers.router,
    viewing.router,
    tus.router,
    trails.router,
    log.router,
    assurance.router,
    people.router,
)
