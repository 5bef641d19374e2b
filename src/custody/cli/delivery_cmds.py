"""``custody revoke``, ``report`` and ``notices``; the notices beneath ``inbox``/``outbox``."""

from __future__ import annotations

import click

from custody.cli.output import emit, json_option, say, when
from custody.client.http import Api, signed_in
from custody.protocol.assurance import (
    AccessLineOut,
    GrantOut,
    NoticePage,
    ReportOut,
    RevokeIn,
    TransferStateOut,
)


@click.command()
@click.argument("transfer")
@click.option("--reason", required=True, help="Why, in words the recipients and auditors read.")
@json_option
def revoke(transfer: str, reason: str, as_json: bool) -> None:
    """Withdraw a transfer from its recipients at once: their key wraps are destroyed."""
    with signed_in() as api:
        t = api.post(
            f"/api/v1/transfers/{transfer}/revoke", TransferStateOut, RevokeIn(reason=reason)
        )
    if as_json:
        emit(t)
        return
    say(f"Revoked transfer {t.id} (case {t.case}): the recipients' keys are destroyed,")
    say("  their downloads are refused and recorded, and they have been told.")


def print_notices(api: Api, limit: int = 10) -> None:
    rows = api.get("/api/v1/notices", NoticePage, params={"limit": limit}).notices
    if rows:
        say("")
        say("Notices:")
    for n in rows:
        say(f"  {when(n.at)}  {n.subject}")


@click.command()
@json_option
def notices(as_json: bool) -> None:
    """Alerts and notices for you: overdue transfers, revocations, incidents."""
    with signed_in() as api:
        if as_json:
            emit(list(api.each("/api/v1/notices", NoticePage, "notices")))
            return
        rows = api.get("/api/v1/notices", NoticePage).notices
    if not rows:
        say("No notices.")
    for n in rows:
        say(f"{when(n.at)}  {n.subject}")
        for line in n.text.strip().splitlines():
            say(f"    {line}")


def grant_lines(could_access: list[GrantOut]) -> list[str]:
    out = ["Who could access it:"]
    for g in could_access:
        index = f"#{g.grant_index}" if g.grant_index is not None else "-"
        end = "still can"
        if g.ended_at:
            end = f"{g.end} {when(g.ended_at)} by {g.ended_by}"
            if g.end_reason:
                end += f" ({g.end_reason})"
            if g.end_index is not None:
                end += f" #{g.end_index}"
        elif g.expires_at:
            end = f"until {when(g.expires_at)}"
        out.append(
            f"  {index:<7} {g.reader}: {g.kind}, granted {when(g.granted_at)} by "
            f"{g.granted_by}; {end}"
        )
    return out


def access_lines(accessed: list[AccessLineOut], refused: list[AccessLineOut]) -> list[str]:
    out: list[str] = []
    for title, lines in (("Who did access it:", accessed), ("Refused attempts:", refused)):
        out += ["", title]
        if not lines:
            out.append("  none")
        for a in lines:
            detail = f" ({a.detail.get('reason')})" if lines is refused else ""
            out.append(
                f"  #{a.index:<6} {when(a.time)}  {a.user}  {a.type}{detail}  "
                f"from {a.address or '?'}  [{a.user_agent or '?'}]"
            )
    return out


@click.command()
@click.argument("item")
@json_option
def report(item: str, as_json: bool) -> None:
    """Who could access ITEM, who did, who was refused: each line with its ledger index."""
    with signed_in() as api:
        data = api.get(f"/api/v1/items/{item}/report", ReportOut)
    if as_json:
        emit(data)
        return
    say(
        f"Access report: item {data.item}  case {data.case}  "
        f"(transfer {data.transfer}, {data.transfer_state}; item {data.state})"
    )
    say("")
    for line in grant_lines(data.could_access) + access_lines(data.accessed, data.refused):
        say(line)


COMMANDS = [revoke, report, notices]
