"""The web application: server-rendered pages for signing in, inbox and outbox, a transfer and
its custody trail, acknowledging receipt, your keys, sending content from the browser, and
your sessions, tokens and security keys.

Every page declares its policy with ``requires(..., web=True)``: authenticated by the
``__Host-custody`` session cookie, with CSRF checks on every state-changing request. Content
is never encrypted or decrypted here: the send page's script encrypts it in the sender's browser,
as ``custody send`` does; ``custody receive`` decrypts and verifies it on the reader's machine.
See docs/web.md.
"""

from __future__ import annotations

from fastapi import APIRouter

from custody.web import (
    app_pages,
    security_pages,
    send_pages,
    sign_in,
    transfer_pages,
)

routers: tuple[APIRouter, ...] = (
    sign_in.router,
    transfer_pages.router,
    security_pages.router,
    app_pages.router,
    send_pages.router,
)
