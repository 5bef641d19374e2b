"""The whole transfer, on SQLite and PostgreSQL, through the real CLI against a real server.

send → inbox → receive → ack → outbox; the custody trail; the state machine as the server
reports it; every member of the receiving unit can read; nobody else can, and trying is recorded;
a stored item altered by one bit is refused and nothing of it is released.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from support.cli import assert_fails
from support.server import People, Person, Server, item_ids, make_file, new_case
from support.world import CPS

TRAIL_LINE = re.compile(r"^#(\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(\S+)\s+(.+)$")


def _trail(person: Person, ref: str) -> list[tuple[int, str, str]]:
    """``custody history REF`` as (index, actor address, what) rows."""
    rows = []
    for line in person.ok("history", ref).stdout.splitlines():
        match = TRAIL_LINE.match(line)
        assert match, f"unexpected history line: {line!r}"
        rows.append((int(match[1]), match[3], match[4]))
    return rows


def _first(rows: list[tuple[int, str, str]], who: str, what: str) -> int:
    found = [index for index, actor, text in rows if actor == who and text.startswith(what)]
    assert found, f"no '{what}' by {who} in:\n" + "\n".join(map(str, rows))
    return found[0]


def _state(person: Person, transfer_id: str) -> str:
    first = person.ok("show", transfer_id).stdout.splitlines()[0]
    match = re.match(rf"^Transfer {transfer_id}  case \S+  (\w+)$", first)
    assert match, first
    return match[1]


def test_send_receive_acknowledge(server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor, prosecutor2 = people.officer, people.prosecutor, people.prosecutor2
    urn = new_case(officer)
    folder = tmp_path / "officer"
    files = [
        make_file(folder, "ABE-interview-01.mp4", 300_000),  # several 64 KiB age chunks
        make_file(folder, "MG11 witness statement.txt", content=b"I saw the following...\n"),
        make_file(folder, "empty-exhibit.csv", content=b""),
    ]
    transfer_id = officer.send(files, urn, CPS)
    assert _state(officer, transfer_id) == "sent"

    inbox = prosecutor.ok("inbox").stdout
    line = next(x for x in inbox.splitlines() if x.startswith(transfer_id))
    for part in (urn, "sent", f"from {officer.email}", "3 item(s)"):
        assert part in line, line

    # The unit was named, so the item keys were wrapped for every member with keys.
    transfer = officer.transfer(transfer_id)
    assert sorted(r["email"] for r in transfer["recipients"]) == sorted(
        [prosecutor.email, prosecutor2.email])
    assert transfer["recipient_org"] == CPS

    received = tmp_path / "received"
    out = prosecutor.ok("receive", transfer_id, "--out", str(received)).stdout
    assert "Received 3 item(s)" in out
    for original in files:
        assert (received / original.name).read_bytes() == original.read_bytes(), original.name
        size = original.stat().st_size
        assert f"{original.name}: {size} bytes, signature and SHA-256 verified" in out
    assert sorted(p.name for p in received.iterdir()) == sorted(f.name for f in files)
    assert not list((prosecutor.home / "downloads").glob("*.part"))
    assert _state(prosecutor, transfer_id) == "delivered"
    delivered = prosecutor.transfer(transfer_id)
    assert delivered["delivered_at"]
    assert not delivered["acknowledged_at"]

    # The second prosecutor of the unit reads the same items with their own key.
    received2 = tmp_path / "received2"
    prosecutor2.ok("receive", transfer_id, "--out", str(received2))
    for original in files:
        assert (received2 / original.name).read_bytes() == original.read_bytes()

    acked = prosecutor.ok("ack", transfer_id).stdout
    assert f"Acknowledged transfer {transfer_id} (case {urn})" in acked
    assert _state(officer, transfer_id) == "acknowledged"
    final = officer.transfer(transfer_id)
    assert final["state"] == "acknowledged"
    assert final["sent_at"] <= final["delivered_at"] <= final["acknowledged_at"]
    assert final["acknowledged_at"] <= final["ack_deadline"]

    outbox = officer.ok("outbox").stdout
    line = next(x for x in outbox.splitlines() if x.startswith(transfer_id))
    assert "acknowledged" in line
    assert f"to {CPS}" in line

    # The trail of the transfer and of one item, with who did what, in order.
    for ref in (transfer_id, item_ids(officer, transfer_id)[0]):
        rows = _trail(officer, ref)
        sealed = _first(rows, officer.email, "sealed and signed the item")
        sent = _first(rows, officer.email, "sent the transfer")
        downloaded = _first(rows, prosecutor.email, "downloaded the ciphertext")
        receipt = _first(rows, prosecutor.email, "received it: signature and hashes verified")
        acknowledged = _first(rows, prosecutor.email, "acknowledged the transfer")
        assert sealed < sent < downloaded < receipt < acknowledged
        _first(rows, prosecutor2.email, "downloaded the ciphertext")
        _first(rows, prosecutor2.email, "received it")
        assert [i for i, _, _ in rows] == sorted(i for i, _, _ in rows)
    item_rows = _trail(prosecutor, item_ids(prosecutor, transfer_id)[0])
    assert {actor for _, actor, _ in item_rows} == {officer.email, prosecutor.email,
                                                   prosecutor2.email}

    # The ledger as stored still recomputes (operator command, on the server's data).
    ledger = server.operator("ledger", "verify")
    assert "Ledger OK" in ledger.stdout


def test_other_organisation_sees_nothing_and_the_attempt_is_recorded(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, outsider = people.officer, people.outsider
    urn = new_case(officer)
    transfer_id = officer.send([make_file(tmp_path, "exhibit.bin", 5000)], urn, CPS)
    item = item_ids(officer, transfer_id)[0]
    before = server.snapshot()

    assert_fails(outsider.run("show", transfer_id), "no transfer", transfer_id, code=5)
    out = tmp_path / "outsider"
    refused = outsider.run("receive", transfer_id, "--out", str(out))
    assert_fails(refused, "no item or transfer", transfer_id, code=5)
    assert not out.exists() or not list(out.iterdir())
    assert_fails(outsider.run("history", transfer_id), "no item or transfer", transfer_id, code=5)
    assert_fails(outsider.run("ack", transfer_id), "no transfer", code=5)
    assert transfer_id not in outsider.ok("inbox").stdout
    with outsider.api() as api:
        assert api.get(f"/api/v1/transfers/{transfer_id}").status_code == 404
        refused = api.get(f"/api/v1/items/{item}/content")
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        assert b"age-encryption.org" not in refused.content

    # Only the refusal was added: the transfer and its state are unchanged.
    after = server.snapshot()
    assert after.pop("ledger_entries") == before.pop("ledger_entries") + 1
    assert after == before
    assert officer.transfer(transfer_id)["state"] == "sent"

    rows = officer.history(item)
    refusals = [r for r in rows if r["type"] == "access:refused"]
    assert len(refusals) == 1
    assert refusals[0]["actor_email"] == outsider.email
    assert refusals[0]["data"] == {"action": "download", "reason": "not a reader"}
    _first(_trail(officer, transfer_id), outsider.email, "was REFUSED access (not a reader)")
    # Where the attempt came from is kept beside the ledger.
    address = server.query("SELECT address FROM access_records WHERE ledger_index = :i",
                           i=refusals[0]["index"])
    assert [a for (a,) in address] == ["127.0.0.1"]
    # The refused views of the transfer (show, receive, API) are a security event of the
    # outsider's organisation: the first in full, the repeats counted (docs/security.md, V7).
    views = server.query(
        "SELECT count(*) FROM security_events WHERE type = 'access:refused'"
        " AND user_id = :u AND detail LIKE :d",
        u=outsider.session["user_id"], d=f"view of transfer {transfer_id}%")
    assert views[0][0] == 1
    tallies = server.query("SELECT sum(repeats) FROM refusal_tallies WHERE kind = 'event'")
    assert tallies[0][0] >= 2


def test_tampered_blob_is_refused_and_nothing_is_released(
        server: Server, people: People, tmp_path: Path) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    original = make_file(tmp_path / "sent", "tampered-statement.pdf", 200_000)
    transfer_id = officer.send([original], urn, CPS)
    item = item_ids(officer, transfer_id)[0]
    with server.flipped_byte(item):
        out = tmp_path / "received"
        failed = prosecutor.run("receive", transfer_id, "--out", str(out))
        assert_fails(failed, f"item {item}", "failed verification", code=8)
        assert not failed.stdout.strip() or "verified" not in failed.stdout
        assert list(out.iterdir()) == [], "nothing may be released, not even a temporary file"
        assert not list((prosecutor.home / "downloads").iterdir())

    rows = prosecutor.history(item)
    failures = [r for r in rows if r["type"] == "item:verification_failed"]
    assert len(failures) == 1
    assert failures[0]["actor_email"] == prosecutor.email
    assert "ciphertext" in failures[0]["data"]["reason"]
    assert not any(r["type"] == "item:received" for r in rows)
    _first(_trail(prosecutor, item), prosecutor.email, "REFUSED it: verification failed")

    # The stored item restored, the same command now releases exactly the original.
    prosecutor.ok("receive", transfer_id, "--out", str(out))
    assert (out / original.name).read_bytes() == original.read_bytes()


def test_api_without_token_is_refused(server: Server) -> None:
    response = httpx.get(f"{server.url}/api/v1/transfers/inbox", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_refused_receipt_is_recorded(server: Server, people: People, tmp_path: Path) -> None:
    officer, outsider = people.officer, people.outsider
    transfer_id = officer.send([make_file(tmp_path, "exhibit.bin", 100)], new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    with outsider.api() as api:
        refused = api.post(f"/api/v1/items/{item}/receipt", json={
            "manifest_sha256": "0" * 64, "verified": False, "reason": "probing"})
    assert refused.status_code == 404
    refusals = [r for r in officer.history(item) if r["type"] == "access:refused"]
    assert [(r["actor_email"], r["data"]["action"]) for r in refusals] == [
        (outsider.email, "receipt")]


def test_history_of_others_item_is_no_oracle(people: People, tmp_path: Path) -> None:
    officer, outsider = people.officer, people.outsider
    transfer_id = officer.send([make_file(tmp_path, "exhibit.bin", 100)], new_case(officer), CPS)
    item = item_ids(officer, transfer_id)[0]
    unknown = "0" * 8 + item[8:]
    for command in ("history", "bundle"):
        extra = ["--out", str(tmp_path / "b.zip")] if command == "bundle" else []
        real = assert_fails(outsider.run(command, item, *extra), code=5)
        fake = assert_fails(outsider.run(command, unknown, *extra), code=5)
        assert transfer_id not in real
        assert real.replace(item, "<ref>") == fake.replace(unknown, "<ref>")
