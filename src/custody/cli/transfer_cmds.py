"""``custody send``, ``inbox``, ``outbox``, ``receive``, ``ack``, ``show``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from custody.cli.delivery_cmds import print_notices
from custody.cli.output import emit, json_option, note, say, when
from custody.cli.progress import progress_for, progress_options, quiet_say
from custody.client.config import Session
from custody.client.http import Api
from custody.client.sizes import human_size, plaintext_size, shown_size
from custody.client.spool import discard, keep
from custody.domain.cases import parse_urn
from custody.domain.people import CONTENT_ROLES, unit_label
from custody.domain.transfers import parse_duration
from custody.errors import Forbidden, InvalidInput
from custody.protocol.transfers import AckIn, TransferOut, TransferPage


def _api() -> tuple[Session, Api]:
    session = Session.load()
    return session, Api(session.server, session.token)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--case", "urn", required=True, help="The case URN, e.g. 47XX1234567.")
@click.option(
    "--to",
    "to",
    required=True,
    multiple=True,
    help='A recipient: an e-mail address, an organisation, or a unit as "ORG/UNIT". Repeatable.',
)
@click.option("--ack-within", help="Acknowledgement deadline, e.g. 24h or 3d.")
@click.option(
    "--subject",
    "subjects",
    multiple=True,
    help="A pseudonymous data-subject reference (never a name). Repeatable.",
)
@click.option("--name", help="The file name for standard input (FILE '-'), e.g. interview.mp4.")
@click.option(
    "--again",
    is_flag=True,
    help="Send even if these files already went to these recipients for this case.",
)
@json_option
@progress_options
def send(
    files: tuple[Path, ...],
    urn: str,
    to: tuple[str, ...],
    ack_within: str | None,
    subjects: tuple[str, ...],
    again: bool,
    name: str | None,
    as_json: bool,
    show_progress: bool,
    quiet: bool,
) -> None:
    """Encrypt FILES here, sign their manifests, upload ciphertext, send. Resumes if run again.

    On a terminal it shows bytes, speed and time left, per file and overall. Files whose
    contents this machine already sent to the same recipients for the same case are not
    sent twice: it says which transfer has them (--again sends a second one). A FILE of
    '-' is standard input, sent as --name (with CUSTODY_PASSPHRASE: no terminal to ask on).
    A folder sends every file under it, each with its folder (the folder's own name first)
    signed in its manifest; `custody receive` makes the same tree under --out.
    """
    # Imported here: inbox, outbox, show and ack need none of the sending (issue 12).
    from custody.cli.unlock import unlock_keys  # noqa: PLC0415
    from custody.client.sending import already_sent  # noqa: PLC0415
    from custody.client.sending import send as send_items  # noqa: PLC0415

    # Checked here as the server checks them, so bad input is refused before anything else.
    urn = parse_urn(urn)
    if ack_within:
        parse_duration(ack_within)
    paths, piped = _with_stdin(files, name)
    session, api = _api()
    with api:
        previous = None if again else already_sent(api, session, paths, urn, list(to))
        if previous is not None:
            if piped:
                discard(piped)
            _already(previous, as_json)
            return
        keys = unlock_keys(session)
        progress, above = progress_for("sending", forced=show_progress, quiet=quiet)
        tell = quiet_say if quiet else (above or (note if as_json else say))
        transfer = send_items(
            api,
            session,
            keys,
            paths,
            urn,
            list(to),
            ack_within,
            tell,
            list(subjects),
            progress=progress,
        )
    if piped:
        discard(piped)
    if as_json:
        emit(transfer)
        return
    say(f"Sent transfer {transfer.id} for case {transfer.case} to {recipient_label(transfer)}")
    say(f"  {len(transfer.items)} item(s); acknowledgement due {when(transfer.ack_deadline)}")


def _with_stdin(files: tuple[Path, ...], name: str | None) -> tuple[list[Path], Path | None]:
    """FILES, with '-' (standard input) kept as a private file named ``name``; and that file."""
    stdin = Path("-")
    dashes = files.count(stdin)
    if not dashes:
        if name is not None:
            raise InvalidInput("--name names standard input: give it with the FILE '-'")
        return list(files), None
    if dashes > 1:
        raise InvalidInput("'-' (standard input) can be sent once per transfer")
    if not name:
        raise InvalidInput(
            "standard input needs a file name", hint="add --name, e.g. --name interview.mp4"
        )
    if sys.stdin.isatty():
        raise InvalidInput(
            "'-' reads standard input, and that is this terminal",
            hint="pipe the content in: ... | custody send - --name NAME --case URN --to ...",
        )
    piped = keep(sys.stdin.buffer, name)
    return [piped if f == stdin else f for f in files], piped


def _already(t: TransferOut, as_json: bool) -> None:
    """A send that would repeat a standing transfer: say which, send nothing."""
    if as_json:
        note(f"already sent as transfer {t.id}; nothing was sent (--again sends once more)")
        emit(t)
        return
    say(
        f"Already sent: transfer {t.id} for case {t.case} to {recipient_label(t)}, "
        f"{when(t.sent_at)} ({t.state}); nothing was sent."
    )
    say("  → to send these files once more, as a second transfer, add --again")


def recipient_label(t: TransferOut) -> str:
    """The recipient organisation, with the unit it was addressed to: "ORG / UNIT"."""
    return unit_label(t.recipient_org, t.recipient_unit)


def transfer_line(t: TransferOut, party: str) -> str:
    return (
        f"{t.id}  {t.case}  {t.state:12}  {party:32}  {len(t.items)} item(s), "
        f"{_total(t)}  due {when(t.ack_deadline)}"
    )


def _total(t: TransferOut) -> str:
    """The items' plaintext size together (their ciphertext's, so marked, if not known)."""
    sizes = [plaintext_size(i.ciphertext_size) for i in t.items]
    if None in sizes:
        return f"{human_size(sum(i.ciphertext_size for i in t.items))} encrypted"
    return human_size(sum(s or 0 for s in sizes))


def _list_box(box: str, party: Callable[[TransferOut], str], as_json: bool) -> None:
    """One line per transfer of the inbox or outbox, then the person's notices."""
    _, api = _api()
    with api:
        if as_json:  # every transfer, page after page: a script wants them all
            emit(list(api.each(f"/api/v1/transfers/{box}", TransferPage, "transfers")))
            return
        page = api.get(f"/api/v1/transfers/{box}", TransferPage)
        if not page.transfers:
            say(f"Your {box} is empty.")
        for t in page.transfers:
            say(transfer_line(t, party(t)))
        if page.next:
            say(f"  (the newest {len(page.transfers)}; more are older)")
        print_notices(api)


