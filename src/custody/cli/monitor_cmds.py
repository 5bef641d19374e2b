"""``custody monitor``: follow a custody log from its public checkpoint and tiles, check every
entry, and raise an alarm on a fork, a rollback, an inconsistency, a malformed entry or a
broken chain; report access to watched cases and key registrations of watched people."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx

from custody.cli.trust_options import witness_options
from custody.client.config import home
from custody.errors import CustodyError, IntegrityError, InvalidInput
from custody.ledger import note
from custody.ledger.cosignature import CosignatureVerifier
from custody.monitor.core import Alarm, Monitor, Watch

MAX_BODY = 16 << 20  # no tile or checkpoint is near this


def _fetcher(client: httpx.Client, base: str) -> Any:
    def fetch(path: str) -> bytes:
        try:
            with client.stream("GET", f"{base}/{path}") as answer:
                if answer.status_code != 200:
                    raise IntegrityError(f"GET {path}: the log answered {answer.status_code}")
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise IntegrityError(f"GET {path}: more than {MAX_BODY} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise CustodyError(f"cannot reach the log at {base}: {type(exc).__name__}",
                               hint="check the URL and the network; the next round retries"
                               ) from exc
    return fetch


def _webhook(url: str | None, event: dict[str, Any]) -> None:
    """POST ``event`` as JSON, signed with HMAC-SHA256 under CUSTODY_MONITOR_WEBHOOK_SECRET."""
    if url is None:
        return
    body = json.dumps(event, sort_keys=True).encode()
    secret = os.environ.get("CUSTODY_MONITOR_WEBHOOK_SECRET", "").encode()
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
    try:
        httpx.post(url, content=body, timeout=10, headers={
            "Content-Type": "application/json", "X-Custody-Signature": f"sha256={signature}"})
    except httpx.HTTPError as exc:
        print(f"monitor: the webhook {url} failed: {type(exc).__name__}", file=sys.stderr)


@click.command()
@click.option("--log", "log_url", required=True, help="The log's URL (its /checkpoint is there).")
@click.option("--log-key", required=True, help="The log's verifier key (name+hash+key).")
@witness_options("A witness's verifier key (repeatable); see --quorum.")
@click.option("--state", "state_path", type=click.Path(path_type=Path),
              help="Where to keep what was verified [default: CUSTODY_HOME/monitor-KEYID.json].")
@click.option("--case", "cases", multiple=True,
              help="A case id (from `custody case show`) whose every access to report.")
@click.option("--person", "people", multiple=True,
              help="A person's id whose key registrations to report.")
@click.option("--webhook",
              help="POST alarms and reports here as JSON, signed with HMAC-SHA256 under "
              "CUSTODY_MONITOR_WEBHOOK_SECRET (header X-Custody-Signature).")
@click.option("--every", type=click.FloatRange(min=0.1),
              help="Keep following, one round every so many seconds [default: one round].")
def monitor(
    log_url: str,
    log_key: str,
    witnesses: tuple[str, ...],
    quorum: int | None,
    state_path: Path | None,
    cases: tuple[str, ...],
    people: tuple[str, ...],
    webhook: str | None,
    every: float | None,
) -> None:
    """Follow a log and check all of it: every checkpoint extends the last, every entry is
    well formed and chained, the entries give the signed root. Reports (one JSON line each
    on standard output) access to watched cases and key registrations of watched people;
    exits non-zero with an alarm on anything an honest log cannot show."""
    try:
        verifier = note.Verifier.from_vkey(log_key)
        cosigners = [CosignatureVerifier.from_vkey(w) for w in witnesses]
    except CustodyError as exc:
        raise InvalidInput(f"--log-key/--witness: {exc.message}") from exc
    need = len(cosigners) if quorum is None else quorum
    if need > len(cosigners):
        raise InvalidInput(f"--quorum {need}: more than the {len(cosigners)} witnesses given")
    state_path = state_path or home() / f"monitor-{verifier.key_id:08x}.json"
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        follower = Monitor(verifier, state_path, _fetcher(client, log_url.rstrip("/")),
                           witnesses=cosigners, quorum=need,
                           watch=Watch(frozenset(cases), frozenset(people)))
        while True:
            started = time.monotonic()
            try:
                done = follower.round()
            except Alarm as alarm:
                _webhook(webhook, {"kind": "alarm", "log": verifier.name,
                                   "message": alarm.message, "evidence": alarm.evidence})
                raise
            except CustodyError as exc:  # unreachable, an error page: not the log's word
                if every is None:
                    raise
                click.echo(f"monitor: {exc.message}; trying again", err=True)
                time.sleep(every)
                continue
            for found in done.notices:
                event = {"kind": "notice", "log": verifier.name, **found.to_json()}
                click.echo(json.dumps(event, sort_keys=True))
                _webhook(webhook, event)
            cosigned = f", cosigned by {', '.join(done.witnesses)}" if done.witnesses else ""
            click.echo(f"Log {verifier.name}: {done.checkpoint.size} entries verified "
                       f"({done.new_entries} new in {time.monotonic() - started:.1f} s"
                       f"{cosigned}).", err=True)
            if every is None:
                return
            time.sleep(every)
