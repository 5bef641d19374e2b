"""The inbox and outbox over the JSON API filter as the pages do: by case, by search (a URN
or a transfer id, any case), by the other party's organisation, by state, overdue; a filter
narrows the person's own transfers and never widens them; a bad filter is a 400 that says
what to do. On SQLite and PostgreSQL, in process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from custody.domain.people import Role
from support.in_process import InProcess, in_process
from support.world import CPS, OTHER, POLICE, new_urn


@pytest.fixture
def w(db_url: str, tmp_path: Path) -> Iterator[InProcess]:
    with in_process(tmp_path, db_url) as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        stranger = w.add("stranger", "dc.other@northshire.police.example", OTHER, Role.OFFICER)
        colleague = w.add("colleague", "b.khan@cps.example", CPS, Role.PROSECUTOR)
        for m in (officer, prosecutor, stranger, colleague):
            w.register_keys(m)
        yield w


def sent(w: InProcess, urn: str) -> str:
    ids = w.transfer(w.members["officer"], "a.patel@cps.example", urn, send=True)
    w.clock.advance(timedelta(seconds=1))  # newest first is then the order they were sent
    return ids["transfer"]


def listed(w: InProcess, who: str, box: str, **params: Any) -> list[str]:
    answer = w.client.get(f"/api/v1/transfers/{box}", headers=w.members[who].auth,
                          params=params)
    assert answer.status_code == 200, answer.text
    return [t["id"] for t in answer.json()["transfers"]]


def test_the_inbox_and_outbox_filter_by_case_search_organisation_state_and_overdue(
    w: InProcess,
) -> None:
    urn_a, urn_b = new_urn(), new_urn()
    a1 = sent(w, urn_a)
    b1 = sent(w, urn_b)
    a2 = w.transfer(w.members["officer"], "a.patel@cps.example", urn_a, send=True)["transfer"]

    assert set(listed(w, "prosecutor", "inbox")) == {a1, a2, b1}
    assert listed(w, "prosecutor", "inbox", case=urn_a) == [a2, a1]
    assert listed(w, "prosecutor", "inbox", q=urn_b.lower()) == [b1]
    assert listed(w, "prosecutor", "inbox", q=a1.upper()) == [a1]
    assert set(listed(w, "prosecutor", "inbox", org=POLICE.upper())) == {a1, a2, b1}
    assert listed(w, "prosecutor", "inbox", org=OTHER) == []
    assert listed(w, "prosecutor", "inbox", state="acknowledged") == []
    # The sender's outbox: the recipient's organisation is the one filtered on.
    assert set(listed(w, "officer", "outbox", org=CPS)) == {a1, a2, b1}
    assert listed(w, "officer", "outbox", org=POLICE) == []
    assert listed(w, "officer", "outbox", q=b1) == [b1]

    acked = w.client.post(f"/api/v1/transfers/{a1}/ack", headers=w.members["prosecutor"].auth,
                          json={"without_receipt": True})
    assert acked.status_code == 200, acked.text
    w.clock.advance(timedelta(days=30))  # past every deadline, and the token's life
    prosecutor = w.members["prosecutor"]
    prosecutor.token = w.login(prosecutor)["token"]
    assert set(listed(w, "prosecutor", "inbox", overdue="true")) == {a2, b1}
    assert listed(w, "prosecutor", "inbox", state="acknowledged") == [a1]


def test_filters_never_show_another_persons_transfers(w: InProcess) -> None:
    urn = new_urn()
    tid = sent(w, urn)
    # another organisation; the same organisation but not a recipient
    for who in ("stranger", "colleague"):
        for params in ({"q": tid}, {"case": urn}, {"q": urn}, {"org": POLICE}, {"org": CPS},
                       {"state": "sent"}, {"overdue": "true"}):
            for box in ("inbox", "outbox"):
                assert tid not in listed(w, who, box, **params), (who, box, params)
    # and the recipient's own outbox does not list what they received
    assert listed(w, "prosecutor", "outbox", q=tid) == []


@pytest.mark.parametrize(("params", "words"), [
    ({"state": "lost"}, "state"),
    ({"case": "nonsense"}, "is not a case URN"),
    ({"q": "robert';--"}, "neither a case URN nor a transfer id"),
    ({"q": "x" * 65}, "q"),
    ({"org": "x" * 201}, "org"),
])
def test_a_bad_filter_is_refused_with_what_to_do(
    w: InProcess, params: dict[str, str], words: str
) -> None:
    answer = w.client.get("/api/v1/transfers/inbox", headers=w.members["prosecutor"].auth,
                          params=params)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert words in error["message"]
