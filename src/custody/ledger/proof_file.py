"""C2SP tlog-proof@v1 files (c2sp.org/tlog-proof): offline proof that an entry is logged.

Layout: the line ``c2sp.org/tlog-proof@v1``, an optional ``extra <base64>``
line, ``index <N>``, one base64 hash per line (RFC 6962 §2.1.1 path, leaf
side first), an empty line, then the signed checkpoint verbatim.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from custody.crypto.encoding import b64decode_strict
from custody.errors import IntegrityError, InvalidInput
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, open_checkpoint
from custody.ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PROOF_HASHES = 64  # a tree of 2^64 leaves needs no more


@dataclass(frozen=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None


def format_proof(
    index: int, proof_hashes: Sequence[bytes], checkpoint_note: bytes, extra: bytes | None = None
) -> bytes:
    """The tlog-proof@v1 file for entry ``index``."""
    if index < 0:
        raise InvalidInput("an entry index is not negative")
    if any(len(h) != HASH_SIZE for h in proof_hashes):
        raise InvalidInput(f"proof hashes are {HASH_SIZE} bytes")
    lines = [HEADER]
    if extra is not None:
        if not extra:
            raise InvalidInput("extra data, when present, is not empty")
        lines.append("extra " + base64.b64encode(extra).decode("ascii"))
    lines.append(f"index {index}")
    lines += [base64.b64encode(h).decode("ascii") for h in proof_hashes]
    return ("\n".join(lines) + "\n\n").encode("ascii") + checkpoint_note


def parse_proof(data: bytes) -> TlogProof:
    """Strictly parse a tlog-proof@v1 file; :class:`InvalidInput` on anything else."""
    head, sep, checkpoint = data.partition(b"\n\n")
    if not sep or not checkpoint:
        raise InvalidInput("a tlog-proof has an empty line before its checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise InvalidInput("a tlog-proof's header is ASCII") from exc
    if lines[0] != HEADER:
        raise InvalidInput(f"a tlog-proof starts with {HEADER!r}")
    pos, extra = 1, None
    if len(lines) > pos and lines[pos].startswith("extra "):
        extra = _b64(lines[pos].removeprefix("extra "), "extra data")
        if not extra:
            raise InvalidInput("a tlog-proof's extra line is empty")
        pos += 1
    if len(lines) <= pos or not lines[pos].startswith("index "):
        raise InvalidInput("a tlog-proof has an 'index N' line")
    digits = lines[pos].removeprefix("index ")
    if not digits.isdigit() or (digits != "0" and digits.startswith("0")):
        raise InvalidInput(f"tlog-proof index {digits!r} is not a canonical decimal")
    hashes = tuple(_b64(line, "proof hash") for line in lines[pos + 1 :])
    if len(hashes) > MAX_PROOF_HASHES or any(len(h) != HASH_SIZE for h in hashes):
        raise InvalidInput(f"tlog-proof hashes are at most {MAX_PROOF_HASHES} SHA-256 hashes")
    return TlogProof(int(digits), hashes, checkpoint, extra)


def _b64(text: str, what: str) -> bytes:
    try:
        return b64decode_strict(text)
    except ValueError as exc:
        raise InvalidInput(f"tlog-proof {what} is not base64") from exc


def verify_proof_file(
    entry: bytes, proof_file: bytes, verifier: note.Verifier, origin: str
) -> Checkpoint:
    """Check the checkpoint's signature and that ``entry`` is included under its root."""
    try:
        proof = parse_proof(proof_file)
    except InvalidInput as exc:
        raise IntegrityError(f"malformed tlog-proof: {exc.message}") from exc
    cp = open_checkpoint(proof.checkpoint, verifier, origin)
    verify_inclusion(leaf_hash(entry), proof.index, cp.size, proof.hashes, cp.root_hash)
    return cp
