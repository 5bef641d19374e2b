"""Roles, unit names and targets, and whom a people admin reaches (pure rules)."""

from __future__ import annotations

import pytest

from custody.domain.people import (
    CONTENT_ROLES,
    PEOPLE_ADMINS,
    Member,
    Role,
    check_may_add,
    check_unit_membership,
    check_unit_name,
    may_manage,
    may_see,
    parse_role,
    split_unit_target,
    unit_label,
)
from custody.errors import Forbidden, InvalidInput

ORG, OTHER_ORG = "org-1", "org-2"
UNIT, OTHER_UNIT = "unit-1", "unit-2"
ORG_ADMIN = Member(ORG, None, Role.ADMIN)
UNIT_ADMIN = Member(ORG, UNIT, Role.UNIT_ADMIN)


def test_unit_admin_is_a_role_of_its_own() -> None:
    assert parse_role("unit-admin") is Role.UNIT_ADMIN
    assert Role.ADMIN.value == "admin"  # the organisation admin keeps its value
    assert {Role.ADMIN, Role.UNIT_ADMIN} == PEOPLE_ADMINS
    assert Role.UNIT_ADMIN not in CONTENT_ROLES
    with pytest.raises(InvalidInput) as refused:
        parse_role("unit_admin")
    assert "unit-admin" in (refused.value.hint or "")


def test_a_unit_admin_must_belong_to_a_unit() -> None:
    with pytest.raises(InvalidInput, match="must belong to a unit"):
        check_unit_membership(Role.UNIT_ADMIN, None)
    check_unit_membership(Role.UNIT_ADMIN, UNIT)
    check_unit_membership(Role.OFFICER, None)
    check_unit_membership(Role.ADMIN, None)


@pytest.mark.parametrize("name", ["RASSO Unit", "CID (North)", "Child Abuse Investigation Unit"])
def test_unit_names_like_organisation_names(name: str) -> None:
    assert check_unit_name(f"  {name} ") == name


@pytest.mark.parametrize("name", ["", "x", "A/B", "<script>", "x" * 81, "Unit\nTwo"])
def test_bad_unit_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid unit name"):
        check_unit_name(name)


def test_unit_targets() -> None:
    assert split_unit_target("CPS Thames and Chiltern/RASSO") == (
        "CPS Thames and Chiltern",
        "RASSO",
    )
    # As custody shows it, so a label can be pasted back.
    assert split_unit_target("CPS Thames and Chiltern / RASSO") == (
        "CPS Thames and Chiltern",
        "RASSO",
    )
    assert split_unit_target("CPS Thames and Chiltern") is None
    for bad in ("/RASSO", "CPS/", "A/B/C"):
        with pytest.raises(InvalidInput):
            split_unit_target(bad)
    assert unit_label("CPS", "RASSO") == "CPS / RASSO"
    assert unit_label("CPS", None) == "CPS"


@pytest.mark.parametrize("role", sorted(CONTENT_ROLES))
def test_a_unit_admin_manages_content_roles_of_their_unit_only(role: Role) -> None:
    assert may_manage(UNIT_ADMIN, Member(ORG, UNIT, role))
    assert not may_manage(UNIT_ADMIN, Member(ORG, OTHER_UNIT, role))
    assert not may_manage(UNIT_ADMIN, Member(ORG, None, role))
    assert not may_manage(UNIT_ADMIN, Member(OTHER_ORG, UNIT, role))


@pytest.mark.parametrize("role", [Role.UNIT_ADMIN, Role.ADMIN, Role.AUDITOR])
def test_a_unit_admin_sees_but_does_not_manage_other_roles_in_their_unit(role: Role) -> None:
    person = Member(ORG, UNIT, role)
    assert may_see(UNIT_ADMIN, person)
    assert not may_manage(UNIT_ADMIN, person)


@pytest.mark.parametrize("role", list(Role))
def test_an_organisation_admin_reaches_their_organisation_only(role: Role) -> None:
    assert may_manage(ORG_ADMIN, Member(ORG, None, role))
    assert may_manage(ORG_ADMIN, Member(ORG, OTHER_UNIT, role))
    assert not may_see(ORG_ADMIN, Member(OTHER_ORG, None, role))
    assert not may_manage(ORG_ADMIN, Member(OTHER_ORG, None, role))


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUDITOR])
def test_other_roles_reach_nobody(role: Role) -> None:
    someone = Member(ORG, UNIT, role)
    assert not may_see(someone, Member(ORG, UNIT, Role.OFFICER))
    assert not may_manage(someone, Member(ORG, UNIT, Role.OFFICER))
    # A unit admin who lost their unit reaches nobody, not the people without one.
    assert not may_see(Member(ORG, None, Role.UNIT_ADMIN), Member(ORG, None, Role.OFFICER))


def test_who_may_add_whom() -> None:
    for role in CONTENT_ROLES:
        check_may_add(UNIT_ADMIN, role, UNIT)
    for role in (Role.ADMIN, Role.AUDITOR):
        with pytest.raises(Forbidden, match="prosecutors and paralegals only"):
            check_may_add(UNIT_ADMIN, role, UNIT)
    with pytest.raises(Forbidden):
        check_may_add(UNIT_ADMIN, Role.UNIT_ADMIN, UNIT)
    with pytest.raises(Forbidden, match="own unit"):
        check_may_add(UNIT_ADMIN, Role.OFFICER, OTHER_UNIT)
    with pytest.raises(Forbidden, match="own unit"):
        check_may_add(UNIT_ADMIN, Role.OFFICER, None)
    for role in Role:
        check_may_add(ORG_ADMIN, role, UNIT)
    check_may_add(ORG_ADMIN, Role.AUDITOR, None)
    with pytest.raises(InvalidInput, match="must belong to a unit"):
        check_may_add(ORG_ADMIN, Role.UNIT_ADMIN, None)
    with pytest.raises(Forbidden):
        check_may_add(Member(ORG, UNIT, Role.OFFICER), Role.OFFICER, UNIT)
