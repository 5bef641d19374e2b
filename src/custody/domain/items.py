"""An item's life on the server::

    uploading ──last byte──▶ uploaded ──manifest, wraps──▶ sealed ──retention, order──▶ shredded

Only a sealed item can be sent, downloaded or shared; a shredded one has no key wraps
and no ciphertext left, only its trail.
"""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    SEALED = "sealed"
    SHREDDED = "shredded"
