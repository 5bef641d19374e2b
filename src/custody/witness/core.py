"""The witness's one operation, C2SP tlog-witness ``add-checkpoint``, without HTTP.

For each log it follows (by origin, with the log's verifier key) the witness keeps the latest
checkpoint it cosigned, in a small SQLite database of its own. It cosigns a checkpoint only if
the log signed it and it is consistent with that record, and it checks and updates the record
in one write transaction, so two racing requests cannot roll it back (the spec's race). Its
answers are the spec's: 404 unknown log, 403 no trusted signature, 400 an old size above the
new or a malformed body, 409 (body: the size it holds, ``text/x.tlog.size``) when the old
size is not the one it holds or the same size comes with another root, 422 a proof that does
not verify; else 200 and a tlog-cosignature/v1 line.

A refused request that carries the log's valid signature is evidence of a fork or a broken
log: it is kept (a bounded number per log; only the log's key can make them).
"""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from custody.crypto.encoding import b64decode_strict
from custody.errors import InvalidInput
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosignature import Cosigner
from custody.ledger.merkle import EMPTY_ROOT, HASH_SIZE, InvalidProof, verify_consistency

MAX_BODY = 64 * 1024
MAX_PROOF_LINES = 63  # tlog-witness: a client MUST NOT send more
KEEP_EVIDENCE = 1000  # refused, log-signed requests kept per log
SIZE_TYPE = "text/x.tlog.size"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    checkpoint BLOB NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def text(cls, status: int, text: str) -> Answer:
        return cls(status, (text.rstrip("\n") + "\n").encode())


@dataclass(frozen=True)
class Request:
    """An ``add-checkpoint`` body, parsed."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes  # the signed note, as sent


@dataclass(frozen=True)
class LogState:
    origin: str
    size: int
    root: bytes
    checkpoint: bytes
    cosigned_at: int


def parse_request(body: bytes) -> Request:
    """tlog-witness: ``old N`` line, up to 63 base64 hash lines, an empty line, the note."""
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the request is larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the request is not UTF-8") from exc
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise InvalidInput("the request has no empty line before the checkpoint")
    lines = head.split("\n")
    old = lines[0].removeprefix("old ")
    if (
        not lines[0].startswith("old ")
        or not old.isascii()
        or not old.isdigit()
        or (old != "0" and old.startswith("0"))
    ):
        raise InvalidInput("the first line is 'old <size>', a decimal without leading zeroes")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise InvalidInput(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            hash_ = b64decode_strict(line)
        except ValueError as exc:
            raise InvalidInput("a consistency proof line is not base64") from exc
        if len(hash_) != HASH_SIZE:
            raise InvalidInput(f"a consistency proof line is not a {HASH_SIZE}-byte hash")
        proof.append(hash_)
    return Request(int(old), tuple(proof), checkpoint.encode())


def request_body(old_size: int, proof: Sequence[bytes], checkpoint: bytes) -> bytes:
    """The ``add-checkpoint`` body for a checkpoint, from ``old_size`` with ``proof``."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n").encode() + checkpoint


class Witness:
    """A witness: its cosigner, the logs it follows, its state."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Sequence[note.Verifier],
        database: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self.logs = {log.name: log for log in logs}
        if len(self.logs) != len(logs):
            raise InvalidInput("two of the logs to follow have the same origin")
        self._database = database
        self._clock = clock
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._database, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a cosigned size must survive a crash
            yield db
        finally:
            db.close()

    def state(self, origin: str) -> LogState | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT origin, size, root, checkpoint, cosigned_at FROM logs WHERE origin = ?",
                (origin,),
            ).fetchone()
        return None if row is None else LogState(*row)

    def evidence(self, origin: str) -> list[tuple[int, str, bytes]]:
        """The refused, log-signed requests kept for ``origin``: (status, reason, request)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT status, reason, request FROM evidence WHERE origin = ? ORDER BY id",
                (origin,),
            ).fetchall()
        return [(int(s), str(r), bytes(b)) for s, r, b in rows]

    def add_checkpoint(self, body: bytes) -> Answer:
        """The answer to one ``add-checkpoint`` request body."""
        try:
            request = parse_request(body)
        except InvalidInput as exc:
            return Answer.text(400, exc.message)
        origin = request.checkpoint.split(b"\n", 1)[0].decode("utf-8", "replace")
        log = self.logs.get(origin)
        if log is None:
            return Answer.text(404, f"this witness does not follow the log {origin!r}")
        try:
            opened = note.open(request.checkpoint, [log])
            checkpoint = Checkpoint.parse(opened.text)
        except (note.NoteError, InvalidInput) as exc:
            return Answer.text(403, f"no valid signature by the log's key: {exc.message}")
        if checkpoint.origin != origin:
            return Answer.text(403, "the checkpoint's origin is not its signer's")
        if request.old_size > checkpoint.size:
            return Answer.text(400, "the old size is larger than the checkpoint's size")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # check and update atomically (the spec's race)
            try:
                answer = self._decide(db, request, checkpoint, opened.text, body)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return answer

    def _decide(
        self,
        db: sqlite3.Connection,
        request: Request,
        checkpoint: Checkpoint,
        text: str,
        body: bytes,
    ) -> Answer:
        row = db.execute(
            "SELECT size, root FROM logs WHERE origin = ?", (checkpoint.origin,)
        ).fetchone()
        held_size, held_root = (int(row[0]), bytes(row[1])) if row else (0, EMPTY_ROOT)
        if request.old_size != held_size:
            return Answer(409, f"{held_size}\n".encode(), SIZE_TYPE)
        if checkpoint.size == held_size and checkpoint.root_hash != held_root:
            self._keep(db, checkpoint.origin, 409, "the same size with another root", body)
            return Answer(409, f"{held_size}\n".encode(), SIZE_TYPE)
        try:
            _check_extends(held_size, held_root, checkpoint, request.proof)
        except InvalidProof as exc:
            self._keep(db, checkpoint.origin, 422, exc.message, body)
            return Answer.text(422, f"the consistency proof does not verify: {exc.message}")
        now = int(self._clock())
        db.execute(
            "INSERT INTO logs (origin, size, root, checkpoint, cosigned_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
            "root = excluded.root, checkpoint = excluded.checkpoint, "
            "cosigned_at = excluded.cosigned_at",
            (checkpoint.origin, checkpoint.size, checkpoint.root_hash, request.checkpoint, now),
        )
        return Answer(200, self.cosigner.cosign(text, now).encode())

    def _keep(
        self, db: sqlite3.Connection, origin: str, status: int, reason: str, body: bytes
    ) -> None:
        db.execute(
            "INSERT INTO evidence (origin, received_at, status, reason, request) "
            "VALUES (?, ?, ?, ?, ?)",
            (origin, int(self._clock()), status, reason, body),
        )
        db.execute(
            "DELETE FROM evidence WHERE origin = ? AND id NOT IN "
            "(SELECT id FROM evidence WHERE origin = ? ORDER BY id DESC LIMIT ?)",
            (origin, origin, KEEP_EVIDENCE),
        )


def _check_extends(
    held_size: int, held_root: bytes, checkpoint: Checkpoint, proof: Sequence[bytes]
) -> None:
    """:class:`InvalidProof` unless ``checkpoint`` extends the tree the witness holds."""
    if held_size == 0:  # a first checkpoint: nothing to be consistent with
        if proof:
            raise InvalidProof("a consistency proof from size 0 must be empty")
        if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
            raise InvalidProof("a tree of size 0 has the empty tree's root")
        return
    verify_consistency(held_size, checkpoint.size, held_root, checkpoint.root_hash, proof)
