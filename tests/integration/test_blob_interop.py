"""A stored item opens with the plain ``age`` tool: no custody code between the disk and the file.

The recipient's key wrap (from the ``key_wraps`` table) opens with the recipient's identity
(unsealed from their key file) to give the item key; the stored blob opens with the item key.
The same works with each organisation's offline recovery key file, and with the one the
operator's ``custody admin org create`` writes for an organisation made here (whose person,
added by ``custody admin user create``, receives with the CLI). Skipped when ``age`` is
missing, except under CI, where that fails.
"""

from __future__ import annotations

import stat
import subprocess
import uuid
from pathlib import Path

from custody.crypto.keys import UserKeys
from support.server import People, Person, Server, item_ids, make_file, new_case
from support.world import CPS, OTHER, POLICE, Account


def _age_decrypt(age: str, identity: Path, ciphertext: Path, out: Path) -> None:
    done = subprocess.run([age, "-d", "-i", str(identity), "-o", str(out), str(ciphertext)],
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def _wrap_for(server: Server, item: str, recipient: str) -> bytes:
    rows = server.query("SELECT wrap FROM key_wraps WHERE item_id = :i AND recipient = :r",
                        i=item, r=recipient)
    assert len(rows) == 1, f"{len(rows)} wraps of {item} for {recipient}"
    return bytes(rows[0][0])


def _recovery_recipient(path: Path) -> str:
    line = next(x for x in path.read_text().splitlines() if x.startswith("# public key: "))
    return line.removeprefix("# public key: ")


def _person_identity(person: Person, tmp_path: Path) -> tuple[str, Path]:
    keys = UserKeys.unseal(person.key_file.read_bytes(), person.passphrase)
    path = tmp_path / f"{person.account.key}-identity.txt"
    path.write_text(keys.identity.to_string() + "\n")
    path.chmod(0o600)
    return keys.age_recipient, path


def test_blob_opens_with_age_tool_via_each_readers_wrap(
        age_tool: str, server: Server, people: People, tmp_path: Path) -> None:
    urn = new_case(people.officer)
    # More than one 64 KiB STREAM chunk, and not a multiple of it.
    original = make_file(tmp_path / "sent", "interview.mp4", 3 * 65536 + 1234)
    transfer_id = people.officer.send([original], urn, CPS)
    item = item_ids(people.officer, transfer_id)[0]
    blob = server.blobs / item
    assert blob.read_bytes().startswith(b"age-encryption.org/v1\n")

    identities = [_person_identity(p, tmp_path)
                  for p in (people.prosecutor, people.prosecutor2, people.officer)]
    identities += [(_recovery_recipient(server.recovery_keys[org]), server.recovery_keys[org])
                   for org in (POLICE, CPS)]
    for n, (recipient, identity_file) in enumerate(identities):
        wrap = tmp_path / f"wrap-{n}.age"
        wrap.write_bytes(_wrap_for(server, item, recipient))
        item_key = tmp_path / f"item-{n}.key"
        _age_decrypt(age_tool, identity_file, wrap, item_key)
        assert item_key.read_text().startswith("AGE-SECRET-KEY-1")
        out = tmp_path / f"plain-{n}"
        _age_decrypt(age_tool, item_key, blob, out)
        assert out.read_bytes() == original.read_bytes(), identity_file.name

    # Nobody else has a wrap: not the third organisation's people, not its recovery key.
    other_recipient = _recovery_recipient(server.recovery_keys[OTHER])
    outsider_recipient, _ = _person_identity(people.outsider, tmp_path)
    for recipient in (other_recipient, outsider_recipient):
        assert not server.query("SELECT id FROM key_wraps WHERE item_id = :i AND recipient = :r",
                                i=item, r=recipient)
    assert len(server.query("SELECT id FROM key_wraps WHERE item_id = :i", i=item)) == 5

    # And a wrong key is refused by the tool itself.
    wrong = tmp_path / "wrong.age"
    wrong.write_bytes(_wrap_for(server, item, identities[0][0]))
    done = subprocess.run([age_tool, "-d", "-i", str(server.recovery_keys[OTHER]), str(wrong)],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode != 0


def test_an_organisation_the_operator_makes_opens_with_its_offline_key_file(
        age_tool: str, server: Server, people: People, tmp_path: Path) -> None:
    name = f"Crown Prosecution Unit {uuid.uuid4().int % 10**6}"
    key_file = tmp_path / "offline" / "recovery-key.txt"
    key_file.parent.mkdir()
    made = server.admin("org", "create", name, "--kind", "prosecution",
                        "--recovery-key-out", str(key_file)).stdout
    assert f"recovery key written to {key_file} (0600)" in made
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    email, password = f"p.{uuid.uuid4().hex[:8]}@cps.example", f"pw-{uuid.uuid4().hex}"
    server.admin("user", "create", email, "--org", name, "--role", "prosecutor",
                 CUSTODY_NEW_PASSWORD=password)
    reader = Person.signed_in(server, Account("operator-made", email, name, "prosecutor",
                                              password), tmp_path / "reader")

    original = make_file(tmp_path / "sent", "statement.pdf", 70_000)
    transfer_id = people.officer.send([original], new_case(people.officer), name)
    reader.ok("receive", transfer_id, "--out", str(tmp_path / "received"))
    assert (tmp_path / "received" / original.name).read_bytes() == original.read_bytes()

    item = item_ids(people.officer, transfer_id)[0]
    wrap = tmp_path / "wrap.age"
    wrap.write_bytes(_wrap_for(server, item, _recovery_recipient(key_file)))
    item_key, out = tmp_path / "item.key", tmp_path / "plain"
    _age_decrypt(age_tool, key_file, wrap, item_key)
    _age_decrypt(age_tool, item_key, server.blobs / item, out)
    assert out.read_bytes() == original.read_bytes()
