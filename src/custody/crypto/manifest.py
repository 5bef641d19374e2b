"""The sender-signed manifest: what was sent, by whom, with which hashes.

The receiving client verifies the signature and both hashes before it
releases a file. The manifest is canonical JSON (sorted keys, no spaces,
ASCII only, no floats), signed with Ed25519 under a domain-separation prefix
so a manifest signature can never be replayed as any other custody signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Any

from custody.crypto.encoding import NotAnInteger, NotText, RepeatedKey, TooDeep, json_strict
from custody.crypto.signing import BadSignature, SigningKey, VerifyKey
from custody.errors import IntegrityError, InvalidInput

VERSION = 1
SIGNATURE_CONTEXT = b"custody-manifest/v1\n"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
# Bidi embeddings/overrides and isolates can make a name display as something else.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_SEPARATORS = {"\u2028", "\u2029"}
_OPTIONAL = "folder"  # the one field a manifest may leave out


def safe_file_name(name: str) -> str:
    """``name`` (NFC) if it is safe to write as one file on a receiver's disk; else InvalidInput."""
    name = unicodedata.normalize("NFC", name)
    if name in ("", ".", ".."):
        raise InvalidInput(f"{name!r} is not a usable file name", hint="rename the file")
    if "/" in name or "\\" in name:
        raise InvalidInput("a file name may not contain '/' or '\\'", hint="rename the file")
    for char in name:
        if unicodedata.category(char) == "Cc" or char in _BIDI or char in _SEPARATORS:
            raise InvalidInput(
                f"the file name contains a control character (U+{ord(char):04X})",
                hint="rename the file",
            )
    if len(name.encode("utf-8")) > 255:
        raise InvalidInput("the file name is longer than 255 bytes", hint="rename the file")
    return name


MAX_FOLDER_DEPTH = 32
MAX_FOLDER_BYTES = 1024


def safe_folder(folder: str) -> str:
    """``folder`` (NFC), a relative path of folder names joined by '/', if each name is a safe
    file name and the whole cannot climb out of, or reach past, the folder it is written
    under: no '..', no '.', no empty part, not absolute; else InvalidInput."""
    folder = unicodedata.normalize("NFC", folder)
    if len(folder.encode("utf-8")) > MAX_FOLDER_BYTES:
        raise InvalidInput(f"the folder path is longer than {MAX_FOLDER_BYTES} bytes")
    parts = folder.split("/")
    if len(parts) > MAX_FOLDER_DEPTH:
        raise InvalidInput(f"the folder path is more than {MAX_FOLDER_DEPTH} folders deep")
    for part in parts:
        if part == "":
            raise InvalidInput(
                "the folder path is absolute or has an empty part", hint="send a relative folder"
            )
        safe_file_name(part)
    return folder


@dataclass(frozen=True)
class Manifest:
    """What the sender vouches for about one item."""

    item: str
    transfer: str
    case: str
    file_name: str
    size: int
    sha256: str  # hex SHA-256 of the plaintext
    ciphertext_size: int
    ciphertext_sha256: str
    item_recipient: str
    sender: str
    signing_key: str  # base64 Ed25519 public key of the sender
    created_at: str  # RFC 3339 UTC, e.g. "2026-11-25T07:35:00Z"
    # The file's folder inside the folder that was sent ("statements/2026"), or None for a
    # file sent on its own; absent from the signed bytes when None (older manifests).
    folder: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == _OPTIONAL and value is None:
                continue
            wanted = int if f.type in ("int", int) else str
            if type(value) is not wanted:  # bool is an int; refuse it too
                raise InvalidInput(f"manifest field {f.name!r} must be {wanted.__name__}")
        if safe_file_name(self.file_name) != self.file_name:
            raise InvalidInput("the manifest's file name is not in Unicode NFC form")
        if self.folder is not None and safe_folder(self.folder) != self.folder:
            raise InvalidInput("the manifest's folder is not in Unicode NFC form")
        for name in ("sha256", "ciphertext_sha256"):
            if not _HEX64.fullmatch(getattr(self, name)):
                raise InvalidInput(f"manifest field {name!r} is not a lower-case hex SHA-256")
        if self.size < 0 or self.ciphertext_size <= self.size:
            raise InvalidInput("manifest sizes are impossible")
        if not _RFC3339_UTC.fullmatch(self.created_at):
            raise InvalidInput("manifest time must be RFC 3339 UTC, like 2026-11-25T07:35:00Z")
        VerifyKey.from_b64(self.signing_key)

    @property
    def relative_path(self) -> str:
        """Where the receiver writes it under its --out folder: folder/file_name."""
        return self.file_name if self.folder is None else f"{self.folder}/{self.file_name}"

    def to_bytes(self) -> bytes:
        """Canonical JSON: the exact bytes that are signed (no ``folder`` when there is none,
        so a file sent on its own signs exactly what it did before folders)."""
        document = asdict(self)
        if self.folder is None:
            del document[_OPTIONAL]
        return _canonical({"v": VERSION, **document})

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        document = _json_object(data, "manifest")
        version = document.pop("v", None)
        if type(version) is not int or version != VERSION:  # true == 1 in Python; not here
            raise InvalidInput("unknown manifest version")
        names = {f.name for f in fields(cls)} - {_OPTIONAL}
        if set(document) - {_OPTIONAL} != names:
            raise InvalidInput(f"manifest fields differ from {sorted(names)} (and '{_OPTIONAL}')")
        if _OPTIONAL in document and document[_OPTIONAL] is None:
            raise InvalidInput(f"manifest field '{_OPTIONAL}' must be str")  # absent, not null
        return cls(**document)


