"""The JSON API: FastAPI routers over the services, the tus endpoint and the log's read API.

Built on the shared HTTP plumbing (``custody.http``); the composition root
(``custody.server``) mounts these beside the web application's pages.
"""

from __future__ import annotations

from fastapi import APIRouter

from custody.api import (
    ledger_routes,
    routes,
    routes_assurance,
    routes_delivery,
    routes_people,
    routes_security,
    tus,
)

routers: tuple[APIRouter, ...] = (
    routes.router,
    tus.router,
    ledger_routes.router,
    routes_delivery.router,
    routes_assurance.router,
    routes_security.router,
    routes_people.router,
)
