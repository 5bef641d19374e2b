"""Free text beside the public ledger: reasons, kept access-controlled and erasable.

Anyone can read every ledger entry, forever; "laptop stolen from DC Example's car"
must never be one. An entry that needs a reason carries ``{"reason_commitment": C}``
with C = SHA-256("custody-note/v1\\n" || salt || text) and a fresh 32-byte salt; the
text and salt are kept in ``notes``. People who may read the trail see the text (and
can check it against C); nobody else learns anything from C. Erasing a note deletes
its text and salt: the entry stays, and still proves that *a* reason was recorded then.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.errors import Conflict, NotFound
from custody.services.context import ServiceContext
from custody.store.models_delivery import Note

PREFIX = b"custody-note/v1\n"
KEY = "reason_commitment"  # the entry data field that refers to a note
ERASED = "(erased)"


def commitment(salt: bytes, text: str) -> str:
    return hashlib.sha256(PREFIX + salt + text.encode("utf-8")).hexdigest()


def keep(ctx: ServiceContext, session: Session, text: str) -> dict[str, str]:
    """Keep ``text`` in the caller's transaction; the entry data that refers to it."""
    salt = secrets.token_bytes(32)
    digest = commitment(salt, text)
    session.add(Note(commitment=digest, salt=salt, text=text, created_at=ctx.clock.now()))
    return {KEY: digest}


def texts(session: Session, digests: Iterable[str]) -> dict[str, str]:
    """The texts behind these commitments (``ERASED`` for an erased one), for a trail reader."""
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    found = {}
    for note in session.scalars(select(Note).where(Note.commitment.in_(wanted))):
        intact = note.text is not None and note.salt is not None
        if intact and commitment(bytes(note.salt or b""), note.text or "") == note.commitment:
            found[note.commitment] = note.text or ""
        else:
            found[note.commitment] = ERASED
    return found


def resolve(data: Mapping[str, Any], known: Mapping[str, str]) -> dict[str, Any]:
    """An entry's data for a trail reader: the reason's text beside its commitment."""
    out = dict(data)
    digest = out.get(KEY)
    if isinstance(digest, str) and digest in known:
        out["reason"] = known[digest]
    return out


def erase(ctx: ServiceContext, digest: str, by: str) -> None:
    """Delete a note's text and salt (an erasure request): its ledger entry stays as it was."""
    with ctx.unit_of_work() as session:
        note = session.get(Note, digest)
        if note is None:
            raise NotFound(f"no note {digest}")
        if note.erased_at is not None:
            raise Conflict(f"note {digest} was erased on {note.erased_at:%Y-%m-%d}")
        note.text, note.salt = None, None
        note.erased_at, note.erased_by = ctx.clock.now(), by
