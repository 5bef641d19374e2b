"""``custody history``, ``bundle``, ``verify`` and ``ledger verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from custody.bundle import MAX_ZIP_SIZE, verify_bundle
from custody.cli.output import say
from custody.cli.session_cmds import unlock_keys
from custody.client.bundles import make_bundle
from custody.client.config import Session
from custody.client.http import Api
from custody.client.trust import LogView, current_checkpoint, require_pin
from custody.errors import LocalError
from custody.files import write_private

_LABELS = {
    "key:registered": "registered keys",
    "case:created": "opened the case",
    "transfer:created": "created the transfer",
    "item:created": "added the item",
    "item:uploaded": "uploaded the ciphertext",
    "item:sealed": "sealed and signed the item",
    "transfer:sent": "sent the transfer",
    "item:downloaded": "downloaded the ciphertext",
    "item:received": "received it: signature and hashes verified",
    "item:verification_failed": "REFUSED it: verification failed",
    "transfer:acknowledged": "acknowledged the transfer",
    "access:refused": "was REFUSED access",
    "ledger:heads": "the log committed to every item's latest entry",
    "retention:hold_set": "put it under a legal hold",
    "retention:hold_released": "released a legal hold",
    "account:activated": "activated their account",
    "account:second_factor_enrolled": "enrolled a second factor",
    "org:recovery_key": "logged an organisation's recovery key",
}


def describe(row: dict[str, Any]) -> str:
    what = _LABELS.get(row["type"], row["type"])
    who = row.get("actor_email") or row["actor"]
    detail = ""
    data = row.get("data", {})
    if row["type"] == "item:downloaded":
        detail = f" (bytes {data['first_byte']}-{data['last_byte']})"
    elif row["type"] in ("item:verification_failed", "access:refused"):
        detail = f" ({data.get('reason', '')})"
        if data.get("repeats"):
            detail += f", and {data['repeats']} more times within a minute"
    elif row["type"] == "transfer:acknowledged" and data.get("receipt") == "none":
        detail = " WITHOUT having received and verified it themself"
    return f"#{row['index']:<6} {str(row['time'])[:19].replace('T', ' ')}  {who}  {what}{detail}"


@click.command()
@click.argument("ref", metavar="ITEM|TRANSFER")
def history(ref: str) -> None:
    """The custody trail of an item or a transfer, from the ledger."""
    session = Session.load()
    with Api(session.server, session.token) as api:
        rows = api.get(f"/api/v1/history/{ref}")
    for row in rows:
        say(describe(row))


@click.command()
@click.argument("ref", metavar="ITEM|TRANSFER")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The zip to write.")
def bundle(ref: str, out: Path) -> None:
    """Write the evidence bundle of an item or transfer: entries, proofs, checkpoint, manifests."""
    session = Session.load()
    verifier = require_pin(session.server)
    keys = unlock_keys(session)
    with Api(session.server, session.token) as api:
        data, count = make_bundle(api, keys, ref, verifier)
    write_private(out, data)
    say(f"Wrote {out}: {count} ledger entries with inclusion proofs against a signed checkpoint")
    say(f"  → anyone can check it offline: custody verify {out} --log-key '{verifier.vkey}'")


@click.command()
@click.argument("bundle_file", metavar="FILE.zip", type=click.Path(path_type=Path))
@click.option("--log-key", required=True, help="The log's verifier key (name+hash+key).")
@click.option(
    "--file",
    "content",
    type=click.Path(path_type=Path),
    default=None,
    help="A copy of the item's content: check it is exactly what the sender signed.",
)
def verify(bundle_file: Path, log_key: str, content: Path | None) -> None:
    """Check an evidence bundle offline: checkpoint signature, proofs, the trail, the content."""
    try:
        with bundle_file.open("rb") as f:
            data = f.read(MAX_ZIP_SIZE + 1)  # never more than the largest bundle, into memory
    except OSError as exc:
        raise LocalError(f"cannot read {bundle_file}: {exc.strerror}") from exc
    if content is not None:
        with content.open("rb") as f:
            report = verify_bundle(data, log_key, content=f)
    else:
        report = verify_bundle(data, log_key)
    say(f"Bundle {bundle_file}: VERIFIED against log {report.origin} (tree size {report.size})")
    for check in report.checks:
        say(f"  ✓ {check}")
    for caveat in report.caveats:
        say(f"  ! not proven: {caveat}")
    say("Custody trail:")
    for t in report.trail:
        say(f"  #{t.index:<6} {t.time:%Y-%m-%d %H:%M:%S}  {t.actor}  {_LABELS.get(t.type, t.type)}")


@click.command()
def checkpoint() -> None:
    """Check the server's newest checkpoint extends the one this machine verified before.

    Signed by the log key pinned at your first login, and consistent (RFC 9162) with the
    largest tree this machine has seen: a server that rolled its log back, or showed you a
    history of its own, is refused, and both signed checkpoints are kept as evidence.
    """
    session = Session.load()
    verifier = require_pin(session.server)
    view = LogView(verifier)
    before = view.remembered()
    with Api(session.server, session.token) as api:
        cp = current_checkpoint(api, verifier)
    if cp is None:
        say(f"The log {verifier.name} has no checkpoint yet.")
        return
    seen = f"extends the {before.size} entries verified before" if before else "first seen now"
    say(f"Ledger {cp.origin}: {cp.size} entries, signed by the pinned key; {seen}.")


COMMANDS = [history, bundle, verify, checkpoint]
