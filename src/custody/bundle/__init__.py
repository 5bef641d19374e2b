"""Evidence bundles: a zip that proves items' custody trails offline, on top of the log.

An application format, not part of the log: :mod:`custody.ledger` knows entries,
proofs and checkpoints; this package lays them out, with each item's signed
manifest, as one file that a court or the defence checks with nothing but the
log's verifier key (``docs/ledger.md``, "Evidence bundles"). Pure: no I/O, no
database.

- :mod:`~custody.bundle.build`: :func:`build_bundle`, the layout and its bytes;
- :mod:`~custody.bundle.verify`: :func:`verify_bundle`, the checkpoint and every
  entry's inclusion proof, then the checks below, in order;
- :mod:`~custody.bundle.trail`: the listing, each item's ``prev`` chain and its
  completeness up to the checkpoint;
- :mod:`~custody.bundle.items`: each item's signed manifest and its sender's key;
- :mod:`~custody.bundle.archive`: reading the zip, a hostile input, in bounded memory.
"""

from custody.bundle.archive import MAX_ZIP_SIZE
from custody.bundle.build import FORMAT, build_bundle
from custody.bundle.trail import BundleReport, TrailEntry
from custody.bundle.verify import verify_bundle

__all__ = ["FORMAT", "MAX_ZIP_SIZE", "BundleReport", "TrailEntry", "build_bundle", "verify_bundle"]