@dataclass(frozen=True)
class SignedManifest:
    """A manifest's canonical bytes with the sender's Ed25519 signature over them."""

    manifest_bytes: bytes
    signature: bytes

    @classmethod
    def sign(cls, manifest: Manifest, key: SigningKey) -> SignedManifest:
        """The sender's signature over ``manifest``, by the key it names (no other)."""
        if manifest.signing_key != key.public_key.to_b64():
            raise InvalidInput("the manifest names a different signing key than the one signing it")
        data = manifest.to_bytes()
        return cls(data, key.sign(SIGNATURE_CONTEXT + data))

    def verify(self, expected: VerifyKey) -> Manifest:
        """The manifest, if ``expected`` signed it and it names ``expected``; else BadSignature."""
        expected.verify(self.signature, SIGNATURE_CONTEXT + self.manifest_bytes)
        manifest = Manifest.from_bytes(self.manifest_bytes)
        if manifest.signing_key != expected.to_b64():
            raise BadSignature("the manifest names a different signing key")
        return manifest

    def to_bytes(self) -> bytes:
        return _canonical(
            {
                "manifest": base64.b64encode(self.manifest_bytes).decode("ascii"),
                "signature": base64.b64encode(self.signature).decode("ascii"),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedManifest:
        document = _json_object(data, "signed manifest")
        if set(document) != {"manifest", "signature"}:
            raise InvalidInput("a signed manifest has exactly 'manifest' and 'signature'")
        try:
            parts = [
                base64.b64decode(document[k], validate=True) for k in ("manifest", "signature")
            ]
        except (TypeError, ValueError) as exc:  # binascii.Error is a ValueError
            raise InvalidInput("the signed manifest's fields are not base64") from exc
        return cls(parts[0], parts[1])


@dataclass(frozen=True)
class Sealed:
    """The server's record of a sealed item, which its signed manifest must name exactly: from
    the API for ``custody receive``, from the ``item:sealed`` entry for an evidence bundle."""

    item: str | None
    transfer: str | None
    sender: str
    manifest_sha256: str | None
    ciphertext_size: int | None
    case: str | None = None  # the URN, where the record names it (the log holds no URN)


def open_sealed(envelope: bytes, key: VerifyKey, sealed: Sealed) -> Manifest:
    """The manifest in ``envelope``, if ``key`` signed it and it names what ``sealed`` records;
    else IntegrityError naming what differs, in the same words wherever it is checked."""
    signed = SignedManifest.from_bytes(envelope)
    manifest = signed.verify(key)
    manifest_sha256 = hashlib.sha256(signed.manifest_bytes).hexdigest()
    problems = [
        what
        for what, ok in (
            ("item id", manifest.item == sealed.item),
            ("transfer id", manifest.transfer == sealed.transfer),
            ("case", sealed.case is None or manifest.case == sealed.case),
            ("sender", manifest.sender == sealed.sender),
            ("manifest hash", manifest_sha256 == sealed.manifest_sha256),
            ("ciphertext size", manifest.ciphertext_size == sealed.ciphertext_size),
        )
        if not ok
    ]
    if problems:
        raise IntegrityError("the signed manifest does not match: " + ", ".join(problems))
    return manifest


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json_strict(data.decode("utf-8"))
    except NotAnInteger as exc:
        said = f"the {what} contains a number that is not an integer: {exc.text}"
        raise InvalidInput(said) from exc
    except RepeatedKey as exc:
        raise InvalidInput(f"the {what} repeats a key") from exc
    except TooDeep as exc:  # hostile bytes: a court's verifier parses them too
        raise InvalidInput(f"the {what} is nested too deeply to be a manifest") from exc
    except NotText as exc:
        raise InvalidInput(f"the {what} holds a string that is not Unicode text") from exc
    except ValueError as exc:  # not UTF-8, not JSON, or an integer of more than 4300 digits
        raise InvalidInput(f"the {what} is not JSON") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"the {what} is not a JSON object")
    return document
