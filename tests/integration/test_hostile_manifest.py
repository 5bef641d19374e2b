"""A sender's manifest that only its JSON makes wrong is refused alike by the recipient and by
a court: ``custody receive`` and ``custody verify`` give the same reason.

The officer plays a hostile sender through the real API with their own token: a case, a
transfer, an item, the age-encrypted content uploaded with tus, and a seal carrying a signed
manifest (signed by the officer's real key, wrapped for every reader the server names) whose
JSON holds a float, or repeats a key. The prosecutor's ``custody receive`` refuses it and
writes nothing; an evidence bundle of the item's real entries carrying that envelope (built
with ``custody.bundle.build_bundle``, since ``custody bundle`` refuses it too) is refused by
``custody verify`` with the same message.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from custody.bundle import build_bundle
from custody.crypto import age
from custody.crypto.items import new_item_key, wrap
from custody.crypto.keys import UserKeys
from custody.crypto.manifest import SIGNATURE_CONTEXT, Manifest, SignedManifest
from support.cli import assert_fails, run_custody
from support.server import People, Person, Server, new_case
from support.world import CPS

TUS = {"Tus-Resumable": "1.0.0"}
CONTENT = b"interview recording " * 150  # 3000 bytes


def _a_float(body: bytes) -> bytes:
    """One flipped byte: the plaintext size's second digit becomes a decimal point."""
    found = re.search(rb'"size":(\d)\d', body)
    assert found, body
    at = found.start() + len(b'"size":') + 1
    return body[:at] + b"." + body[at + 1 :]


def _a_repeated_key(body: bytes) -> bytes:
    """A second ``sender`` ahead of the real one: which one counts depends on the parser."""
    return body.replace(b'{"case"', b'{"sender":"someone else","case"', 1)


def _in_folder(folder: str) -> Callable[[bytes], bytes]:
    """A signed folder for the file (issue 16), in its canonical place after the name."""

    def tamper(body: bytes) -> bytes:
        named = b'"file_name":"interview.mp4",'
        assert named in body, body
        return body.replace(named, named + b'"folder":"' + folder.encode() + b'",', 1)

    return tamper


