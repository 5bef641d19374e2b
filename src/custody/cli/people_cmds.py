"""``custody people`` and ``custody units``: people administration, for organisation and unit
admins, over the API like every other client command."""

from __future__ import annotations

from urllib.parse import quote

import click

from custody.cli.lists import listed
from custody.cli.output import emit, json_option, say, when
from custody.client.http import signed_in
from custody.protocol import people as wire


def _person_path(person: str, action: str) -> str:
    # The server takes an id or an e-mail address, and answers "not found" for anyone out of
    # your reach, whoever they are.
    return f"/api/v1/people/{quote(person.strip(), safe='@')}/{action}"


def _line(p: wire.PersonOut) -> str:
    state = "DISABLED" if p.disabled else ("active" if p.enrolled else "not enrolled")
    keys = "keys" if p.keys else "-"
    return f"{p.email:40} {p.role:11} {p.unit or '-':24} {state:12} {keys:4}  {p.id}"


@click.group()
def people() -> None:
    """People you administer (organisation admins: your organisation; unit admins: your unit)."""


@people.command("list")
@json_option
def people_list(as_json: bool) -> None:
    """Everyone you administer: role, unit, whether they can sign in, whether they have keys."""
    rows = listed("/api/v1/people", wire.PeoplePage, "people", as_json,
                  "Nobody yet; add someone with `custody people add EMAIL --role ROLE`.",
                  order=lambda p: p.email)
    if not rows:
        return
    say(f"{'E-MAIL':40} {'ROLE':11} {'UNIT':24} {'STATE':12} {'KEYS':4}  ID")
    for p in rows:
        say(_line(p))


@people.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    help="officer, prosecutor or paralegal; organisation admins also unit-admin, admin, auditor.",
)
@click.option("--unit", help="The unit [unit admins: yours; others: none].")
@json_option
def people_add(email: str, role: str, unit: str | None, as_json: bool) -> None:
    """Add a person: a one-time activation code is e-mailed to them, and only them.

    They choose their own password with it and set up a second factor at their first
    `custody login --activation-code CODE`; you never hold a credential of theirs.
    """
    with signed_in() as api:
        added = api.post(
            "/api/v1/people", wire.PersonAddedOut, wire.PersonIn(email=email, role=role, unit=unit)
        )
    if as_json:
        emit(added)
        return
    person = added.person
    where = f" in unit {person.unit}" if person.unit else ""
    say(f"Added {person.role} {person.email}{where} ({person.id})")
    say(f"  → a one-time activation code was e-mailed to {added.activation_sent_to};")
    say("    they choose their password and set up a second factor with it.")


@people.command("disable")
@click.argument("person", metavar="EMAIL|ID")
@click.option("--reason", required=True, help="Why, e.g. 'left the unit'.")
def people_disable(person: str, reason: str) -> None:
    """Stop a person signing in, now: their tokens are revoked and nobody can send to them."""
    with signed_in() as api:
        p = api.post(_person_path(person, "disable"), wire.PersonOut, wire.ReasonIn(reason=reason))
    say(f"Disabled {p.email}: their tokens are revoked; recorded in the custody ledger.")


@people.command("reset-2fa")
@click.argument("person", metavar="EMAIL|ID")
@click.option("--reason", required=True, help="Why, e.g. 'phone lost'.")
def people_reset_2fa(person: str, reason: str) -> None:
    """Clear a person's second factor and tokens; they enrol again with a one-time code
    e-mailed to them (never to you)."""
    with signed_in() as api:
        done = api.post(
            _person_path(person, "reset-second-factor"), wire.ResetOut, wire.ReasonIn(reason=reason)
        )
    say(
        f"Second factor of {person} reset; their tokens are revoked (ledger index "
        f"{done.ledger_index})."
    )
    say(f"  → a one-time re-enrolment code was e-mailed to {done.enrolment_code_sent_to}.")


@people.command("move")
@click.argument("person", metavar="EMAIL|ID")
@click.option("--unit", required=True, help="The unit to move them to ('' for none).")
def people_move(person: str, unit: str) -> None:
    """Move a person to another unit of your organisation (organisation admins)."""
    with signed_in() as api:
        p = api.post(_person_path(person, "unit"), wire.PersonOut, wire.MoveIn(unit=unit or None))
    say(f"Moved {p.email} to {p.unit or 'no unit'}.")


@click.group()
def units() -> None:
    """Units of your organisation: teams that people belong to and transfers can go to."""


@units.command("list")
@json_option
def units_list(as_json: bool) -> None:
    """Units you administer, with how many people each has."""
    with signed_in() as api:
        rows = api.get("/api/v1/units", list[wire.UnitOut])
    if as_json:
        emit(rows)
        return
    if not rows:
        say("No units yet; an organisation admin creates one with `custody units create NAME`.")
    for u in rows:
        say(f"{u.name:40} {u.members:>4} people  created {when(u.created_at)}  {u.id}")


@units.command("create")
@click.argument("name")
@json_option
def units_create(name: str, as_json: bool) -> None:
    """Create a unit in your organisation (organisation admins)."""
    with signed_in() as api:
        u = api.post("/api/v1/units", wire.UnitOut, wire.UnitIn(name=name))
    if as_json:
        emit(u)
        return
    say(f"Created unit {u.name!r} in {u.org} ({u.id})")
    say(f'  → add people with `custody people add EMAIL --role ROLE --unit "{u.name}"`;')
    say(f'    send to it with `custody send FILE --case URN --to "{u.org}/{u.name}"`')


COMMANDS = [people, units]
