"""Scrubbing: every stored ciphertext re-hashed against the SHA-256 recorded when it was
uploaded, so bit rot or a deleted object is found by the next scrub, not by a court.

Items are read a page at a time, each blob as a stream (memory is bounded whatever the sizes);
each one missing, of the wrong size or with another hash is reported, and recorded on its own
trail (``item:scrub_failed``); the run is recorded as one ``blobs:scrubbed`` entry with its
counts. An item that is being uploaded, or was shredded, has nothing to check.

``custody admin scrub`` runs it by hand; ``custody serve`` runs it every
``CUSTODY_SCRUB_EVERY_HOURS`` (:class:`Scrubber`), once across all nodes
(:mod:`custody.services.schedule`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from custody.domain.items import ItemState
from custody.errors import CustodyError, NotFound
from custody.ledger.events import EntryType
from custody.services import schedule
from custody.services.context import ServiceContext
from custody.services.ledger import SYSTEM, record, record_item
from custody.services.watcher import NodeJob
from custody.store.models import Item

log = logging.getLogger("custody.scrub")
PAGE = 500
MAX_LISTED = 100  # item ids named in the run's entry; the counts are always exact
JOB = "scrub"
LEASE = timedelta(minutes=30)  # renewed every few minutes while the scrub reads
_RENEW_SECONDS = 120.0
RETRY = timedelta(hours=1)  # after a scrub that failed to finish


@dataclass(frozen=True)
class Finding:
    item: str
    problem: str  # "missing", "size", "sha256" or "unreadable"
    detail: str


@dataclass
class ScrubReport:
    checked: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _check(ctx: ServiceContext, key: str, size: int, sha256: str | None) -> tuple[str, str] | None:
    """None if the blob under ``key`` is ``size`` bytes hashing to ``sha256``; else why not."""
    digest = hashlib.sha256()
    read = 0
    try:
        for chunk in ctx.blobs.read(key):
            digest.update(chunk)
            read += len(chunk)
    except NotFound:
        return "missing", "the store has no object under its key"
    except CustodyError as exc:
        return "unreadable", exc.message
    if read != size:
        return "size", f"{read} bytes stored, {size} recorded"
    if sha256 is not None and digest.hexdigest() != sha256:
        return "sha256", f"SHA-256 {digest.hexdigest()}, {sha256} recorded"
    return None


def scrub(
    ctx: ServiceContext, actor: str, progress: Callable[[int, int], None] | None = None
) -> ScrubReport:
    """Re-hash every stored item; record what was found. ``progress(items, bytes)`` after each."""
    report = ScrubReport()
    after = ""
    while True:
        with ctx.unit_of_work() as session:
            page = list(session.execute(
                select(Item.id, Item.blob_key, Item.ciphertext_size, Item.ciphertext_sha256)
                .where(Item.id > after, Item.blob_key.is_not(None),
                       Item.state.in_([ItemState.UPLOADED, ItemState.SEALED]))
                .order_by(Item.id).limit(PAGE)
            ))
        if not page:
            break
        for item_id, key, size, sha256 in page:
            wrong = _check(ctx, str(key), size, sha256)  # the query kept only items with a key
            report.checked += 1
            report.bytes += size
            if wrong is not None:
                report.findings.append(Finding(item_id, *wrong))
                with ctx.unit_of_work() as session:
                    item = session.get_one(Item, item_id)
                    record_item(ctx, session, EntryType.ITEM_SCRUB_FAILED, actor, item,
                                {"problem": wrong[0]})
            if progress is not None:
                progress(report.checked, report.bytes)
        after = page[-1][0]
    with ctx.unit_of_work() as session:
        counts: dict[str, int] = {}
        for f in report.findings:
            counts[f.problem] = counts.get(f.problem, 0) + 1
        record(ctx, session, EntryType.BLOBS_SCRUBBED, actor, data={
            "checked": report.checked,
            "bytes": report.bytes,
            "failed": counts,
            "items": sorted(f.item for f in report.findings)[:MAX_LISTED],
        })
    return report


def run_if_due(ctx: ServiceContext, worker: str) -> ScrubReport | None:
    """The scheduled scrub, if it is due and no other node is running it: its report, else
    None. The first check schedules the first scrub one interval later."""
    hours = ctx.settings.scrub_every_hours
    if not hours:
        return None
    every = timedelta(hours=hours)
    if not schedule.claim(ctx, JOB, worker, first_due=ctx.clock.now() + every, lease=LEASE):
        return None
    renewed = time.monotonic()

    def keep_lease(_items: int, _bytes: int) -> None:
        nonlocal renewed
        if time.monotonic() - renewed >= _RENEW_SECONDS:
            renewed = time.monotonic()
            if not schedule.renew(ctx, JOB, worker, LEASE):
                log.warning("the scheduled scrub's lease ran out; another node may run it too")

    try:
        report = scrub(ctx, SYSTEM, progress=keep_lease)
    except BaseException:
        schedule.release(ctx, JOB, worker, next_due=ctx.clock.now() + RETRY)
        raise
    schedule.release(ctx, JOB, worker, next_due=ctx.clock.now() + every)
    if report.ok:
        log.info("scheduled scrub: %d item(s), %d bytes, all intact", report.checked,
                 report.bytes)
    else:
        log.error("scheduled scrub: %d of %d item(s) missing or changed; the ledger names "
                  "them (custody admin scrub)", len(report.findings), report.checked)
    return report


class Scrubber(NodeJob):
    """Checks every watcher interval whether the scheduled scrub is due, in the background of
    ``custody serve``; a scrub runs on this thread, never delaying alerts."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx, "scrubber", patience=5, logger=log, failed="scheduled scrub failed")

    def run_once(self) -> None:
        run_if_due(self._ctx, self._worker)
