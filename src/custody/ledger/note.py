"""C2SP signed-note (c2sp.org/signed-note): Ed25519 signers, verifier keys, sign and open.

Byte-compatible with Go's ``golang.org/x/mod/sumdb/note``: the same key
encodings (``name+hash+base64``, and Go's signer-key form), key IDs,
signature lines and parsing rules.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from custody.crypto.encoding import b64decode_strict
from custody.crypto.signing import SigningKey, VerifyKey
from custody.errors import IntegrityError, InvalidInput

ALG_ED25519 = 0x01  # signed-note §Signature types
# Go's signer-key prefix, assembled so secret scanners do not take the format for a key.
SKEY_PREFIX = "PRIVATE" + "+KEY+"
MAX_SIGNATURES = 100  # as Go's note.Open: refuse notes that would take forever
_SIG_PREFIX = "\u2014 "  # EM DASH, SPACE


class NoteError(IntegrityError):
    """The note is not a well-formed signed note, or no trusted key signed it."""


def is_valid_name(name: str) -> bool:
    """signed-note §Note: non-empty, no Unicode spaces, no "+"."""
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() or unicodedata.category(c) == "Zs" for c in name)
    )


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> int:
    """signed-note §Signatures: first 4 bytes of SHA-256(name || 0x0A || alg || key)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> None:
    if not is_valid_name(name):
        raise InvalidInput(f"{name!r} is not a valid note key name (no spaces, no '+')")


class NoteVerifier(Protocol):
    """What :func:`open` asks of a key: its name and key ID, and whether a signature over the
    note's text is its own (:class:`Verifier`; a witness's cosignature verifier)."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> int: ...
    def verify(self, message: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier key (``alg``: the signature type its key ID and vkey carry;
    a witness's cosignature key is another, :class:`custody.ledger.cosignature`)."""

    alg: ClassVar[int] = ALG_ED25519
    what: ClassVar[str] = "verifier key"
    name: str
    public_key: VerifyKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key.raw, self.alg)

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+hash+base64(alg || pub)``."""
        return make_vkey(self.name, self.public_key, self.alg)

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        """Parse a verifier key as Go's ``note.NewVerifier`` does."""
        name, hash_hex, key = split_key(vkey, cls.what)
        verifier = cls(name, VerifyKey(key_bytes(key, cls.what, cls.alg)))
        if verifier.key_id != int(hash_hex, 16):
            raise InvalidInput(f"{cls.what} {name}: the key hash does not match the key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        return self.public_key.is_valid(signature, message)


@dataclass(frozen=True, repr=False)
class NamedKey:
    """A key name and its :class:`SigningKey`, kept in Go's signer-key form; ``verifies``:
    the kind of verifier of what it signs. Each kind signs its own way: a note
    :class:`Signer`, a witness's :class:`custody.ledger.cosignature.Cosigner`."""

    verifies: ClassVar[type[Verifier]] = Verifier
    what: ClassVar[str] = "signer key"
    name: str
    key: SigningKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    def __repr__(self) -> str:  # never print key material
        return f"{type(self).__name__}({self.name!r})"

    @property
    def verifier(self) -> Verifier:
        return self.verifies(self.name, self.key.public_key)

    @property
    def key_id(self) -> int:
        return self.verifier.key_id

    @classmethod
    def from_skey(cls, skey: str) -> Self:
        """Parse Go's signer key (:func:`parse_skey`, the algorithm byte of ``verifies``)."""
        name, key_hash, key = parse_skey(skey, cls.what, cls.verifies.alg)
        signer = cls(name, key)
        check_key_hash(signer.key_id, key_hash, f"{cls.what} {name}")
        return signer

    def to_skey(self) -> str:
        return make_skey(self.name, self.key_id, self.verifies.alg, self.key)


@dataclass(frozen=True, repr=False)
class Signer(NamedKey):
    """An Ed25519 note signer."""

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


def make_vkey(name: str, public_key: VerifyKey, alg: int = ALG_ED25519) -> str:
    """The verifier key string for ``name`` and ``public_key``."""
    _check_name(name)
    b64 = base64.b64encode(bytes([alg]) + public_key.raw).decode("ascii")
    return f"{name}+{key_id(name, public_key.raw, alg):08x}+{b64}"


def make_skey(name: str, key_hash: int, alg: int, key: SigningKey) -> str:
    """Go's signer-key form: the prefix, then ``name+hash+base64(alg || seed)``."""
    seed = base64.b64encode(bytes([alg]) + key.seed).decode("ascii")
    return f"{SKEY_PREFIX}{name}+{key_hash:08x}+{seed}"


def parse_skey(text: str, what: str, alg: int) -> tuple[str, int, SigningKey]:
    """The name, key hash and key of ``text`` in :func:`make_skey`'s form; the caller checks
    the hash (:func:`check_key_hash`), whose rule depends on what the key signs."""
    if not text.startswith(SKEY_PREFIX):
        raise InvalidInput(f"a {what} starts with {SKEY_PREFIX}")
    name, hash_hex, key = split_key(text.removeprefix(SKEY_PREFIX), what)
    return name, int(hash_hex, 16), SigningKey(key_bytes(key, what, alg))


def check_key_hash(actual: int, written: int, what: str) -> None:
    """InvalidInput unless the hash ``written`` beside a key is the key's own, ``actual``."""
    if actual != written:
        raise InvalidInput(f"{what}: the key hash does not match the key")


def split_key(text: str, what: str) -> list[str]:
    """``name+hash+key`` as its three parts (the name checked, the hash 8 hex digits)."""
    fields = text.split("+", 2)  # base64 may contain '+'; name and hash do not
    if len(fields) != 3:
        raise InvalidInput(f"a {what} has the form name+hash+key")
    name, hash_hex, _ = fields
    _check_name(name)
    if len(hash_hex) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hash_hex):
        raise InvalidInput(f"a {what}'s hash is 8 hex digits (and a key name has no '+')")
    return fields


