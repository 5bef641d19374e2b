"""GET /metrics (only for CUSTODY_METRICS_TOKEN's bearer; off without it) and the JSON log
formatter (the message's template and its numbers, never the strings put into it)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from custody.server.logs import JsonFormatter, request_id
from custody.settings import Settings
from support.in_process import in_process

TOKEN = "m" * 16 + "3f9a1c0e7b2d4a6f8c1e3b5d7f9a2c4e"


def test_metrics_are_off_without_a_token(tmp_path: Path) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        assert w.client.get("/metrics").status_code == 404


def test_metrics_only_for_the_token_and_by_route_template(tmp_path: Path) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}",
                    metrics_token=TOKEN) as w:
        assert w.client.get("/metrics").status_code == 401
        wrong = w.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        w.client.get("/api/v1/transfers/3b7e0c52-0000-4000-8000-000000000001")  # no token: 401
        w.client.get("/no/such/page/3b7e0c52")
        scraped = w.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scraped.text
    assert ('custody_http_requests_total{method="GET",route="/api/v1/transfers/{transfer_id}",'
            'status="401"} 1.0') in text
    assert 'custody_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "3b7e0c52" not in text  # paths are never labels


def test_a_short_metrics_token_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="CUSTODY_METRICS_TOKEN is short"):
        Settings(metrics_token="short-token")  # noqa: S106 - the weak value refused


def _line(msg: str, *args: object, exc: bool = False) -> dict[str, object]:
    record = logging.LogRecord("custody.alerts", logging.WARNING, __file__, 1, msg, args,
                               sys.exc_info() if exc else None)
    parsed: dict[str, object] = json.loads(JsonFormatter().format(record))
    return parsed


def test_a_json_line_has_the_template_and_numbers_only() -> None:
    line = _line("alert %s to %s failed (attempt %d): %s", "a1b2", "email:j.bloggs@cps.example",
                 3, "550 mailbox of J. Bloggs full")
    assert line["message"] == "alert %s to %s failed (attempt %d): %s"
    assert line["numbers"] == [3]
    assert line["level"] == "warning"
    assert line["logger"] == "custody.alerts"
    said = json.dumps(line)
    assert "bloggs" not in said.lower()
    assert "a1b2" not in said


def test_a_json_line_carries_the_request_id_and_an_exception_without_its_message() -> None:
    token = request_id.set("0123456789abcdef")
    try:
        try:
            raise ValueError("secret-name-of-a-file.mp4")  # noqa: TRY301 - a logged exception
        except ValueError:
            line = _line("unexpected error answering %s %s", "GET", "/x", exc=True)
    finally:
        request_id.reset(token)
    assert line["request_id"] == "0123456789abcdef"
    assert line["exception"] == "ValueError"
    assert isinstance(line["at"], list)
    assert line["at"]
    assert "secret-name" not in json.dumps(line)
