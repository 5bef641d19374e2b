"""The push decryptor a download feeds (issue 12): same answers as decrypt, piece by piece,
the same refusals, and resume from kept plaintext regenerating the same ciphertext."""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.crypto.age import (
    DecryptionFailed,
    Decryptor,
    Identity,
    SealPlan,
    decrypt,
    encrypt,
)
from custody.errors import InvalidInput

CHUNK = 64 * 1024
SEALED = CHUNK + 16
IDENTITY = Identity.generate()
PLAN = SealPlan.create([IDENTITY.recipient])


def _data(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def _sealed(data: bytes) -> bytes:
    return b"".join(PLAN.iter_ciphertext(io.BytesIO(data), len(data)))


def _push(ciphertext: bytes, cuts: list[int]) -> bytes:
    out = bytearray()
    decryptor = Decryptor([IDENTITY])
    start = 0
    for cut in [*sorted(cuts), len(ciphertext)]:
        decryptor.feed(ciphertext[start:cut], out.extend)
        start = cut
    size = decryptor.finish(out.extend)
    assert size == len(out)
    return bytes(out)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 4 * CHUNK + 100),
    cuts=st.lists(st.floats(0, 1), max_size=6),
)
def test_any_split_gives_the_plaintext(size: int, cuts: list[float]) -> None:
    data = _data(size)
    ciphertext = _sealed(data)
    assert _push(ciphertext, [int(c * len(ciphertext)) for c in cuts]) == data


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 16 * CHUNK, 17 * CHUNK, 40 * CHUNK + 5])
def test_large_pieces_and_chunk_boundaries(size: int) -> None:
    data = _data(size)
    ciphertext = _sealed(data)
    prefix = len(ciphertext) - len(data) - max(1, -(-size // CHUNK)) * 16
    assert _push(ciphertext, []) == data
    assert _push(ciphertext, [prefix + k * SEALED for k in range(0, size // CHUNK + 1)]) == data
    assert _push(ciphertext, list(range(1, len(ciphertext), 1 << 20))) == data


@pytest.mark.parametrize("cut", [1, 100, SEALED, 2 * SEALED - 1])
def test_truncation_is_refused(cut: int) -> None:
    ciphertext = _sealed(_data(3 * CHUNK))
    decryptor = Decryptor([IDENTITY])
    decryptor.feed(ciphertext[:-cut], lambda _: None)
    with pytest.raises(DecryptionFailed):
        decryptor.finish(lambda _: None)


def test_truncation_at_a_chunk_boundary_is_refused() -> None:
    # Dropping the whole final chunk leaves a valid-looking non-final chunk at the end.
    ciphertext = _sealed(_data(3 * CHUNK + 10))
    decryptor = Decryptor([IDENTITY])
    decryptor.feed(ciphertext[: -(10 + 16)], lambda _: None)
    with pytest.raises(DecryptionFailed):
        decryptor.finish(lambda _: None)


@pytest.mark.parametrize("extra", [b"x", bytes(16), bytes(SEALED)])
def test_trailing_bytes_are_refused(extra: bytes) -> None:
    ciphertext = _sealed(_data(2 * CHUNK + 3)) + extra
    with pytest.raises(DecryptionFailed):
        _push(ciphertext, [])


def test_a_flipped_byte_releases_only_authenticated_chunks() -> None:
    data = _data(40 * CHUNK)
    ciphertext = bytearray(_sealed(data))
    ciphertext[len(ciphertext) - len(data) // 2] ^= 1
    released = bytearray()

    def pushed() -> None:
        decryptor = Decryptor([IDENTITY])
        for start in range(0, len(ciphertext), 1 << 20):
            decryptor.feed(ciphertext[start : start + (1 << 20)], released.extend)
        decryptor.finish(released.extend)

    with pytest.raises(DecryptionFailed):
        pushed()
    assert len(released) % CHUNK == 0
    assert bytes(released) == data[: len(released)]
    assert len(released) < len(data) // 2


def test_wrong_key_and_damaged_header_are_the_same_error() -> None:
    ciphertext = _sealed(_data(10))
    with pytest.raises(DecryptionFailed):
        Decryptor([Identity.generate()]).feed(ciphertext, lambda _: None)
    damaged = bytearray(ciphertext)
    damaged[40] ^= 1
    with pytest.raises(DecryptionFailed):
        Decryptor([IDENTITY]).feed(bytes(damaged), lambda _: None)
    with pytest.raises(DecryptionFailed):
        Decryptor([IDENTITY]).finish(lambda _: None)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(0, 5 * CHUNK + 7), kept=st.integers(0, 6))
def test_resume_regenerates_the_ciphertext_and_continues(size: int, kept: int) -> None:
    data = _data(size)
    ciphertext = _sealed(data)
    kept = min(kept, max(0, -(-size // CHUNK) - 1))  # whole chunks, never the last one
    decryptor = Decryptor([IDENTITY])
    if not kept:
        assert _push(ciphertext, []) == data
        return
    used = decryptor.read_prefix(ciphertext[:100])
    assert used is None  # the header is longer than that
    used = decryptor.read_prefix(ciphertext[100:4096])
    assert used is not None
    used += 100
    assert used == decryptor.prefix_size
    resealed = hashlib.sha256(ciphertext[:used])
    offset = decryptor.resume(memoryview(data[: kept * CHUNK]), resealed.update)
    assert offset == decryptor.prefix_size + kept * SEALED
    out = bytearray(data[: kept * CHUNK])
    decryptor.feed(ciphertext[offset:], out.extend)
    resealed.update(ciphertext[offset:])
    assert decryptor.finish(out.extend) == size
    assert bytes(out) == data
    assert resealed.digest() == hashlib.sha256(ciphertext).digest()


def test_resume_from_altered_plaintext_gives_another_ciphertext_hash() -> None:
    data = _data(4 * CHUNK)
    ciphertext = _sealed(data)
    decryptor = Decryptor([IDENTITY])
    used = decryptor.read_prefix(ciphertext[:4096])
    assert used is not None
    resealed = hashlib.sha256(ciphertext[:used])
    altered = bytearray(data[: 2 * CHUNK])
    altered[5] ^= 1
    offset = decryptor.resume(memoryview(altered), resealed.update)
    resealed.update(ciphertext[offset:])
    assert resealed.digest() != hashlib.sha256(ciphertext).digest()


def test_resume_only_right_after_the_header() -> None:
    data = _data(4 * CHUNK)
    ciphertext = _sealed(data)
    decryptor = Decryptor([IDENTITY])
    with pytest.raises(InvalidInput):
        decryptor.resume(memoryview(data[:CHUNK]), lambda _: None)
    decryptor.feed(ciphertext[: 2 * SEALED + 500], lambda _: None)
    with pytest.raises(InvalidInput):
        decryptor.resume(memoryview(data[:CHUNK]), lambda _: None)


def test_small_age_files_still_decrypt() -> None:
    assert decrypt(encrypt(b"hello", [IDENTITY.recipient]), [IDENTITY]) == b"hello"


def test_resume_in_pieces_is_the_same_as_at_once() -> None:
    data = _data(40 * CHUNK + 9)
    ciphertext = _sealed(data)
    decryptor = Decryptor([IDENTITY])
    used = decryptor.read_prefix(ciphertext)
    assert used is not None
    resealed = hashlib.sha256(ciphertext[:used])
    for start in range(0, 35 * CHUNK, 7 * CHUNK):
        offset = decryptor.resume(memoryview(data[start : start + 7 * CHUNK]), resealed.update)
    assert offset == used + 35 * SEALED
    out = bytearray()
    decryptor.feed(ciphertext[offset:], out.extend)
    resealed.update(ciphertext[offset:])
    decryptor.finish(out.extend)
    assert bytes(out) == data[35 * CHUNK :]
    assert resealed.digest() == hashlib.sha256(ciphertext).digest()
