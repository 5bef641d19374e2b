"""Who may do what: the named policies every route declares, decided in one place.

Pure: no I/O. ``custody.http.policy`` applies these to requests; the services
add the per-object checks (organisation, case, item) that need the database.

A policy needs a role and a token scope::

    PUBLIC          anyone, no token (the log's public API, login, the notice)
    ENROLMENT       only the short-lived token a first login hands out
    AUTHENTICATED   any full token (who am I, my tokens)
    CONTENT_READ    officer/prosecutor/paralegal with scope "read"
    CONTENT_SEND    officer/prosecutor/paralegal with scope "send"
    AUDIT_READ      content roles or auditor with scope "read", or a unit admin (scope
                    "admin", the only one they hold): trails and reports, never content
    PEOPLE_ADMIN    an organisation admin or a unit admin, scope "admin": people, units
    ADMIN           an organisation admin with scope "admin": organisation-wide things
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from custody.domain.people import CONTENT_ROLES, PEOPLE_ADMINS, Role
from custody.errors import Forbidden, InvalidInput, NotAuthenticated


class Scope(StrEnum):
    """What a token may be used for: a token carries some of the scopes its holder's role
    may hold (``custody login --scope`` asks for fewer)."""

    READ = "read"
    SEND = "send"
    ADMIN = "admin"
    # Not grantable: marks the token a first login hands out, good for enrolment only.
    ENROL = "enrol"


class Policy(StrEnum):
    """The named policies of the module docstring: every route declares one."""

    PUBLIC = "public"
    ENROLMENT = "enrolment"
    AUTHENTICATED = "authenticated"
    CONTENT_READ = "content:read"
    CONTENT_SEND = "content:send"
    AUDIT_READ = "audit:read"
    PEOPLE_ADMIN = "people:admin"
    ADMIN = "admin"


# (roles allowed, scopes of which the token needs one); None means "any".
_RULES: dict[Policy, tuple[frozenset[Role] | None, frozenset[Scope] | None]] = {
    Policy.AUTHENTICATED: (None, None),
    Policy.CONTENT_READ: (CONTENT_ROLES, frozenset({Scope.READ})),
    Policy.CONTENT_SEND: (CONTENT_ROLES, frozenset({Scope.SEND})),
    # A unit admin's tokens carry "admin" only; no other role holding "admin" reads trails.
    Policy.AUDIT_READ: (
        CONTENT_ROLES | {Role.AUDITOR, Role.UNIT_ADMIN},
        frozenset({Scope.READ, Scope.ADMIN}),
    ),
    Policy.PEOPLE_ADMIN: (PEOPLE_ADMINS, frozenset({Scope.ADMIN})),
    Policy.ADMIN: (frozenset({Role.ADMIN}), frozenset({Scope.ADMIN})),
}

# What each role may ask for, and what it gets when it asks for nothing.
_GRANTABLE: dict[Role, frozenset[Scope]] = {
    **{role: frozenset({Scope.READ, Scope.SEND}) for role in CONTENT_ROLES},
    Role.AUDITOR: frozenset({Scope.READ}),
    Role.ADMIN: frozenset({Scope.ADMIN}),
    Role.UNIT_ADMIN: frozenset({Scope.ADMIN}),
}


def _holdable(role: str) -> frozenset[Scope]:
    try:
        return _GRANTABLE.get(Role(role), frozenset())
    except ValueError:  # a role this version does not know holds nothing
        return frozenset()


def parse_scopes(text: str | Iterable[str]) -> frozenset[Scope]:
    """Scopes from ``"read send"`` or ``["read", "send"]``; unknown names are refused."""
    names = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    try:
        return frozenset(Scope(n) for n in names)
    except ValueError:
        choices = ", ".join(s.value for s in Scope if s is not Scope.ENROL)
        raise InvalidInput(
            f"unknown scope in {' '.join(names)!r}", hint=f"choose from: {choices}"
        ) from None


def format_scopes(scopes: Iterable[Scope | str]) -> str:
    return " ".join(sorted(str(s) for s in scopes))


def grant(role: str, requested: Iterable[Scope] | None) -> frozenset[Scope]:
    """The scopes a new token for ``role`` carries: all it may have, or the subset asked for."""
    allowed = _GRANTABLE.get(Role(role), frozenset())
    if not requested:
        return allowed
    wanted = frozenset(requested)
    if not wanted <= allowed:
        extra = format_scopes(wanted - allowed)
        raise Forbidden(
            f"a {role} cannot hold a token with scope {extra}",
            hint=f"a {role} may ask for: {format_scopes(allowed) or 'nothing'}",
        )
    return wanted


def permits(policy: Policy, role: str | None, scopes: frozenset[Scope] | None) -> bool:
    """Whether :func:`decide` lets this caller through: what a page offers a person (a link,
    a button) is what they may use, by the same rules that decide the request."""
    try:
        decide(policy, role, scopes)
    except (Forbidden, NotAuthenticated):
        return False
    return True


def decide(policy: Policy, role: str | None, scopes: frozenset[Scope] | None) -> None:
    """Raise unless a caller with ``role`` and a token of ``scopes`` passes ``policy``.

    ``role is None`` is an anonymous caller. An enrolment token passes ENROLMENT only,
    and ENROLMENT passes nothing else: without a second factor there is no way in.
    """
    if policy is Policy.PUBLIC:
        return
    if role is None or scopes is None:
        raise NotAuthenticated("this needs a login", hint="run `custody login --server URL` first")
    enrolling = Scope.ENROL in scopes
    if policy is Policy.ENROLMENT or enrolling:
        if policy is Policy.ENROLMENT and enrolling:
            return
        if enrolling:
            raise NotAuthenticated("set up your second factor first", hint="finish `custody login`")
        raise Forbidden("this is only for setting up a second factor, which you have done")
    roles, needed = _RULES[policy]
    if roles is not None and role not in roles:
        raise Forbidden(f"a {role} may not do this ({policy.value})")
    # A scope counts only if the role may hold it (a token carrying more is refused, not used).
    holdable = _holdable(role)
    if needed is not None and not needed & scopes & holdable:
        # Name the scope this role can actually get (a unit admin: admin; others: read).
        scope = min(needed & holdable or needed)
        raise Forbidden(
            f"this token lacks the {scope.value!r} scope",
            hint=f"log in again with `custody login --scope {scope.value}`",
        )
