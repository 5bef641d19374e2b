"""The web application: server-rendered pages for signing in, inbox and outbox, a transfer and
its custody trail, acknowledging receipt, your keys, receiving and playing content in the
browser, and your sessions, tokens and security keys.

Every page declares its policy with ``requires(..., web=True)``: authenticated by the
``__Host-custody`` session cookie, with CSRF checks on every state-changing request. Content
is never decrypted here: the pages' scripts decrypt it in the reader's browser, as
``custody receive`` does on the reader's machine. See docs/web.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from custody.web import (
    admin_pages,
    app_pages,
    case_pages,
    first_sign_in,
    incident_pages,
    notice_pages,
    receive_pages,
    report_pages,
    retention_pages,
    security_pages,
    send_pages,
    sign_in,
    transfer_pages,
)

routers: tuple[APIRouter, ...] = (
    sign_in.router,
    first_sign_in.router,
    transfer_pages.router,
    case_pages.router,
    report_pages.router,
    security_pages.router,
    app_pages.router,
    send_pages.router,
    receive_pages.router,
    admin_pages.router,
    notice_pages.router,
    incident_pages.router,
    retention_pages.router,
)
