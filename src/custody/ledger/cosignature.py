"""C2SP tlog-cosignature/v1 (c2sp.org/tlog-cosignature): a witness's timestamped Ed25519
statement that a checkpoint is the largest consistent tree it has seen of a log.

A cosignature is a signed-note signature line on the log's checkpoint:

    — <witness name> base64(key ID || u64 timestamp || Ed25519 signature)

with the key ID ``SHA-256(name || "\\n" || 0x04 || public key)[:4]`` and the signature over
``"cosignature/v1\\n" || "time <timestamp>\\n" || <the checkpoint's note text>``. A note with
cosignatures is still a signed note: a verifier that knows only the log's key (Go's
``x/mod/sumdb/note``, custody's own) ignores the witnesses' lines.

:func:`open_cosigned` is the policy every custody verifier applies: the log's signature, and
cosignatures from at least ``quorum`` of the witnesses it trusts.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from custody.errors import InvalidInput
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint

ALG_COSIGNATURE_V1 = 0x04  # tlog-cosignature §Format: the Ed25519 cosignature key ID byte
HEADER = b"cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
_SIGNATURE_SIZE = 8 + 64  # u64 timestamp || Ed25519 signature


def cosigner_key_id(name: str, public_key: bytes) -> int:
    """tlog-cosignature: ``SHA-256(name || "\\n" || 0x04 || key)[:4]``, big-endian."""
    return note.key_id(name, public_key, ALG_COSIGNATURE_V1)


def signed_message(text: str, timestamp: int) -> bytes:
    """What a cosigner signs over a checkpoint's note ``text`` at ``timestamp``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInput(f"a cosignature's time is 0 to 2^63-1 seconds, not {timestamp}")
    return HEADER + f"time {timestamp}\n".encode() + text.encode()


@dataclass(frozen=True)
class CosignatureVerifier(note.Verifier):
    """A witness's public key, as a verifier of its cosignatures (a note verifier whose key
    ID and vkey carry the cosignature type 0x04: ``name+hash+base64(0x04 || key)``)."""

    alg: ClassVar[int] = ALG_COSIGNATURE_V1
    what: ClassVar[str] = "witness key"

    def timestamp(self, signature: bytes) -> int | None:
        """The time a well-formed cosignature carries (not yet checked), or None."""
        if len(signature) != _SIGNATURE_SIZE:
            return None
        (when,) = struct.unpack(">Q", signature[:8])
        return int(when) if when <= MAX_TIMESTAMP else None

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this witness's cosignature of the note text ``message``."""
        when = self.timestamp(signature)
        if when is None:
            return False
        signed = HEADER + f"time {when}\n".encode() + message
        return self.public_key.is_valid(signature[8:], signed)


@dataclass(frozen=True, repr=False)
class Cosigner(note.NamedKey):
    """A witness's signing key and name. Its secret key is Go's signer-key form with the
    algorithm byte 0x04 (:meth:`to_skey`, :meth:`from_skey`)."""

    verifies: ClassVar[type[note.Verifier]] = CosignatureVerifier
    what: ClassVar[str] = "witness secret key"

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.key.public_key)

    def cosign(self, text: str, timestamp: int) -> str:
        """The signature line (ending in a newline) cosigning the note ``text``."""
        signature = self.key.sign(signed_message(text, timestamp))
        raw = struct.pack(">IQ", self.key_id, timestamp) + signature
        return f"\u2014 {self.name} {base64.b64encode(raw).decode()}\n"


def add_signatures(signed_note: bytes, lines: str) -> bytes:
    """``signed_note`` with the signature ``lines`` (each ``— name base64\\n``) appended."""
    if lines and (not lines.endswith("\n") or not all(
        line.startswith("\u2014 ") for line in lines[:-1].split("\n")
    )):
        raise InvalidInput("signature lines start with '\u2014 ' and end with a newline")
    return signed_note + lines.encode()


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint whose log signature verified, and the witnesses that cosigned it."""

    checkpoint: Checkpoint
    witnesses: tuple[tuple[str, int], ...]  # (name, cosignature time), in the note's order


class QuorumNotMet(note.NoteError):
    """Fewer of the trusted witnesses cosigned the checkpoint than the policy asks."""


def open_cosigned(
    note_bytes: bytes,
    log: note.Verifier,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> Cosigned:
    """The checkpoint in ``note_bytes`` if ``log`` signed it and at least ``quorum`` of
    ``witnesses`` cosigned it; else :class:`note.NoteError` (:class:`QuorumNotMet` saying who
    did sign). Unknown signature lines are ignored, as signed-note says."""
    if not 0 <= quorum <= len(witnesses):
        raise InvalidInput(f"a quorum of {quorum} of {len(witnesses)} witnesses cannot be met")
    opened = note.open(note_bytes, [log, *witnesses])
    if not any((s.name, s.key_id) == (log.name, log.key_id) for s in opened.signatures):
        raise note.NoteError(f"the checkpoint is not signed by the log's key {log.name}")
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != log.name:
        raise note.NoteError(f"the checkpoint is for {checkpoint.origin!r}, not {log.name!r}")
    by_id = {(w.name, w.key_id): w for w in witnesses}
    signed = []
    for sig in opened.signatures:
        witness = by_id.get((sig.name, sig.key_id))
        if witness is not None:
            signed.append((sig.name, witness.timestamp(sig.signature) or 0))
    if len(signed) < quorum:
        names = ", ".join(name for name, _ in signed) or "none of them"
        raise QuorumNotMet(
            f"the checkpoint has {len(signed)} of the {quorum} witness cosignatures the policy "
            f"asks for (cosigned by: {names})"
        )
    return Cosigned(checkpoint, tuple(signed))
