"""The notices, e-mail settings, incident and retention pages, in process: who may see and do
what (another organisation's people learn nothing: 404; a wrong role is refused: 403), and
what each page shows. CSRF on their forms is ``requires(web=True)``'s, checked here once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from custody.domain.people import Role
from custody.services import notifications
from custody.services.context import Actor
from custody.services.notifications import Preferences
from support.browser import Browser
from support.in_process import InProcess, Member, in_process
from support.world import CPS, OTHER, POLICE

URN = "47TV0000017"


@dataclass
class Scene:
    w: InProcess
    transfer: str
    item: str
    browsers: dict[str, Browser]

    def as_(self, key: str) -> Browser:
        if key not in self.browsers:
            browser = Browser(self.w)
            browser.sign_in(self.w.members[key])
            self.browsers[key] = browser
        return self.browsers[key]

    def get(self, key: str, path: str) -> tuple[int, str]:
        response = self.as_(key).client.get(path)
        return response.status_code, response.text

    def post(self, key: str, path: str, **fields: str) -> tuple[int, str, str]:
        browser = self.as_(key)
        response = browser.post(path, browser.csrf(), **fields)
        return response.status_code, response.text, response.headers.get("location", "")

    def later(self, delta: timedelta) -> None:
        """Move the clock; everyone signs in again (their sessions have expired)."""
        self.w.clock.advance(delta)
        for browser in self.browsers.values():
            browser.close()
        self.browsers.clear()

    def actor(self, key: str) -> Actor:
        m: Member = self.w.members[key]
        return Actor(m.user_id, m.email, "", m.role)


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        prosecutor2 = w.add("prosecutor2", "b.okafor@cps.example", CPS, Role.PROSECUTOR)
        w.add("cps_admin", "admin@cps.example", CPS, Role.ADMIN)
        w.add("auditor", "audit@cps.example", CPS, Role.AUDITOR)
        outsider = w.add("outsider", "pc.reid@northshire.police.example", OTHER, Role.OFFICER)
        w.add("outside_admin", "admin@northshire.police.example", OTHER, Role.ADMIN)
        for m in (officer, prosecutor, prosecutor2, outsider):
            w.register_keys(m)
        ids = w.transfer(officer, CPS, URN, send=True)
        s = Scene(w, ids["transfer"], ids["item"], {})
        yield s
        for b in s.browsers.values():
            b.close()


def _incident(scene: Scene, key: str = "prosecutor") -> str:
    status, text, to = scene.post(
        key, "/incidents", ref=scene.transfer, reason="a copy went to the wrong unit"
    )
    assert status == 303, text
    found = re.fullmatch(r"/incidents/([0-9a-f-]{36})\?opened=1", to)
    assert found, to
    return found[1]


# ── notices and e-mail settings ──


def test_notices_list_the_new_transfer_with_its_link(scene: Scene) -> None:
    status, page = scene.get("prosecutor", "/notices")
    assert status == 200
    assert "A transfer from Thames Valley Police has arrived for you" in page
    assert f'href="/transfers/{scene.transfer}"' in page
    assert URN not in page
    status, page = scene.get("outsider", "/notices")
    assert status == 200
    assert 'id="empty"' in page


def test_each_person_sets_their_own_emails(scene: Scene) -> None:
    status, page = scene.get("prosecutor", "/settings/notifications")
    assert status == 200
    assert len(re.findall(r"checked", page)) == 3  # every e-mail, by default
    status, _, to = scene.post("prosecutor", "/settings/notifications", received="yes")
    assert (status, to) == (303, "/settings/notifications?saved=1")
    ws = scene.w.ctx
    assert notifications.preferences(ws, scene.actor("prosecutor")) == Preferences(
        new_transfer=False, received=True, acknowledged=False
    )
    assert notifications.preferences(ws, scene.actor("prosecutor2")) == Preferences()
    status, page = scene.get("prosecutor", "/settings/notifications?saved=1")
    assert 'id="pref-new" checked' not in page
    assert 'id="pref-received" checked' in page
    # Without the session's CSRF token the form is refused, and nothing changes.
    browser = scene.as_("prosecutor2")
    refused = browser.post("/settings/notifications", None)
    assert refused.status_code == 403
    assert notifications.preferences(ws, scene.actor("prosecutor2")) == Preferences()


# ── incidents ──


def test_open_an_incident_see_the_clock_report_and_close(scene: Scene) -> None:
    incident = _incident(scene)
    status, page = scene.get("prosecutor", f"/incidents/{incident}")
    assert status == 200
    assert "72 h 00 min left to report it to the regulator" in page
    assert "clock-running" in page
    assert "a copy went to the wrong unit" in page
    assert 'id="mark-reported"' in page
    assert 'id="close-incident"' in page
    status, listing = scene.get("cps_admin", "/incidents")
    assert status == 200
    assert f'data-incident="{incident}"' in listing

    scene.later(timedelta(hours=73))
    status, page = scene.get("prosecutor", f"/incidents/{incident}")
    assert "Overdue by 1 h 0" in page
    assert "clock-overdue" in page

    # Another recipient who did not open it may read it, but not mark it.
    status, page = scene.get("prosecutor2", f"/incidents/{incident}")
    assert status == 200
    assert 'id="mark-reported"' not in page
    status, page, _ = scene.post("prosecutor2", f"/incidents/{incident}/reported")
    assert status == 403
    # An admin of the receiving organisation may.
    status, _, to = scene.post("cps_admin", f"/incidents/{incident}/reported")
    assert (status, to) == (303, f"/incidents/{incident}?done=reported")
    status, page = scene.get("prosecutor", f"/incidents/{incident}")
    assert "Reported to the regulator" in page
    assert "admin@cps.example" in page
    status, page, _ = scene.post("cps_admin", f"/incidents/{incident}/reported")
    assert status == 409
    assert "already marked reported" in page
    status, _, to = scene.post("prosecutor", f"/incidents/{incident}/close")
    assert (status, to) == (303, f"/incidents/{incident}?done=closed")
    status, page = scene.get("prosecutor", to)
    assert 'id="close-incident"' not in page
    assert "The incident is closed" in page


def test_another_organisation_learns_nothing_of_an_incident(scene: Scene) -> None:
    incident = _incident(scene)
    for key in ("outsider", "outside_admin", "auditor"):
        status, page = scene.get(key, f"/incidents/{incident}")
        assert status == 404, key
        assert "a copy went to the wrong unit" not in page
        status, page = scene.get(key, "/incidents")
        assert status == 200
        assert incident not in page
        for action in ("reported", "close"):
            status, _, _ = scene.post(key, f"/incidents/{incident}/{action}")
            assert status == 404, (key, action)
    # Nor can they open one on a transfer that is not theirs (no oracle for it existing).
    status, page, _ = scene.post("outsider", "/incidents", ref=scene.transfer, reason="x")
    assert status == 404
    status, page, _ = scene.post("outsider", "/incidents", ref=scene.item, reason="x")
    assert status == 404


def test_an_incident_form_that_cannot_be_taken_says_what_to_do(scene: Scene) -> None:
    status, page, _ = scene.post("prosecutor", "/incidents", ref=scene.transfer, reason=" ")
    assert status == 400
    assert 'role="alert"' in page
    assert "Give a reason" in page
    assert f'value="{scene.transfer}"' in page  # what was typed is kept
    status, page, _ = scene.post("prosecutor", "/incidents", ref="", reason="lost")
    assert status == 400
    assert "Paste its id from the transfer" in page
    _incident(scene)
    status, page, _ = scene.post("prosecutor", "/incidents", ref=scene.transfer, reason="again")
    assert status == 409
    assert "is already open on this" in page


def test_an_incident_on_one_item(scene: Scene) -> None:
    status, _, to = scene.post("officer", "/incidents", ref=scene.item, reason="laptop stolen")
    assert status == 303
    status, page = scene.get("officer", to.split("?")[0])
    assert status == 200
    assert "one item" in page
    assert f'data-item="{scene.item}"' in page


# ── retention and legal holds ──


def test_the_case_owner_sets_retention_and_sees_it(scene: Scene) -> None:
    status, page = scene.get("officer", f"/retention?ref={URN}")
    assert status == 200
    assert 'id="set-retention"' in page
    assert scene.item in page
    status, _, to = scene.post("officer", "/retention", ref=URN, period="7y")
    assert (status, to) == (303, f"/retention?ref={URN}&done=retention")
    status, page = scene.get("officer", f"/retention?ref={URN}")
    assert "2033-11-25" in page  # seven calendar years from the world's clock
    # Extending the item's own date beyond its case's.
    status, _, _ = scene.post("officer", "/retention", ref=scene.item, until="2040-01-31")
    assert status == 303
    status, page = scene.get("officer", f"/retention?ref={scene.item}")
    assert re.search(r'id="effective">2040-01-31', page)


def test_a_bad_date_is_announced_with_what_to_write(scene: Scene) -> None:
    status, page, _ = scene.post("officer", "/retention", ref=URN, period="7 decades")
    assert status == 400
    assert 'role="alert"' in page
    assert "90d, 26w, 18m or 7y" in page
    status, page, _ = scene.post("officer", "/retention", ref=URN, until="2030-01-01", period="1y")
    assert status == 400
    assert "not both" in page


def test_a_recipient_holds_but_does_not_set_the_senders_date(scene: Scene) -> None:
    status, page = scene.get("prosecutor", f"/retention?ref={scene.item}")
    assert status == 200
    assert 'id="cannot-set"' in page
    assert "organisation that sent it" in page
    assert 'id="place-hold"' in page
    status, _, _ = scene.post("prosecutor", "/retention", ref=scene.item, period="1d")
    assert status == 403
    status, _, to = scene.post(
        "prosecutor", "/retention/hold", ref=scene.item, reason="appeal pending", action="place"
    )
    assert (status, to) == (303, f"/retention?ref={scene.item}&done=held")
    status, page = scene.get("prosecutor", f"/retention?ref={scene.item}")
    assert "appeal pending" in page
    assert "not while a legal hold stands" in page
    # The sender's organisation does not see the CPS's reasons.
    status, page = scene.get("officer", f"/retention?ref={scene.item}")
    assert status == 200
    assert "appeal pending" not in page
    # Someone who did not set it, and is no admin, cannot lift it; who set it can.
    status, _, _ = scene.post(
        "prosecutor2", "/retention/hold", ref=scene.item, reason="done", action="lift"
    )
    assert status == 403
    status, _, to = scene.post(
        "prosecutor", "/retention/hold", ref=scene.item, reason="appeal heard", action="lift"
    )
    assert (status, to) == (303, f"/retention?ref={scene.item}&done=lifted")
    status, page = scene.get("prosecutor", f"/retention?ref={scene.item}")
    assert 'id="no-holds"' in page


def test_an_auditor_sees_but_places_no_hold_on_a_case(scene: Scene) -> None:
    status, page = scene.get("auditor", f"/retention?ref={URN}")
    assert status == 200
    assert 'id="cannot-hold"' in page
    assert 'id="place-hold"' not in page
    status, _, _ = scene.post("auditor", "/retention/hold", ref=URN, reason="x", action="place")
    assert status == 403


def test_another_organisation_learns_nothing_of_retention_or_holds(scene: Scene) -> None:
    scene.post("prosecutor", "/retention/hold", ref=scene.item, reason="appeal", action="place")
    for key in ("outsider", "outside_admin"):
        for ref in (URN, scene.item):
            status, page = scene.get(key, f"/retention?ref={ref}")
            assert status == 404, (key, ref)
            assert "appeal" not in page
            status, _, _ = scene.post(key, "/retention", ref=ref, period="1d")
            assert status == 404, (key, ref)
            for action in ("place", "lift"):
                status, _, _ = scene.post(
                    key, "/retention/hold", ref=ref, reason="x", action=action
                )
                assert status == 404, (key, ref, action)
