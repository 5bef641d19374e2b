"""Fault points: the moments a development server can be told to die at, for tests/faults.

``point("upload.after_publish")`` does nothing unless that point is armed. A server arms the
points ``CUSTODY_FAULT_POINTS`` names (comma-separated) when it starts, and only in
development mode; production refuses to start with any named. An armed point kills its
own process with SIGKILL: no ``finally``, no rollback, no flush, as the OOM killer or a
``kill -9`` would. The fault suite then starts the server again without the point and checks
what it finds (docs/operations.md, "Failure modes").

Each point sits at the worst moment of one write, between two steps that must both happen
or neither: the names say which.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping

from custody.errors import InvalidInput, LocalError

ENVIRONMENT = "CUSTODY_FAULT_POINTS"
POINTS = frozenset({
    # services.uploads.create: the upload's row committed, nothing staged in the store yet.
    "upload.before_staging",
    # services.uploads.finish: every byte staged, nothing published yet.
    "upload.before_publish",
    # services.uploads.finish: the blob published (renamed, or the S3 upload completed and
    # forgotten), its hash and the ledger entry not yet committed.
    "upload.after_publish",
    # api.tus.patch: a PATCH's bytes written and synced, its answer not yet sent.
    "tus.after_append",
    # services.ledger.record: an entry appended in its transaction, not yet committed.
    "ledger.appended",
    # services.ledger.publish_checkpoint: a checkpoint signed, not yet committed.
    "checkpoint.signed",
    # services.items.seal_item: the wraps, sealed manifest and entry written, not committed.
    "seal.before_commit",
    # services.retention.shred: the shred committed, the item's blob not yet deleted.
    "shred.before_blob_delete",
})
_armed: set[str] = set()
log = logging.getLogger("custody.faults")


def arm(mode: str, environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """Arm the points ``CUSTODY_FAULT_POINTS`` names (none if it is unset); the armed set.

    Refused outside development mode, and for a name that is no point: a typo in a test
    would otherwise arm nothing, and the test would pass without the fault it meant."""
    names = {n.strip() for n in environ.get(ENVIRONMENT, "").split(",") if n.strip()}
    _armed.clear()
    if not names:
        return frozenset()
    if mode != "development":
        raise LocalError(f"{ENVIRONMENT} kills the server on purpose: development mode only",
                         hint=f"unset {ENVIRONMENT}")
    unknown = sorted(names - POINTS)
    if unknown:
        raise InvalidInput(f"{ENVIRONMENT}: no fault point {', '.join(unknown)}",
                           hint=f"the points are {', '.join(sorted(POINTS))}")
    _armed.update(names)
    log.warning("fault points armed (the server kills itself there): %s", ", ".join(sorted(names)))
    return frozenset(_armed)


def point(name: str) -> None:
    """Die here, at once and uncleanly, if ``name`` is armed; otherwise nothing."""
    if name in _armed:
        log.critical("fault point %s reached: killing this process", name)
        os.kill(os.getpid(), signal.SIGKILL)
