"""``custody admin``: the server operator's commands, run on the server's own machine.

These act on the data directory directly (they are how a server comes to
exist); everything else in the CLI talks to a server over HTTP.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
import time
from pathlib import Path

import click

from custody.cli import backup_cmds
from custody.cli.options import data_dir_option, reason_option, settings_for
from custody.cli.output import emit, json_option, note, say
from custody.cli.serve import private_data_dir, private_umask
from custody.cli.views import InitialisedOut, InvitedOut
from custody.crypto.age import Identity, Recipient
from custody.domain.people import check_org_name, parse_org_kind, parse_role
from custody.errors import Conflict, IntegrityError
from custody.files import write_private
from custody.server import operator_context
from custody.server.setup import initialise
from custody.services import accounts, notes, outbox, retention, second_factor, units
from custody.services import scrub as scrubbing
from custody.services.context import ServiceContext
from custody.settings import Settings


@click.group()
@click.pass_context
def admin(ctx: click.Context) -> None:
    """Set up a server: database, log key, organisations and people."""
    ctx.with_resource(private_umask())  # what they write on the server: the owner's alone


@admin.command()
@data_dir_option
@click.option(
    "--origin",
    help="The log's name (checkpoint origin). Default: custody.local/<random>.",
)
@json_option
def init(data_dir: Path | None, origin: str | None, as_json: bool) -> None:
    """Create (or upgrade) the database and the ledger's signing key; print its verifier key."""
    settings = settings_for(data_dir)
    with private_data_dir(settings.data_dir):
        _initialise(settings, origin, as_json)


def _initialise(settings: Settings, origin: str | None, as_json: bool = False) -> None:
    done = initialise(settings, origin)
    if as_json:
        emit(
            InitialisedOut(
                data_dir=str(settings.data_dir),
                log_key=done.signer.verifier.vkey,
                made_log_key=done.made_log_key,
            )
        )
        return
    if done.made_log_key:
        say(f"Initialised {settings.data_dir} (0700: the server's user alone)")
        say(f"  database:         {_redact(settings.effective_database_url)}")
        say(f"  blobs:            {settings.effective_blob_url}")
        say(f"  log signing key:  {settings.log_key_path} (0600; back it up offline)")
    else:
        say(f"Already initialised: {settings.data_dir} (schema upgraded if needed)")
    if done.recovery_keys_logged:
        logged = done.recovery_keys_logged
        say(f"  logged the recovery keys of {logged} organisation(s) in the ledger")
    if done.made_secret:
        say(f"  server secret:    {settings.server_secret_path} (0600; back it up offline)")
    say("The log's verifier key (give it to anyone who checks evidence bundles):")
    say(f"  {done.signer.verifier.vkey}")


def _context(settings: Settings) -> ServiceContext:
    """The services' context for this command; its connections close when the command ends."""
    return click.get_current_context().with_resource(operator_context(settings))


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


@admin.group()
def org() -> None:
    """Organisations: police forces, prosecution units, courts, defence firms."""


@org.command("create")
@click.argument("name")
@click.option("--kind", required=True, help="police, prosecution, court or defence")
@click.option(
    "--recovery-recipient",
    help="The public half (age1...) of a recovery key made offline. Without it, one is made now.",
)
@click.option(
    "--recovery-key-out",
    type=click.Path(path_type=Path),
    help="Where to write a newly made recovery key [default: ./<name>-recovery-key.txt].",
)
@data_dir_option
def org_create(
    name: str,
    kind: str,
    recovery_recipient: str | None,
    recovery_key_out: Path | None,
    data_dir: Path | None,
) -> None:
    """Create an organisation with an offline recovery key (the server keeps its public half)."""
    name = check_org_name(name)
    org_kind = parse_org_kind(kind)
    ctx = _context(settings_for(data_dir))
    made: Identity | None = None
    if recovery_recipient is None:
        made = Identity.generate()
        recovery_recipient = made.recipient.to_string()
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        recovery_key_out = recovery_key_out or Path(f"{slug}-recovery-key.txt")
        if recovery_key_out.exists():
            raise Conflict(
                f"{recovery_key_out} exists; refusing to overwrite a key",
                hint="choose another --recovery-key-out",
            )
    else:
        Recipient.parse(recovery_recipient)
    organisation = accounts.create_org(ctx, name, org_kind, recovery_recipient)
    say(f"Created {org_kind.value} organisation {organisation.name!r} ({organisation.id})")
    if made is not None and recovery_key_out is not None:
        write_private(
            recovery_key_out,
            (
                f"# recovery key of {name}\n# public key: {recovery_recipient}\n"
                f"{made.to_string()}\n"
            ).encode(),
        )
        say(f"  recovery key written to {recovery_key_out} (0600)")
        say("  → move it offline (paper, a vault) and delete this copy; the server never had it.")


