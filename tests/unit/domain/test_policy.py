"""The access policies: which role with which token scope passes which policy."""

from __future__ import annotations

import pytest

from custody.domain.policy import Policy, Scope, decide, grant, parse_scopes
from custody.errors import Forbidden, InvalidInput, NotAuthenticated

FULL = frozenset({Scope.READ, Scope.SEND})
READ = frozenset({Scope.READ})
ENROL = frozenset({Scope.ENROL})
ADMIN = frozenset({Scope.ADMIN})

ALLOWED = {
    (Policy.CONTENT_SEND, "officer", FULL),
    (Policy.CONTENT_READ, "paralegal", READ),
    (Policy.AUDIT_READ, "auditor", READ),
    (Policy.AUDIT_READ, "prosecutor", FULL),
    (Policy.ADMIN, "admin", ADMIN),
    (Policy.PEOPLE_ADMIN, "admin", ADMIN),
    (Policy.PEOPLE_ADMIN, "unit-admin", ADMIN),
    (Policy.AUDIT_READ, "unit-admin", ADMIN),  # trails and reports with the one scope they hold
    (Policy.AUTHENTICATED, "unit-admin", ADMIN),
    (Policy.AUTHENTICATED, "auditor", READ),
    (Policy.ENROLMENT, "officer", ENROL),
}
REFUSED = [
    (Policy.CONTENT_SEND, "officer", READ, Forbidden),  # scope
    (Policy.CONTENT_READ, "auditor", READ, Forbidden),  # never content
    (Policy.AUDIT_READ, "admin", ADMIN, Forbidden),
    (Policy.ADMIN, "officer", FULL, Forbidden),
    (Policy.ADMIN, "unit-admin", ADMIN, Forbidden),  # nothing organisation-wide
    (Policy.PEOPLE_ADMIN, "officer", FULL, Forbidden),
    (Policy.PEOPLE_ADMIN, "auditor", READ, Forbidden),
    (Policy.PEOPLE_ADMIN, "admin", READ, Forbidden),  # scope
    (Policy.CONTENT_READ, "unit-admin", ADMIN, Forbidden),  # never content
    (Policy.CONTENT_SEND, "unit-admin", ADMIN, Forbidden),
    (Policy.AUDIT_READ, "auditor", ADMIN, Forbidden),  # an auditor's trail scope is read
    (Policy.CONTENT_READ, "officer", ENROL, NotAuthenticated),  # no second factor yet
    (Policy.AUTHENTICATED, "officer", ENROL, NotAuthenticated),
    (Policy.ENROLMENT, "officer", FULL, Forbidden),
    (Policy.AUTHENTICATED, None, None, NotAuthenticated),
]


@pytest.mark.parametrize(("policy", "role", "scopes"), sorted(ALLOWED, key=str))
def test_allowed(policy: Policy, role: str, scopes: frozenset[Scope]) -> None:
    decide(policy, role, scopes)


@pytest.mark.parametrize(("policy", "role", "scopes", "error"), REFUSED)
def test_refused(policy: Policy, role: str | None, scopes: frozenset[Scope] | None,
                 error: type[Exception]) -> None:
    with pytest.raises(error):
        decide(policy, role, scopes)


def test_public_needs_nothing() -> None:
    decide(Policy.PUBLIC, None, None)


def test_grant_defaults_and_limits() -> None:
    assert grant("officer", None) == FULL
    assert grant("auditor", None) == READ
    assert grant("admin", None) == ADMIN
    assert grant("unit-admin", None) == ADMIN
    assert grant("unit-admin", ADMIN) == ADMIN
    with pytest.raises(Forbidden):
        grant("unit-admin", READ)
    with pytest.raises(Forbidden):
        grant("unit-admin", FULL)
    assert grant("prosecutor", READ) == READ
    with pytest.raises(Forbidden):
        grant("auditor", FULL)
    with pytest.raises(Forbidden):
        grant("officer", ENROL)  # never grantable by asking


def test_parse_scopes() -> None:
    assert parse_scopes("read, send") == FULL
    with pytest.raises(InvalidInput):
        parse_scopes("read write")


def test_a_missing_scope_names_one_the_role_can_have() -> None:
    with pytest.raises(Forbidden) as refused:
        decide(Policy.AUDIT_READ, "auditor", frozenset({Scope.SEND}))
    assert "--scope read" in (refused.value.hint or "")
    with pytest.raises(Forbidden) as refused:
        decide(Policy.AUDIT_READ, "unit-admin", frozenset())
    assert "--scope admin" in (refused.value.hint or "")
