"""age v1 (C2SP age, https://age-encryption.org/v1): encrypt to keys or a passphrase, decrypt.

Every file this module writes is a standard age file that the ``age`` tool
opens. Every way decryption can fail (wrong key, damaged, truncated, altered)
raises the same :class:`DecryptionFailed`, so no caller can become an oracle;
the precise reason is chained as ``__cause__`` for local debugging only.
"""

from __future__ import annotations

import hmac
import io
import os
from collections.abc import Callable, Sequence
from typing import BinaryIO

from custody.crypto import _stream
from custody.crypto._format import (
    Header,
    Malformed,
    armor,
    dearmor,
    header_end,
    header_without_mac,
    is_armored,
    parse_header,
)
from custody.crypto._recipients import (
    FILE_KEY_SIZE,
    HybridIdentity,
    Identity,
    Recipient,
    ScryptIdentity,
    Unwrapper,
    scrypt_stanza,
)
from custody.crypto.seal import SealPlan, header_mac
from custody.errors import IntegrityError, InvalidInput

__all__ = [
    "DecryptionFailed",
    "HybridIdentity",
    "Identity",
    "Recipient",
    "SealPlan",
    "armor",
    "dearmor",
    "decrypt",
    "decrypt_stream",
    "decrypt_with_passphrase",
    "encrypt",
    "encrypt_with_passphrase",
]

_MAX_HEADER = 1 << 20  # a header this large is an attack, not a file
_MIN_WORK_FACTOR = 10


class DecryptionFailed(IntegrityError):
    """The file could not be decrypted: wrong key, or the file is damaged or was altered."""

    def __init__(self) -> None:
        super().__init__(
            "the file could not be decrypted: wrong key, or the file is damaged or was altered",
            hint="check that you are using the key the file was sent to; if so, fetch it again",
        )


def encrypt(plaintext: bytes, recipients: Sequence[Recipient]) -> bytes:
    """A binary age file of ``plaintext`` that any of ``recipients`` can open. For small data."""
    plan = SealPlan.create(recipients)
    return b"".join(plan.iter_ciphertext(io.BytesIO(plaintext), len(plaintext)))


def decrypt(ciphertext: bytes, identities: Sequence[Identity | HybridIdentity]) -> bytes:
    """The plaintext of a binary or ASCII-armored age file; all or nothing."""
    return _decrypt_all(ciphertext, identities)


def encrypt_with_passphrase(plaintext: bytes, passphrase: str, *, work_factor: int = 18) -> bytes:
    """An age file with one scrypt stanza, so ``age -d`` opens it with the passphrase."""
    _check_passphrase(passphrase)
    if not _MIN_WORK_FACTOR <= work_factor <= 22:
        raise InvalidInput(f"the scrypt work factor must be {_MIN_WORK_FACTOR}..22")
    file_key = os.urandom(FILE_KEY_SIZE)
    authenticated = header_without_mac([scrypt_stanza(file_key, passphrase, work_factor)])
    header = Header((), header_mac(file_key, authenticated), authenticated).encode()
    plan = SealPlan(file_key, header, os.urandom(_stream.NONCE_SIZE))
    return b"".join(plan.iter_ciphertext(io.BytesIO(plaintext), len(plaintext)))


def decrypt_with_passphrase(
    ciphertext: bytes, passphrase: str, *, max_work_factor: int = 22
) -> bytes:
    """The plaintext of an age file encrypted with a passphrase (scrypt stanza)."""
    _check_passphrase(passphrase)
    return _decrypt_all(ciphertext, [ScryptIdentity(passphrase, max_work_factor)])


def decrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Sequence[Identity | HybridIdentity],
    *,
    on_plaintext: Callable[[memoryview], None] | None = None,
) -> int:
    """Decrypt a binary age file from ``src`` to ``dst`` in bounded memory.

    Plaintext reaches ``dst`` (and ``on_plaintext``) only after its 64 KiB
    chunk authenticated, but a later chunk can still fail: decrypt into a
    temporary file and rename it only if this returns. Returns the plaintext size.
    """

    def emit(piece: memoryview) -> None:
        dst.write(piece)
        if on_plaintext is not None:
            on_plaintext(piece)  # valid during the call only: hash it, don't keep it

    try:
        return _open(src, identities, emit)
    except Malformed as exc:
        raise DecryptionFailed from exc


def _decrypt_all(ciphertext: bytes, identities: Sequence[Unwrapper]) -> bytes:
    out = io.BytesIO()

    def emit(piece: memoryview) -> None:
        out.write(piece)

    try:
        if is_armored(ciphertext):
            ciphertext = dearmor(ciphertext)
        _open(io.BytesIO(ciphertext), identities, emit)
    except Malformed as exc:
        raise DecryptionFailed from exc
    return out.getvalue()


def _open(
    src: BinaryIO, identities: Sequence[Unwrapper], emit: Callable[[memoryview], None]
) -> int:
    """Header, file key, MAC, then the STREAM payload (age spec, "Decryption")."""
    buffer = b""
    while (end := header_end(buffer)) is None:
        more = src.read(4096)
        if not more or len(buffer) > _MAX_HEADER:
            raise Malformed("no complete header")
        buffer += more
    header = parse_header(buffer[:end])
    stanza_types = [s.type for s in header.stanzas]
    if "scrypt" in stanza_types and len(stanza_types) != 1:
        raise Malformed("an scrypt stanza must be alone in the header")
    file_key = None
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            break
    if file_key is None:
        raise Malformed("no identity matches")
    if not hmac.compare_digest(header_mac(file_key, header.authenticated), header.mac):
        raise Malformed("header MAC mismatch")
    rest = buffer[end:]

    def read(size: int) -> bytes:
        nonlocal rest
        if rest:
            head, rest = rest[:size], rest[size:]
            return head + _read_full(src, size - len(head)) if len(head) < size else head
        return _read_full(src, size)

    nonce = read(_stream.NONCE_SIZE)
    if len(nonce) != _stream.NONCE_SIZE:
        raise Malformed("payload nonce truncated")
    return _stream.open_stream(read, _stream.payload_key(file_key, nonce), emit)


def _read_full(src: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0:
        data = src.read(size)
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _check_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise InvalidInput("the passphrase is empty", hint="choose a long passphrase")
