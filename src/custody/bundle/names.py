"""Names for a court: who the ledger's pseudonymous actor ids are, as the operator attests.

The log names nobody (an entry's actor is a user id, ``docs/ledger.md``); a court reading a
bundle's trail wants people. ``names.json`` is the server's signed statement mapping the
actor ids of a bundle's trail to an address, a role and an organisation. It is the
operator's word, not the log's: nothing in the Merkle tree proves it, and a verifier says
so beside every name it shows.

It is signed with the log's own key, in a context of its own, so the court needs no second
key: the signature is over ``custody-names/v1``, a NUL byte, then the canonical JSON of
the document without its ``signature``. A signed note's text holds no control character
but newline (C2SP signed-note), so no names signature is a valid checkpoint or cosigned
note signature, and no checkpoint signature is a valid names signature.

The document (canonical JSON: sorted keys, no spaces, ASCII)::

    {"format": "custody-names/v1", "origin": <the log's name>, "issued_at": <RFC 3339>,
     "statement": <what it is, in words>,
     "actors": {<user id>: {"email": ..., "org": ..., "role": ...}, ...},
     "signature": {"key": "<key name>+<key hash>", "sig": <base64 Ed25519 signature>}}
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from custody.bundle.build import canonical
from custody.errors import IntegrityError
from custody.ledger.note import Signer, Verifier

FORMAT = "custody-names/v1"
CONTEXT = FORMAT.encode() + b"\0"  # no note text holds a NUL: never a checkpoint's signature
STATEMENT = (
    "The operator of this custody server attests that these ledger actor ids are these "
    "people. The log does not prove it: it is the operator's word."
)
_ACTOR_FIELDS = ("email", "org", "role")
_MAX_FIELD = 320
_KEYS = {"format", "origin", "issued_at", "statement", "actors", "signature"}

__all__ = ["CONTEXT", "FORMAT", "AttestedNames", "Named", "open_names", "sign_names"]


@dataclass(frozen=True)
class Named:
    """One actor as the operator names them."""

    email: str
    org: str
    role: str

    def label(self) -> str:
        return f"{self.email} ({self.role}, {self.org})"


@dataclass(frozen=True)
class AttestedNames:
    """A names file whose signature verified: by which key, when, and the names."""

    signed_by: str  # the verifier key that signed it: the log's
    issued_at: str
    actors: Mapping[str, Named] = field(default_factory=dict)


def _key_ref(name: str, key_id: int) -> str:
    return f"{name}+{key_id:08x}"


def sign_names(
    origin: str, issued_at: datetime, actors: Mapping[str, Named], signer: Signer
) -> bytes:
    """The names file for ``actors``, signed by the log's ``signer`` in the names context."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "origin": origin,
        "issued_at": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "statement": STATEMENT,
        "actors": {
            actor: {"email": n.email, "org": n.org, "role": n.role}
            for actor, n in sorted(actors.items())
        },
    }
    sig = signer.sign(CONTEXT + canonical(body))
    body["signature"] = {
        "key": _key_ref(signer.name, signer.key_id),
        "sig": base64.b64encode(sig).decode("ascii"),
    }
    return canonical(body)


def open_names(raw: bytes, verifier: Verifier) -> AttestedNames:
    """The names ``raw`` attests, once its signature by the log's key verifies; an
    :class:`IntegrityError` naming what is wrong (a names file changed after the server
    signed it is refused, never shown)."""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise IntegrityError("names.json is not valid JSON") from exc
    if not isinstance(doc, dict) or canonical(doc) != raw or set(doc) != _KEYS:
        raise IntegrityError(f"names.json is not a canonical {FORMAT} document")
    if doc["format"] != FORMAT:
        raise IntegrityError(f"names.json: format is not {FORMAT!r}")
    if doc["origin"] != verifier.name:
        raise IntegrityError(
            f"names.json: made by the log {doc['origin']!r}, not {verifier.name!r}"
        )
    signature = doc.pop("signature")
    expected = _key_ref(verifier.name, verifier.key_id)
    if not isinstance(signature, dict) or set(signature) != {"key", "sig"}:
        raise IntegrityError("names.json: its signature is not {key, sig}")
    if signature["key"] != expected:
        raise IntegrityError(
            f"names.json: signed by {signature['key']!r}, not the log's key {expected!r}"
        )
    try:
        sig = base64.b64decode(str(signature["sig"]), validate=True)
    except ValueError as exc:
        raise IntegrityError("names.json: its signature is not base64") from exc
    if not verifier.verify(CONTEXT + canonical(doc), sig):
        raise IntegrityError(
            f"names.json: the signature by {expected} does not verify: it was changed after "
            "the server signed it",
            hint="ask whoever gave you the bundle for a fresh copy, or verify it without names",
        )
    return AttestedNames(
        signed_by=verifier.vkey, issued_at=str(doc["issued_at"]), actors=_actors(doc["actors"])
    )


def _actors(value: Any) -> dict[str, Named]:
    if not isinstance(value, dict):
        raise IntegrityError("names.json: actors is not an object")
    found: dict[str, Named] = {}
    for actor, named in value.items():
        if not isinstance(named, dict) or set(named) != set(_ACTOR_FIELDS):
            raise IntegrityError(f"names.json: actor {actor!r} is not {{email, org, role}}")
        if not all(_is_text(named[f]) for f in named):
            raise IntegrityError(f"names.json: actor {actor!r} has a field that is not text")
        found[actor] = Named(named["email"], named["org"], named["role"])
    return found


def _is_text(value: Any) -> bool:
    """A short string with no control character (none reaches the court's terminal)."""
    return (
        isinstance(value, str)
        and len(value) <= _MAX_FIELD
        and not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value)
    )
