"""The "Share onward" pages in process (``/items/{id}/share``): who is offered and may open
them, the server's checks of the reader and the expiry at "Continue" (each a form with its
message, nothing shared), and a confirmation that names whom and until when and shares
nothing itself: the wrap is made and posted by the page's script (tested in Chromium,
tests/integration/test_browser_share.py, and in Node, js/test/sharing.test.ts)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from support.browser import csrf_of
from support.in_process import InProcess
from unit.web.test_case_transfer_report_pages import as_, send, w  # noqa: F401 (fixtures)


def _data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    assert found, html
    return dict(json.loads(found[1]))


def _shared_with(w: InProcess, key: str) -> list[object]:  # noqa: F811 (a fixture's name)
    answer = w.client.get("/api/v1/shared", headers=w.members[key].auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["shared"])


def test_holders_who_may_send_are_offered_it_and_nobody_else_opens_it(
    w: InProcess, as_: Any  # noqa: F811 (fixtures)
) -> None:
    _, tid, item = send(w)
    for holder in ("prosecutor", "officer"):  # the recipient, and the sender
        page = as_(holder).client.get(f"/transfers/{tid}")
        assert f'href="/items/{item}/share"' in page.text, holder
        form = as_(holder).client.get(f"/items/{item}/share")
        assert form.status_code == 200, holder
        assert 'id="share-form"' in form.text
    assert as_("auditor").client.get(f"/items/{item}/share").status_code == 403
    assert as_("stranger").client.get(f"/items/{item}/share").status_code == 404
    # A colleague of the recipient's organisation the transfer was not sent to holds no key.
    assert as_("colleague").client.get(f"/items/{item}/share").status_code == 404


def test_continue_checks_the_reader_and_the_expiry_and_shares_nothing(
    w: InProcess, as_: Any  # noqa: F811 (fixtures)
) -> None:
    _, _, item = send(w)
    p = as_("prosecutor")
    csrf = csrf_of(p.client.get(f"/items/{item}/share").text)
    url = f"/items/{item}/share"
    assert p.post(url, None, email="dc.jones@tvp.police.example").status_code == 403  # CSRF

    for fields, status, said in [
        ({"email": ""}, 400, "Enter the e-mail address"),
        ({"email": "nobody@cps.example"}, 404, "No one to share with"),
        ({"email": "audit@cps.example"}, 404, "No one to share with"),
        ({"email": "a.patel@cps.example"}, 400, "cannot share an item with yourself"),
        ({"email": "b.khan@cps.example"}, 409, "Ask them to make their keys"),
        ({"email": "dc.jones@tvp.police.example", "expires": "2001-01-01"}, 400, "in the past"),
        ({"email": "dc.jones@tvp.police.example", "expires": "soon"}, 400, "neither"),
    ]:
        refused = p.post(url, csrf, **fields)
        assert refused.status_code == status, (fields, refused.text)
        assert 'id="share-form-error"' in refused.text, fields
        assert said in refused.text, fields
        assert 'aria-invalid="true"' in refused.text
        assert "page-data" not in refused.text  # no script, nothing to share

    confirm = p.post(url, csrf, email=" DC.Jones@tvp.police.example ", expires="7d")
    assert confirm.status_code == 200, confirm.text
    until = w.clock.now() + timedelta(days=7)
    data = _data(confirm.text)
    assert data["item"] == item
    assert data["email"] == "dc.jones@tvp.police.example"
    assert datetime.fromisoformat(data["expires"]) == until.replace(microsecond=0)
    assert data["until"] == f"until {until:%Y-%m-%d %H:%M} UTC"
    assert f">{data['until']}<" in confirm.text
    assert 'src="/static/app/app-share.js"' in confirm.text
    assert _shared_with(w, "officer") == []  # the confirmation shares nothing

    no_expiry = _data(p.post(url, csrf, email="dc.jones@tvp.police.example").text)
    assert no_expiry["expires"] is None
    assert no_expiry["until"] == "with no expiry"
