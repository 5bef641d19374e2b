"""Following a log, from the last checkpoint this monitor verified to the newest one.

Each round: the newest checkpoint, its signature (and the witnesses' cosignatures, if a quorum
is asked); then every new entry, from the entry bundles, replayed as ``custody ledger verify``
replays a stored log — each entry parsed, each item's ``prev`` chain, each ``ledger:heads``
root — and the root recomputed from all the entries must be the checkpoint's. A smaller tree,
another root for the same size, a root the entries do not give, a malformed entry or a broken
chain is an :class:`Alarm`, with both signed checkpoints kept as evidence. Entries about the
cases or people watched are reported as they pass.

The state (the tree's frontier, each item's last entry, the heads map, the last checkpoint)
is written atomically after each round: a monitor restarted from it goes on where it stopped,
and remembers the largest tree it verified, so a log restored from an old backup is caught.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custody.errors import CustodyError, IntegrityError, LocalError
from custody.ledger import note, tiles
from custody.ledger.checkpoint import Checkpoint, open_checkpoint
from custody.ledger.cosignature import CosignatureVerifier, open_cosigned
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.ledger.replay import Mismatch, Replay

ENTRY_TILE = tiles.TILE_WIDTH  # entries per full bundle (256)
# What counts as someone touching material, for a watched case.
ACCESS = frozenset({
    EntryType.ITEM_DOWNLOADED, EntryType.ITEM_VIEWED, EntryType.ITEM_RECEIVED,
    EntryType.ITEM_VERIFICATION_FAILED, EntryType.ACCESS_REFUSED, EntryType.ITEM_SHARED,
    EntryType.TRANSFER_REVOKED, EntryType.ITEM_SHREDDED, EntryType.INCIDENT_OPENED,
})


class Alarm(IntegrityError):
    """The log misbehaved: what, where, and the evidence (signed notes, the entry)."""

    def __init__(self, message: str, evidence: dict[str, str] | None = None) -> None:
        super().__init__(message, hint="keep the evidence and tell the log's operator and "
                         "everyone who relies on the log (a court, the forces, the regulator)")
        self.evidence = evidence or {}


@dataclass(frozen=True)
class Notice:
    """An entry of interest: who did what to which item, and why it was reported."""

    index: int
    entry: Entry
    why: str

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        return {"index": self.index, "type": e.type, "time": e.to_json()["time"],
                "actor": e.actor, "case": e.case, "transfer": e.transfer, "item": e.item,
                "why": self.why}


@dataclass(frozen=True)
class Watch:
    """Cases (by id) whose items' access to report, and people (by id) whose key
    registrations to report."""

    cases: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()

    def notice(self, index: int, entry: Entry) -> Notice | None:
        if entry.case in self.cases and entry.type in ACCESS:
            return Notice(index, entry, f"case {entry.case}")
        if entry.type == EntryType.KEY_REGISTERED and entry.actor in self.people:
            return Notice(index, entry, f"person {entry.actor}")
        return None


@dataclass
class Round:
    """What one round found."""

    checkpoint: Checkpoint
    verified_from: int
    witnesses: tuple[str, ...] = ()
    notices: list[Notice] = field(default_factory=list)

    @property
    def new_entries(self) -> int:
        return self.checkpoint.size - self.verified_from


Fetch = Callable[[str], bytes]  # a path under the log's URL ("checkpoint", "tile/...") -> body


class Monitor:
    """One log, its key (and witness policy), a state file, and what to watch."""

    def __init__(
        self,
        log: note.Verifier,
        state_path: Path,
        fetch: Fetch,
        *,
        witnesses: Sequence[CosignatureVerifier] = (),
        quorum: int = 0,
        watch: Watch | None = None,
    ) -> None:
        self.log = log
        self.state_path = state_path
        self.fetch = fetch
        self.witnesses = tuple(witnesses)
        self.quorum = quorum
        self.watch = watch or Watch()

    def _open(self, signed: bytes) -> tuple[Checkpoint, tuple[str, ...]]:
        try:
            if self.quorum:
                got = open_cosigned(signed, self.log, self.witnesses, self.quorum)
                return got.checkpoint, tuple(name for name, _ in got.witnesses)
            return open_checkpoint(signed, self.log, self.log.name), ()
        except CustodyError as exc:
            raise Alarm(f"the log's checkpoint does not verify: {exc.message}",
                        {"shown": signed.decode("utf-8", "replace")}) from exc

    def load(self) -> tuple[Replay, bytes | None, bytes | None]:
        """The replay so far, the last checkpoint verified (note) and its root."""
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return Replay(), None, None
        try:
            if state["log"] != self.log.vkey:
                raise LocalError(f"{self.state_path} follows another log ({state['log']})",
                                 hint="give each log its own --state file")
            return (Replay.from_state(state["replay"]), state["note"].encode(),
                    bytes.fromhex(state["root"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise LocalError(f"{self.state_path} is damaged",
                             hint="restore it from a backup; a new one replays the whole log"
                             ) from exc

    def _save(self, replay: Replay, signed: bytes, cp: Checkpoint) -> None:
        state = {"log": self.log.vkey, "note": signed.decode(), "root": cp.root_hash.hex(),
                 "replay": replay.to_state()}
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.state_path)

    def round(self) -> Round:
        """Verify the newest checkpoint and every entry since the last one; raise
        :class:`Alarm` on anything a log that never forked or rewrote itself cannot show."""
        signed = self.fetch("checkpoint")
        cp, cosigners = self._open(signed)
        replay, known_note, known_root = self.load()
        evidence = {"remembered": (known_note or b"").decode("utf-8", "replace"),
                    "shown": signed.decode("utf-8", "replace")}
        if cp.size < replay.size:
            raise Alarm(f"the log shows a tree of {cp.size} entries after one of {replay.size} "
                        "(a rollback, or a view made for this monitor)", evidence)
        if cp.size == replay.size and known_root is not None and cp.root_hash != known_root:
            raise Alarm(f"the log signed two different trees of {cp.size} entries (a fork)",
                        evidence)
        done = Round(cp, replay.size, cosigners)
        for index, body in self._entries(replay.size, cp.size):
            try:
                entry = replay.follow(index, body)
            except Mismatch as exc:
                raise Alarm(f"entry {exc.index}: {exc.reason}",
                            {**evidence, "entry": body.hex()}) from exc
            found = self.watch.notice(index, entry)
            if found is not None:
                done.notices.append(found)
        try:
            replay.settled()
        except Mismatch as exc:
            raise Alarm(f"entry {exc.index}: {exc.reason}", evidence) from exc
        if replay.root() != cp.root_hash:
            raise Alarm(f"the {cp.size} entries the log serves do not hash to the root its "
                        "checkpoint signs (the tree was changed, or forked)", evidence)
        self._save(replay, signed, cp)
        return done

    def _entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Entries ``start`` to ``end - 1``, from the entry bundles that hold them."""
        n = start // ENTRY_TILE
        while n * ENTRY_TILE < end:
            width = min(ENTRY_TILE, end - n * ENTRY_TILE)
            path = f"tile/entries/{tiles.encode_index(n)}"
            if width < ENTRY_TILE:
                path += f".p/{width}"
            try:
                bodies = tiles.parse_entry_bundle(self.fetch(path))
            except CustodyError as exc:
                raise Alarm(f"{path}: not an entry bundle ({exc.message})") from exc
            if len(bodies) != width:
                raise Alarm(f"{path}: {len(bodies)} entries, not {width}")
            for offset, body in enumerate(bodies):
                index = n * ENTRY_TILE + offset
                if index >= start:
                    yield index, body
            n += 1
