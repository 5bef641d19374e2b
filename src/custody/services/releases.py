"""Code transparency: the browser's code is only as trustworthy as what the server hands it.

When a server starts with static assets it has not logged before, it appends one
``code:release`` entry naming the SHA-256 of every asset the pages load; the pages load
them with Subresource Integrity, so a browser runs only those bytes. An auditor (``custody
code check``) fetches what the server serves and checks it is what the log recorded,
against a checkpoint signed by the log key — a server that hands one person different code
must either log it, where everyone can see it, or be caught.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from custody.errors import NotFound
from custody.ledger.events import EntryType
from custody.protocol.ledger import CodeReleaseOut
from custody.services.context import ServiceContext
from custody.services.ledger import SYSTEM, record
from custody.store.ledger_models import CodeRelease


@dataclass(frozen=True)
class Assets:
    """What a release serves: each asset's path (``/static/...``) and its SHA-256 (hex)."""

    version: str
    sha256: Mapping[str, str]

    @property
    def digest(self) -> str:
        """The SHA-256 of the asset list itself, canonical JSON: one release, one digest."""
        listing = json.dumps(dict(sorted(self.sha256.items())), separators=(",", ":"))
        return hashlib.sha256(listing.encode("ascii")).hexdigest()


def publish(ctx: ServiceContext, assets: Assets) -> CodeReleaseOut:
    """Log this release once (a ``code:release`` entry), and say where it is logged."""
    digest = assets.digest
    try:
        with ctx.unit_of_work() as session:
            known = session.get(CodeRelease, digest)
            if known is None:
                appended = record(
                    ctx,
                    session,
                    EntryType.CODE_RELEASE,
                    SYSTEM,
                    data={
                        "version": assets.version,
                        "digest": digest,
                        "assets": dict(sorted(assets.sha256.items())),
                    },
                )
                known = CodeRelease(
                    digest=digest,
                    version=assets.version,
                    ledger_index=appended.index,
                    published_at=ctx.clock.now(),
                )
                session.add(known)
            return _out(known, assets)
    except IntegrityError:  # another node logged the same release at the same moment
        return current(ctx, assets)


def current(ctx: ServiceContext, assets: Assets) -> CodeReleaseOut:
    """The release these assets are, as logged (NotFound if it never was)."""
    with ctx.unit_of_work() as session:
        known = session.get(CodeRelease, assets.digest)
        if known is None:
            raise NotFound("this server's code release is not in the log yet")
        return _out(known, assets)


def history(ctx: ServiceContext) -> list[tuple[str, str, int]]:
    """Every release logged: (version, digest, ledger index), oldest first."""
    with ctx.unit_of_work() as session:
        rows = session.execute(
            select(CodeRelease.version, CodeRelease.digest, CodeRelease.ledger_index).order_by(
                CodeRelease.ledger_index
            )
        )
        return [(v, d, i) for v, d, i in rows]


def _out(row: CodeRelease, assets: Assets) -> CodeReleaseOut:
    return CodeReleaseOut(
        version=row.version,
        digest=row.digest,
        ledger_index=row.ledger_index,
        assets=dict(sorted(assets.sha256.items())),
    )