HOSTILE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "a float": (_a_float, "the manifest contains a number that is not an integer: 3.00"),
    "a repeated key": (_a_repeated_key, "the manifest repeats a key"),
    "a folder climbing out": (_in_folder("../x"), "'..' is not a usable file name"),
    "an absolute folder": (
        _in_folder("/etc/cron.d"),
        "the folder path is absolute or has an empty part",
    ),
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _answer(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _send_hostile(
    officer: Person, urn: str, tamper: Callable[[bytes], bytes]
) -> tuple[str, str, bytes]:
    """Send CONTENT as ``custody send`` would, but seal it with ``tamper``ed manifest JSON,
    signed by the officer's real key. The transfer id, the item id and the envelope."""
    keys = UserKeys.unseal(officer.key_file.read_bytes(), officer.passphrase)
    item_key = new_item_key()
    plan = age.SealPlan.create([item_key.recipient])
    length = plan.ciphertext_size(len(CONTENT))
    ciphertext = b"".join(plan.iter_ciphertext(io.BytesIO(CONTENT), len(CONTENT)))
    assert len(ciphertext) == length
    with officer.api() as api:
        transfer = _answer(api.post("/api/v1/transfers", json={"case": urn, "to": [CPS]}), 201)
        item = _answer(
            api.post(f"/api/v1/transfers/{transfer['id']}/items", json={"ciphertext_size": length}),
            201,
        )["id"]
        created = api.post(
            "/api/v1/uploads",
            headers={
                **TUS,
                "Upload-Length": str(length),
                "Upload-Metadata": f"item {_b64(item.encode())}",
            },
        )
        assert created.status_code == 201, created.text
        checksum = _b64(hashlib.sha256(ciphertext).digest())
        patched = api.patch(
            created.headers["Location"],
            content=ciphertext,
            headers={
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": f"sha256 {checksum}",
            },
        )
        assert patched.status_code == 204, patched.text
        honest = Manifest(
            item=item,
            transfer=transfer["id"],
            case=transfer["case"],
            file_name="interview.mp4",
            size=len(CONTENT),
            sha256=_sha256(CONTENT),
            ciphertext_size=length,
            ciphertext_sha256=_sha256(ciphertext),
            item_recipient=item_key.recipient.to_string(),
            sender=officer.session["user_id"],
            signing_key=keys.signing_public,
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        body = tamper(honest.to_bytes())
        assert body != honest.to_bytes()
        envelope = SignedManifest(body, keys.signing_key.sign(SIGNATURE_CONTEXT + body)).to_bytes()
        wraps = {
            reader["recipient"]: _b64(wrap(item_key, age.Recipient.parse(reader["recipient"])))
            for reader in transfer["readers"]
        }
        seal = {
            "sealed_manifest": _b64(age.encrypt(envelope, [item_key.recipient])),
            "manifest_sha256": _sha256(body),
            "wraps": wraps,
        }
        _answer(api.post(f"/api/v1/items/{item}/seal", json=seal), 204)
        _answer(api.post(f"/api/v1/transfers/{transfer['id']}/send"))
    return transfer["id"], item, envelope


def _bundle_carrying(reader: Person, item: str, envelope: bytes, signing_key: str) -> bytes:
    """The bundle ``custody bundle`` would write, from the item's real entries and proofs."""
    material = reader.get(f"/api/v1/bundle/{item}")
    entries = [
        (e["index"], base64.b64decode(e["entry"]), [base64.b64decode(h) for h in e["proof"]])
        for e in material["entries"]
    ]
    head_proofs = {
        i: [base64.b64decode(h) for h in proof] for i, proof in material["head_proofs"].items()
    }
    carried = {"item": item, "signed_manifest": _b64(envelope), "signing_key": signing_key}
    return build_bundle(
        material["origin"], material["checkpoint"].encode(), entries, [carried], head_proofs
    )


def _first_line(stderr: str) -> str:
    return stderr.splitlines()[0]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_receive_and_verify_refuse_a_manifests_bad_json_alike(
    server: Server, people: People, tmp_path: Path, hostile: str
) -> None:
    officer, prosecutor = people.officer, people.prosecutor
    tamper, reason = HOSTILE[hostile]
    tid, item, envelope = _send_hostile(officer, new_case(officer), tamper)
    said = f"error: item {item} failed verification: {reason}"

    out = tmp_path / "in"
    refused = prosecutor.run("receive", tid, "--out", str(out))
    assert_fails(refused, "failed verification", reason, code=8)
    assert _first_line(refused.stderr) == said
    assert not out.exists() or list(out.iterdir()) == [], "nothing of the item is written"
    assert not list((prosecutor.home / "downloads").glob(f"{item}*"))
    failed = [e for e in prosecutor.history(item) if e["type"] == "item:verification_failed"]
    assert len(failed) == 1, "the refusal is in the ledger"

    signing_key = UserKeys.unseal(officer.key_file.read_bytes(), officer.passphrase).signing_public
    evidence = tmp_path / "evidence.zip"
    evidence.write_bytes(_bundle_carrying(prosecutor, item, envelope, signing_key))
    verified = run_custody(["verify", str(evidence), "--log-key", server.log_key], prosecutor.env())
    assert_fails(verified, reason, code=8)
    assert _first_line(verified.stderr) == said

    # custody bundle checks what it writes, with the same parser: it refuses too, writing nothing.
    made = tmp_path / "made.zip"
    bundled = prosecutor.run("bundle", item, "--out", str(made))
    assert_fails(bundled, reason, code=8)
    assert _first_line(bundled.stderr) == said
    assert not made.exists()
