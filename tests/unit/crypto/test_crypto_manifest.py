"""Signed manifests: canonical bytes, strict parsing, signatures, and safe file names."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from custody.crypto.manifest import Manifest, SignedManifest, safe_file_name
from custody.crypto.signing import BadSignature, SigningKey
from custody.errors import InvalidInput

SENDER = SigningKey(bytes(range(32)))


def _manifest(**changes: Any) -> Manifest:
    values: dict[str, Any] = {
        "item": "itm_1",
        "transfer": "trf_1",
        "case": "case-2026-17",
        "file_name": "interview 3.mp4",
        "size": 10,
        "sha256": "a" * 64,
        "ciphertext_size": 250,
        "ciphertext_sha256": "b" * 64,
        "item_recipient": "age1qmp7qqg4mm76nt3kzmep25t8hlfwz20yaurdsa33j7mpu6wyaf7s7fjmfm",
        "sender": "usr_1",
        "signing_key": SENDER.public_key.to_b64(),
        "created_at": "2026-11-25T07:35:00Z",
    }
    values.update(changes)
    return Manifest(**values)


def test_canonical_bytes() -> None:
    data = _manifest(file_name="Zeugenaussage é.pdf").to_bytes()
    assert data.startswith(b'{"case":"case-2026-17","ciphertext_sha256":"bbbb')
    assert b" " not in data.replace(b"Zeugenaussage \\u00e9", b"")  # no whitespace separators
    assert b"\\u00e9" in data  # ensure_ascii
    assert data.endswith(b',"v":1}')
    assert Manifest.from_bytes(data) == _manifest(file_name="Zeugenaussage é.pdf")


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_manifest().to_bytes())
    return document


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(v=2),
        lambda d: d.update(v=True),  # True == 1 in Python; not a version
        lambda d: d.pop("v"),
        lambda d: d.pop("sha256"),
        lambda d: d.update(extra="x"),
        lambda d: d.update(size="10"),
        lambda d: d.update(size=True),
        lambda d: d.update(size=10.0),
        lambda d: d.update(item=1),
        lambda d: d.update(sha256="A" * 64),
        lambda d: d.update(file_name="../etc/passwd"),
        lambda d: d.update(created_at="2026-11-25 07:35:00"),
        lambda d: d.update(signing_key="not base64!"),
    ],
)
def test_strict_parsing(mutate: Any) -> None:
    document = _document()
    mutate(document)
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(json.dumps(document).encode())


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (None, "the manifest holds a string that is not Unicode text"),
        (b"[" * 65 + b"]" * 65, "the manifest is nested too deeply to be a manifest"),
        (b"[" * 100_000 + b"]" * 100_000, "the manifest is nested too deeply to be a manifest"),
    ],
    ids=["lone-surrogate", "depth-65", "deeper-than-recursion"],
)
def test_text_that_is_not_unicode_and_deep_nesting_are_invalid_input(
    raw: bytes | None, said: str
) -> None:
    # A lone surrogate escape has no UTF-8 spelling; before, it escaped as UnicodeEncodeError
    # from the file-name check, and deep nesting as RecursionError: neither a clear refusal.
    document = _document()
    document["file_name"] = "\ud800.mp4"
    with pytest.raises(InvalidInput) as refused:
        Manifest.from_bytes(raw if raw is not None else json.dumps(document).encode())
    assert refused.value.message == said


def test_duplicate_keys_and_non_objects_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(_manifest().to_bytes()[:-1] + b',"v":1}')
    with pytest.raises(InvalidInput):
        Manifest.from_bytes(b"[1]")


def test_sign_and_verify() -> None:
    signed = SignedManifest.sign(_manifest(), SENDER)
    again = SignedManifest.from_bytes(signed.to_bytes())
    assert again == signed
    assert again.verify(SENDER.public_key) == _manifest()


def test_signature_is_domain_separated() -> None:
    signed = SignedManifest.sign(_manifest(), SENDER)
    assert not SENDER.public_key.is_valid(signed.signature, signed.manifest_bytes)


def test_tampered_manifest_is_refused() -> None:
    signed = SignedManifest.sign(_manifest(), SENDER)
    forged = signed.manifest_bytes.replace(b'"size":10', b'"size":11')
    with pytest.raises(BadSignature):
        SignedManifest(forged, signed.signature).verify(SENDER.public_key)


def test_tampered_signature_is_refused() -> None:
    signed = SignedManifest.sign(_manifest(), SENDER)
    bad = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    with pytest.raises(BadSignature):
        SignedManifest(signed.manifest_bytes, bad).verify(SENDER.public_key)


def test_wrong_key_is_refused() -> None:
    other = SigningKey(bytes(32))
    signed = SignedManifest.sign(_manifest(), SENDER)
    with pytest.raises(BadSignature):
        signed.verify(other.public_key)
    # Signed by `other` but naming SENDER's key: refused even by other's key.
    manifest_bytes = _manifest().to_bytes()
    sneaky = SignedManifest(manifest_bytes, other.sign(b"custody-manifest/v1\n" + manifest_bytes))
    with pytest.raises(BadSignature):
        sneaky.verify(other.public_key)
    with pytest.raises(InvalidInput):
        SignedManifest.sign(_manifest(), other)


@pytest.mark.parametrize(
    "envelope",
    [b"{}", b'{"manifest":"eA==","signature":"eA==","x":1}', b'{"manifest":"!!","signature":""}'],
)
def test_envelope_is_strict(envelope: bytes) -> None:
    with pytest.raises(InvalidInput):
        SignedManifest.from_bytes(envelope)


def test_envelope_shape() -> None:
    signed = SignedManifest.sign(_manifest(), SENDER)
    document = json.loads(signed.to_bytes())
    assert set(document) == {"manifest", "signature"}
    assert base64.b64decode(document["manifest"]) == signed.manifest_bytes


@pytest.mark.parametrize(
    "name",
    ["report.pdf", "Aussage Müller.docx", "ملف.txt", ".hidden", "a" * 255, "é" * 127],
)
def test_safe_file_names(name: str) -> None:
    assert safe_file_name(name) == name


def test_file_names_are_nfc_normalised() -> None:
    assert safe_file_name("Mu\u0308ller.txt") == "M\u00fcller.txt"


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "a/b",
        "/etc/passwd",
        "..\\x",
        "nul\x00byte",
        "tab\there",
        "new\nline",
        "del\x7f",
        "c1\x85",
        "line\u2028sep",
        "para\u2029sep",
        "evil\u202egnp.exe",
        "iso\u2066late",
        "a" * 256,
        "é" * 128,
    ],
)
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        safe_file_name(name)


def test_manifest_refuses_unsafe_file_name() -> None:
    with pytest.raises(InvalidInput):
        _manifest(file_name="a/b")
    assert dataclasses.replace(_manifest(), size=0).size == 0
