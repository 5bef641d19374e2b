"""Deterministic, resumable encryption of one large stream into a standard age file.

A :class:`SealPlan` fixes everything random up front (file key, header, payload
nonce), so the ciphertext is a pure function of the plaintext: an interrupted
upload resumes from any offset by regenerating byte-identical ciphertext, and
only the chunks from that offset on are encrypted again. The plan is secret
(it holds the file key); the caller encrypts it at rest.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from custody.crypto import _hazmat, _stream
from custody.crypto._format import Header, Malformed, header_end, header_without_mac, parse_header
from custody.crypto._recipients import FILE_KEY_SIZE, Recipient
from custody.errors import InvalidInput, LocalError

_PLAN_MAGIC = b"custody-sealplan/v1\n"


def header_mac(file_key: bytes, authenticated: bytes) -> bytes:
    """age spec, "Header": HMAC-SHA-256 under HKDF(file key, salt "", "header")."""
    return _hazmat.hmac_sha256(_hazmat.hkdf_sha256(file_key, b"", b"header"), authenticated)


class SealPlan:
    """The random choices for one age file, fixed so its ciphertext can be regenerated."""

    __slots__ = ("_file_key", "_header", "_nonce")

    def __init__(self, file_key: bytes, header: bytes, nonce: bytes) -> None:
        self._file_key = file_key
        self._header = header
        self._nonce = nonce

    @classmethod
    def create(cls, recipients: Sequence[Recipient]) -> SealPlan:
        if not recipients:
            raise InvalidInput("an age file needs at least one recipient")
        file_key = os.urandom(FILE_KEY_SIZE)
        authenticated = header_without_mac([r.wrap(file_key) for r in recipients])
        header = Header((), header_mac(file_key, authenticated), authenticated).encode()
        return cls(file_key, header, os.urandom(_stream.NONCE_SIZE))

    def to_secret_bytes(self) -> bytes:
        """The plan as bytes, for resuming later. Secret: it holds the file key."""
        return _PLAN_MAGIC + self._file_key + self._nonce + self._header

    @classmethod
    def from_secret_bytes(cls, data: bytes) -> SealPlan:
        fixed = len(_PLAN_MAGIC) + FILE_KEY_SIZE + _stream.NONCE_SIZE
        if not data.startswith(_PLAN_MAGIC) or len(data) <= fixed:
            raise InvalidInput("not a custody seal plan")
        file_key = data[len(_PLAN_MAGIC) : len(_PLAN_MAGIC) + FILE_KEY_SIZE]
        nonce = data[fixed - _stream.NONCE_SIZE : fixed]
        header = data[fixed:]
        try:
            parsed = parse_header(header)
        except Malformed as exc:
            raise InvalidInput("the seal plan's header is damaged") from exc
        if header_end(header) != len(header):
            raise InvalidInput("the seal plan's header is damaged")
        if not hmac.compare_digest(header_mac(file_key, parsed.authenticated), parsed.mac):
            raise InvalidInput("the seal plan's header does not match its file key")
        return cls(file_key, header, nonce)

    @property
    def header(self) -> bytes:
        return self._header

    @property
    def prefix_size(self) -> int:
        """Bytes before the first STREAM chunk: the header and the payload nonce."""
        return len(self._header) + _stream.NONCE_SIZE

    def ciphertext_size(self, plaintext_size: int) -> int:
        if plaintext_size < 0:
            raise InvalidInput("a size cannot be negative")
        return self.prefix_size + _stream.sealed_size(plaintext_size)

    def iter_ciphertext(
        self,
        src: BinaryIO,
        plaintext_size: int,
        *,
        start: int = 0,
        on_plaintext: Callable[[bytes], None] | None = None,
    ) -> Iterator[bytes]:
        """The age file's bytes from offset ``start`` on, in pieces of about 1 MiB.

        All of ``src`` (from its current position) is read and passed to
        ``on_plaintext``, so the caller can hash it in the same pass, but only
        chunks that reach ``start`` or beyond are encrypted.
        """
        total = self.ciphertext_size(plaintext_size)
        if not 0 <= start <= total:
            raise InvalidInput(f"resume offset {start} is outside the file (0..{total})")
        if start < self.prefix_size:
            yield (self._header + self._nonce)[start:]
        _stream.settle_allocator()
        key = _stream.payload_key(self._file_key, self._nonce)
        final = _stream.chunk_count(plaintext_size) - 1
        batch = _stream.BATCH_CHUNKS * _stream.CHUNK
        out = bytearray(_stream.BATCH_CHUNKS * _stream.SEALED_CHUNK)
        position = self.prefix_size  # offset in the age file of the next chunk
        remaining = plaintext_size
        first = 0
        while True:
            plaintext = _read_full(src, min(batch, remaining))
            if len(plaintext) != min(batch, remaining):
                raise _changed()
            if on_plaintext is not None and plaintext:
                on_plaintext(plaintext)
            remaining -= len(plaintext)
            sealed = _stream.sealed_size(len(plaintext))
            if position + sealed > start:
                skip = max(0, start - position)
                yield _stream.seal_batch(key, plaintext, first, final, skip=skip, out=out)
            position += sealed
            first += _stream.BATCH_CHUNKS
            if remaining == 0:
                break
        if src.read(1):
            raise _changed()

    def __repr__(self) -> str:  # never print the file key
        return f"SealPlan(prefix_size={self.prefix_size})"


def _changed() -> LocalError:
    return LocalError(
        "the file changed while it was being sent (its size is not what was announced)",
        hint="make sure nothing is writing to the file, then send it again",
    )


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at the end of ``src``."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)