@org.command("list")
@data_dir_option
def org_list(data_dir: Path | None) -> None:
    """List organisations."""
    for o in accounts.list_orgs(_context(settings_for(data_dir))):
        say(f"{o.name:40} {o.kind:12} {o.id}")


@org.command("webhook")
@click.argument("name")
@click.argument("url")
@data_dir_option
def org_webhook(name: str, url: str, data_dir: Path | None) -> None:
    """Send this organisation's alerts to URL too, signed with a new secret (shown once)."""
    ctx = _context(settings_for(data_dir))
    with ctx.unit_of_work() as session:
        org_id = accounts.find_org(session, name).id
    secret = outbox.set_webhook(ctx, org_id, url)
    say(f"Alerts for {name} will be POSTed to {url}")
    say(f"  signing secret: {secret}")
    say("  → give it to whoever runs the receiver; it is shown only once. Check each request's")
    say("    Custody-Signature header (docs/operations.md) and reject stale timestamps.")


@admin.group()
def unit() -> None:
    """Units: the teams inside an organisation (a CID unit, a RASSO unit)."""


@unit.command("create")
@click.argument("name")
@click.option("--org", "org_name", required=True, help="The organisation's name.")
@data_dir_option
def unit_create(name: str, org_name: str, data_dir: Path | None) -> None:
    """Create a unit in an organisation."""
    made = units.create_unit(_context(settings_for(data_dir)), org_name, name)
    say(f"Created unit {made.name!r} in {made.org} ({made.id})")
    say(
        f'  → add people with `custody admin user create EMAIL --org "{made.org}" --unit '
        f'"{made.name}" --role ROLE`; send to it with --to "{made.org}/{made.name}"'
    )


@unit.command("list")
@click.option("--org", "org_name", required=True, help="The organisation's name.")
@data_dir_option
def unit_list(org_name: str, data_dir: Path | None) -> None:
    """List an organisation's units."""
    rows = units.list_units(_context(settings_for(data_dir)), org_name)
    if not rows:
        say(f"{org_name} has no units yet; create one with `custody admin unit create`.")
    for u in rows:
        say(f"{u.name:40} {u.members:>4} people  {u.id}")


@admin.group()
def user() -> None:
    """People: officers, prosecutors, paralegals, unit admins, organisation admins, auditors."""


