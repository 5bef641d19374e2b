"""age recipient types: X25519, scrypt, and (decryption only) mlkem768x25519.

Each identity's ``unwrap`` looks at the header's stanzas and returns the
16-byte file key, ``None`` if no stanza is for it, or raises
:class:`~custody.crypto._format.Malformed` if a stanza of its type is broken
(C2SP age, "Recipient stanzas" and the per-type sections).
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Sequence
from typing import Protocol

from custody.crypto import _bech32, _hazmat
from custody.crypto._format import Malformed, Stanza, b64_raw, b64_raw_decode
from custody.errors import InvalidInput

FILE_KEY_SIZE = 16
_ZERO_NONCE = bytes(12)
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_HYBRID_LABEL = b"age-encryption.org/mlkem768x25519"
_HYBRID_ENC_SIZE = 1120  # ML-KEM-768 ciphertext (1088) || X25519 share (32)
_DECIMAL = re.compile(r"[1-9][0-9]*")


class Unwrapper(Protocol):
    """Anything that can find its file key among a header's stanzas."""

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None: ...


def _open_file_key(key: bytes, body: bytes) -> bytes | None:
    if len(body) != FILE_KEY_SIZE + 16:  # checked before decrypting, per the spec
        raise Malformed("wrapped file key has the wrong size")
    try:
        return _hazmat.ChaChaKey(key).open(_ZERO_NONCE, body)
    except _hazmat.PrimitiveFailed:
        return None


def _key_data(text: str, hrp: str, *, upper: bool, size: int | None, wrong: str) -> bytes:
    """The bytes of a key written as age writes it: Bech32 under ``hrp``, in one case (upper
    for secret keys), of ``size`` bytes when given. Text that is Bech32 but not such a key is
    ``wrong``; text that is not Bech32 at all raises :class:`~custody.crypto._bech32.Bech32Error`
    for the caller to word."""
    text = text.strip()
    found, data = _bech32.decode(text)
    cased = text.upper() if upper else text.lower()
    if found != hrp or text != cased or (size is not None and len(data) != size):
        raise InvalidInput(wrong)
    return data


class Recipient:
    """An age X25519 recipient (``age1...``): who a file can be encrypted to."""

    __slots__ = ("_public",)

    def __init__(self, public: bytes) -> None:
        if len(public) != 32:
            raise InvalidInput("an age X25519 recipient is 32 bytes")
        self._public = public

    @classmethod
    def parse(cls, text: str) -> Recipient:
        wrong = "not an age X25519 recipient (expected 'age1...' of 32 bytes)"
        try:
            return cls(_key_data(text, "age", upper=False, size=32, wrong=wrong))
        except _bech32.Bech32Error as exc:
            raise InvalidInput(f"not an age recipient (expected 'age1...'): {exc}") from exc

    def to_string(self) -> str:
        return _bech32.encode("age", self._public)

    @property
    def raw(self) -> bytes:
        return self._public

    def wrap(self, file_key: bytes) -> Stanza:
        """An ``X25519`` stanza carrying ``file_key`` (age spec, "X25519 recipient stanza")."""
        ephemeral = os.urandom(32)
        share = _hazmat.x25519_public(ephemeral)
        shared = _hazmat.x25519_shared(ephemeral, self._public)
        key = _hazmat.hkdf_sha256(shared, share + self._public, _X25519_LABEL)
        body = _hazmat.ChaChaKey(key).seal(_ZERO_NONCE, file_key)
        return Stanza(("X25519", b64_raw(share).decode("ascii")), body)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipient) and other._public == self._public

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:
        return f"Recipient({self.to_string()!r})"


