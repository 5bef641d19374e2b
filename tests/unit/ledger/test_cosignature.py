"""tlog-cosignature/v1: key IDs, signed messages and lines as the spec writes them, and the
quorum policy every custody verifier applies."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from custody.crypto.signing import SigningKey, VerifyKey
from custody.errors import InvalidInput
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.cosignature import (
    CosignatureVerifier,
    Cosigner,
    QuorumNotMet,
    add_signatures,
    open_cosigned,
)

ORIGIN = "custody.example/ledger"
LOG = note.Signer(ORIGIN, SigningKey(bytes(range(32))))
W1 = Cosigner("witness.example/w1", SigningKey(bytes([1]) * 32))
W2 = Cosigner("witness.example/w2", SigningKey(bytes([2]) * 32))
W3 = Cosigner("witness.example/w3", SigningKey(bytes([3]) * 32))
CHECKPOINT = Checkpoint(ORIGIN, 20852163, bytes(range(32)))
TEXT = CHECKPOINT.to_text()


def test_a_cosignature_line_is_the_specs_bytes() -> None:
    line = W1.cosign(TEXT, 1679315147)
    name, b64 = line.removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(b64)
    public = W1.key.public_key.raw
    # tlog-cosignature: key ID = SHA-256(name || "\n" || 0x04 || key)[:4]
    expected_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    assert name == W1.name
    assert raw[:4] == expected_id
    assert len(raw) == 4 + 8 + 64
    assert struct.unpack(">Q", raw[4:12]) == (1679315147,)
    message = b"cosignature/v1\ntime 1679315147\n" + TEXT.encode()
    VerifyKey(public).verify(raw[12:], message)  # the signature is over exactly this
    # not a signed-note Ed25519 key ID (0x01), so a plain note verifier ignores it
    assert raw[:4] != struct.pack(">I", note.key_id(name, public))


def test_verifier_keys_round_trip_and_refuse_a_note_key() -> None:
    vkey = W1.verifier.vkey
    assert vkey.startswith("witness.example/w1+")
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert CosignatureVerifier.from_vkey(vkey) == W1.verifier
    assert Cosigner.from_skey(W1.to_skey()).verifier == W1.verifier
    with pytest.raises(InvalidInput, match="0x04"):
        CosignatureVerifier.from_vkey(LOG.verifier.vkey)  # an 0x01 signed-note key
    name, _, key = vkey.split("+", 2)
    with pytest.raises(InvalidInput, match="hash does not match"):
        CosignatureVerifier.from_vkey(f"{name}+00000000+{key}")
    # A witness's secret key is not a log's: each kind refuses the other's algorithm byte.
    with pytest.raises(InvalidInput, match="0x04"):
        Cosigner.from_skey(LOG.to_skey())
    with pytest.raises(InvalidInput, match="0x01"):
        note.Signer.from_skey(W1.to_skey())


@pytest.mark.parametrize("named", [LOG, W1], ids=["log signer", "witness cosigner"])
def test_a_named_key_never_shows_its_key(named: note.NamedKey) -> None:
    shown = repr(named) + str(named)
    assert named.name in shown
    assert named.to_skey().removeprefix(note.SKEY_PREFIX).split("+", 2)[2] not in shown
    assert base64.b64encode(named.key.seed).decode() not in shown


def _cosigned(*cosigners: Cosigner, at: int = 1679315147) -> bytes:
    signed = sign_checkpoint(CHECKPOINT, LOG)
    return add_signatures(signed, "".join(c.cosign(TEXT, at) for c in cosigners))


def test_a_quorum_of_trusted_witnesses_is_required() -> None:
    trusted = [W1.verifier, W2.verifier, W3.verifier]
    got = open_cosigned(_cosigned(W1, W3), LOG.verifier, trusted, quorum=2)
    assert got.checkpoint == CHECKPOINT
    assert got.witnesses == ((W1.name, 1679315147), (W3.name, 1679315147))
    with pytest.raises(QuorumNotMet, match=r"1 of the 2 .*cosigned by: witness.example/w2"):
        open_cosigned(_cosigned(W2), LOG.verifier, trusted, quorum=2)
    with pytest.raises(QuorumNotMet, match="none of them"):
        open_cosigned(_cosigned(), LOG.verifier, trusted, quorum=1)
    # an untrusted witness's line counts for nothing (and is no error)
    stranger = Cosigner("witness.example/w1", SigningKey(bytes([9]) * 32))
    with pytest.raises(QuorumNotMet):
        open_cosigned(_cosigned(stranger), LOG.verifier, trusted, quorum=1)
    with pytest.raises(InvalidInput):
        open_cosigned(_cosigned(W1), LOG.verifier, trusted, quorum=4)


def test_a_forged_or_moved_cosignature_is_refused() -> None:
    trusted = [W1.verifier]
    good = _cosigned(W1)
    # the same cosignature on another checkpoint of the same log
    other = Checkpoint(ORIGIN, 20852164, bytes(32))
    moved = add_signatures(sign_checkpoint(other, LOG), W1.cosign(TEXT, 5))
    with pytest.raises(note.NoteError, match="invalid signature"):
        open_cosigned(moved, LOG.verifier, trusted, quorum=1)
    # a changed timestamp breaks the signature
    line = good.decode().splitlines()[-1]
    raw = bytearray(base64.b64decode(line.split(" ")[-1]))
    raw[11] ^= 1
    forged = good[: good.rindex(b"\xe2\x80\x94")] + (
        f"\u2014 {W1.name} {base64.b64encode(bytes(raw)).decode()}\n".encode())
    with pytest.raises(note.NoteError, match="invalid signature"):
        open_cosigned(forged, LOG.verifier, trusted, quorum=1)


def test_the_log_must_sign_and_a_log_only_verifier_still_accepts_it() -> None:
    only_witness = note.sign(TEXT, [note.Signer(ORIGIN, SigningKey(bytes([7]) * 32))])
    with pytest.raises(note.NoteError):
        open_cosigned(add_signatures(only_witness, W1.cosign(TEXT, 1)), LOG.verifier,
                      [W1.verifier], quorum=1)
    # cosignatures are extra lines that a verifier knowing only the log's key ignores
    opened = note.open(_cosigned(W1, W2), [LOG.verifier])
    assert opened.text == TEXT
    assert len(opened.unverified) == 2


def test_timestamps_and_lines_are_checked() -> None:
    with pytest.raises(InvalidInput):
        W1.cosign(TEXT, -1)
    with pytest.raises(InvalidInput):
        W1.cosign(TEXT, 2**63)
    with pytest.raises(InvalidInput):
        add_signatures(b"x", "not a line\n")
    assert W1.verifier.timestamp(b"\x00" * 10) is None
