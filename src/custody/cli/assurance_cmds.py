"""``custody share``, ``shared``, ``incident``, ``retention`` and ``hold``."""

from __future__ import annotations

import click

from custody.cli.delivery_cmds import access_lines, grant_lines
from custody.cli.lists import listed
from custody.cli.output import emit, json_option, say, when
from custody.cli.unlock import unlock_keys
from custody.client.config import Session
from custody.client.http import Api, signed_in
from custody.client.sharing import share_item
from custody.client.sizes import shown_size
from custody.protocol.assurance import (
    HoldIn,
    HoldOut,
    ImpactOut,
    IncidentIn,
    IncidentPage,
    RetentionIn,
    RetentionOut,
    SharedPage,
)


@click.command()
@click.argument("item")
@click.option("--with", "with_", required=True, help="The e-mail address of the new reader.")
@click.option("--expires", help="When access ends: 14d, or a date (2027-01-31).")
@json_option
def share(item: str, with_: str, expires: str | None, as_json: bool) -> None:
    """Let one more person read ITEM: your client wraps its key for their checked key."""
    session = Session.load()
    keys = unlock_keys(session)
    with Api(session.server, session.token) as api:
        done = share_item(api, session, keys, item, with_, expires)
    if as_json:
        emit(done)
        return
    until = f" until {when(done.expires_at)}" if done.expires_at else ""
    say(f"Shared item {item} with {done.reader}{until}.")
    say(f"  → they fetch it with `custody receive {item}`; it is in the custody ledger.")


@click.command()
@json_option
def shared(as_json: bool) -> None:
    """Items others shared with you that you can still read."""
    for r in listed("/api/v1/shared", SharedPage, "shared", as_json,
                    "Nothing is shared with you."):
        until = when(r.expires_at) if r.expires_at else "no expiry"
        say(
            f"{r.item}  {r.case}  {shown_size(r.ciphertext_size)}  from {r.shared_by} "
            f"({r.shared_by_org})  {until}"
        )


@click.group()
def incident() -> None:
    """Material lost or exposed: withdraw access at once, report, close."""


def _show(data: ImpactOut, as_json: bool) -> None:
    if as_json:
        emit(data)
        return
    state = "closed" if data.closed_at else "open"
    say(f"Incident {data.id} ({state})  case {data.case}  transfer {data.transfer}")
    say(f"  opened {when(data.opened_at)} by {data.opened_by}: {data.reason}")
    reported = (
        f"reported {when(data.reported_at)} by {data.reported_by}"
        if data.reported_at
        else "NOT YET REPORTED"
    )
    say(f"  regulator deadline {when(data.regulator_deadline)}: {reported}")
    say(f"  data subjects: {', '.join(data.data_subjects) or 'none recorded'}")
    for item in data.items:
        say("")
        say(f"  Item {item.item} ({item.state})")
        for line in grant_lines(item.could_access) + access_lines(item.accessed, item.refused):
            say("  " + line)


@incident.command("list")
@json_option
def incident_list(as_json: bool) -> None:
    """The incidents on material you sent or received (an admin: your organisation's):
    state, case, regulator deadline."""
    found = listed("/api/v1/incidents", IncidentPage, "incidents", as_json,
                   "No incidents on material you sent or received.")
    if not found:
        return
    for d in found:
        state = "closed" if d.closed_at else ("reported" if d.reported_at else "OPEN")
        say(
            f"{d.id}  {state:8}  case {d.case}  transfer {d.transfer}  "
            f"regulator by {when(d.regulator_deadline)}"
        )
    say("  → the impact report: custody incident show ID")


@incident.command("open")
@click.argument("ref", metavar="TRANSFER|ITEM")
@click.option("--reason", required=True, help="What happened, for the record and the regulator.")
@json_option
def incident_open(ref: str, reason: str, as_json: bool) -> None:
    """Withdraw everyone's access but the sender's, freeze sharing, start the 72-hour clock."""
    with signed_in() as api:
        data = api.post("/api/v1/incidents", ImpactOut, IncidentIn(ref=ref, reason=reason))
    if not as_json:
        say(f"Opened incident {data.id}: access withdrawn from everyone but the owners.")
    _show(data, as_json)


@incident.command("show")
@click.argument("incident_id", metavar="ID")
@json_option
def incident_show(incident_id: str, as_json: bool) -> None:
    """The impact report: items, case, data subjects, every access, the deadline."""
    with signed_in() as api:
        _show(api.get(f"/api/v1/incidents/{incident_id}", ImpactOut), as_json)


def _step(incident_id: str, step: str) -> ImpactOut:
    """Take an incident a step on (``reported``, ``close``): its impact report after it."""
    with signed_in() as api:
        return api.post(f"/api/v1/incidents/{incident_id}/{step}", ImpactOut)


@incident.command("reported")
@click.argument("incident_id", metavar="ID")
def incident_reported(incident_id: str) -> None:
    """Record that the regulator was told: the reminders stop."""
    data = _step(incident_id, "reported")
    say(f"Incident {data.id} marked reported at {when(data.reported_at)}.")


@incident.command("close")
@click.argument("incident_id", metavar="ID")
def incident_close(incident_id: str) -> None:
    """Close the incident: sharing is possible again (withdrawn access stays withdrawn)."""
    data = _step(incident_id, "close")
    say(f"Incident {data.id} closed at {when(data.closed_at)}.")


@click.group()
def retention() -> None:
    """When material is crypto-shredded."""


@retention.command("set")
@click.argument("ref", metavar="CASE|ITEM")
@click.option("--until", help="A date: 2033-01-31.")
@click.option("--for", "for_", help="A period from now: 90d, 26w, 18m, 7y (calendar).")
def retention_set(ref: str, until: str | None, for_: str | None) -> None:
    """Shred CASE|ITEM at a date, unless under legal hold.

    An item's retention is set by its sender or an admin of the sending organisation; a
    case (URN) is your own organisation's case and its own material only.
    """
    with signed_in() as api:
        data = api.post(
            "/api/v1/retention", RetentionOut, RetentionIn(ref=ref, until=until, for_=for_)
        )
    say(f"Retention of {data.target}: shredded after {when(data.retain_until)}.")


@click.command()
@click.argument("ref", metavar="CASE|ITEM")
@click.option("--reason", required=True, help="Why (e.g. the appeal, the order).")
@click.option("--release", is_flag=True, help="Release the hold instead.")
def hold(ref: str, reason: str, release: bool) -> None:
    """Put CASE|ITEM under your organisation's legal hold: nothing in it is shredded.

    An ITEM you sent or received (or any your organisation holds, if you are its admin);
    a CASE (URN) covers everything your organisation holds for it. Only your organisation
    releases its own hold.
    """
    with signed_in() as api:
        data = api.post("/api/v1/holds", HoldOut, HoldIn(ref=ref, reason=reason, release=release))
    what = "released from" if release else "put under"
    say(f"{data.target[0].upper()}{data.target[1:]} {what} legal hold.")


COMMANDS = [share, shared, incident, retention, hold]
