"""The log gathers its witnesses' cosignatures into its checkpoints: from real witnesses
(custody.witness, in process), one of them down, one restarted, one shown a fork, one lying."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from custody.crypto.signing import SigningKey
from custody.ledger import note
from custody.ledger.cosignature import Cosigner, open_cosigned
from custody.services import ledger
from custody.services.witnessing import WitnessEndpoint, Witnessing, status
from custody.settings import Settings
from custody.witness.app import make_app
from custody.witness.core import Witness
from support.world import Cast


def _witness(tmp_path: Path, cast: Cast, n: int) -> tuple[Cosigner, TestClient, Witness]:
    signer = cast.ctx.log_signer
    assert signer is not None
    cosigner = Cosigner(f"witness.example/w{n}", SigningKey.generate())
    witness = Witness(cosigner, [signer.verifier], tmp_path / f"w{n}.db")
    return cosigner, TestClient(make_app(witness), base_url=f"http://w{n}.example"), witness


class Router(httpx.BaseTransport):
    """Each witness's host to its app; a host marked down refuses connections."""

    def __init__(self, apps: dict[str, TestClient]) -> None:
        self.apps = apps
        self.down: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        got = self.apps[host].request(request.method, request.url.path, content=request.content)
        return httpx.Response(got.status_code, headers=got.headers, content=got.content)


def _setup(tmp_path: Path, cast: Cast, count: int = 2) -> tuple[Witnessing, list[Cosigner],
                                                               Router, list[Witness]]:
    parts = [_witness(tmp_path, cast, n) for n in range(1, count + 1)]
    router = Router({f"w{n}.example": client for n, (_, client, _) in enumerate(parts, 1)})
    endpoints = [WitnessEndpoint(c.verifier, f"http://w{n}.example")
                 for n, (c, _, _) in enumerate(parts, 1)]
    witnessing = Witnessing(cast.ctx, endpoints, httpx.Client(transport=router))
    return witnessing, [c for c, _, _ in parts], router, [w for _, _, w in parts]


def _grow(cast: Cast) -> None:
    cast.transfer()  # entries in the log
    assert ledger.publish_checkpoint(cast.ctx) is not None


def test_every_checkpoint_is_cosigned_and_served_with_its_cosignatures(
    cast: Cast, tmp_path: Path
) -> None:
    witnessing, cosigners, _, _ = _setup(tmp_path, cast)
    log = cast.ctx.log_signer
    assert log is not None
    verifiers = [c.verifier for c in cosigners]
    for _ in range(3):  # growth, consistency proofs from the size each witness holds
        _grow(cast)
        kept = witnessing.gather()
        assert kept is not None
        cosigned = open_cosigned(kept.note, log.verifier, verifiers, quorum=2)
        assert {name for name, _ in cosigned.witnesses} == {c.name for c in cosigners}
        served = ledger.latest_checkpoint(cast.ctx).note  # what GET /checkpoint answers
        assert served == kept.note
        assert note.open(served, [log.verifier]).text  # a log-key-only verifier still reads it
    assert witnessing.gather() == ledger.latest_checkpoint(cast.ctx)  # nothing more to ask
    assert all(s.last_error is None for s in witnessing.state.values())


