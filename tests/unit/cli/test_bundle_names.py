"""``custody bundle --names`` and ``custody verify`` (issue 16): a court reads the trail with
names, told whose word they are; a names file changed after the server signed it is refused."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from custody.cli.output import EXIT_CODES
from custody.client.trust import parse_log_key
from custody.protocol.codes import ErrorCode
from support.world import CPS, new_urn

from .conftest import Terminal


def _sent_and_received(terminal: Terminal, tmp_path: Path) -> str:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    urn = new_urn()
    terminal.ok(officer, "case", "create", urn)
    exhibit = tmp_path / "exhibit.txt"
    exhibit.write_bytes(b"exhibit JD/9")
    sent = terminal.ok(officer, "send", exhibit, "--case", urn, "--to", CPS, "--json").json()
    terminal.ok(prosecutor, "receive", sent["id"], "--out", tmp_path / "got")
    return str(sent["items"][0]["id"])


def _rezip(bundle: Path, names: bytes) -> None:
    with zipfile.ZipFile(bundle) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["names.json"] = names
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    bundle.write_bytes(out.getvalue())


def test_a_bundle_with_names_reads_with_names(terminal: Terminal, tmp_path: Path) -> None:
    officer, prosecutor = terminal.desks.officer, terminal.desks.prosecutor
    item = _sent_and_received(terminal, tmp_path)
    log_key = parse_log_key(terminal.desks.app.world.log_key).vkey
    bundle = tmp_path / "evidence.zip"
    made = terminal.ok(officer, "bundle", item, "--out", bundle, "--names")
    assert "attested by the server's operator" in made.out
    assert "names.json" in zipfile.ZipFile(bundle).namelist()

    verified = terminal.ok(officer, "verify", bundle, "--log-key", log_key, "--json").json()
    names = verified["names"]
    assert names["attested_by"] == log_key
    assert names["proven_by_log"] is False
    actors = {row["actor"] for row in verified["trail"]} - {"system"}
    assert set(names["actors"]) == actors
    assert names["actors"][officer.member.user_id]["email"] == officer.member.email
    assert names["actors"][prosecutor.member.user_id] == {
        "email": prosecutor.member.email,
        "role": "prosecutor",
        "org": CPS,
    }
    assert any("operator's attestation" in c for c in verified["caveats"])

    text = terminal.ok(officer, "verify", bundle, "--log-key", log_key).out
    assert f"Names: attested by the operator of {verified['origin']}, signed by its log key" in text
    assert "not proven by the log" in text
    line = f"{prosecutor.member.email} (prosecutor, {CPS}) [{prosecutor.member.user_id}]"
    assert re.search(rf"#\d+ .*{re.escape(line)}  received it", text), text

    plain = tmp_path / "plain.zip"
    terminal.ok(officer, "bundle", item, "--out", plain)
    assert "names.json" not in zipfile.ZipFile(plain).namelist()
    assert (
        terminal.ok(officer, "verify", plain, "--log-key", log_key, "--json").json()["names"]
        is None
    )


def test_a_tampered_names_file_is_refused(terminal: Terminal, tmp_path: Path) -> None:
    officer = terminal.desks.officer
    item = _sent_and_received(terminal, tmp_path)
    log_key = parse_log_key(terminal.desks.app.world.log_key).vkey
    bundle = tmp_path / "evidence.zip"
    terminal.ok(officer, "bundle", item, "--out", bundle, "--names")
    names = zipfile.ZipFile(bundle).read("names.json")
    doc = json.loads(names)
    # Someone puts another officer's address on the sender's id: same length, same form.
    forged = names.replace(officer.member.email.encode(), b"x" + officer.member.email[1:].encode())
    assert forged != names
    assert json.loads(forged)["signature"] == doc["signature"]
    _rezip(bundle, forged)
    refused = terminal.run(officer.home, "verify", bundle, "--log-key", log_key)
    assert refused.code == EXIT_CODES[ErrorCode.INTEGRITY] == 8
    assert "names.json: the signature by" in refused.err
    assert "does not verify" in refused.err
    assert officer.member.email[1:] not in refused.out  # no forged name is ever shown
