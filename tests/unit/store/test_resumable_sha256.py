"""A SHA-256 saved after any piece and resumed elsewhere equals hashlib's of the whole."""

from __future__ import annotations

import hashlib
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.store.resumable_sha256 import ResumableSha256, available

# Where OpenSSL's SHA256_CTX keeps the bit count's low word, the bytes in the block, and the
# digest's length (32-bit words: h[8], Nl, Nh, data[16], num, md_len).
NL, NUM, MD_LEN = 8 * 4, 26 * 4, 27 * 4


def test_available_here() -> None:
    assert available()  # Debian's OpenSSL 3 has SHA256_Init/Update/Final


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12), st.sampled_from([bytes, bytearray,
                                                                          memoryview]))
def test_saved_and_resumed_after_every_piece(pieces: list[bytes], kind: type) -> None:
    running = ResumableSha256()
    for piece in pieces:
        running = ResumableSha256.resume(running.state())
        running.update(kind(piece))
    assert running.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_digest_midway_does_not_end_the_hash() -> None:
    running = ResumableSha256()
    running.update(b"a" * 100)
    assert running.hexdigest() == hashlib.sha256(b"a" * 100).hexdigest()
    running.update(b"b")
    assert running.hexdigest() == hashlib.sha256(b"a" * 100 + b"b").hexdigest()


def test_a_slice_of_a_buffer_is_hashed_as_the_slice() -> None:
    data = bytes(range(256)) * 4
    running = ResumableSha256()
    running.update(memoryview(data)[100:300])
    assert running.hexdigest() == hashlib.sha256(data[100:300]).hexdigest()


def test_states_that_are_no_saved_state_are_refused() -> None:
    running = ResumableSha256()
    running.update(b"x" * 70)
    good = bytearray(running.state())
    for wrong_size in (bytes(good[:-1]), bytes(good) + b"\0", b""):
        with pytest.raises(ValueError, match="not a saved SHA-256 state"):
            ResumableSha256.resume(wrong_size)
    for offset, value in ((NUM, 64), (NUM, 7), (NUM, 0xFFFFFFFF), (MD_LEN, 20), (NL, 8 * 7)):
        bad = bytearray(good)
        bad[offset:offset + 4] = value.to_bytes(4, sys.byteorder)
        with pytest.raises(ValueError, match="not a saved SHA-256 state"):
            ResumableSha256.resume(bytes(bad))
    ResumableSha256.resume(bytes(good))  # the control


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=112, max_size=112))
def test_any_112_bytes_are_refused_or_hash_like_a_state(state: bytes) -> None:
    """Whatever the object store hands back, resuming never writes outside the state."""
    try:
        running = ResumableSha256.resume(state)
    except ValueError:
        return
    running.update(b"y" * 200)
    assert len(running.hexdigest()) == 64
