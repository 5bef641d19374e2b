"""``custody.client.trust`` and ``custody.client.transparency`` against the real app in process.

The log key is the one pinned at the first login, never one a server names. A checkpoint is
taken in only if it extends the largest this client verified, or is proven a prefix of it (a
rollback, a fork or a second tree of the same size is refused, and both signed notes kept as
evidence); a public key
counts only if the ledger shows it registered, proven against such a checkpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from custody.client import transparency, trust
from custody.crypto.keys import UserKeys
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError, InvalidInput
from custody.ledger.entry import Entry
from custody.ledger.note import Signer
from custody.protocol.codes import ErrorCode
from custody.protocol.errors import envelope
from support.client import SERVER, Desks, Machine, entries, grow, signer, with_json
from support.hostile import ForgedLog
from support.world import CPS, new_urn

CONSISTENCY = "/api/v1/ledger/consistency"


def accept(reader: Machine, note: bytes) -> int:
    with reader.active():
        return trust.LogView(trust.require_pin(SERVER)).accept(reader.api, note).size


def remembered(reader: Machine) -> int | None:
    with reader.active():
        known = trust.LogView(trust.require_pin(SERVER)).remembered()
    return None if known is None else known.size


def evidence(reader: Machine) -> list[str]:
    return [p.read_text() for p in sorted((reader.home / "evidence").glob("split-view-*.txt"))]


def serve_consistency(reader: Machine, log: ForgedLog) -> None:
    def proof(request: httpx.Request, answer: httpx.Response) -> httpx.Response:
        old, new = int(request.url.params["old"]), int(request.url.params["new"])
        return httpx.Response(200, json=log.consistency(old, new))

    reader.tampering.on("GET", CONSISTENCY, proof)


def test_a_growing_log_is_taken_in_with_a_consistency_proof(desks: Desks) -> None:
    reader = desks.prosecutor
    grow(desks)
    first = ForgedLog(signer(desks), entries(desks))  # the real tree, as the log signs it
    assert accept(reader, first.checkpoint()) == len(first.entries)
    assert accept(reader, first.checkpoint()) == len(first.entries)  # the same again: fine
    grow(desks)
    with reader.active():
        latest = trust.current_checkpoint(reader.api, trust.require_pin(SERVER))
    assert latest is not None
    assert latest.size == len(entries(desks)) > len(first.entries)
    assert remembered(reader) == latest.size
    assert f"GET {CONSISTENCY}" in reader.tampering.seen
    assert evidence(reader) == []


def test_a_rollback_a_fork_and_a_second_tree_are_refused_and_kept_as_evidence(
    desks: Desks,
) -> None:
    reader = desks.prosecutor
    grow(desks, 6)
    real = entries(desks)
    size = accept(reader, ForgedLog(signer(desks), real).checkpoint())

    # Rolled back: it lost the last three entries, so it cannot prove the tree it showed a
    # prefix of the one this client verified (it answers as a server asked past its size).
    rolled_back = ForgedLog(signer(desks), real[: size - 3])
    lost = envelope(ErrorCode.INVALID_INPUT, f"the ledger has {size - 3} entries, not {size}")
    reader.tampering.on("GET", CONSISTENCY, lambda *_: httpx.Response(400, json=lost))
    with pytest.raises(trust.SplitView, match=f"already verified one of {size}"):
        accept(reader, rolled_back.checkpoint())
    changed = [*real]
    changed[size // 2] = Entry(type="key:registered", time=datetime.now(UTC), actor="system",
                               data={"age_recipient": "forged"}).to_bytes()
    with pytest.raises(trust.SplitView, match=f"two different trees of size {size}"):
        accept(reader, ForgedLog(signer(desks), changed).checkpoint())
    fork = ForgedLog(signer(desks), changed)
    fork.append(real[-1])
    serve_consistency(reader, fork)
    with pytest.raises(trust.SplitView, match=f"does not extend the tree of {size}"):
        accept(reader, fork.checkpoint())
    assert remembered(reader) == size  # nothing it was shown was taken in
    kept = evidence(reader)
    assert len(kept) == 3
    assert fork.checkpoint().decode() in kept[-1]


def test_an_older_tree_the_server_proves_a_prefix_is_taken_not_remembered(
    desks: Desks,
) -> None:
    """Two commands at once on one machine: one fetched a checkpoint, the other a newer one
    and remembered it first. The older is a prefix of the newer, as the server proves: no
    split view, no evidence, and the newer stays remembered. Without the proof (the
    server answers it malformed) the older tree is refused as before."""
    reader = desks.prosecutor
    grow(desks, 4)
    older = ForgedLog(signer(desks), entries(desks)).checkpoint()
    grow(desks, 3)
    size = accept(reader, ForgedLog(signer(desks), entries(desks)).checkpoint())
    assert accept(reader, older) < size
    assert remembered(reader) == size
    assert evidence(reader) == []
    reader.tampering.on("GET", CONSISTENCY, lambda _, answer: with_json(
        answer, {**answer.json(), "proof": []}))
    with pytest.raises(trust.SplitView, match=f"already verified one of {size}"):
        accept(reader, older)
    assert len(evidence(reader)) == 1


def test_a_malformed_consistency_proof_is_refused(desks: Desks) -> None:
    reader = desks.prosecutor
    grow(desks)
    size = accept(reader, ForgedLog(signer(desks), entries(desks)).checkpoint())
    grow(desks)
    reader.tampering.on("GET", CONSISTENCY, lambda _, answer: with_json(
        answer, {**answer.json(), "old": 1}))
    with pytest.raises(trust.SplitView, match="malformed"):
        accept(reader, ForgedLog(signer(desks), entries(desks)).checkpoint())
    assert remembered(reader) == size


def test_only_the_pinned_log_key_is_believed(desks: Desks) -> None:
    reader = desks.prosecutor
    real = desks.app.world.log_key
    other = Signer(real.split("+")[0], SigningKey.generate()).verifier.vkey
    with reader.active():
        assert trust.expected_log_key(SERVER, None).vkey == real  # pinned at the first login
        assert trust.expected_log_key(SERVER + "/", real).vkey == real
        with pytest.raises(trust.LogKeyMismatch, match="differs from the one pinned"):
            trust.expected_log_key(SERVER, other)
        assert trust.expected_log_key(SERVER, other, replace=True).vkey == other
        with pytest.raises(trust.LogKeyMismatch, match="not the one pinned"):
            trust.check_server_names(SERVER, other, trust.parse_log_key(real))
        trust.check_server_names(SERVER, real, trust.parse_log_key(real))
        with pytest.raises(InvalidInput, match="needs the log's verifier key"):
            trust.expected_log_key("http://elsewhere.example", None)
        with pytest.raises(IntegrityError, match="no log key pinned"):
            trust.require_pin("http://elsewhere.example")
        with pytest.raises(InvalidInput, match="is not a log verifier key"):
            trust.parse_log_key("custody.test/ledger+00000000+not-a-key")
        assert trust.pinned_key(SERVER) == real  # nothing above changed the pin


def _readers(desks: Desks) -> list[dict[str, Any]]:
    """Whom the server names for a transfer to CPS, each with its ledger entry."""
    officer = desks.officer
    urn = new_urn()
    desks.app.client.post("/api/v1/cases", headers=officer.member.auth, json={"urn": urn})
    made = desks.app.client.post("/api/v1/transfers", headers=officer.member.auth,
                                 json={"case": urn, "to": [CPS]})
    assert made.status_code == 201, made.text
    readers: list[dict[str, Any]] = made.json()["readers"]
    return readers


def test_a_key_counts_only_as_the_ledger_shows_it(desks: Desks) -> None:
    officer, prosecutor = desks.officer, desks.prosecutor
    readers = _readers(desks)
    (mine,) = [r for r in readers if r["user_id"] == prosecutor.member.user_id]
    (recovery,) = [r for r in readers if r["org_id"] is not None and r["label"].startswith(CPS)]
    check = transparency.check_key_logged
    with officer.active():
        check(officer.api, officer.session, index=mine["key_index"], user_id=mine["user_id"],
              age_recipient=mine["recipient"], signing_key=prosecutor.keys.signing_public)
        with pytest.raises(IntegrityError, match="encryption key differ"):
            check(officer.api, officer.session, index=mine["key_index"], user_id=mine["user_id"],
                  age_recipient=UserKeys.generate().age_recipient)
        with pytest.raises(IntegrityError, match="signing key differ"):
            check(officer.api, officer.session, index=mine["key_index"], user_id=mine["user_id"],
                  signing_key=SigningKey.generate().public_key.to_b64())
        with pytest.raises(IntegrityError, match="owner differ"):
            check(officer.api, officer.session, index=mine["key_index"],
                  user_id=officer.member.user_id, age_recipient=mine["recipient"])
        with pytest.raises(IntegrityError, match="entry type"):
            check(officer.api, officer.session, index=recovery["key_index"],
                  user_id=mine["user_id"], age_recipient=mine["recipient"])
        for nothing in (None, True, -1):
            with pytest.raises(IntegrityError, match="named no ledger entry"):
                check(officer.api, officer.session, index=nothing,  # type: ignore[arg-type]
                      user_id=mine["user_id"])

        transparency.check_recovery_key_logged(
            officer.api, officer.session, index=recovery["key_index"], org_id=recovery["org_id"],
            recipient=recovery["recipient"])
        with pytest.raises(IntegrityError, match="recovery key differ"):
            transparency.check_recovery_key_logged(
                officer.api, officer.session, index=recovery["key_index"],
                org_id=recovery["org_id"], recipient=UserKeys.generate().age_recipient)


def test_an_entry_proven_in_another_tree_is_refused(desks: Desks) -> None:
    officer, prosecutor = desks.officer, desks.prosecutor
    (mine,) = [r for r in _readers(desks) if r["user_id"] == prosecutor.member.user_id]
    index = mine["key_index"]
    with officer.active():  # the real registration, proven: the client remembers that tree
        transparency.check_key_logged(officer.api, officer.session, index=index,
                                      user_id=mine["user_id"], age_recipient=mine["recipient"])
    real = entries(desks)
    assert remembered(officer) == len(real)
    attacker = UserKeys.generate().age_recipient
    forged = Entry(type="key:registered", time=datetime.now(UTC), actor=mine["user_id"],
                   data={"age_recipient": attacker,
                         "signing_key": SigningKey.generate().public_key.to_b64()}).to_bytes()
    swapped = [*real[:index], forged, *real[index + 1:]]
    other_key = Signer(desks.app.world.log_key.split("+")[0], SigningKey.generate())
    for log, words in ((ForgedLog(other_key, swapped), "signature"),
                       (ForgedLog(signer(desks), swapped), "two different trees")):
        officer.tampering.honest()
        officer.tampering.on("GET", rf"/api/v1/ledger/entries/{index}",
                             lambda _, answer, log=log: with_json(answer, log.proven(index)))
        with pytest.raises(IntegrityError, match=words), officer.active():
            transparency.check_key_logged(officer.api, officer.session, index=index,
                                          user_id=mine["user_id"], age_recipient=attacker)
    assert remembered(officer) == len(real)
