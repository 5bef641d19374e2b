"""What the server sends out, received for real: e-mail (aiosmtpd on loopback) and signed
webhooks (an HTTP server on loopback that checks every signature it is given)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from custody.services.alerts import SIGNATURE_HEADER, verify_signature
from support.cli import free_port


class Mailbox:
    """A real SMTP server on loopback; ``messages`` as people read them: to, subject, body."""

    def __init__(self, port: int | None = None) -> None:
        """On a free port, or on ``port`` (the same address again: a mail server back up)."""
        self.messages: list[dict[str, str]] = []
        self._stopped = False
        self._controller = Controller(self, hostname="127.0.0.1", port=port or free_port())
        self._controller.start()
        self.port = int(self._controller.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content)
        raw = message.get_payload(decode=True)  # as a mail client shows it (quoted-printable)
        body = raw.decode() if isinstance(raw, bytes) else str(message.get_payload())
        for to in envelope.rcpt_tos:
            self.messages.append({"to": to, "subject": str(message["Subject"]), "body": body})
        return "250 OK"

    def code_for(self, email: str, flag: str, *, wait: float = 10) -> str:
        """The one-time code in the newest e-mail to ``email`` (``--activation-code`` ...):
        what only that person can read. Waits for the mail to arrive."""
        deadline = time.monotonic() + wait
        while True:
            bodies = [m["body"] for m in self.messages if m["to"] == email]
            found = re.search(rf"{flag} ([A-Z2-7-]+)", bodies[-1]) if bodies else None
            if found:
                return found[1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {flag} e-mailed to {email}: {self.messages}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (again: nothing more)."""
        if not self._stopped:
            self._stopped = True
            self._controller.stop()


@dataclass
class Webhooks:
    """A webhook receiver on loopback: what it got, as (json body + path, signature valid?)."""

    secrets: dict[str, str] = field(default_factory=dict)  # by path
    now: int = 0
    received: list[tuple[dict[str, Any], bool]] = field(default_factory=list)
    fail_next: int = 0

    def __post_init__(self) -> None:
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hooks.fail_next:
                    hooks.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                secret = hooks.secrets.get(self.path, "")
                valid = verify_signature(secret, self.headers[SIGNATURE_HEADER], body, hooks.now)
                hooks.received.append(({**json.loads(body), "path": self.path}, valid))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
