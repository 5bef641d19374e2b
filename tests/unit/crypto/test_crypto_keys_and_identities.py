"""Identities, recipients and sealed user keys: round trips and refusals."""

from __future__ import annotations

import pytest

from custody.crypto.age import (
    DecryptionFailed,
    Identity,
    Recipient,
    decrypt,
    encrypt,
    encrypt_with_passphrase,
)
from custody.crypto.items import new_item_key, unwrap, wrap
from custody.crypto.keys import UserKeys, WrongPassphrase
from custody.errors import InvalidInput

# A published age test identity (age's CCTV vectors) and its recipient.
KNOWN_IDENTITY = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"


def test_identity_round_trip_and_recipient() -> None:
    identity = Identity.generate()
    text = identity.to_string()
    assert text.startswith("AGE-SECRET-KEY-1")
    assert Identity.parse(text) == identity
    recipient = Recipient.parse(identity.recipient.to_string())
    assert recipient == identity.recipient
    assert recipient.to_string().startswith("age1")


def test_known_identity_parses_and_prints_identically() -> None:
    assert Identity.parse(KNOWN_IDENTITY).to_string() == KNOWN_IDENTITY


def test_repr_hides_the_secret() -> None:
    identity = Identity.generate()
    secret = identity.to_string()
    assert secret not in repr(identity)
    assert secret[16:40] not in repr(identity)
    assert identity.recipient.to_string() in repr(identity)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AGE-SECRET-KEY-1",
        KNOWN_IDENTITY.lower(),  # identities are upper case
        KNOWN_IDENTITY[:-1] + "Q",  # bad checksum
        KNOWN_IDENTITY.replace("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-PQ-1"),
        "age1qmp7qqg4mm76nt3kzmep25t8hlfwz20yaurdsa33j7mpu6wyaf7s7fjmfm",
    ],
)
def test_bad_identity_strings_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        Identity.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "age1",
        "age1qmp7qqg4mm76nt3kzmep25t8hlfwz20yaurdsa33j7mpu6wyaf7s7fjmfX",
        "AGE1QMP7QQG4MM76NT3KZMEP25T8HLFWZ20YAURDSA33J7MPU6WYAF7S7FJMFM",
        "ssh-ed25519 AAAA",
        KNOWN_IDENTITY,
    ],
)
def test_bad_recipient_strings_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        Recipient.parse(text)


def test_encrypt_decrypt_and_wrong_key() -> None:
    alice, bob = Identity.generate(), Identity.generate()
    ciphertext = encrypt(b"statement", [alice.recipient])
    assert decrypt(ciphertext, [bob, alice]) == b"statement"
    with pytest.raises(DecryptionFailed) as info:
        decrypt(ciphertext, [bob])
    assert "could not be decrypted" in str(info.value)


def test_encrypt_needs_a_recipient() -> None:
    with pytest.raises(InvalidInput):
        encrypt(b"x", [])


def test_item_key_wrap_unwrap() -> None:
    item_key, reader, stranger = new_item_key(), Identity.generate(), Identity.generate()
    wrapped = wrap(item_key, reader.recipient)
    assert decrypt(wrapped, [reader]) == (item_key.to_string() + "\n").encode()
    assert unwrap(wrapped, reader) == item_key
    with pytest.raises(DecryptionFailed):
        unwrap(wrapped, stranger)


def test_unwrap_refuses_an_age_file_that_holds_no_key() -> None:
    reader = Identity.generate()
    with pytest.raises(DecryptionFailed):
        unwrap(encrypt(b"not a key\n", [reader.recipient]), reader)


def test_user_keys_seal_unseal() -> None:
    keys = UserKeys.generate()
    sealed = keys.seal("correct horse battery staple", work_factor=10)
    opened = UserKeys.unseal(sealed, "correct horse battery staple")
    assert opened.identity == keys.identity
    assert opened.signing_key.seed == keys.signing_key.seed
    assert opened.age_recipient == keys.age_recipient
    assert opened.signing_public == keys.signing_public
    assert keys.identity.to_string() not in repr(keys)


def test_user_keys_wrong_passphrase() -> None:
    sealed = UserKeys.generate().seal("right", work_factor=10)
    with pytest.raises(WrongPassphrase, match="passphrase does not open this key file"):
        UserKeys.unseal(sealed, "wrong")


def test_user_keys_refuse_empty_passphrase_and_non_key_files() -> None:
    keys = UserKeys.generate()
    with pytest.raises(InvalidInput):
        keys.seal("", work_factor=10)
    with pytest.raises(InvalidInput):
        UserKeys.unseal(b"hello", "pw")
    with pytest.raises(InvalidInput):
        UserKeys.unseal(encrypt_with_passphrase(b"custody-keys/v2\n", "pw", work_factor=10), "pw")
