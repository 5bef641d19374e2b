"""custody.crypto: end-to-end encryption and signing, and nothing else.

Pure library: no network, no database. Safe recipes are re-exported here;
primitives live only in ``_hazmat``. Every file it writes is a standard age
v1 file, so evidence stays readable with the ``age`` tool alone.

Errors: every decryption failure is :class:`~custody.crypto.age.DecryptionFailed`
(one opaque message, on purpose); a bad signature is
:class:`~custody.crypto.signing.BadSignature`; malformed input is
:class:`custody.errors.InvalidInput`.
"""

from custody.crypto.age import (
    DecryptionFailed,
    Identity,
    Recipient,
    SealPlan,
    decrypt,
    decrypt_stream,
    decrypt_with_passphrase,
    encrypt,
    encrypt_with_passphrase,
)
from custody.crypto.items import new_item_key, unwrap, wrap
from custody.crypto.keys import UserKeys, WrongPassphrase
from custody.crypto.manifest import Manifest, SignedManifest, safe_file_name
from custody.crypto.signing import BadSignature, SigningKey, VerifyKey

__all__ = [
    "BadSignature",
    "DecryptionFailed",
    "Identity",
    "Manifest",
    "Recipient",
    "SealPlan",
    "SignedManifest",
    "SigningKey",
    "UserKeys",
    "VerifyKey",
    "WrongPassphrase",
    "decrypt",
    "decrypt_stream",
    "decrypt_with_passphrase",
    "encrypt",
    "encrypt_with_passphrase",
    "new_item_key",
    "safe_file_name",
    "unwrap",
    "wrap",
]
