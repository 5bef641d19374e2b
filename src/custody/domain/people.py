"""Organisations, roles and what each role may do."""

from __future__ import annotations

import re
from enum import StrEnum

from custody.errors import Forbidden, InvalidInput


class OrgKind(StrEnum):
    POLICE = "police"
    PROSECUTION = "prosecution"
    COURT = "court"
    DEFENCE = "defence"


class Role(StrEnum):
    OFFICER = "officer"
    PROSECUTOR = "prosecutor"
    PARALEGAL = "paralegal"
    ADMIN = "admin"
    AUDITOR = "auditor"


# Roles that handle content: they may hold keys, send and receive case material.
CONTENT_ROLES = frozenset({Role.OFFICER, Role.PROSECUTOR, Role.PARALEGAL})

_EMAIL = re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)+$")
_ORG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,'&()\-]{1,79}$")


def normalise_email(text: str) -> str:
    """Lower-cased ASCII e-mail address; anything else is refused, not guessed at."""
    email = text.strip().lower()
    if not email.isascii() or not _EMAIL.match(email):
        raise InvalidInput(
            f"{text!r} is not an e-mail address custody accepts",
            hint="use a plain ASCII address such as alex.smith@police.example",
        )
    return email


def check_org_name(name: str) -> str:
    name = name.strip()
    if not _ORG_NAME.match(name):
        raise InvalidInput(
            f"{name!r} is not a valid organisation name",
            hint="2-80 characters: letters, digits, spaces and . , ' & ( ) -",
        )
    return name


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {text!r}", hint=f"choose one of: {choices}") from None


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
