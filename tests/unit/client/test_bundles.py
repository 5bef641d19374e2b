"""``custody.client.bundles``: a reader's evidence bundle, made and checked on their machine.

The server gives entries and proofs; only a reader can open the signed manifests and add
them. The bundle is checked against the pinned log key, and its checkpoint against the
largest tree this client verified, before anyone relies on it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from custody.bundle import verify_bundle
from custody.client import receiving, sending
from custody.client.bundles import make_bundle
from custody.client.trust import parse_log_key
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.note import Signer
from support.client import Desks, Machine, with_json
from support.world import CPS, new_urn


def received_item(desks: Desks, tmp_path: Path) -> tuple[str, bytes]:
    """An item the officer sent and the prosecutor received; its id and content."""
    officer, prosecutor = desks.officer, desks.prosecutor
    urn = new_urn()
    desks.app.client.post("/api/v1/cases", headers=officer.member.auth, json={"urn": urn})
    content = os.urandom(5000)
    source = tmp_path / "interview.mp4"
    source.write_bytes(content)
    with officer.active():
        transfer = sending.send(officer.api, officer.session, officer.keys, [source], urn, [CPS],
                                None, officer.say)
    with prosecutor.active():
        (got,) = receiving.receive(prosecutor.api, prosecutor.session, prosecutor.keys,
                                   transfer.id, tmp_path / "in", prosecutor.say)
    return got.item, content


def bundle(reader: Machine, item: str, desks: Desks) -> tuple[bytes, int]:
    with reader.active():
        return make_bundle(reader.api, reader.keys, item, parse_log_key(desks.app.world.log_key))


def test_a_readers_bundle_proves_the_trail_and_carries_the_signed_manifest(
    desks: Desks, tmp_path: Path
) -> None:
    item, content = received_item(desks, tmp_path)
    made, proven = bundle(desks.prosecutor, item, desks)
    with zipfile.ZipFile(io.BytesIO(made)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        entries = [n for n in zf.namelist() if n.startswith("entries/")]
    assert proven == len(entries) == len(manifest["entries"])
    assert [i["item"] for i in manifest["items"]] == [item]
    report = verify_bundle(made, desks.app.world.log_key, content=io.BytesIO(content))
    types = [t.type for t in report.trail]
    assert {"item:sealed", "item:downloaded", "item:received"} <= set(types)
    assert report.content_item == item
    assert report.caveats == []


def test_a_bundle_whose_checkpoint_the_pinned_key_did_not_sign_is_refused(
    desks: Desks, tmp_path: Path
) -> None:
    item, _ = received_item(desks, tmp_path)
    reader = desks.prosecutor
    origin = desks.app.world.log_key.split("+")[0]
    impostor = Signer(origin, SigningKey.generate())

    def resign(_: httpx.Request, answer: httpx.Response) -> httpx.Response:
        """The same tree, signed by a key of the server's own."""
        body = answer.json()
        _, size, root = body["checkpoint"].split("\n")[:3]
        tree = Checkpoint(origin, int(size), base64.b64decode(root))
        return with_json(answer, {**body, "checkpoint": sign_checkpoint(tree, impostor).decode()})

    reader.tampering.on("GET", rf"/api/v1/bundle/{item}", resign)
    with pytest.raises(IntegrityError):
        bundle(reader, item, desks)
