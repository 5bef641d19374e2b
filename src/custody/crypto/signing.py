"""Ed25519 signing keys: manifests, signed notes and checkpoints all use these."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from custody.crypto import _hazmat
from custody.errors import IntegrityError, InvalidInput


class BadSignature(IntegrityError):
    """A signature did not verify against the expected public key."""


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise InvalidInput("an Ed25519 public key is 32 bytes")

    @classmethod
    def from_b64(cls, text: str) -> VerifyKey:
        try:
            return cls(base64.b64decode(text, validate=True))
        except ValueError as exc:  # binascii.Error is one
            raise InvalidInput("not a base64 Ed25519 public key") from exc

    def to_b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise :class:`BadSignature` unless ``signature`` signs ``message``."""
        if not _hazmat.ed25519_verify(self.raw, signature, message):
            raise BadSignature("signature does not verify")

    def is_valid(self, signature: bytes, message: bytes) -> bool:
        return _hazmat.ed25519_verify(self.raw, signature, message)


@dataclass(frozen=True, repr=False)
class SigningKey:
    """An Ed25519 private key, held as its 32-byte seed."""

    seed: bytes

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise InvalidInput("an Ed25519 seed is 32 bytes")

    def __repr__(self) -> str:  # never print key material
        return f"SigningKey(public={self.public_key.to_b64()})"

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(32))

    @property
    def public_key(self) -> VerifyKey:
        return VerifyKey(_hazmat.ed25519_public_from_seed(self.seed))

    def sign(self, message: bytes) -> bytes:
        return _hazmat.ed25519_sign(self.seed, message)
