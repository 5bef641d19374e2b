"""A person's keys: an age identity to decrypt, an Ed25519 key to sign; sealed by passphrase.

The sealed form is an age scrypt file (``age -d`` opens it) holding a small
text format::

    custody-keys/v1
    age: AGE-SECRET-KEY-1...
    ed25519: <base64 of the 32-byte seed>
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from custody.crypto.age import DecryptionFailed, Identity, decrypt_with_passphrase
from custody.crypto.age import encrypt_with_passphrase as _encrypt_with_passphrase
from custody.crypto.signing import SigningKey
from custody.errors import InvalidInput, NotAuthenticated

_MAGIC = "custody-keys/v1"
DEFAULT_WORK_FACTOR = 17
# A key file asking for more is refused rather than allowed to take gigabytes.
MAX_WORK_FACTOR = 20


_TRY_AGAIN = "check the passphrase (and that this is your key file), then try again"


class WrongPassphrase(NotAuthenticated):
    """The passphrase does not open this key file."""

    def __init__(self) -> None:
        super().__init__("the passphrase does not open this key file", hint=_TRY_AGAIN)


@dataclass(frozen=True, repr=False)
class UserKeys:
    """One person's private keys: never leave their machine except sealed."""

    identity: Identity
    signing_key: SigningKey

    @classmethod
    def generate(cls) -> UserKeys:
        return cls(Identity.generate(), SigningKey.generate())

    @property
    def age_recipient(self) -> str:
        return self.identity.recipient.to_string()

    @property
    def signing_public(self) -> str:
        return self.signing_key.public_key.to_b64()

    def seal(self, passphrase: str, *, work_factor: int = DEFAULT_WORK_FACTOR) -> bytes:
        """The keys as an age scrypt file under ``passphrase``.

        scrypt N=2^17, r=8 (128 MiB, ~0.5 s here) by default: OWASP's floor for
        scrypt, and it keeps a client under 200 MB while it handles a file.
        """
        seed = base64.b64encode(self.signing_key.seed).decode("ascii")
        text = f"{_MAGIC}\nage: {self.identity.to_string()}\ned25519: {seed}\n"
        return _encrypt_with_passphrase(text.encode("ascii"), passphrase, work_factor=work_factor)

    @classmethod
    def unseal(cls, data: bytes, passphrase: str) -> UserKeys:
        """Open a sealed key file: :class:`WrongPassphrase` or :class:`InvalidInput` if not."""
        if not data.lstrip().startswith((b"age-encryption.org/", b"-----BEGIN AGE")):
            raise InvalidInput("this is not a custody key file (not an age file)")
        try:
            plaintext = decrypt_with_passphrase(data, passphrase, max_work_factor=MAX_WORK_FACTOR)
        except DecryptionFailed as exc:
            raise WrongPassphrase from exc
        return cls._parse(plaintext)

    @classmethod
    def _parse(cls, plaintext: bytes) -> UserKeys:
        not_keys = InvalidInput("this age file does not hold custody keys")
        try:
            lines = plaintext.decode("ascii").split("\n")
        except UnicodeDecodeError as exc:
            raise not_keys from exc
        if len(lines) != 4 or lines[0] != _MAGIC or lines[3] != "":
            raise not_keys
        if not lines[1].startswith("age: ") or not lines[2].startswith("ed25519: "):
            raise not_keys
        try:
            seed = base64.b64decode(lines[2].removeprefix("ed25519: "), validate=True)
        except ValueError as exc:  # binascii.Error, or a character outside ASCII
            raise not_keys from exc
        return cls(Identity.parse(lines[1].removeprefix("age: ")), SigningKey(seed))

    def __repr__(self) -> str:  # never print key material
        return f"UserKeys(age={self.age_recipient!r}, ed25519={self.signing_public!r})"
