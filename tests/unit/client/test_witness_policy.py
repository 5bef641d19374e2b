"""A split view, caught by a witness: the log's operator (holding the real log key) signs two
trees of the same size, one for each of two clients. The witness cosigns the first and refuses
the second; the client whose policy asks for the witness refuses the uncosigned tree before
it trusts anything in it, where a client without a policy (the log's signature alone) would
take it in; and a monitor that followed the first raises an alarm at the second."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.client import trust
from custody.crypto.signing import SigningKey
from custody.ledger import tiles
from custody.ledger.cosignature import Cosigner, QuorumNotMet, add_signatures
from custody.ledger.entry import Entry
from custody.monitor.core import Alarm, Monitor
from custody.witness.core import Witness, request_body
from support.client import SERVER, Desks, entries, grow, signer
from support.hostile import ForgedLog

W1 = Cosigner("witness.example/w1", SigningKey(bytes([1]) * 32))
W2 = Cosigner("witness.example/w2", SigningKey(bytes([2]) * 32))


def test_a_split_view_is_refused_by_the_witness_and_by_a_client_that_asks_for_it(
    desks: Desks, tmp_path: Path
) -> None:
    grow(desks, 4)
    real = entries(desks)
    log_key = signer(desks)
    witness = Witness(W1, [log_key.verifier], tmp_path / "w1.db")
    honest = ForgedLog(log_key, real)  # the real tree, as the log signs it
    cosigned = witness.add_checkpoint(request_body(0, [], honest.checkpoint()))
    assert cosigned.status == 200
    shown_to_a = add_signatures(honest.checkpoint(), cosigned.body.decode())

    # The operator's tree for B: the same size, one key registration swapped in.
    swapped = [*real]
    swapped[1] = Entry(type="key:registered", time=datetime.now(UTC), actor="system",
                       data={"age_recipient": "age1forged"}).to_bytes()
    fork = ForgedLog(log_key, swapped)
    refused = witness.add_checkpoint(request_body(len(real), [], fork.checkpoint()))
    assert (refused.status, refused.body) == (409, f"{len(real)}\n".encode())
    assert [status for status, _, _ in witness.evidence(log_key.name)] == [409]

    a, b = desks.prosecutor, desks.prosecutor2
    with a.active():
        policy = trust.WitnessPolicy.of([W1.verifier.vkey, W2.verifier.vkey], 1)
        trust.pin_policy(trust.require_pin(SERVER), policy)
        view = trust.LogView(trust.require_pin(SERVER))
        assert view.policy == policy  # pinned on this machine, for this log key
        assert view.accept(a.api, shown_to_a).size == len(real)
    with b.active():
        trust.pin_policy(trust.require_pin(SERVER), trust.WitnessPolicy.of([W1.verifier.vkey],
                                                                           None))
        with pytest.raises(QuorumNotMet, match="0 of the 1 witness cosignatures"):
            trust.LogView(trust.require_pin(SERVER)).accept(b.api, fork.checkpoint())
        assert trust.LogView(trust.require_pin(SERVER)).remembered() is None  # nothing taken in
        # Without a policy, the log's signature alone: the fork would have been believed.
        no_policy = trust.LogView(trust.require_pin(SERVER), trust.WitnessPolicy())
        assert no_policy.accept(b.api, fork.checkpoint()).size == len(real)

    # A monitor that followed the log as A saw it, then is shown B's tree: an alarm.
    def serving(log: ForgedLog) -> Callable[[str], bytes]:
        def fetch(path: str) -> bytes:
            if path == "checkpoint":
                return log.checkpoint()
            ref = tiles.parse_tile_path(path)
            start = ref.n * tiles.TILE_WIDTH
            return tiles.entry_bundle(log.entries[start:start + ref.width])
        return fetch

    state = tmp_path / "monitor.json"
    assert Monitor(log_key.verifier, state, serving(honest)).round().checkpoint.size == len(real)
    with pytest.raises(Alarm, match="two different trees"):
        Monitor(log_key.verifier, state, serving(fork)).round()


def test_a_policy_must_be_meetable_and_a_damaged_one_is_an_error(desks: Desks) -> None:
    with pytest.raises(Exception, match="more than the 1 witnesses"):
        trust.WitnessPolicy.of([W1.verifier.vkey], 2)
    with desks.officer.active():
        log = trust.require_pin(SERVER)
        assert trust.pinned_policy(log) == trust.WitnessPolicy()  # none pinned: none asked
        trust.pin_policy(log, trust.WitnessPolicy.of([W1.verifier.vkey], None))
        path = desks.officer.home / "trust" / f"witnesses-{log.key_id:08x}.json"
        assert path.stat().st_mode & 0o077 == 0
        path.write_text("{not json")
        with pytest.raises(Exception, match="is damaged"):
            trust.pinned_policy(log)


def test_a_client_waits_a_little_for_cosignatures_then_refuses() -> None:
    calls: list[int] = []

    def never() -> int:
        calls.append(1)
        raise QuorumNotMet("the checkpoint has 0 of the 1 witness cosignatures")

    with pytest.raises(QuorumNotMet):
        trust.await_quorum(never, wait=1.2)
    assert 2 <= len(calls) <= 5
    tries: list[int] = []

    def soon() -> int:
        tries.append(1)
        if len(tries) == 1:
            raise QuorumNotMet("not yet")
        return 7

    assert trust.await_quorum(soon, wait=5) == 7