@click.command()
@json_option
def inbox(as_json: bool) -> None:
    """Transfers sent to you."""
    _list_box("inbox", _inbox_party, as_json)


def _inbox_party(t: TransferOut) -> str:
    """The sender; and the unit, for a transfer addressed to one ("to ORG / UNIT")."""
    unit = f" to {recipient_label(t)}" if t.recipient_unit else ""
    return f"from {t.sender.email}{unit}"


@click.command()
@json_option
def outbox(as_json: bool) -> None:
    """Transfers you sent, and where each stands."""
    _list_box("outbox", lambda t: f"to {recipient_label(t)}", as_json)


@click.command()
@click.argument("transfer", metavar="TRANSFER|ITEM")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to put the verified files in.",
)
@json_option
@progress_options
def receive(transfer: str, out: Path, as_json: bool, show_progress: bool, quiet: bool) -> None:
    """Download, verify (signature, hashes) and decrypt a transfer, or one item shared with
    you; record the receipt."""
    # Imported here: inbox, outbox, show and ack need none of the receiving (issue 12).
    from custody.cli.unlock import unlock_keys  # noqa: PLC0415
    from custody.cli.views import ReceivedOut  # noqa: PLC0415
    from custody.client.receiving import receive as receive_items  # noqa: PLC0415

    session, api = _api()
    if session.role not in CONTENT_ROLES:
        # The server refuses content to this role anyway; say so before asking for keys.
        raise Forbidden(
            f"a {session.role} does not receive case material, and holds no keys for it",
            hint="read its custody trail with `custody history` and `custody report` instead",
        )
    keys = unlock_keys(session)
    progress, above = progress_for("receiving", forced=show_progress, quiet=quiet)
    tell = quiet_say if quiet else (above or (note if as_json else say))
    with api:
        received = receive_items(api, session, keys, transfer, out, tell, progress)
    if as_json:
        emit([ReceivedOut.of_received(r) for r in received])
        return
    say(f"Received {len(received)} item(s) into {out}; receipts recorded in the custody ledger.")
    if not received or received[0].item != transfer:
        say(f"  → acknowledge with `custody ack {transfer}`")


@click.command()
@click.argument("transfer")
@click.option(
    "--without-receipt",
    is_flag=True,
    help="You did not receive it yourself (a colleague did); the ledger says so.",
)
@json_option
def ack(transfer: str, without_receipt: bool, as_json: bool) -> None:
    """Acknowledge a transfer: you have received it and take responsibility for it."""
    _, api = _api()
    with api:
        t = api.post(
            f"/api/v1/transfers/{transfer}/ack",
            TransferOut,
            AckIn(without_receipt=without_receipt),
        )
    if as_json:
        emit(t)
        return
    say(f"Acknowledged transfer {t.id} (case {t.case}) at {when(t.acknowledged_at)}")
    if without_receipt:
        say("  the ledger records that you acknowledged it without receiving it yourself")


@click.command()
@click.argument("transfer")
@json_option
def show(transfer: str, as_json: bool) -> None:
    """One transfer: parties, state, deadlines, items."""
    _, api = _api()
    with api:
        t = api.get(f"/api/v1/transfers/{transfer}", TransferOut)
    if as_json:
        emit(t)
        return
    say(f"Transfer {t.id}  case {t.case}  {t.state}")
    readers = ", ".join(r.email for r in t.recipients)
    say(f"  from {t.sender.email} to {recipient_label(t)}: {readers}")
    say(
        f"  sent {when(t.sent_at)}; delivered {when(t.delivered_at)}; "
        f"acknowledged {when(t.acknowledged_at)}; due {when(t.ack_deadline)}"
    )
    for item in t.items:
        say(f"  item {item.id}  {shown_size(item.ciphertext_size)}  {item.state}")


COMMANDS = [send, inbox, outbox, receive, ack, show]
