"""Small server-side secrets sealed at rest under a key derived from the server secret.

Each use has its own purpose label, so no derived key serves two jobs; the
sealed value is bound to the row it belongs to (``context``), so it cannot be
copied onto another row. Every failure is the same opaque :class:`DecryptionFailed`.
"""

from __future__ import annotations

from custody.crypto import _hazmat
from custody.crypto.age import DecryptionFailed

MIN_SECRET = 32


def purpose_key(server_secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose: HKDF-SHA-256 of the server secret, "custody PURPOSE"."""
    if len(server_secret) < MIN_SECRET:
        raise ValueError(f"the server secret must have at least {MIN_SECRET} bytes")
    return _hazmat.hkdf_sha256(server_secret, b"", f"custody {purpose}".encode())


class AtRestKey:
    """A ChaCha20-Poly1305 key for one purpose, derived (HKDF-SHA-256) from the server secret."""

    __slots__ = ("_key",)

    def __init__(self, server_secret: bytes, purpose: str) -> None:
        self._key = purpose_key(server_secret, purpose)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        return _hazmat.seal_with_aad(self._key, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return _hazmat.open_with_aad(self._key, sealed, context.encode())
        except _hazmat.PrimitiveFailed:
            raise DecryptionFailed from None
