"""Retention, legal hold and crypto-shredding through the real CLI, on a real server."""

from __future__ import annotations

from support.cli import assert_fails, run_custody
from support.server import People, Server, item_ids, make_file, new_case


def test_shred_leaves_no_wrap_and_no_blob_and_records_why(server: Server, people: People) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    tid = officer.send([make_file(officer.home / "out", "cctv.mp4", 5000)], urn)
    item = item_ids(officer, tid)[0]
    before = server.snapshot()
    assert_fails(officer.run("retention", "set", urn, "--until", "2020-01-01"), "past", code=2)
    assert_fails(officer.run("retention", "set", "nope", "--for", "7y"), "no item or case")
    # Retention is the sending organisation's; a stranger learns nothing of its case or item.
    assert_fails(people.outsider.run("retention", "set", urn, "--for", "7y"), "no case", code=5)
    assert_fails(people.outsider.run("hold", item, "--reason", "mine"), "no item", code=5)
    assert_fails(prosecutor.run("retention", "set", item, "--for", "1d"), "sent it", code=4)
    assert server.snapshot() == before
    assert "Retention of case" in officer.ok("retention", "set", urn, "--for", "7y").stdout

    server.admin("shred", item, "--reason", "court order 12")
    wraps = server.query("SELECT count(*) FROM key_wraps WHERE item_id = :i", i=item)
    assert wraps[0][0] == 0
    assert not (server.blobs / item).exists()
    shredded = [e for e in officer.history(item) if e["type"] == "item:shredded"]
    assert [(e["actor"], e["data"]["reason"]) for e in shredded] == [("operator", "court order 12")]
    assert_fails(prosecutor.run("receive", tid, "--out", str(prosecutor.home / "x")), "shredded")
    env = {**officer.env(), "CUSTODY_DATABASE_URL": server.db_url}
    again = run_custody(["admin", "shred", item, "--reason", "x", "--data-dir",
                         str(server.data_dir)], env)
    assert_fails(again, "already shredded", code=6)
