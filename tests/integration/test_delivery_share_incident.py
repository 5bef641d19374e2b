"""Sharing onward and incidents, through the real CLI against a real server, on both backends.

A prosecutor shares an item with someone in another organisation; the new reader
receives it. Then an incident is opened: nobody but the owners can fetch
anything in scope, sharing is frozen, and the impact report lists exactly the
accesses that happened — checked against what this test did.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import assert_fails
from support.server import People, Server, item_ids, make_file, new_case


def _accesses(report: dict[str, object]) -> list[tuple[str, str]]:
    items = report["items"]
    assert isinstance(items, list)
    return [(row["user"], row["type"]) for item in items for row in item["accessed"]]


def test_share_then_incident(server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor, outsider = people.officer, people.prosecutor, people.outsider
    pros_email, out_email = prosecutor.account.email, outsider.account.email
    urn = new_case(officer)
    original = make_file(tmp_path / "sent", "ABE-interview-02.mp4", 200_000)
    transfer_id = officer.send([original], urn, pros_email)
    (item,) = item_ids(officer, transfer_id)

    prosecutor.ok("receive", transfer_id, "--out", str(tmp_path / "prosecutor"))

    # Onward to another organisation, with an expiry; the new reader receives the one item.
    assert_fails(
        prosecutor.run("share", item, "--with", out_email, "--expires", "2001-01-01"), "past"
    )
    prosecutor.ok("share", item, "--with", out_email, "--expires", "7d")
    assert item in outsider.ok("shared").stdout
    outsider.ok("receive", item, "--out", str(tmp_path / "outsider"))
    assert (tmp_path / "outsider" / original.name).read_bytes() == original.read_bytes()
    assert_fails(prosecutor.run("share", item, "--with", out_email), "already")

    # The incident: everyone but the owners loses access at once.
    opened = json.loads(
        prosecutor.ok(
            "incident",
            "open",
            transfer_id,
            "--reason",
            "laptop with the received copy stolen",
            "--json",
        ).stdout
    )
    assert _accesses(opened) == [
        (pros_email, "item:downloaded"),
        (pros_email, "item:received"),
        (out_email, "item:downloaded"),
        (out_email, "item:received"),
    ]
    assert opened["reported_at"] is None
    assert opened["regulator_deadline"]

    for person in (outsider, prosecutor):
        result = person.run("receive", item, "--out", str(tmp_path / f"after-{person.account.key}"))
        assert result.returncode != 0, result.stdout
        assert not (tmp_path / f"after-{person.account.key}" / original.name).exists()
    assert_fails(prosecutor.run("share", item, "--with", out_email), "incident")
    officer.ok("receive", transfer_id, "--out", str(tmp_path / "owner"))  # owners keep access

    report = json.loads(prosecutor.ok("incident", "show", opened["id"], "--json").stdout)
    refused_by = {row["user"] for item_report in report["items"] for row in item_report["refused"]}
    assert {pros_email, out_email} <= refused_by
    # Nothing the refused readers tried counts as an access.
    assert _accesses(report)[:4] == _accesses(opened)
    assert all(user == officer.account.email for user, _ in _accesses(report)[4:])

    prosecutor.ok("incident", "reported", opened["id"])
    assert_fails(prosecutor.run("incident", "reported", opened["id"]), "already")
    prosecutor.ok("incident", "close", opened["id"])
    history = prosecutor.ok("history", transfer_id).stdout
    assert "incident" in history.lower()
