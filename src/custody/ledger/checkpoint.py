"""C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed tree head of the log.

The note text is the origin line, the tree size in decimal, the base64 root
hash, then optional extension lines; it is signed as a C2SP signed note whose
key name is the origin.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from custody.crypto.encoding import b64decode_strict
from custody.errors import IntegrityError, InvalidInput
from custody.ledger import note
from custody.ledger.merkle import HASH_SIZE


@dataclass(frozen=True)
class Checkpoint:
    """A tree size and root hash, named by the log's origin."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # tlog-checkpoint §Note text: no line is empty; the origin comes first.
        if not self.origin or "\n" in self.origin:
            raise InvalidInput("a checkpoint origin is one non-empty line")
        if self.size < 0:
            raise InvalidInput("a checkpoint size is not negative")
        if len(self.root_hash) != HASH_SIZE:
            raise InvalidInput(f"a checkpoint root hash is {HASH_SIZE} bytes")
        for ext in self.extensions:
            if not ext or "\n" in ext:
                raise InvalidInput("a checkpoint extension is one non-empty line")

    def to_text(self) -> str:
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = (self.origin, str(self.size), root, *self.extensions)
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Strictly parse a checkpoint body; :class:`InvalidInput` on anything else."""
        if not text.endswith("\n"):
            raise InvalidInput("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidInput("a checkpoint has an origin, a size and a root hash line")
        origin, size_text, root_text, *extensions = lines
        # tlog-checkpoint: ASCII decimal, no leading zeroes (unless 0).
        if (
            not size_text.isascii()
            or not size_text.isdigit()
            or (size_text != "0" and size_text.startswith("0"))
        ):
            raise InvalidInput(f"checkpoint size {size_text!r} is not a canonical decimal")
        try:
            root = b64decode_strict(root_text)
        except ValueError as exc:
            raise InvalidInput("checkpoint root hash is not base64") from exc
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: note.Signer) -> bytes:
    """The checkpoint as a signed note; the signer's key name must be the origin."""
    if signer.name != cp.origin:
        raise InvalidInput(f"the checkpoint key is named {signer.name!r}, not {cp.origin!r}")
    return note.sign(cp.to_text(), [signer])


def open_checkpoint(
    note_bytes: bytes, verifier: note.Verifier | Sequence[note.Verifier], origin: str
) -> Checkpoint:
    """Verify the log's signature and parse the checkpoint; it must be for ``origin``."""
    verifiers = [verifier] if isinstance(verifier, note.Verifier) else list(verifier)
    opened = note.open(note_bytes, verifiers)
    try:
        cp = Checkpoint.parse(opened.text)
    except InvalidInput as exc:
        raise IntegrityError(f"signed checkpoint is malformed: {exc.message}") from exc
    if cp.origin != origin:
        raise IntegrityError(f"checkpoint is for log {cp.origin!r}, not {origin!r}")
    return cp


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as it is kept (by the server, by a client that verified it): the tree
    size and root hash, and the exact signed note that commits to them."""

    size: int
    root_hash: bytes
    note: bytes
