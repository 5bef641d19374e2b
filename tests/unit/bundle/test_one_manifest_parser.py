"""One parser of the signed manifest: what the recipient's client refuses, a court's verifier
refuses, with the same message.

``bundle/items.py`` once re-read the envelope with ``json.loads``, which takes a float and keeps
the last of two repeated keys, while ``custody receive`` refuses both: the same bytes verified
in court and failed on the recipient's machine. Each envelope below is signed by the sender's
real key, so only its JSON (or what it names) is wrong; it goes, byte for byte, to the client's
manifest-opening path and, inside a bundle whose ``item:sealed`` entry logs it, to
``verify_bundle`` and ``custody verify``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from custody.bundle import verify_bundle
from custody.cli.main import main
from custody.client.receiving import VerificationFailed, _open_manifest
from custody.crypto import age
from custody.crypto.items import new_item_key, wrap
from custody.crypto.keys import UserKeys
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError
from custody.protocol.transfers import ItemOut, PartyOut, TransferOut
from support.bundles import (
    CASE_URN,
    CIPHERTEXT_SIZE,
    ITEM,
    LOG,
    SENDER,
    SENDER_KEY,
    TRANSFER,
    bundle,
    envelope,
    manifest,
    manifest_bytes_in,
)

HONEST = manifest().to_bytes()


class Server:
    """Stands for the API: records what the client reports."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, dict[str, Any]]] = []

    def act(self, path: str, body: BaseModel) -> None:
        self.posted.append((path, body.model_dump(mode="json")))


def _envelope_with(document: bytes) -> bytes:
    """An envelope of the sender's own making: its JSON written by hand."""
    return document.replace(b"{M}", base64.b64encode(HONEST)).replace(
        b"{S}", base64.b64encode(SENDER_KEY.sign(b"custody-manifest/v1\n" + HONEST))
    )


HOSTILE: dict[str, Callable[[], bytes]] = {
    # The manifest's JSON, signed as it is by the sender's real key.
    "a float (one flipped byte)": lambda: envelope(
        HONEST.replace(b'"ciphertext_size":250', b'"ciphertext_size":2.0')
    ),
    "a repeated key": lambda: envelope(
        HONEST.replace(b'{"case"', b'{"sender":"someone else","case"')
    ),
    "an integer of 5000 digits": lambda: envelope(
        HONEST.replace(b'"size":25', b'"size":' + b"1" * 5000)
    ),
    "JSON nested 10 000 deep": lambda: envelope(b"[" * 10_000),
    "a missing field": lambda: envelope(HONEST.replace(b'"file_name":"interview.mp4",', b"")),
    # The envelope's JSON.
    "a float in the envelope": lambda: _envelope_with(
        b'{"manifest":"{M}","signature":"{S}","v":1.0}'
    ),
    "a repeated key in the envelope": lambda: _envelope_with(
        b'{"manifest":"' + base64.b64encode(b"{}") + b'","manifest":"{M}","signature":"{S}"}'
    ),
    "an envelope nested 10 000 deep": lambda: b"[" * 10_000,
    # Well-formed, signed, but not what was logged.
    "a manifest naming another item": lambda: envelope(
        manifest(item="00000000-0000-4000-8000-000000000000").to_bytes()
    ),
    "a manifest naming another signing key": lambda: envelope(
        manifest(signing_key=SigningKey(bytes(32)).public_key.to_b64()).to_bytes()
    ),
    "a signature over other bytes": lambda: _envelope_with(
        b'{"manifest":"{M}","signature":"'
        + base64.b64encode(SENDER_KEY.sign(b"custody-manifest/v1\n{}"))
        + b'"}'
    ),
}


