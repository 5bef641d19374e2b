"""The log asks its witnesses to cosign its checkpoints (C2SP tlog-witness), and keeps what
they sign in the checkpoint's note, so every answer that carries the checkpoint (``GET
/checkpoint``, proven entries, evidence bundles) carries the cosignatures too.

Witnesses are asked in the background, in parallel, each with its own timeout: a witness
that is down delays nothing but its own signature, and it is asked again on the next round.
Each witness's answer is checked before it is kept (a witness is not trusted to write into
our notes). A witness that holds a larger tree than ours, or another root for our size, is
an alarm: the log was rolled back or forked, or the witness was shown another log.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update

from custody.errors import InvalidInput, NotFound
from custody.ledger import note
from custody.ledger.cosignature import CosignatureVerifier, add_signatures
from custody.protocol.ledger import LedgerStatusOut, WitnessStatusOut
from custody.services.context import ServiceContext
from custody.store.ledger_models import LedgerCheckpointRow
from custody.store.ledger_store import LedgerStore, StoredCheckpoint

log = logging.getLogger("custody.witnessing")
SIZE_TYPE = "text/x.tlog.size"
MAX_ANSWER = 16 * 1024


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks: its verifier key and its submission URL prefix."""

    verifier: CosignatureVerifier
    url: str

    @classmethod
    def parse(cls, entry: str) -> WitnessEndpoint:
        """``"<witness vkey> <URL>"``, as ``CUSTODY_WITNESSES`` lists them."""
        parts = entry.split()
        if len(parts) != 2:
            raise InvalidInput(
                f"CUSTODY_WITNESSES: {entry!r} is not '<witness verifier key> <URL>'",
                hint="e.g. witness.example/w1+1a2b3c4d+BB... https://witness.example",
            )
        url = parts[1].rstrip("/")
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise InvalidInput(f"CUSTODY_WITNESSES: {parts[1]!r} is not an http(s) URL")
        return cls(CosignatureVerifier.from_vkey(parts[0]), url)


@dataclass
class WitnessState:
    """What this node knows of a witness: the size it cosigned, and how the last ask went."""

    size: int = 0
    cosigned_at: datetime | None = None
    last_error: str | None = None


