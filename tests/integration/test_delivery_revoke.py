"""Revocation and the access report through the real CLI, on a real server (both backends)."""

from __future__ import annotations

import json

from support.cli import assert_fails
from support.server import People, Server, item_ids, make_file, new_case


def test_revoked_recipient_is_refused_and_the_refusal_is_reported(
    server: Server, people: People
) -> None:
    officer, prosecutor, prosecutor2 = people.officer, people.prosecutor, people.prosecutor2
    urn = new_case(officer)
    src = make_file(officer.home / "out", "statement.pdf", 3000)
    tid = officer.send([src], urn)
    prosecutor.ok("receive", tid, "--out", str(prosecutor.home / "got"))
    item = item_ids(officer, tid)[0]

    before = server.snapshot()
    assert_fails(prosecutor.run("revoke", tid, "--reason", "mine"), "only the sender", code=4)
    assert_fails(people.outsider.run("revoke", tid, "--reason", "x"), "no transfer", code=5)
    assert_fails(officer.run("revoke", "no-such-transfer", "--reason", "x"), "no transfer")
    assert_fails(officer.run("revoke", tid, "--reason", " "), "reason", code=2)
    assert server.snapshot() == before

    said = officer.ok("revoke", tid, "--reason", "sent to the wrong unit").stdout
    assert f"Revoked transfer {tid}" in said
    assert_fails(officer.run("revoke", tid, "--reason", "again"), "it was revoked", code=6)
    assert_fails(prosecutor2.run("ack", tid), "it was revoked", code=6)

    refused = prosecutor2.run("receive", tid, "--out", str(prosecutor2.home / "got"))
    assert_fails(refused, "revoked", "sent to the wrong unit", code=7)
    assert not (prosecutor2.home / "got" / "statement.pdf").exists()

    report = json.loads(officer.ok("report", item, "--json").stdout)
    assert [(r["user"], r["detail"]["reason"]) for r in report["refused"]] == [
        (prosecutor2.email, "revoked")]
    assert report["refused"][0]["user_agent"].startswith("custody-cli/")
    did = {(a["user"], a["type"]) for a in report["accessed"]}
    assert did == {(prosecutor.email, "item:downloaded"), (prosecutor.email, "item:received")}
    ended = sorted(g["reader"] for g in report["could_access"] if g["end"] == "revoked")
    assert ended == sorted([prosecutor.email, prosecutor2.email])
    text = officer.ok("report", item).stdout
    assert "Refused attempts:" in text
    assert f"{prosecutor2.email}  access:refused (revoked)" in text
    assert_fails(people.outsider.run("report", item), "no item", code=5)
    assert "Revoked" in prosecutor2.ok("inbox").stdout
