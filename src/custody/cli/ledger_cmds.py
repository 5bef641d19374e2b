"""``custody history``, ``bundle``, ``verify`` and ``ledger verify``."""

from __future__ import annotations

from pathlib import Path

import click

from custody.bundle import MAX_ZIP_SIZE, verify_bundle
from custody.cli.output import emit, json_option, say
from custody.cli.progress import progress_for, progress_options, reading
from custody.cli.trust_options import witness_options
from custody.cli.unlock import unlock_keys
from custody.cli.views import VerifiedOut
from custody.client.bundles import make_bundle
from custody.client.config import Session
from custody.client.http import Api
from custody.client.trust import LogView, current_checkpoint, require_pin
from custody.errors import LocalError
from custody.files import write_private
from custody.ledger.events import EntryType
from custody.protocol.ledger import TrailEntryOut

_LABELS: dict[str, str] = {
    EntryType.KEY_REGISTERED: "registered keys",
    EntryType.CASE_CREATED: "opened the case",
    EntryType.TRANSFER_CREATED: "created the transfer",
    EntryType.ITEM_CREATED: "added the item",
    EntryType.ITEM_UPLOADED: "uploaded the ciphertext",
    EntryType.ITEM_SEALED: "sealed and signed the item",
    EntryType.TRANSFER_SENT: "sent the transfer",
    EntryType.ITEM_DOWNLOADED: "downloaded the ciphertext",
    EntryType.ITEM_RECEIVED: "received it: signature and hashes verified",
    EntryType.ITEM_VERIFICATION_FAILED: "REFUSED it: verification failed",
    EntryType.TRANSFER_ACKNOWLEDGED: "acknowledged the transfer",
    EntryType.ACCESS_REFUSED: "was REFUSED access",
    EntryType.LEDGER_HEADS: "the log committed to every item's latest entry",
    EntryType.RETENTION_HOLD_SET: "put it under a legal hold",
    EntryType.RETENTION_HOLD_RELEASED: "released a legal hold",
    EntryType.ACCOUNT_ACTIVATED: "activated their account",
    EntryType.ACCOUNT_SECOND_FACTOR_ENROLLED: "enrolled a second factor",
    EntryType.ORG_RECOVERY_KEY: "logged an organisation's recovery key",
    EntryType.PEOPLE_PART: "listed people for the next entry",
}


def describe(row: TrailEntryOut) -> str:
    what = _LABELS.get(row.type, row.type)
    who = row.actor_email or row.actor
    detail = ""
    data = row.data
    if row.type == EntryType.ITEM_DOWNLOADED:
        detail = f" (bytes {data.get('first_byte')}-{data.get('last_byte')})"
    elif row.type in (EntryType.ITEM_VERIFICATION_FAILED, EntryType.ACCESS_REFUSED):
        detail = f" ({data.get('reason', '')})"
        if data.get("repeats"):
            detail += f", and {data['repeats']} more times within a minute"
    elif row.type == EntryType.PEOPLE_PART:
        detail = f" ({data.get('list')}, part {data.get('part')} of {data.get('of')})"
    elif row.type == EntryType.TRANSFER_ACKNOWLEDGED and data.get("receipt") == "none":
        detail = " WITHOUT having received and verified it themself"
    return f"#{row.index:<6} {row.time:%Y-%m-%d %H:%M:%S}  {who}  {what}{detail}"


@click.command()
@click.argument("ref", metavar="ITEM|TRANSFER")
@json_option
def history(ref: str, as_json: bool) -> None:
    """The custody trail of an item or a transfer, from the ledger."""
    session = Session.load()
    with Api(session.server, session.token) as api:
        rows = api.get(f"/api/v1/history/{ref}", list[TrailEntryOut])
    if as_json:
        emit(rows)
        return
    for row in rows:
        say(describe(row))


@click.command()
@click.argument("ref", metavar="ITEM|TRANSFER")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The zip to write.")
@click.option(
    "--names",
    is_flag=True,
    help="Add names.json: who the actor ids are, signed by the server (the operator's word, "
    "not proven by the log).",
)
def bundle(ref: str, out: Path, names: bool) -> None:
    """Write the evidence bundle of an item or transfer: entries, proofs, checkpoint, manifests."""
    session = Session.load()
    verifier = require_pin(session.server)
    keys = unlock_keys(session)
    with Api(session.server, session.token) as api:
        data, count = make_bundle(api, keys, ref, verifier, names=names)
    write_private(out, data)
    say(f"Wrote {out}: {count} ledger entries with inclusion proofs against a signed checkpoint")
    if names:
        say("  with names.json: who each actor is, attested by the server's operator and signed")
        say("  with the log's key; the log proves the actor ids, not the names")
    say(f"  → anyone can check it offline: custody verify {out} --log-key '{verifier.vkey}'")


@click.command()
@click.argument("bundle_file", metavar="FILE.zip", type=click.Path(path_type=Path))
@click.option("--log-key", required=True, help="The log's verifier key (name+hash+key).")
@click.option(
    "--file",
    "content",
    type=click.Path(path_type=Path),
    help="A copy of the item's content: check it is exactly what the sender signed.",
)
@witness_options("A witness's verifier key (repeatable): its cosignature of the checkpoint counts.")
@json_option
@progress_options
def verify(
    bundle_file: Path,
    log_key: str,
    content: Path | None,
    witnesses: tuple[str, ...],
    quorum: int | None,
    as_json: bool,
    show_progress: bool,
    quiet: bool,
) -> None:
    """Check an evidence bundle offline: checkpoint signature (and witnesses' cosignatures),
    proofs, the trail, the content."""
    try:
        with bundle_file.open("rb") as f:
            data = f.read(MAX_ZIP_SIZE + 1)  # never more than the largest bundle, into memory
    except OSError as exc:
        raise LocalError(f"cannot read {bundle_file}: {exc.strerror}") from exc
    if content is not None:
        progress, _ = progress_for("checking", forced=show_progress, quiet=quiet)
        with content.open("rb") as f:
            progress.start(content.stat().st_size, 1)
            progress.file(content.name, content.stat().st_size)
            try:
                report = verify_bundle(
                    data,
                    log_key,
                    content=reading(f, progress),
                    witnesses=witnesses,
                    quorum=quorum,
                )
            finally:
                progress.finish()
    else:
        report = verify_bundle(data, log_key, witnesses=witnesses, quorum=quorum)
    if as_json:
        emit(VerifiedOut.of_report(str(bundle_file), report))
        return
    say(f"Bundle {bundle_file}: VERIFIED against log {report.origin} (tree size {report.size})")
    for check in report.checks:
        say(f"  ✓ {check}")
    for caveat in report.caveats:
        say(f"  ! not proven: {caveat}")
    named = report.names.actors if report.names else {}
    if report.names:
        say(f"Names: attested by the operator of {report.origin}, signed by its log key")
        say(f"  {report.names.signed_by} on {report.names.issued_at}; not proven by the log.")
    say("Custody trail:")
    for t in report.trail:
        who = f"{named[t.actor].label()} [{t.actor}]" if t.actor in named else t.actor
        say(f"  #{t.index:<6} {t.time:%Y-%m-%d %H:%M:%S}  {who}  {_LABELS.get(t.type, t.type)}")


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
    policy = view.policy
    if policy.quorum:
        names = ", ".join(w.name for w in policy.witnesses)
        say(f"Cosigned by at least {policy.quorum} of your {len(policy.witnesses)} witnesses "
            f"({names}): they saw this tree too.")


COMMANDS = [history, bundle, verify, checkpoint]
