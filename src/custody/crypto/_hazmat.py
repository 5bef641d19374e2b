"""The one module that touches ``cryptography.hazmat``.

Everything else in custody calls the small, named operations here, so the
primitives in use can be audited in one screen.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


class PrimitiveFailed(Exception):
    """An AEAD tag, a key exchange or a KEM refused its input."""


def ed25519_public_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """RFC 8032 Ed25519 signature (deterministic) of ``message``."""
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519 signature of ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def x25519_public(secret: bytes) -> bytes:
    """RFC 7748 X25519(secret, basepoint)."""
    return x25519.X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


def x25519_shared(secret: bytes, public: bytes) -> bytes:
    """RFC 7748 X25519(secret, public); refuses the all-zero (low-order) result."""
    try:
        peer = x25519.X25519PublicKey.from_public_bytes(public)
        return x25519.X25519PrivateKey.from_private_bytes(secret).exchange(peer)
    except ValueError as exc:
        raise PrimitiveFailed("X25519 produced the all-zero shared secret") from exc


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 HKDF-SHA-256 (an empty salt is the RFC's default salt)."""
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(message)
    return mac.finalize()


def scrypt(passphrase: bytes, salt: bytes, log_n: int) -> bytes:
    """scrypt with N = 2**log_n, r = 8, p = 1, 32-byte output (age's parameters)."""
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=8, p=1).derive(passphrase)


class ChaChaKey:
    """ChaCha20-Poly1305 (RFC 8439) under one key; ``*_into`` avoid allocations."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)

    def seal(self, nonce: bytes, plaintext: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, None)

    def open(self, nonce: bytes, ciphertext: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, None)
        except InvalidTag as exc:
            raise PrimitiveFailed("authentication tag mismatch") from exc

    def seal_into(self, nonce: bytes, plaintext: memoryview, out: memoryview) -> None:
        self._aead.encrypt_into(nonce, plaintext, None, out)

    def open_into(self, nonce: bytes, ciphertext: memoryview, out: memoryview) -> None:
        try:
            self._aead.decrypt_into(nonce, ciphertext, None, out)
        except InvalidTag as exc:
            raise PrimitiveFailed("authentication tag mismatch") from exc


def seal_with_aad(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 with a random 96-bit nonce, bound to ``aad``: nonce || ciphertext."""
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def open_with_aad(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """The inverse of :func:`seal_with_aad`; any failure is :class:`PrimitiveFailed`."""
    try:
        return ChaCha20Poly1305(key).decrypt(sealed[:12], sealed[12:], aad)
    except (InvalidTag, ValueError) as exc:
        raise PrimitiveFailed("authentication tag mismatch") from exc


def mlkem768x25519_open(seed: bytes, enc: bytes, ciphertext: bytes, info: bytes) -> bytes:
    """HPKE (RFC 9180) base-mode Open: KEM MLKEM768-X25519 (X-Wing), HKDF-SHA256, ChaCha20Poly1305.

    The 32-byte seed is expanded as draft-ietf-hpke-pq / X-Wing specify:
    SHAKE256(seed, 96) = ML-KEM-768 seed (d || z, 64 bytes) || X25519 scalar (32 bytes).
    """
    expanded = hashlib.shake_256(seed).digest(96)
    private = hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
    try:
        return suite.decrypt(enc + ciphertext, private, info)
    except (InvalidTag, ValueError) as exc:
        raise PrimitiveFailed("HPKE open failed") from exc
