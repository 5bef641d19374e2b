"""Alert channels: e-mail over SMTP and signed webhooks (in-app notices need no channel).

Webhook signature (docs/operations.md): header ``Custody-Signature: t=<unix>,v1=<hex>``
where ``<hex>`` is HMAC-SHA256 under the organisation's secret of ``"<t>." + body``.
A receiver recomputes it, compares in constant time and rejects a ``t`` more than
five minutes away from its own clock (a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from custody.settings import Settings

SIGNATURE_HEADER = "Custody-Signature"
REPLAY_WINDOW_SECONDS = 300


class DeliveryFailed(Exception):
    """One attempt to deliver an alert failed; the outbox retries it later."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...


class SmtpMailer:
    """Plain SMTP (optionally STARTTLS and AUTH), one connection per message."""

    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise ValueError("no SMTP host configured")
        self._settings = settings
        self._host = settings.smtp_host

    def send(self, email: Email) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message.set_content(email.body)
        try:
            with smtplib.SMTP(self._host, s.smtp_port, timeout=15) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username and s.smtp_password:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {self._host}:{s.smtp_port}: {exc}") from exc


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Custody-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, now: int) -> bool:
    """What a receiver does: right MAC, and a timestamp within the replay window."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


class WebhookSender(Protocol):
    def post(self, url: str, secret: str, body: bytes, timestamp: int) -> None: ...


class HttpWebhookSender:
    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport

    def post(self, url: str, secret: str, body: bytes, timestamp: int) -> None:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            "User-Agent": "custody-alerts",
        }
        try:
            with httpx.Client(timeout=15, transport=self._transport) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook {url}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"webhook {url} answered {response.status_code}")
