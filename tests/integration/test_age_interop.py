"""Our age files against two independent implementations: the ``age`` tool and pyrage (rage).

Both directions: what we write, they open; what they write, we open. Skipped
only if ``/usr/bin/age`` is missing outside CI; under ``CI`` a missing tool fails.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pyrage
import pytest

from custody.crypto.age import (
    DecryptionFailed,
    Identity,
    SealPlan,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_with_passphrase,
)
from custody.crypto.items import new_item_key, wrap

CHUNK = 64 * 1024


def _identity_file(tmp_path: Path, identity: Identity, name: str = "id.txt") -> Path:
    path = tmp_path / name
    path.write_text(identity.to_string() + "\n")
    return path


def _age_decrypt(age_tool: str, identity_file: Path, ciphertext: bytes) -> bytes:
    return subprocess.run(
        [age_tool, "-d", "-i", str(identity_file)],
        input=ciphertext,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


def test_our_encrypt_opens_with_age_and_pyrage(age_tool: str, tmp_path: Path) -> None:
    identity = Identity.generate()
    plaintext = os.urandom(3 * CHUNK + 7)
    ciphertext = encrypt(plaintext, [identity.recipient, Identity.generate().recipient])
    assert _age_decrypt(age_tool, _identity_file(tmp_path, identity), ciphertext) == plaintext
    rage_identity = pyrage.x25519.Identity.from_str(identity.to_string())
    assert pyrage.decrypt(ciphertext, [rage_identity]) == plaintext


def test_age_and_pyrage_files_open_with_ours(age_tool: str) -> None:
    identity = Identity.generate()
    plaintext = os.urandom(2 * CHUNK)  # a full final chunk, the edge case
    from_age = subprocess.run(
        [age_tool, "-e", "-r", identity.recipient.to_string()],
        input=plaintext,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert decrypt(from_age, [identity]) == plaintext
    armored = subprocess.run(
        [age_tool, "-e", "-a", "-r", identity.recipient.to_string()],
        input=plaintext,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert decrypt(armored, [identity]) == plaintext
    recipient = pyrage.x25519.Recipient.from_str(identity.recipient.to_string())
    from_rage = pyrage.encrypt(plaintext, [recipient])
    out = io.BytesIO()
    assert decrypt_stream(io.BytesIO(from_rage), out, [identity]) == len(plaintext)
    assert out.getvalue() == plaintext


def test_passphrase_files_interoperate_with_pyrage() -> None:
    ours = encrypt_with_passphrase(b"sealed keys", "a long passphrase", work_factor=10)
    assert pyrage.passphrase.decrypt(ours, "a long passphrase") == b"sealed keys"


def test_wrap_chain_with_the_plain_age_tool(age_tool: str, tmp_path: Path) -> None:
    reader = Identity.generate()
    item_key = new_item_key()
    blob = encrypt(b"exhibit 7", [item_key.recipient])
    (tmp_path / "blob.age").write_bytes(blob)
    (tmp_path / "wrap.age").write_bytes(wrap(item_key, reader.recipient))
    _identity_file(tmp_path, reader, "reader.txt")
    # Exactly the command in items.wrap's docstring.
    result = subprocess.run(  # noqa: S602  (the documented shell pipeline is what is under test)
        "age -d -i reader.txt wrap.age > item.key && age -d -i item.key blob.age",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=60,
        env={**os.environ, "PATH": f"{Path(age_tool).parent}:{os.environ.get('PATH', '')}"},
    )
    assert result.stdout == b"exhibit 7"


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
def test_seal_plan_output_opens_with_age(age_tool: str, tmp_path: Path, size: int) -> None:
    identity = Identity.generate()
    plan = SealPlan.create([identity.recipient])
    plaintext = os.urandom(size)
    ciphertext = b"".join(plan.iter_ciphertext(io.BytesIO(plaintext), size))
    assert len(ciphertext) == plan.ciphertext_size(size)
    assert _age_decrypt(age_tool, _identity_file(tmp_path, identity), ciphertext) == plaintext


def test_flipped_byte_in_age_output_is_refused(age_tool: str) -> None:
    identity = Identity.generate()
    ciphertext = bytearray(
        subprocess.run(
            [age_tool, "-e", "-r", identity.recipient.to_string()],
            input=b"x" * (2 * CHUNK + 3),
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    )
    ciphertext[-100] ^= 0x01
    with pytest.raises(DecryptionFailed):
        decrypt_stream(io.BytesIO(bytes(ciphertext)), io.BytesIO(), [identity])
