"""Listings show the plaintext's size, worked out from the ciphertext's (issue 16): exact for
everything custody seals, and the ciphertext's, marked so, for a size nothing seals to."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from custody.client.sizes import plaintext_size, shown_size
from custody.crypto import age
from custody.crypto.items import new_item_key

PLAN = age.SealPlan.create([new_item_key().recipient])


@given(st.integers(min_value=0, max_value=64 * 2**30))
def test_the_plaintext_size_is_the_one_that_was_sealed(size: int) -> None:
    assert plaintext_size(PLAN.ciphertext_size(size)) == size


def test_chunk_boundaries_and_other_item_keys() -> None:
    other = age.SealPlan.create([new_item_key().recipient])
    for size in (0, 1, 65535, 65536, 65537, 2 * 65536, 2 * 65536 + 1):
        assert plaintext_size(other.ciphertext_size(size)) == size


def test_a_size_nothing_seals_to_is_shown_as_ciphertext() -> None:
    assert plaintext_size(64) is None
    assert shown_size(64) == "64 B encrypted"
    # Between one chunk and two: 65 536 bytes + tag fill the first chunk; one byte more than
    # that and a tag-less second chunk cannot exist.
    one_full = PLAN.ciphertext_size(65536)
    assert plaintext_size(one_full + 1) is None
    assert shown_size(PLAN.ciphertext_size(3 * 1024 * 1024)) == "3.0 MiB"
