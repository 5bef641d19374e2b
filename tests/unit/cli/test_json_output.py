"""``--json`` on every command that lists, shows or creates: the output parses, its field names
are the wire models', and every object carries its id (issue 16)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from custody.client.trust import parse_log_key
from support.world import CPS, new_urn

from .conftest import Terminal


def _ids(rows: list[dict[str, Any]], field: str = "id") -> list[str]:
    assert isinstance(rows, list)
    assert all(isinstance(r.get(field), str) and r[field] for r in rows), rows
    return [r[field] for r in rows]


def test_a_transfer_told_in_json_from_case_to_bundle(terminal: Terminal, tmp_path: Path) -> None:
    desks = terminal.desks
    officer, prosecutor = desks.officer, desks.prosecutor
    urn = new_urn()
    case = terminal.ok(officer, "case", "create", urn, "--json").json()
    assert case["urn"] == urn
    assert case["id"]

    statement = tmp_path / "MG11 statement.txt"
    statement.write_bytes(b"I saw the following...\n" * 100)
    sent = terminal.ok(officer, "send", statement, "--case", urn, "--to", CPS, "--json")
    transfer = sent.json()
    assert transfer["state"] == "sent"
    assert transfer["case"] == urn
    [item] = _ids(transfer["items"])
    assert "MG11 statement.txt: sealed and signed" in sent.err  # messages off stdout

    assert transfer["id"] in _ids(terminal.ok(prosecutor, "inbox", "--json").json())
    assert transfer["id"] in _ids(terminal.ok(officer, "outbox", "--json").json())
    shown = terminal.ok(prosecutor, "show", transfer["id"], "--json").json()
    assert shown["id"] == transfer["id"]
    assert _ids(shown["items"]) == [item]
    assert shown["sender"]["email"] == officer.member.email

    out = tmp_path / "received"
    [got] = terminal.ok(prosecutor, "receive", transfer["id"], "--out", out, "--json").json()
    assert got["item"] == item
    assert got["transfer"] == transfer["id"]
    assert got["case"] == urn
    assert Path(got["path"]).read_bytes() == statement.read_bytes()
    assert got["sha256"] == hashlib.sha256(statement.read_bytes()).hexdigest()
    assert got["size"] == statement.stat().st_size
    assert got["file_name"] == statement.name

    acked = terminal.ok(prosecutor, "ack", transfer["id"], "--json").json()
    assert acked["id"] == transfer["id"]
    assert acked["state"] == "acknowledged"

    trail = terminal.ok(officer, "history", transfer["id"], "--json").json()
    assert {"transfer:sent", "item:received"} <= {row["type"] for row in trail}
    assert all(isinstance(row["index"], int) for row in trail)

    report = terminal.ok(officer, "report", item, "--json").json()
    assert report["item"] == item
    assert report["transfer"] == transfer["id"]
    assert prosecutor.member.email in {a["user"] for a in report["accessed"]}

    shared = terminal.ok(
        prosecutor, "share", item, "--with", desks.outsider.member.email, "--json"
    ).json()
    assert shared["item"] == item
    assert shared["reader"] == desks.outsider.member.email
    assert _ids(terminal.ok(desks.outsider, "shared", "--json").json(), "item") == [item]

    bundle = tmp_path / "bundle.zip"
    terminal.ok(officer, "bundle", item, "--out", bundle)
    log_key = parse_log_key(desks.app.world.log_key).vkey
    verified = terminal.ok(officer, "verify", bundle, "--log-key", log_key, "--json").json()
    assert verified["verified"] is True
    assert verified["bundle"] == str(bundle)
    assert item in {row["item"] for row in verified["trail"]}
    assert verified["size"] >= max(row["index"] for row in verified["trail"]) + 1

    incident = terminal.ok(
        officer, "incident", "open", transfer["id"], "--reason", "laptop lost", "--json"
    ).json()
    assert incident["transfer"] == transfer["id"]
    assert incident["id"]
    again = terminal.ok(officer, "incident", "show", incident["id"], "--json").json()
    assert again["id"] == incident["id"]
    assert _ids(again["items"], "item") == [item]

    notices = terminal.ok(prosecutor, "notices", "--json").json()
    assert incident["id"] in {n["subject_id"] for n in notices}
    assert _ids(notices)


def test_accounts_people_and_units_in_json(terminal: Terminal) -> None:
    officer = terminal.desks.officer
    me = terminal.ok(officer, "whoami", "--json").json()
    assert me["user_id"] == officer.member.user_id
    assert me["email"] == officer.member.email
    tokens = terminal.ok(officer, "tokens", "list", "--json").json()
    assert officer.member.token_id in _ids(tokens)
    assert [t["current"] for t in tokens if t["id"] == officer.member.token_id] == [True]

    admin = terminal.admin()
    unit = terminal.ok(admin, "units", "create", "Rape and Serious Sexual Offences", "--json")
    made = unit.json()
    assert made["name"] == "Rape and Serious Sexual Offences"
    assert made["id"]
    assert made["id"] in _ids(terminal.ok(admin, "units", "list", "--json").json())
    listed = terminal.ok(admin, "people", "list", "--json").json()
    assert terminal.desks.prosecutor.member.user_id in _ids(listed)
    assert terminal.desks.prosecutor.member.email in {p["email"] for p in listed}
    emails = [p["email"] for p in listed]
    assert len(emails) > 1
    assert emails == sorted(emails)  # by e-mail address, not in the server's newest-first pages


def test_a_failure_in_json_mode_prints_no_json_and_exits_by_its_class(terminal: Terminal) -> None:
    ran = terminal.run(terminal.desks.officer.home, "show", "not-a-transfer", "--json")
    assert ran.code == 5
    assert ran.out == ""
    assert ran.err.startswith("error: ")
