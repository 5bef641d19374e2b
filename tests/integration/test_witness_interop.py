"""``custody witness serve`` against a log written from the C2SP specs in Go.

``tests/independent/witness_interop.go`` signs checkpoints with Go's ``x/mod/sumdb/note``,
builds trees and consistency proofs with ``x/mod/sumdb/tlog``, writes each add-checkpoint
body itself, and verifies each cosignature with a ``note.Verifier`` of its own for the
tlog-cosignature/v1 key type: the request and response bodies are the specs', byte for byte.
The witness must cosign consistent growth and answer a stale size, a fork, a bad proof, an
unknown log and an impostor's key as c2sp.org/tlog-witness says.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import CUSTODY, base_env, free_port, ok, run_custody
from support.go import build_go
from support.server import wait_healthy

ORIGIN = "custody.example/interop-log"


@pytest.fixture(scope="module")
def go_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go("witness_interop.go", tmp_path_factory.mktemp("witness-interop"))


@pytest.fixture
def witness(tmp_path: Path, go_log: Path) -> Iterator[tuple[str, str, str]]:
    """A running witness following a Go-made log: (URL, the log's signer key, witness key)."""
    skey, vkey = subprocess.run(
        [str(go_log), "genkey", ORIGIN], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    env = base_env()
    made = ok(run_custody(["witness", "init", str(tmp_path / "w"), "--name",
                           "witness.example/w1"], env))
    witness_vkey = made.stdout.strip().splitlines()[-1]
    assert witness_vkey.startswith("witness.example/w1+")
    assert (tmp_path / "w" / "witness.key").stat().st_mode & 0o077 == 0
    port = free_port()
    log_path = tmp_path / "witness.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [CUSTODY, "witness", "serve", str(tmp_path / "w"), "--log", vkey, "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log_path)
        yield url, skey, witness_vkey
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_go_log_gets_cosignatures_and_the_specs_refusals(
    witness: tuple[str, str, str], go_log: Path
) -> None:
    url, skey, witness_vkey = witness
    about = httpx.get(url + "/", timeout=10).text
    assert f"key {witness_vkey}\n" in about
    assert f"log {ORIGIN}\n" in about
    run = subprocess.run([str(go_log), "run", url, skey, witness_vkey],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    steps = [line.removeprefix("OK ") for line in run.stdout.splitlines()]
    assert steps == [
        "first checkpoint",
        "first checkpoint cosignature verified",
        "consistent growth",
        "consistent growth cosignature verified",
        "stale old size",
        "fork of the same size",
        "bad consistency proof",
        "fork that grew",
        "old size above the checkpoint",
        "unknown log",
        "another key for the log's name",
        "honest growth after all that",
        "honest growth after all that cosignature verified",
        "all 20",
    ]


def test_a_second_run_of_the_same_log_is_refused_as_a_rollback(
    witness: tuple[str, str, str], go_log: Path
) -> None:
    url, skey, witness_vkey = witness
    first = subprocess.run([str(go_log), "run", url, skey, witness_vkey],
                           capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    # The same log started again from nothing (a restore from an old backup): its first
    # checkpoint, of 5 entries, "from size 0", is refused with the size the witness holds.
    again = subprocess.run([str(go_log), "run", url, skey, witness_vkey],
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 1
    assert "first checkpoint: status 409 (want 200): 20\n" in again.stderr