def test_a_witness_that_is_down_delays_only_its_own_cosignature(
    cast: Cast, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    witnessing, cosigners, router, _ = _setup(tmp_path, cast)
    log = cast.ctx.log_signer
    assert log is not None
    router.down.add("w2.example")
    _grow(cast)
    kept = witnessing.gather()
    assert kept is not None
    got = open_cosigned(kept.note, log.verifier, [c.verifier for c in cosigners], quorum=1)
    assert [name for name, _ in got.witnesses] == [cosigners[0].name]
    assert "witness witness.example/w2 did not cosign: unreachable" in caplog.text
    router.down.clear()  # back: asked again on the next round, from size 0 (it knew nothing)
    kept = witnessing.gather()
    assert kept is not None
    assert len(open_cosigned(kept.note, log.verifier, [c.verifier for c in cosigners],
                             quorum=2).witnesses) == 2
    # The log forgot what the witnesses hold (a new node): a 409 tells, and it goes on.
    fresh = Witnessing(cast.ctx, witnessing.witnesses, httpx.Client(transport=router))
    _grow(cast)
    kept = fresh.gather()
    assert kept is not None
    assert len(open_cosigned(kept.note, log.verifier, [c.verifier for c in cosigners],
                             quorum=2).witnesses) == 2


def test_a_witness_that_holds_another_history_raises_an_alarm_and_signs_nothing(
    cast: Cast, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    witnessing, cosigners, _, witnesses = _setup(tmp_path, cast, count=1)
    _grow(cast)
    witnessing.gather()
    state = witnesses[0].state(cast.ctx.origin)
    assert state is not None
    # The witness was shown a larger tree of this log (say, before a restore from backup).
    with witnesses[0]._connect() as db:  # arranging the witness's memory
        db.execute("UPDATE logs SET size = size + 1000")
    _grow(cast)
    kept = witnessing.gather()
    assert kept is not None
    log = cast.ctx.log_signer
    assert log is not None
    signed = note.open(kept.note, [cosigners[0].verifier, log.verifier]).signatures
    assert cosigners[0].name not in {s.name for s in signed}
    assert "a rollback or a fork of the log" in caplog.text


def test_a_witness_answer_that_does_not_verify_is_not_kept(
    cast: Cast, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    witnessing, cosigners, router, _ = _setup(tmp_path, cast, count=1)
    impostor = Cosigner(cosigners[0].name, SigningKey.generate())  # same name, another key
    signer = cast.ctx.log_signer
    assert signer is not None
    lying = Witness(impostor, [signer.verifier], tmp_path / "liar.db")
    router.apps["w1.example"] = TestClient(make_app(lying), base_url="http://w1.example")
    _grow(cast)
    kept = witnessing.gather()
    assert kept is not None
    assert kept.note == ledger.latest_checkpoint(cast.ctx).note
    assert kept.note.count("\u2014 ".encode()) == 1  # the log's own signature only
    assert "without a valid cosignature of ours" in caplog.text


def test_the_setting_names_each_witness_by_key_and_url() -> None:
    cosigner = Cosigner("witness.example/w1", SigningKey.generate())
    entry = f"{cosigner.verifier.vkey} https://w1.example/"
    settings = Settings(witnesses=(entry,), mode="development")
    assert WitnessEndpoint.parse(settings.witnesses[0]) == WitnessEndpoint(
        cosigner.verifier, "https://w1.example")
    for bad in (cosigner.verifier.vkey, f"{cosigner.verifier.vkey} ftp://x",
                f"{note.make_vkey('w', cosigner.key.public_key)} https://w1.example"):
        with pytest.raises(ValueError, match="CUSTODY_WITNESSES"):
            Settings(witnesses=(bad,), mode="development")


def test_operators_see_the_checkpoints_age_and_who_cosigned_it(
    cast: Cast, tmp_path: Path
) -> None:
    witnessing, cosigners, router, _ = _setup(tmp_path, cast)
    entries = tuple(f"{c.verifier.vkey} http://w{n}.example" for n, c in enumerate(cosigners, 1))
    configured = dataclasses.replace(
        cast.ctx, settings=cast.ctx.settings.model_copy(update={"witnesses": entries}))
    router.down.add("w2.example")
    _grow(cast)
    witnessing.gather()
    shown = status(configured)
    assert shown.size == ledger.latest_checkpoint(cast.ctx).size
    assert shown.checkpoint_age_seconds >= 0
    assert [(w.name, w.cosigned) for w in shown.witnesses] == [
        (cosigners[0].name, True), (cosigners[1].name, False)]
    assert shown.witnesses[0].cosigned_at is not None
    assert shown.witnesses[1].cosigned_at is None