class Witnessing:
    """Gathers cosignatures of the newest checkpoint from every witness that lacks one."""

    def __init__(
        self,
        ctx: ServiceContext,
        witnesses: Sequence[WitnessEndpoint] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self._ctx = ctx
        if witnesses is None:
            witnesses = [WitnessEndpoint.parse(entry) for entry in ctx.settings.witnesses]
        self.witnesses = tuple(witnesses)
        timeout = ctx.settings.witness_timeout_seconds
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.state = {w.url: WitnessState() for w in self.witnesses}
        self._lock = threading.Lock()

    def gather(self) -> StoredCheckpoint | None:
        """Ask each witness that has not cosigned the newest checkpoint; keep what verifies.
        The checkpoint as it is now kept (None if the log has none)."""
        with self._ctx.unit_of_work() as session:
            cp = LedgerStore(session).latest_checkpoint()
        if cp is None or not self.witnesses:
            return cp
        opened = note.open(cp.note, [self._ctx_verifier(), *(w.verifier for w in self.witnesses)])
        have = {(s.name, s.key_id) for s in opened.signatures}
        missing = [w for w in self.witnesses
                   if (w.verifier.name, w.verifier.key_id) not in have]
        if not missing:
            return cp
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            lines = list(pool.map(lambda w: self._ask(w, cp, opened.text), missing))
        new = "".join(line for line in lines if line)
        return self._keep(cp, new) if new else cp

    def _ctx_verifier(self) -> note.Verifier:
        signer = self._ctx.log_signer
        if signer is None:
            raise InvalidInput("this server has no log key: it cannot ask witnesses")
        return signer.verifier

    def _ask(self, witness: WitnessEndpoint, cp: StoredCheckpoint, text: str) -> str | None:
        state = self.state[witness.url]
        old = min(state.size, cp.size)
        for _ in range(2):  # a 409 tells the size the witness holds: one more try from it
            try:
                answer = self._post(witness, old, cp)
            except httpx.HTTPError as exc:
                self._failed(witness, f"unreachable ({type(exc).__name__})")
                return None
            if answer.status_code == 200:
                return self._cosigned(witness, cp, text, answer.content[:MAX_ANSWER])
            if answer.status_code != 409 or answer.headers.get("content-type") != SIZE_TYPE:
                why = answer.text[:200].strip()
                self._failed(witness, f"answered {answer.status_code}: {why}")
                return None
            held = _size(answer.content)
            if held is None:
                self._failed(witness, "answered 409 without a size")
                return None
            if held > cp.size or held == old:
                # It cosigned a larger tree, or another root at this size: not our history.
                log.error(  # an alarm for the operator and the security team
                    "witness %s holds a tree of %d entries that this log's checkpoint of %d "
                    "does not extend: a rollback or a fork of the log",
                    witness.verifier.name, held, cp.size,
                )
                self._failed(witness, f"holds {held} entries, not consistent with ours")
                return None
            old = held
        self._failed(witness, "kept answering 409")
        return None

    def _post(self, witness: WitnessEndpoint, old: int, cp: StoredCheckpoint) -> httpx.Response:
        proof: list[bytes] = []
        if 0 < old < cp.size:
            with self._ctx.unit_of_work() as session:
                proof = LedgerStore(session).consistency_proof(old, cp.size)
        lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
        body = ("\n".join(lines) + "\n\n").encode() + cp.note  # cosignatures too: allowed
        return self._client.post(f"{witness.url}/add-checkpoint", content=body)

    def _cosigned(
        self, witness: WitnessEndpoint, cp: StoredCheckpoint, text: str, body: bytes
    ) -> str | None:
        for line in body.decode("utf-8", "replace").splitlines():
            name, _, b64 = line.removeprefix("\u2014 ").partition(" ")
            if not line.startswith("\u2014 ") or name != witness.verifier.name:
                continue
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError:
                continue
            if int.from_bytes(raw[:4], "big") != witness.verifier.key_id:
                continue
            if witness.verifier.verify(text.encode(), raw[4:]):
                with self._lock:
                    state = self.state[witness.url]
                    state.size, state.last_error = cp.size, None
                    state.cosigned_at = self._ctx.clock.now()
                return line + "\n"
        self._failed(witness, "answered 200 without a valid cosignature of ours")
        return None

    def _failed(self, witness: WitnessEndpoint, why: str) -> None:
        with self._lock:
            state = self.state[witness.url]
            changed = state.last_error != why
            state.last_error = why
        if changed:  # once per change, not every round
            log.warning("witness %s did not cosign: %s", witness.verifier.name, why)

    def _keep(self, cp: StoredCheckpoint, lines: str) -> StoredCheckpoint:
        """Append ``lines`` to the stored note (compare-and-set: another node may add too)."""
        with self._ctx.unit_of_work() as session:
            row = session.get(LedgerCheckpointRow, cp.size)
            if row is None:
                return cp
            current = bytes(row.note)
            have = set(current.decode().splitlines())
            fresh = "".join(line for line in lines.splitlines(keepends=True)
                            if line.rstrip("\n") not in have)
            if fresh:
                session.execute(
                    update(LedgerCheckpointRow)
                    .where(LedgerCheckpointRow.size == cp.size,
                           LedgerCheckpointRow.note == current)
                    .values(note=add_signatures(current, fresh))
                )
            return StoredCheckpoint(cp.size, cp.root_hash, add_signatures(current, fresh),
                                    cp.created_at)


def _size(body: bytes) -> int | None:
    text = body.decode("ascii", "replace")
    if not text.endswith("\n") or not text[:-1].isdigit() or not text[:-1].isascii():
        return None
    return int(text[:-1])


def status(ctx: ServiceContext) -> LedgerStatusOut:
    """The newest checkpoint's size and age, and which configured witnesses cosigned it (read
    from the stored note: the same on every node)."""
    with ctx.unit_of_work() as session:
        cp = LedgerStore(session).latest_checkpoint()
    if cp is None:
        raise NotFound("the log has no checkpoint yet", hint="try again in a few seconds")
    endpoints = [WitnessEndpoint.parse(entry) for entry in ctx.settings.witnesses]
    text, _, lines = cp.note.decode().partition("\n\n")
    found: dict[tuple[str, int], bytes] = {}
    for line in lines.splitlines():
        name, _, b64 = line.removeprefix("\u2014 ").partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            continue
        if len(raw) > 4:
            found[(name, int.from_bytes(raw[:4], "big"))] = raw[4:]
    witnesses = []
    for w in endpoints:
        sig = found.get((w.verifier.name, w.verifier.key_id))
        valid = sig is not None and w.verifier.verify((text + "\n").encode(), sig)
        when = w.verifier.timestamp(sig) if valid and sig is not None else None
        witnesses.append(WitnessStatusOut(
            name=w.verifier.name, url=w.url, cosigned=valid,
            cosigned_at=None if when is None else datetime.fromtimestamp(when, UTC)))
    now = ctx.clock.now()
    return LedgerStatusOut(
        origin=ctx.origin, size=cp.size, checkpoint_at=cp.created_at,
        checkpoint_age_seconds=max(0.0, (now - cp.created_at).total_seconds()),
        witnesses=witnesses)
