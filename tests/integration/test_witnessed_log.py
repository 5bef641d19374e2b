"""A log with a witness, end to end: a real ``custody witness serve`` follows the real server's
log, a node configured with it (CUSTODY_WITNESSES) gathers its cosignatures, and a person whose
client pins the witness (``login --witness``) sends, receives, bundles and verifies; the
bundle's cosigned checkpoint still verifies with the log's key alone, in custody and in the
independent Go verifier.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.crypto.signing import SigningKey
from custody.ledger.cosignature import Cosigner
from support.cli import CUSTODY, assert_fails, base_env, free_port, ok, run_custody
from support.go import build_go
from support.server import People, Server, item_ids, make_file, new_case, serving
from support.server import wait_healthy as wait_up


@pytest.fixture
def witness(server: Server, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A witness following ``server``'s log: (its URL, its verifier key)."""
    folder = tmp_path / "witness"
    made = ok(run_custody(["witness", "init", str(folder), "--name", "witness.example/w1"],
                          base_env()))
    vkey = made.stdout.strip().splitlines()[-1]
    port = free_port()
    log_path = tmp_path / "witness.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [CUSTODY, "witness", "serve", str(folder), "--log", server.log_key,
             "--port", str(port)], env=base_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url, proc, log_path)
        yield url, vkey
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_a_witnessed_log_end_to_end(
    server: Server, people: People, witness: tuple[str, str], tmp_path: Path
) -> None:
    witness_url, witness_key = witness
    env = {**server.env, "CUSTODY_WITNESSES": f"{witness_key} {witness_url}",
           "CUSTODY_CHECKPOINT_INTERVAL_SECONDS": "0.3"}
    with serving(server.data_dir, env, cwd=tmp_path) as node:
        prosecutor = people.prosecutor.at_another_machine(tmp_path / "prosecutor")
        prosecutor.login("--witness", witness_key, "--quorum", "1", url=node.url)
        urn = new_case(people.officer)
        sent = make_file(tmp_path / "out", "statement.pdf", 5000)
        tid = people.officer.send([sent], urn, people.prosecutor.email)
        item = item_ids(people.officer, tid)[0]
        # Receiving checks the sender's key against the log: through cosigned checkpoints only.
        prosecutor.ok("receive", tid, "--out", str(tmp_path / "in"))
        assert (tmp_path / "in" / "statement.pdf").read_bytes() == sent.read_bytes()
        shown = prosecutor.ok("checkpoint").stdout
        assert "Cosigned by at least 1 of your 1 witnesses (witness.example/w1)" in shown
        bundle = tmp_path / "evidence.zip"
        prosecutor.ok("bundle", item, "--out", str(bundle))

    verify = ["verify", str(bundle), "--log-key", server.log_key]
    said = ok(run_custody([*verify, "--witness", witness_key], base_env())).stdout
    assert "checkpoint cosigned by 1 of 1 witnesses (quorum 1): witness.example/w1" in said
    assert "VERIFIED" in ok(run_custody(verify, base_env())).stdout  # the log's key alone
    stranger = Cosigner("witness.example/w9", SigningKey.generate()).verifier.vkey
    assert_fails(run_custody([*verify, "--witness", stranger], base_env()),
                 "0 of the 1 witness cosignatures", "cosigned by: none of them")
    (tmp_path / "go").mkdir()
    go = build_go("c2sp_verify.go", tmp_path / "go")
    checked = subprocess.run([str(go), "bundle", str(bundle), server.log_key],
                             capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("OK") or "\nOK" in checked.stdout
