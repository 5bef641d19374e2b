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

from custody.crypto import _hazmat, _stream
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
    "Decryptor",
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


_UNDECRYPTABLE = "the file could not be decrypted: wrong key, or the file is damaged or was altered"
_CHECK_KEY = "check that you are using the key the file was sent to; if so, fetch it again"


class DecryptionFailed(IntegrityError):
    """The file could not be decrypted: wrong key, or the file is damaged or was altered."""

    def __init__(self) -> None:
        super().__init__(_UNDECRYPTABLE, hint=_CHECK_KEY)


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


class Decryptor:
    """Decrypt a binary age file pushed in pieces as it arrives (a download), in bounded memory.

    :meth:`feed` takes the file's bytes in order, in pieces of any size; plaintext reaches
    ``emit`` only after its 64 KiB chunk authenticated (valid during the call only: write
    it, hash it, don't keep it), but a later chunk can still fail, so write it to a
    temporary file and release it only once :meth:`finish` returned. Every failure is
    :class:`DecryptionFailed`.

    Resuming after an interruption: feed the file's first bytes (its header and payload
    nonce: :meth:`feed` returns once :attr:`prefix_size` is known), then :meth:`resume` with
    the plaintext of the whole chunks kept from before; they are sealed again (same file
    key, nonce and counters: the same ciphertext, for the caller to hash), and feeding
    continues from the ciphertext offset it returns.
    """

    def __init__(self, identities: Sequence[Identity | HybridIdentity]) -> None:
        self._identities = identities
        self._head = bytearray()
        self._payload: _stream.Opener | None = None
        self._key: _hazmat.ChaChaKey | None = None
        self.prefix_size: int | None = None
        self._fed = False

    def feed(
        self, data: bytes | bytearray | memoryview, emit: Callable[[memoryview], None]
    ) -> None:
        """Decrypt the file's next bytes ``data``."""
        view = memoryview(data)
        try:
            if self._payload is None:
                view = view[self._feed_prefix(view) :]
                if self._payload is None:
                    return
            self._fed = self._fed or bool(len(view))
            self._payload.feed(view, emit)
        except Malformed as exc:
            raise DecryptionFailed from exc

    def read_prefix(self, data: bytes | bytearray | memoryview) -> int | None:
        """Take the file's first bytes up to the end of its header and payload nonce: how
        many of ``data`` that was, once complete (then :meth:`resume`), else None."""
        if self._payload is not None:
            raise InvalidInput("the header was read already")
        try:
            used = self._feed_prefix(memoryview(data))
        except Malformed as exc:
            raise DecryptionFailed from exc
        return used if self._payload is not None else None

    def _feed_prefix(self, view: memoryview) -> int:
        before = len(self._head)
        self._head += view[: _MAX_HEADER + _stream.NONCE_SIZE]
        end = header_end(bytes(self._head))
        if end is None:
            if len(self._head) > _MAX_HEADER:
                raise Malformed("no complete header")
            return len(view)
        if len(self._head) < end + _stream.NONCE_SIZE:
            return len(view)
        header = parse_header(bytes(self._head[:end]))
        file_key = _file_key(header, self._identities)
        nonce = bytes(self._head[end : end + _stream.NONCE_SIZE])
        self._key = _stream.payload_key(file_key, nonce)
        self._payload = _stream.Opener(self._key)
        self.prefix_size = end + _stream.NONCE_SIZE
        self._head = bytearray()
        return self.prefix_size - before

    def resume(self, plaintext: memoryview, on_ciphertext: Callable[[memoryview], None]) -> int:
        """Continue after ``plaintext``, the next whole chunks (call again for more): sealed
        again for ``on_ciphertext``; the ciphertext offset to feed from next. Only between
        the prefix and the first :meth:`feed` of the payload."""
        if self._payload is None or self._key is None or self.prefix_size is None:
            raise InvalidInput("resume needs the header first")
        if self._fed:
            raise InvalidInput("resume only before the payload is fed")
        first = self._payload.counter
        count = len(plaintext) // _stream.CHUNK
        batch = _stream.BATCH_CHUNKS * _stream.CHUNK
        out = bytearray(_stream.BATCH_CHUNKS * _stream.SEALED_CHUNK)
        for start in range(0, count * _stream.CHUNK, batch):
            piece = plaintext[start : min(start + batch, count * _stream.CHUNK)]
            on_ciphertext(_stream.reseal(self._key, piece, first + start // _stream.CHUNK, out))
        self._payload = _stream.Opener(self._key, counter=first + count)
        self._payload.total = (first + count) * _stream.CHUNK
        return self.prefix_size + (first + count) * _stream.SEALED_CHUNK

    def finish(self, emit: Callable[[memoryview], None]) -> int:
        """The end of the file: the last chunk opened; the plaintext size."""
        if self._payload is None:  # the file ended inside its header
            raise DecryptionFailed
        try:
            return self._payload.finish(emit)
        except Malformed as exc:
            raise DecryptionFailed from exc


def _file_key(header: Header, identities: Sequence[Unwrapper]) -> bytes:
    """The file key one of ``identities`` unwraps, its header MAC checked; else Malformed."""
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
    return file_key


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
    file_key = _file_key(parse_header(buffer[:end]), identities)
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
