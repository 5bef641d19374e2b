"""The two-layer scheme: content is encrypted to a per-item key, which is wrapped per reader.

Sharing an item is one more wrap (a few hundred bytes), revoking is deleting a
wrap, and crypto-shredding is deleting every wrap. Both layers are plain age
files, so the steps work with the ``age`` tool alone (DESIGN.md, "Encryption").
"""

from __future__ import annotations

from custody.crypto.age import DecryptionFailed, Identity, Recipient, decrypt, encrypt
from custody.errors import InvalidInput


def new_item_key() -> Identity:
    """A fresh X25519 identity that one item's content is encrypted to."""
    return Identity.generate()


def wrap(item_key: Identity, reader: Recipient) -> bytes:
    """An age file, readable by ``reader``, whose plaintext is the item key and a newline.

    With the plain tool::

        age -d -i reader.txt wrap.age > item.key && age -d -i item.key blob.age
    """
    return encrypt((item_key.to_string() + "\n").encode("ascii"), [reader])


def unwrap(wrapped: bytes, identity: Identity) -> Identity:
    """The item key inside ``wrapped``; :class:`DecryptionFailed` if it is not for ``identity``."""
    plaintext = decrypt(wrapped, [identity])
    try:
        return Identity.parse(plaintext.decode("ascii"))
    except (UnicodeDecodeError, InvalidInput) as exc:
        # It authenticated, so this is a well-formed age file holding something else.
        raise DecryptionFailed from exc
