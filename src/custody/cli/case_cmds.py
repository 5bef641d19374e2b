"""``custody case create|list|show``: cases by URN, and the transfers of each you can see.

The server keeps no list of cases for a person yet (its API opens a case, and lists
transfers); ``list`` and ``show`` are read from your inbox and outbox, so a case appears
once material was sent for it, by you or to you.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from custody.cli.output import emit, json_option, say, when
from custody.cli.transfer_cmds import recipient_label, transfer_line
from custody.cli.views import CaseSummaryOut, CaseTransfersOut
from custody.client.http import Api, signed_in
from custody.client.sizes import shown_size
from custody.errors import NotFound
from custody.protocol.transfers import CaseIn, CaseOut, TransferOut, TransferPage


def _visible(api: Api) -> Iterator[tuple[str, TransferOut]]:
    """Every transfer you sent ("outbox") or received ("inbox"), each page of each box."""
    for box in ("outbox", "inbox"):
        for t in api.each(f"/api/v1/transfers/{box}", TransferPage, "transfers"):
            yield box, t


@click.group()
def case() -> None:
    """Cases, by URN: open one, list yours, show one's transfers."""


@case.command("create")
@click.argument("urn")
@json_option
def case_create(urn: str, as_json: bool) -> None:
    """Open a case so material can be sent for it."""
    with signed_in() as api:
        created = api.post("/api/v1/cases", CaseOut, CaseIn(urn=urn))
    if as_json:
        emit(created)
        return
    say(f"Case {created.urn} opened ({created.id})")
    say(f"  → send material for it: custody send FILE --case {created.urn} --to RECIPIENT")


@case.command("list")
@json_option
def case_list(as_json: bool) -> None:
    """The cases you sent or received material for: transfers each way, items, latest."""
    with signed_in() as api:
        seen = list(_visible(api))
    cases: dict[str, dict[str, list[TransferOut]]] = {}
    for box, t in seen:
        cases.setdefault(t.case, {"outbox": [], "inbox": []})[box].append(t)
    rows = [
        CaseSummaryOut(
            urn=urn,
            transfers=[t.id for t in boxes["outbox"] + boxes["inbox"]],
            sent=len(boxes["outbox"]),
            received=len(boxes["inbox"]),
            items=sum(len(t.items) for t in boxes["outbox"] + boxes["inbox"]),
            latest_at=max(t.sent_at or t.created_at for t in boxes["outbox"] + boxes["inbox"]),
        )
        for urn, boxes in cases.items()
    ]
    rows.sort(key=lambda c: c.latest_at, reverse=True)
    if as_json:
        emit(rows)
        return
    if not rows:
        say("No cases yet: none of your transfers names one.")
        say("  → open one with `custody case create URN`")
        return
    say(f"{'URN':12}  {'SENT':>4}  {'RECEIVED':>8}  {'ITEMS':>5}  LATEST")
    for c in rows:
        say(f"{c.urn:12}  {c.sent:>4}  {c.received:>8}  {c.items:>5}  {when(c.latest_at)}")
    say("  → its transfers: custody case show URN")


@case.command("show")
@click.argument("urn")
@json_option
def case_show(urn: str, as_json: bool) -> None:
    """One case's transfers that you sent or received, with their ids and items."""
    with signed_in() as api:
        found = [(box, t) for box, t in _visible(api) if t.case == urn]
    if not found:
        raise NotFound(
            f"no transfer of case {urn} in your inbox or outbox",
            hint="see your cases with `custody case list`",
        )
    if as_json:
        emit(CaseTransfersOut(urn=urn, transfers=[t for _, t in found]))
        return
    say(f"Case {urn}: {len(found)} transfer(s)")
    for box, t in found:
        party = f"to {recipient_label(t)}" if box == "outbox" else f"from {t.sender.email}"
        say(transfer_line(t, party))
        for item in t.items:
            say(f"    item {item.id}  {shown_size(item.ciphertext_size)}  {item.state}")
    say("  → one transfer in full: custody show TRANSFER")


COMMANDS = [case]
