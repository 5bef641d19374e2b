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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

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


def _one_argument(stanzas: Sequence[Stanza], type_: str) -> Iterator[tuple[bytes, bytes]]:
    """The decoded argument and the body of each stanza of ``type_``, which takes one."""
    for stanza in stanzas:
        if stanza.type == type_:
            if len(stanza.args) != 2:
                raise Malformed(f"{type_} stanza takes one argument")
            yield b64_raw_decode(stanza.args[1].encode("ascii")), stanza.body


@dataclass(frozen=True)
class _Spelling:
    """How age writes one kind of key (Bech32 under ``hrp``, all in one case, of ``size``
    bytes when given), and the words for text that is not one: ``wrong`` for Bech32 that is
    not this kind of key, ``garbled`` (``{}`` the decoder's reason) for text not Bech32 at all."""

    hrp: str
    upper: bool
    size: int | None
    wrong: str
    garbled: str
    exact: str  # for bytes not of the key's size

    def read(self, text: str) -> bytes:
        text = text.strip()
        try:
            found, data = _bech32.decode(text)
        except _bech32.Bech32Error as exc:
            raise InvalidInput(self.garbled.format(exc)) from exc
        cased = text.upper() if self.upper else text.lower()
        if found != self.hrp or text != cased or (self.size is not None and len(data) != self.size):
            raise InvalidInput(self.wrong)
        return data

    def write(self, data: bytes) -> str:
        return _bech32.encode(self.hrp, data, upper=self.upper)


_RECIPIENT = _Spelling(
    "age",
    upper=False,
    size=32,
    wrong="not an age X25519 recipient (expected 'age1...' of 32 bytes)",
    garbled="not an age recipient (expected 'age1...'): {}",
    exact="an age X25519 recipient is 32 bytes",
)
_IDENTITY = _Spelling(
    "age-secret-key-",
    upper=True,
    size=32,
    wrong="not an age X25519 identity (expected 'AGE-SECRET-KEY-1...')",
    # No decoder's reason for a secret key: it could point into the secret.
    garbled="not an age identity (expected 'AGE-SECRET-KEY-1...')",
    exact="an age X25519 identity is 32 bytes",
)
_HYBRID_WRONG = "not an age hybrid identity ('AGE-SECRET-KEY-PQ-1...')"
_HYBRID = _Spelling(
    "age-secret-key-pq-",
    upper=True,
    size=None,
    wrong=_HYBRID_WRONG,
    garbled=_HYBRID_WRONG,
    exact="an age hybrid identity is a 32-byte seed",
)


class _Key:
    """What the three key types share: 32 bytes, read from text as age writes them."""

    __slots__ = ("_raw",)
    _SPELLING: ClassVar[_Spelling]

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise InvalidInput(self._SPELLING.exact)
        self._raw = raw

    @classmethod
    def parse(cls, text: str) -> Self:
        return cls(cls._SPELLING.read(text))


class Recipient(_Key):
    """An age X25519 recipient (``age1...``): who a file can be encrypted to."""

    __slots__ = ()
    _SPELLING = _RECIPIENT

    def to_string(self) -> str:
        return _RECIPIENT.write(self._raw)

    @property
    def raw(self) -> bytes:
        return self._raw

    def wrap(self, file_key: bytes) -> Stanza:
        """An ``X25519`` stanza carrying ``file_key`` (age spec, "X25519 recipient stanza")."""
        ephemeral = os.urandom(32)
        share = _hazmat.x25519_public(ephemeral)
        shared = _hazmat.x25519_shared(ephemeral, self._raw)
        key = _hazmat.hkdf_sha256(shared, share + self._raw, _X25519_LABEL)
        body = _hazmat.ChaChaKey(key).seal(_ZERO_NONCE, file_key)
        return Stanza(("X25519", b64_raw(share).decode("ascii")), body)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipient) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"Recipient({self.to_string()!r})"


class Identity(_Key):
    """An age X25519 identity (``AGE-SECRET-KEY-1...``): who can decrypt."""

    __slots__ = ("_public",)
    _SPELLING = _IDENTITY

    def __init__(self, secret: bytes) -> None:
        super().__init__(secret)
        self._public = _hazmat.x25519_public(secret)

    @classmethod
    def generate(cls) -> Identity:
        return cls(os.urandom(32))

    def to_string(self) -> str:
        return _IDENTITY.write(self._raw)

    @property
    def recipient(self) -> Recipient:
        return Recipient(self._public)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for share, body in _one_argument(stanzas, "X25519"):
            if len(share) != 32:
                raise Malformed("X25519 share is not 32 bytes")
            try:
                shared = _hazmat.x25519_shared(self._raw, share)
            except _hazmat.PrimitiveFailed as exc:
                raise Malformed("low-order X25519 share") from exc
            key = _hazmat.hkdf_sha256(shared, share + self._public, _X25519_LABEL)
            file_key = _open_file_key(key, body)
            if file_key is not None:
                return file_key
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and hmac.compare_digest(other._raw, self._raw)

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:  # never print key material
        return f"Identity(recipient={self.recipient.to_string()!r})"


class HybridIdentity(_Key):
    """An age mlkem768x25519 identity (``AGE-SECRET-KEY-PQ-1...``), for decryption only."""

    __slots__ = ()
    _SPELLING = _HYBRID

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        for enc, body in _one_argument(stanzas, "mlkem768x25519"):
            if len(enc) != _HYBRID_ENC_SIZE or len(body) != FILE_KEY_SIZE + 16:
                raise Malformed("mlkem768x25519 stanza has the wrong sizes")
            if not any(enc[1088:]) or _is_low_order(enc[1088:]):
                raise Malformed("low-order X25519 part of enc")
            try:
                return _hazmat.mlkem768x25519_open(self._raw, enc, body, _HYBRID_LABEL)
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