class Identity:
    """An age X25519 identity (``AGE-SECRET-KEY-1...``): who can decrypt."""

    __slots__ = ("_public", "_secret")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise InvalidInput("an age X25519 identity is 32 bytes")
        self._secret = secret
        self._public = _hazmat.x25519_public(secret)

    @classmethod
    def generate(cls) -> Identity:
        return cls(os.urandom(32))

    @classmethod
    def parse(cls, text: str) -> Identity:
        wrong = "not an age X25519 identity (expected 'AGE-SECRET-KEY-1...')"
        try:
            return cls(_key_data(text, "age-secret-key-", upper=True, size=32, wrong=wrong))
        except _bech32.Bech32Error as exc:
            raise InvalidInput("not an age identity (expected 'AGE-SECRET-KEY-1...')") from exc

    def to_string(self) -> str:
        return _bech32.encode("age-secret-key-", self._secret, upper=True)

    @property
    def recipient(self) -> Recipient:
        return Recipient(self._public)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            if len(stanza.args) != 2:
                raise Malformed("X25519 stanza takes one argument")
            share = b64_raw_decode(stanza.args[1].encode("ascii"))
            if len(share) != 32:
                raise Malformed("X25519 share is not 32 bytes")
            try:
                shared = _hazmat.x25519_shared(self._secret, share)
            except _hazmat.PrimitiveFailed as exc:
                raise Malformed("low-order X25519 share") from exc
            key = _hazmat.hkdf_sha256(shared, share + self._public, _X25519_LABEL)
            file_key = _open_file_key(key, stanza.body)
            if file_key is not None:
                return file_key
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and hmac.compare_digest(other._secret, self._secret)

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:  # never print key material
        return f"Identity(recipient={self.recipient.to_string()!r})"


class HybridIdentity:
    """An age mlkem768x25519 identity (``AGE-SECRET-KEY-PQ-1...``), for decryption only."""

    __slots__ = ("_seed",)

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise InvalidInput("an age hybrid identity is a 32-byte seed")
        self._seed = seed

    @classmethod
    def parse(cls, text: str) -> HybridIdentity:
        wrong = "not an age hybrid identity ('AGE-SECRET-KEY-PQ-1...')"
        try:
            return cls(_key_data(text, "age-secret-key-pq-", upper=True, size=None, wrong=wrong))
        except _bech32.Bech32Error as exc:
            raise InvalidInput(wrong) from exc

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "mlkem768x25519":
                continue
            if len(stanza.args) != 2:
                raise Malformed("mlkem768x25519 stanza takes one argument")
            enc = b64_raw_decode(stanza.args[1].encode("ascii"))
            if len(enc) != _HYBRID_ENC_SIZE or len(stanza.body) != FILE_KEY_SIZE + 16:
                raise Malformed("mlkem768x25519 stanza has the wrong sizes")
            if not any(enc[1088:]) or _is_low_order(enc[1088:]):
                raise Malformed("low-order X25519 part of enc")
            try:
                return _hazmat.mlkem768x25519_open(self._seed, enc, stanza.body, _HYBRID_LABEL)
            except _hazmat.PrimitiveFailed:
                continue
        return None

    def __repr__(self) -> str:  # never print key material
        return "HybridIdentity(<secret>)"


def _is_low_order(point: bytes) -> bool:
    """True if X25519 with this point gives the all-zero secret for every scalar."""
    try:
        _hazmat.x25519_shared(b"\x01" * 32, point)
    except _hazmat.PrimitiveFailed:
        return True
    return False


def scrypt_stanza(file_key: bytes, passphrase: str, work_factor: int) -> Stanza:
    """An ``scrypt`` stanza (age spec, "scrypt recipient stanza")."""
    salt = os.urandom(16)
    key = _hazmat.scrypt(passphrase.encode("utf-8"), _SCRYPT_LABEL + salt, work_factor)
    body = _hazmat.ChaChaKey(key).seal(_ZERO_NONCE, file_key)
    return Stanza(("scrypt", b64_raw(salt).decode("ascii"), str(work_factor)), body)


class ScryptIdentity:
    """A passphrase, tried against a header's ``scrypt`` stanza."""

    __slots__ = ("_max_work_factor", "_passphrase")

    def __init__(self, passphrase: str, max_work_factor: int) -> None:
        self._passphrase = passphrase.encode("utf-8")
        self._max_work_factor = max_work_factor

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for stanza in stanzas:
            if stanza.type != "scrypt":
                continue
            if len(stanza.args) != 3 or not _DECIMAL.fullmatch(stanza.args[2]):
                raise Malformed("bad scrypt stanza arguments")
            salt = b64_raw_decode(stanza.args[1].encode("ascii"))
            work_factor = int(stanza.args[2])
            if len(salt) != 16 or work_factor > self._max_work_factor:
                raise Malformed("bad scrypt salt or work factor too high")
            if len(stanza.body) != FILE_KEY_SIZE + 16:
                raise Malformed("wrapped file key has the wrong size")
            key = _hazmat.scrypt(self._passphrase, _SCRYPT_LABEL + salt, work_factor)
            file_key = _open_file_key(key, stanza.body)
            if file_key is not None:
                return file_key
        return None

    def __repr__(self) -> str:
        return "ScryptIdentity(<passphrase>)"
