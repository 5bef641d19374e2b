"""A real bundle proves its trail complete; the same bundle with its tail cut is refused.

Security review, finding 4, played through the real CLI and server: the prosecutor's
bundle of a received and acknowledged item verifies and says each trail is complete up to
its checkpoint; dropping the receipt and acknowledgement (entries, proofs and their lines in
manifest.json), which a backwards ``prev`` chain alone could not notice, is refused. The
operator's ``custody ledger verify`` recomputes every ``ledger:heads`` root the bundles made.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from support.cli import assert_fails, ok, run_custody
from support.server import People, Server, item_ids, make_file, new_case


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(out.getvalue())


def test_a_bundle_with_its_tail_cut_is_refused(
    server: Server, people: People, tmp_path: Path
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    urn = new_case(officer)
    tid = officer.send([make_file(tmp_path / "out", "interview.mp4", 3000)], urn)
    item = item_ids(officer, tid)[0]
    prosecutor.ok("receive", tid, "--out", str(tmp_path / "in"))
    prosecutor.ok("ack", tid)
    whole = tmp_path / "whole.zip"
    prosecutor.ok("bundle", item, "--out", str(whole))
    verify = ["verify", str(whole), "--log-key", server.log_key]
    said = ok(run_custody(verify, prosecutor.env())).stdout
    assert f"trail of item {item} complete up to the checkpoint" in said
    assert "not proven" not in said

    members = _members(whole)
    manifest = json.loads(members["manifest.json"])
    tail = {"item:received", "transfer:acknowledged"}
    cut = [e for e in manifest["entries"] if e["type"] in tail]
    assert len(cut) == 2
    for row in cut:
        del members[f"entries/{row['index']}"], members[f"proofs/{row['index']}.tlog-proof"]
    manifest["entries"] = [e for e in manifest["entries"] if e["type"] not in tail]
    members["manifest.json"] = json.dumps(
        manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode()
    shortened = tmp_path / "cut.zip"
    _write(shortened, members)
    refused = run_custody(["verify", str(shortened), "--log-key", server.log_key], prosecutor.env())
    assert_fails(refused, f"trail of item {item} is not complete", code=8)

    # The operator recomputes the log, every committed item-heads root included.
    assert "Ledger OK" in server.operator("ledger", "verify").stdout
