"""STREAM behaviour: resumable SealPlan output and strict decrypt_stream."""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.crypto.age import DecryptionFailed, Identity, SealPlan, decrypt, decrypt_stream
from custody.errors import InvalidInput, LocalError

CHUNK = 64 * 1024
IDENTITY = Identity.generate()
PLAN = SealPlan.create([IDENTITY.recipient])


def _full(plan: SealPlan, data: bytes) -> bytes:
    return b"".join(plan.iter_ciphertext(io.BytesIO(data), len(data)))


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 3 * CHUNK + 100), where=st.floats(0, 1))
def test_resume_from_any_offset_is_byte_identical(size: int, where: float) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    full = _full(PLAN, data)
    assert len(full) == PLAN.ciphertext_size(size)
    start = int(where * len(full))
    seen = hashlib.sha256()
    resumed = b"".join(
        PLAN.iter_ciphertext(io.BytesIO(data), size, start=start, on_plaintext=seen.update)
    )
    assert resumed == full[start:]
    assert seen.digest() == hashlib.sha256(data).digest()  # all plaintext hashed, even if skipped


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 16 * CHUNK, 16 * CHUNK + 1])
def test_plan_survives_serialisation_and_decrypts(size: int) -> None:
    data = b"\x5a" * size
    restored = SealPlan.from_secret_bytes(PLAN.to_secret_bytes())
    assert _full(restored, data) == _full(PLAN, data)
    assert decrypt(_full(PLAN, data), [IDENTITY]) == data
    assert PLAN.prefix_size == len(_full(PLAN, b"")) - 16


def test_plan_secret_bytes_are_checked() -> None:
    blob = PLAN.to_secret_bytes()
    with pytest.raises(InvalidInput):
        SealPlan.from_secret_bytes(blob[:40])
    tampered = bytearray(blob)
    tampered[25] ^= 1  # inside the file key: the header MAC no longer matches
    with pytest.raises(InvalidInput):
        SealPlan.from_secret_bytes(bytes(tampered))


@pytest.mark.parametrize("actual", [99, 101])
def test_a_file_that_changed_size_is_refused(actual: int) -> None:
    with pytest.raises(LocalError, match="changed while it was being sent"):
        b"".join(PLAN.iter_ciphertext(io.BytesIO(b"x" * actual), 100))


def _stream(ciphertext: bytes) -> tuple[int, bytes]:
    out = io.BytesIO()
    return decrypt_stream(io.BytesIO(ciphertext), out, [IDENTITY]), out.getvalue()


def test_decrypt_stream_round_trip() -> None:
    data = bytes(range(256)) * 1000
    assert _stream(_full(PLAN, data)) == (len(data), data)


@pytest.mark.parametrize("cut", [1, 16, 17, CHUNK + 16, CHUNK + 17])
def test_decrypt_stream_refuses_truncation(cut: int) -> None:
    full = _full(PLAN, b"y" * (2 * CHUNK + 5))
    with pytest.raises(DecryptionFailed):
        _stream(full[:-cut])


def test_truncation_at_a_chunk_boundary_is_refused() -> None:
    full = _full(PLAN, b"y" * (2 * CHUNK + 5))
    with pytest.raises(DecryptionFailed):
        _stream(full[: PLAN.prefix_size + 2 * (CHUNK + 16)])


@pytest.mark.parametrize("extra", [b"\x00", b"garbage" * 10000])
def test_decrypt_stream_refuses_trailing_bytes(extra: bytes) -> None:
    with pytest.raises(DecryptionFailed):
        _stream(_full(PLAN, b"z" * CHUNK) + extra)


def test_flipped_byte_releases_only_authenticated_chunks() -> None:
    data = b"q" * (20 * CHUNK)
    full = bytearray(_full(PLAN, data))
    full[PLAN.prefix_size + 18 * (CHUNK + 16) + 3] ^= 0x80
    out = io.BytesIO()
    with pytest.raises(DecryptionFailed):
        decrypt_stream(io.BytesIO(bytes(full)), out, [IDENTITY])
    assert out.getvalue() == data[: 18 * CHUNK]


def test_header_damage_is_the_same_opaque_error() -> None:
    full = bytearray(_full(PLAN, b"abc"))
    full[30] ^= 1
    with pytest.raises(DecryptionFailed, match="wrong key, or the file is damaged"):
        _stream(bytes(full))