def key_bytes(b64: str, what: str, alg: int = ALG_ED25519) -> bytes:
    """The 32 key bytes of ``base64(alg || key)``; InvalidInput naming ``what`` otherwise."""
    try:
        raw = b64decode_strict(b64)
    except ValueError as exc:
        raise InvalidInput(f"the {what}'s key is not base64") from exc
    if not raw or raw[0] != alg:
        raise InvalidInput(f"the {what} is not an Ed25519 key (algorithm byte 0x{alg:02x})")
    if len(raw) != 33:
        raise InvalidInput(f"the {what} has {len(raw) - 1} key bytes, not 32")
    return raw[1:]


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note (``— name base64(key ID || signature)``): the signer's
    name, the 4-byte key ID as a number, and the signature bytes that follow it."""

    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    """An opened note: its text and the signatures that verified."""

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...] = ()


def sign(text: str, signers: Sequence[Signer]) -> bytes:
    """signed-note: the text, a blank line, one signature line per signer."""
    if not text.endswith("\n"):
        raise InvalidInput("a note's text ends with a newline")
    _check_text(text)
    if not signers:
        raise InvalidInput("a note needs at least one signer")
    msg = text.encode()
    lines = []
    for s in signers:
        sig = struct.pack(">I", s.key_id) + s.sign(msg)
        lines.append(f"{_SIG_PREFIX}{s.name} {base64.b64encode(sig).decode('ascii')}\n")
    return (text + "\n" + "".join(lines)).encode()


def _check_text(text: str) -> None:
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise InvalidInput("a note's text has no control characters other than newline")


def open(note: bytes, verifiers: Sequence[NoteVerifier]) -> Note:
    """Parse ``note`` and check its signatures as Go's ``note.Open`` does."""
    try:
        msg = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("the note is not valid UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in msg):
        raise NoteError("the note has control characters other than newline")
    split = msg.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, sigs = msg[: split + 1], msg[split + 2 :]
    if not sigs.endswith("\n"):
        raise NoteError("the note's signature block does not end with a newline")
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    good, unverified = _check_signatures(
        text.encode(), [_parse_sig_line(x) for x in lines], verifiers
    )
    if not good:
        raise NoteError("the note has no signature by a trusted key")
    return Note(text, tuple(good), tuple(unverified))


def _check_signatures(
    text: bytes, sigs: Sequence[NoteSignature], verifiers: Sequence[NoteVerifier]
) -> tuple[list[NoteSignature], list[NoteSignature]]:
    known: dict[tuple[str, int], list[NoteVerifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, v.key_id), []).append(v)
    good: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in sigs:
        matches = known.get((sig.name, sig.key_id), [])
        if not matches:
            if sig not in unverified:  # signed-note: unknown keys are ignored
                unverified.append(sig)
        elif len(matches) > 1:
            raise InvalidInput(f"ambiguous key {sig.name}+{sig.key_id:08x}")
        elif all((g.name, g.key_id) != (sig.name, sig.key_id) for g in good):
            if not matches[0].verify(text, sig.signature):
                raise NoteError(f"invalid signature for key {sig.name}+{sig.key_id:08x}")
            good.append(sig)
    return good, unverified


def _parse_sig_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("a signature line starts with '\u2014 '")
    name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError as exc:  # binascii.Error, or a character outside ASCII
        raise NoteError(f"signature by {name!r} is not base64") from exc
    if not is_valid_name(name) or not b64 or len(raw) < 5:
        raise NoteError(f"malformed signature line for {name!r}")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])
