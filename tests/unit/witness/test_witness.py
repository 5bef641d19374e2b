"""The witness's add-checkpoint, every answer the tlog-witness spec names, and what it keeps.

A hostile or broken log is the adversary: it forks (two roots for one size), rolls back,
sends proofs that do not verify, races itself; none of it gets a cosignature.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from custody.crypto.signing import SigningKey
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.cosignature import Cosigner, add_signatures, open_cosigned
from custody.ledger.merkle import MemoryTree, consistency_proof
from custody.witness.core import SIZE_TYPE, Witness, parse_request, request_body

ORIGIN = "custody.example/ledger"
LOG = note.Signer(ORIGIN, SigningKey(bytes(range(32))))
COSIGNER = Cosigner("witness.example/w1", SigningKey(bytes([5]) * 32))


class Log:
    """A log in memory that signs its checkpoints; ``fork`` makes another history."""

    def __init__(self, prefix: bytes = b"entry") -> None:
        self.tree = MemoryTree()
        self.prefix = prefix

    def grow(self, to: int) -> None:
        while self.tree.size < to:
            self.tree.append(self.prefix + str(self.tree.size).encode())

    def checkpoint(self, size: int | None = None, signer: note.Signer = LOG) -> bytes:
        size = self.tree.size if size is None else size
        return sign_checkpoint(Checkpoint(signer.name, size, self.tree.root(size)), signer)

    def body(self, old: int, size: int | None = None) -> bytes:
        size = self.tree.size if size is None else size
        proof = consistency_proof(self.tree, old, size) if 0 < old < size else []
        return request_body(old, proof, self.checkpoint(size))


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(COSIGNER, [LOG.verifier], tmp_path / "witness.db", clock=lambda: 1_700_000_000)


def _cosignature_checks(log: Log, size: int, cosignature: bytes) -> None:
    cosigned = add_signatures(log.checkpoint(size), cosignature.decode())
    got = open_cosigned(cosigned, LOG.verifier, [COSIGNER.verifier], quorum=1)
    assert got.checkpoint.size == size
    assert got.witnesses == ((COSIGNER.name, 1_700_000_000),)


def test_a_growing_log_is_cosigned_step_by_step(witness: Witness) -> None:
    log = Log()
    log.grow(3)
    first = witness.add_checkpoint(log.body(0))
    assert first.status == 200
    _cosignature_checks(log, 3, first.body)
    log.grow(17)
    second = witness.add_checkpoint(log.body(3))
    assert second.status == 200
    _cosignature_checks(log, 17, second.body)
    # the same checkpoint again (old == size, same root): cosigned again
    assert witness.add_checkpoint(log.body(17)).status == 200
    state = witness.state(ORIGIN)
    assert state is not None
    assert (state.size, state.root) == (17, log.tree.root())
    assert witness.evidence(ORIGIN) == []


def test_a_stale_old_size_gets_409_with_the_size_held(witness: Witness) -> None:
    log = Log()
    log.grow(5)
    assert witness.add_checkpoint(log.body(0)).status == 200
    log.grow(9)
    stale = witness.add_checkpoint(log.body(0))  # the log's client lost track
    assert (stale.status, stale.body, stale.content_type) == (409, b"5\n", SIZE_TYPE)
    assert witness.add_checkpoint(log.body(5)).status == 200  # and retries from there


def test_a_fork_is_refused_and_kept_as_evidence(witness: Witness) -> None:
    honest, fork = Log(), Log(b"forged")
    honest.grow(8)
    fork.grow(8)
    assert witness.add_checkpoint(honest.body(0)).status == 200
    # the same size with another root: a split view, signed by the log's real key
    same_size = witness.add_checkpoint(request_body(8, [], fork.checkpoint()))
    assert (same_size.status, same_size.body) == (409, b"8\n")
    # a larger tree that does not extend the one cosigned
    fork.grow(12)
    bigger = witness.add_checkpoint(request_body(8, consistency_proof(fork.tree, 8, 12),
                                                 fork.checkpoint()))
    assert bigger.status == 422
    kept = witness.evidence(ORIGIN)
    assert [status for status, _, _ in kept] == [409, 422]
    assert b"\xe2\x80\x94 custody.example/ledger" in kept[0][2]  # the log's own signature
    state = witness.state(ORIGIN)
    assert state is not None
    assert state.root == honest.tree.root(8)


def test_a_rollback_is_refused(witness: Witness) -> None:
    log = Log()
    log.grow(10)
    assert witness.add_checkpoint(log.body(0)).status == 200
    smaller = witness.add_checkpoint(request_body(10, [], log.checkpoint(6)))
    assert smaller.status == 400  # old size above the checkpoint's
    restarted = witness.add_checkpoint(log.body(0, 6))  # as a log restored from a backup
    assert (restarted.status, restarted.body) == (409, b"10\n")


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda log: request_body(0, [], log.checkpoint(signer=note.Signer(
            "another.example/log", SigningKey(bytes([8]) * 32)))), 404),
        (lambda log: request_body(0, [], log.checkpoint(signer=note.Signer(
            ORIGIN, SigningKey(bytes([8]) * 32)))), 403),
        (lambda log: log.body(0).replace(b"\n4\n", b"\n5\n"), 403),  # altered after signing
        (lambda log: b"old 01\n\n" + log.checkpoint(), 400),
        (lambda log: b"new 0\n\n" + log.checkpoint(), 400),
        (lambda log: b"old 0\n" + log.checkpoint(), 400),  # no empty line before it
        (lambda log: b"old 0\nnot base64!\n\n" + log.checkpoint(), 400),
        (lambda log: b"old 0\n" + b"AAAA\n" + b"\n" + log.checkpoint(), 400),  # not 32 bytes
        (lambda log: b"old 0\n" + b"A" * 43 + b"=\n" * 64 + b"\n" + log.checkpoint(), 400),
        (lambda log: request_body(0, [bytes(32)], log.checkpoint()), 422),  # proof from 0
        (lambda log: b"\xff" + log.body(0), 400),
    ],
    ids=["unknown-log", "wrong-key", "altered", "leading-zero", "no-old-line", "no-blank",
         "bad-base64", "short-hash", "64-proof-lines", "proof-from-zero", "not-utf8"],
)
def test_bad_requests_get_the_specs_status_and_no_cosignature(
    witness: Witness, make: object, status: int
) -> None:
    log = Log()
    log.grow(4)
    assert callable(make)
    answer = witness.add_checkpoint(make(log))
    assert answer.status == status, answer.body
    assert witness.state(ORIGIN) is None  # nothing was recorded as cosigned


def test_racing_requests_never_roll_the_witness_back(tmp_path: Path) -> None:
    log = Log()
    log.grow(2)
    witness = Witness(COSIGNER, [LOG.verifier], tmp_path / "w.db")
    assert witness.add_checkpoint(log.body(0)).status == 200
    bodies = []
    for size in range(3, 23):
        log.grow(size)
        bodies.append(log.body(2, size))  # all from the same old size: one may win
    answers: list[int] = []
    threads = [threading.Thread(target=lambda b=b: answers.append(
        witness.add_checkpoint(b).status)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers).count(200) == 1
    assert set(answers) <= {200, 409}
    state = witness.state(ORIGIN)
    assert state is not None
    assert state.size > 2
    # whichever won, the next from the size it holds extends it
    assert witness.add_checkpoint(log.body(state.size)).status == 200


def test_the_request_parser_reads_the_specs_example_shape() -> None:
    log = Log()
    log.grow(20)
    body = log.body(7)
    request = parse_request(body)
    assert request.old_size == 7
    assert len(request.proof) == len(consistency_proof(log.tree, 7, 20))
    assert request.checkpoint == log.checkpoint()
    assert request_body(request.old_size, request.proof, request.checkpoint) == body
