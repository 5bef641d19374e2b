"""Organisations, units, roles, and which people a people admin may manage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from custody.errors import Forbidden, InvalidInput


class OrgKind(StrEnum):
    """What an organisation is, as its admin declared it at ``custody admin org create``."""

    POLICE = "police"
    PROSECUTION = "prosecution"
    COURT = "court"
    DEFENCE = "defence"


class Role(StrEnum):
    """A person's one role in their organisation: it decides the policies they meet (the
    table in :mod:`custody.domain.policy`) and the scopes their tokens may carry."""

    OFFICER = "officer"
    PROSECUTOR = "prosecutor"
    PARALEGAL = "paralegal"
    ADMIN = "admin"  # the organisation admin
    UNIT_ADMIN = "unit-admin"
    AUDITOR = "auditor"


# Roles that handle content: they may hold keys, send and receive case material.
CONTENT_ROLES = frozenset({Role.OFFICER, Role.PROSECUTOR, Role.PARALEGAL})
# Roles that manage people: the organisation admin (everyone in the organisation) and the
# unit admin (the content-role people of their own unit).
PEOPLE_ADMINS = frozenset({Role.ADMIN, Role.UNIT_ADMIN})
# Roles that must belong to a unit.
UNIT_ROLES = frozenset({Role.UNIT_ADMIN})

_EMAIL = re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)+$")
_ORG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,'&()\-]{1,79}$")


def normalise_email(text: str) -> str:
    """Lower-cased ASCII e-mail address; anything else is refused, not guessed at."""
    email = text.strip().lower()
    if not email.isascii() or not _EMAIL.fullmatch(email):
        raise InvalidInput(
            f"{text!r} is not an e-mail address custody accepts",
            hint="use a plain ASCII address such as alex.smith@police.example",
        )
    return email


def check_org_name(name: str) -> str:
    return _check_name(name, "organisation")


def check_unit_name(name: str) -> str:
    """Unit names follow organisation names' rules (no "/": it separates ORG/UNIT)."""
    return _check_name(name, "unit")


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not _ORG_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a valid {what} name",
            hint="2-80 characters: letters, digits, spaces and . , ' & ( ) -",
        )
    return name


def split_unit_target(target: str) -> tuple[str, str] | None:
    """``"ORG/UNIT"`` (or ``"ORG / UNIT"``, as custody shows it) as (org, unit); else None."""
    org, slash, unit = target.partition("/")
    if not slash:
        return None
    if "/" in unit or not org.strip() or not unit.strip():
        raise InvalidInput(f"{target!r} is not a unit", hint='name a unit as "ORGANISATION/UNIT"')
    return org.strip(), unit.strip()


def unit_label(org: str, unit: str | None) -> str:
    """How custody shows a recipient organisation, with its unit if there is one."""
    return f"{org} / {unit}" if unit else org


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {text!r}", hint=f"choose one of: {choices}") from None


def check_unit_membership(role: Role | str, unit_id: str | None) -> None:
    """A unit admin administers a unit, so must belong to one."""
    if role in UNIT_ROLES and unit_id is None:
        raise InvalidInput(f"a {role} must belong to a unit", hint="name one with --unit")


def parse_org_kind(text: str) -> OrgKind:
    try:
        return OrgKind(text)
    except ValueError:
        choices = ", ".join(k.value for k in OrgKind)
        raise InvalidInput(
            f"unknown organisation kind {text!r}", hint=f"choose one of: {choices}"
        ) from None


def require_content_role(role: str) -> None:
    """Only people who handle case material may send, receive or hold keys."""
    if role not in CONTENT_ROLES:
        raise Forbidden(f"a {role} cannot send or receive case material")


@dataclass(frozen=True)
class Member:
    """A person as far as people administration is concerned."""

    org_id: str
    unit_id: str | None
    role: str


def may_manage(admin: Member, person: Member) -> bool:
    """Whether ``admin`` reaches ``person``: an organisation admin reaches everyone of their
    organisation; a unit admin the officers, prosecutors and paralegals of their own unit."""
    return may_see(admin, person) and (admin.role == Role.ADMIN or person.role in CONTENT_ROLES)


def may_see(admin: Member, person: Member) -> bool:
    """Whom ``admin`` lists: an organisation admin their organisation, a unit admin their unit."""
    if admin.org_id != person.org_id:
        return False
    if admin.role == Role.ADMIN:
        return True
    return (
        admin.role == Role.UNIT_ADMIN
        and admin.unit_id is not None
        and (person.unit_id == admin.unit_id)
    )


def check_may_add(admin: Member, role: Role, unit_id: str | None) -> None:
    """Refuse unless ``admin`` may create a person with ``role`` in ``unit_id`` (their org's)."""
    check_unit_membership(role, unit_id)
    if admin.role == Role.ADMIN:
        return
    if admin.role != Role.UNIT_ADMIN or admin.unit_id is None:
        raise Forbidden(f"a {admin.role} does not manage people")
    if role not in CONTENT_ROLES:
        raise Forbidden(
            "a unit admin may add officers, prosecutors and paralegals only",
            hint=f"ask your organisation admin to add a {role}",
        )
    if unit_id != admin.unit_id:
        raise Forbidden("a unit admin adds people to their own unit only", hint="leave out --unit")