def _client_refusal(envelope_bytes: bytes) -> str | None:
    """What ``custody receive`` says of this envelope (None: it opens it), as the recipient."""
    reader, item_key = UserKeys.generate(), new_item_key()
    manifest_sha256 = hashlib.sha256(manifest_bytes_in(envelope_bytes)).hexdigest()
    item = ItemOut(
        id=ITEM,
        position=0,
        state="sealed",
        ciphertext_size=CIPHERTEXT_SIZE,
        ciphertext_sha256=None,
        manifest_sha256=manifest_sha256,
        sealed_manifest=age.encrypt(envelope_bytes, [item_key.recipient]),
        wrap=wrap(item_key, reader.identity.recipient),
    )
    transfer = TransferOut(
        id=TRANSFER,
        case=CASE_URN,
        state="sent",
        sender=PartyOut(user_id=SENDER, email="sender@example.org"),
        sender_signing_key=SENDER_KEY.public_key.to_b64(),
        sender_key_index=0,
        recipient_org="CPS",
        recipients=[],
        created_at=datetime.now(UTC),
        sent_at=None,
        ack_deadline=None,
        delivered_at=None,
        acknowledged_at=None,
        items=[item],
    )
    server = Server()
    try:
        _open_manifest(server, reader, transfer, item, SENDER_KEY.public_key)  # type: ignore[arg-type]
    except VerificationFailed as exc:
        reason = exc.message.removeprefix(f"item {ITEM} failed verification: ")
        assert server.posted == [
            (
                f"/api/v1/items/{ITEM}/receipt",
                {
                    "manifest_sha256": manifest_sha256,
                    "verified": False,
                    "reason": f"manifest: {reason}",
                },
            )
        ]
        return exc.message
    return None


def _verifier_refusal(envelope_bytes: bytes) -> str | None:
    """What ``verify_bundle`` says of a bundle carrying this envelope (None: it verifies)."""
    try:
        verify_bundle(bundle(envelope_bytes), LOG.verifier.vkey)
    except IntegrityError as exc:
        return exc.message
    return None


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_verifier_refuses_what_the_client_refuses_with_the_same_message(hostile: str) -> None:
    envelope_bytes = HOSTILE[hostile]()
    said = _client_refusal(envelope_bytes)
    assert said is not None
    assert said.startswith(f"item {ITEM} failed verification: "), said
    assert _verifier_refusal(envelope_bytes) == said


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [
        (
            "a float (one flipped byte)",
            "the manifest contains a number that is not an integer: 2.0",
        ),
        ("a repeated key", "the manifest repeats a key"),
        ("a float in the envelope", "the signed manifest contains a number that is not an integer"),
        ("a repeated key in the envelope", "the signed manifest repeats a key"),
        ("JSON nested 10 000 deep", "the manifest is nested too deeply"),
        ("a manifest naming another item", "the signed manifest does not match: item id"),
    ],
)
def test_the_reason_names_what_is_wrong(hostile: str, reason: str) -> None:
    said = _verifier_refusal(HOSTILE[hostile]())
    assert said is not None
    assert said.startswith(f"item {ITEM} failed verification: {reason}"), said


def test_custody_verify_exits_8_with_the_clients_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    envelope_bytes = HOSTILE["a float (one flipped byte)"]()
    path = tmp_path / "evidence.zip"
    path.write_bytes(bundle(envelope_bytes))
    assert main(["verify", str(path), "--log-key", LOG.verifier.vkey]) == 8
    err = capsys.readouterr().err
    assert err.startswith(f"error: {_client_refusal(envelope_bytes)}\n"), err


@pytest.mark.parametrize(
    "document",
    [
        b'{"manifest":"{M}","signature":"{S}"}',
        b'{"signature": "{S}", "manifest": "{M}"}',  # spaced, keys in another order
    ],
    ids=["canonical", "spaced and reordered"],
)
def test_what_the_client_accepts_the_verifier_accepts(document: bytes) -> None:
    envelope_bytes = _envelope_with(document)
    assert _client_refusal(envelope_bytes) is None
    assert _verifier_refusal(envelope_bytes) is None
