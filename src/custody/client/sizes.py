"""Sizes as a person reads them: the plaintext's, worked out from the ciphertext's.

The server knows only an item's ciphertext size. ``send`` seals every item to one X25519
item key in age's STREAM (``custody.crypto.seal``), whose size is a fixed header and nonce,
then 64 KiB chunks each 16 bytes longer; so the plaintext's size follows from the
ciphertext's, and a listing can show what the recipient will get. A size that no plaintext
seals to (not custody's sealing) gives None: the listing then shows the ciphertext's.
"""

from __future__ import annotations

import functools

from custody.crypto import age
from custody.crypto.items import new_item_key

_CHUNK = 64 * 1024
_TAG = 16


@functools.cache
def _prefix() -> int:
    """Header and nonce of an item sealed to one item key (the same length for every key)."""
    return age.SealPlan.create([new_item_key().recipient]).prefix_size


def plaintext_size(ciphertext_size: int) -> int | None:
    payload = ciphertext_size - _prefix()
    if payload < _TAG:
        return None
    chunks = max(1, -(-payload // (_CHUNK + _TAG)))
    size = payload - chunks * _TAG
    return size if size >= 0 and max(1, -(-size // _CHUNK)) == chunks else None


def shown_size(ciphertext_size: int) -> str:
    """The plaintext's size, readable; the ciphertext's (so marked) if it cannot be known."""
    size = plaintext_size(ciphertext_size)
    if size is None:
        return f"{human_size(ciphertext_size)} encrypted"
    return human_size(size)


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