@user.command("create")
@click.argument("email")
@click.option("--org", "org_name", required=True, help="The organisation's name.")
@click.option(
    "--role",
    required=True,
    help="officer, prosecutor, paralegal, unit-admin, admin (the organisation admin) or auditor",
)
@click.option("--unit", "unit_name", help="The unit (a unit-admin needs one).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the initial password from standard input."
)
@data_dir_option
@json_option
def user_create(
    email: str,
    org_name: str,
    role: str,
    unit_name: str | None,
    password_stdin: bool,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Create a person, who activates the account with a one-time code and chooses their own
    password (e-mailed to them if the server has SMTP, else printed here for you to hand over).

    For scripted provisioning, --password-stdin (or CUSTODY_NEW_PASSWORD) sets the password
    instead.
    """
    parsed_role = parse_role(role)
    password: str | None = os.environ.get("CUSTODY_NEW_PASSWORD")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    ctx = _context(settings_for(data_dir))
    where = f"{org_name} / {unit_name}" if unit_name else org_name
    if password is not None:
        made = accounts.create_user(ctx, email, org_name, parsed_role, password, unit_name)
        if as_json:
            emit(
                InvitedOut(
                    id=made.id,
                    email=made.email,
                    role=parsed_role.value,
                    org=org_name,
                    unit=unit_name,
                    activation_code=None,
                )
            )
            return
        say(f"Created {parsed_role.value} {made.email} in {where}")
        return
    invited = accounts.invite_user(ctx, email, org_name, parsed_role, unit_name)
    if as_json:
        emit(
            InvitedOut(
                id=invited.user.id,
                email=invited.user.email,
                role=parsed_role.value,
                org=org_name,
                unit=unit_name,
                activation_code=invited.activation_code,
            )
        )
        if invited.activation_code is not None:
            note("  → hand the activation code over in person or by a separate channel")
        return
    say(f"Created {parsed_role.value} {invited.user.email} in {where}")
    if invited.activation_code is None:
        say(f"  → a one-time activation code was e-mailed to {invited.user.email}")
        return
    say(f"  activation code: {invited.activation_code}")
    say("  → hand it to them in person or by a separate channel; it works once, for 7 days.")
    say("    They run: custody login --server URL --email ADDRESS --activation-code CODE")


@user.command("reset-2fa")
@click.argument("email")
@reason_option("phone lost")
@data_dir_option
def user_reset_2fa(email: str, reason: str, data_dir: Path | None) -> None:
    """Clear a person's second factor and revoke their tokens; they enrol again with a
    one-time code (e-mailed to them if the server has SMTP, else printed here)."""
    done = second_factor.reset(_context(settings_for(data_dir)), email, reason, "operator")
    say(
        f"Second factor of {email} reset; their tokens are revoked (ledger index "
        f"{done.ledger_index})."
    )
    if done.enrolment_code:
        say(f"  re-enrolment code: {done.enrolment_code}")
        say("  → hand it to them by a separate channel; it works once, for 3 days. They run:")
        say("    custody login --server URL --email ADDRESS --enrolment-code CODE")
    else:
        say(f"  → a one-time re-enrolment code was e-mailed to {email}.")


@admin.command("shred")
@click.argument("item")
@reason_option("court order")
@data_dir_option
def shred(item: str, reason: str, data_dir: Path | None) -> None:
    """Crypto-shred ITEM now: destroy every key wrap and delete its ciphertext."""
    operator = f"operator {getpass.getuser()}@{socket.gethostname()}"[:100]
    destroyed = retention.shred(
        _context(settings_for(data_dir)), item, reason, by="operator", operator=operator
    )
    say(f"Shredded item {item}: {destroyed} key wrap(s) destroyed, ciphertext deleted.")
    say("  No copy anywhere can be decrypted now; the ledger records it as shredded, and why.")


@admin.command("scrub")
@data_dir_option
def scrub(data_dir: Path | None) -> None:
    """Re-hash every stored ciphertext against the SHA-256 recorded at upload; name each item
    whose object is missing or changed, and record the run in the ledger. Exits 8 if any is."""
    started = time.monotonic()
    last = [started]

    def progress(items: int, size: int) -> None:
        if time.monotonic() - last[0] >= 5:  # a line every few seconds on a long run
            last[0] = time.monotonic()
            click.echo(f"  {items} items, {size / 1e9:.2f} GB checked ...", err=True)

    who = f"operator {getpass.getuser()}"[:36]
    report = scrubbing.scrub(_context(settings_for(data_dir)), who, progress)
    took = time.monotonic() - started
    rate = report.bytes / took / 1e6 if took else 0.0
    say(f"Scrubbed {report.checked} items, {report.bytes / 1e9:.2f} GB in {took:.1f} s "
        f"({rate:.0f} MB/s); the run is in the ledger (blobs:scrubbed).")
    for found in report.findings:
        say(f"  ✗ item {found.item}: {found.problem}: {found.detail}")
    if not report.ok:
        raise IntegrityError(
            f"{len(report.findings)} stored item(s) are missing or changed",
            hint="restore them from a backup (docs/operations.md); each is recorded on its trail",
        )


@admin.command("erase-reason")
@click.argument("commitment")
@data_dir_option
def erase_reason(commitment: str, data_dir: Path | None) -> None:
    """Erase the text of a reason (an erasure request): its ledger entry keeps only the
    commitment (``reason_commitment``), which now opens to nothing."""
    who = f"operator {getpass.getuser()}"[:36]
    notes.erase(_context(settings_for(data_dir)), commitment.strip().lower(), who)
    say(f"Erased the reason {commitment}; the ledger entry that refers to it is unchanged.")


# Backup and restore live in their own module; they are the operator's commands all the same.
admin.add_command(backup_cmds.backup)
admin.add_command(backup_cmds.restore)
