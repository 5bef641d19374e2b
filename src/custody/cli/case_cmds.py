"""``custody case create|list|show``: cases by URN, and the transfers of each you can see.

``list`` is the server's list of your cases (``GET /api/v1/cases``: those you opened, sent
material for or received material of); ``show`` asks your inbox and outbox for the case's
transfers (``?case=URN``).
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from custody.cli.lists import listed
from custody.cli.output import emit, json_option, say, when
from custody.cli.transfer_cmds import recipient_label, transfer_line
from custody.cli.views import CaseTransfersOut
from custody.client.http import Api, signed_in
from custody.client.sizes import shown_size
from custody.errors import NotFound
from custody.protocol.transfers import CaseIn, CaseOut, CasePage, TransferOut, TransferPage


def _of_case(api: Api, urn: str) -> Iterator[tuple[str, TransferOut]]:
    """Every transfer of case ``urn`` you sent ("outbox") or received ("inbox")."""
    for box in ("outbox", "inbox"):
        for t in api.each(f"/api/v1/transfers/{box}", TransferPage, "transfers", case=urn):
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
    """The cases you opened, sent or received material for: transfers each way, items, latest."""
    rows = listed("/api/v1/cases", CasePage, "cases", as_json,
                  "No cases yet: you have opened none, and no transfer of yours names one.",
                  "  → open one with `custody case create URN`")
    if not rows:
        return
    say(f"{'URN':12}  {'SENT':>4}  {'RECEIVED':>8}  {'ITEMS':>5}  {'LATEST':16}  ORGANISATION")
    for c in rows:
        say(
            f"{c.urn:12}  {c.sent:>4}  {c.received:>8}  {c.items:>5}  {when(c.latest_at):16}  "
            f"{c.org}"
        )
    say("  → its transfers: custody case show URN")


@case.command("show")
@click.argument("urn")
@json_option
def case_show(urn: str, as_json: bool) -> None:
    """One case's transfers that you sent or received, with their ids and items."""
    with signed_in() as api:
        found = list(_of_case(api, urn))
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
