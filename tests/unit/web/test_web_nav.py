"""The header offers each person the pages their role may open, decided by the same policies
as the pages themselves (``may`` in web/pages.py): an auditor or an admin is never offered an
inbox that would answer 403, and every link offered opens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custody.domain.people import Role
from custody.services import units
from support.browser import Browser
from support.in_process import in_process
from support.world import CPS, POLICE

NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
LINK = re.compile(r'<a href="(/[^"]*)">')
EXPECTED = {
    Role.OFFICER: {"/inbox", "/outbox", "/cases", "/send", "/keys", "/audit"},
    Role.PROSECUTOR: {"/inbox", "/outbox", "/cases", "/send", "/keys", "/audit"},
    Role.AUDITOR: {"/audit"},
    Role.ADMIN: {"/admin/people"},
    Role.UNIT_ADMIN: {"/admin/people", "/audit"},
}
ROLE_PAGES = {"/inbox", "/outbox", "/cases", "/send", "/keys", "/admin/people", "/audit"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_role_is_offered_exactly_the_pages_it_may_open(db_url: str, tmp_path: Path) -> None:
    with in_process(tmp_path, db_url) as w:
        for role, expected in EXPECTED.items():
            org = CPS if role is Role.PROSECUTOR else POLICE
            unit = "Interview Unit" if role is Role.UNIT_ADMIN else None
            if unit:
                units.create_unit(w.ctx, org, unit)
            member = w.add(role.value, f"{role.value}@example.org", org, role, unit=unit)
            browser = Browser(w)
            browser.sign_in(member)
            page = browser.client.get("/security")
            assert page.status_code == 200, page.text
            (nav,) = NAV.findall(page.text)
            offered = set(LINK.findall(nav)) & ROLE_PAGES
            assert offered == expected, role
            for path in offered:
                assert browser.client.get(path).status_code in (200, 303), (role, path)
            for path in ROLE_PAGES - offered:
                assert browser.client.get(path).status_code == 403, (role, path)


TITLE = re.compile(r"<title>(.*?) · custody</title>")
OWN_PAGES = {"/inbox", "/outbox", "/cases", "/send", "/keys", "/audit", "/security", "/notices",
             "/settings/notifications", "/incidents", "/incidents/new", "/retention"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_page_has_a_title_of_its_own(db_url: str, tmp_path: Path) -> None:
    """The browser tab and history name the page, not just "custody"."""
    with in_process(tmp_path, db_url) as w:
        browser = Browser(w)
        browser.sign_in(w.add("pros", "pros@example.org", CPS, Role.PROSECUTOR))
        titles = {}
        for path in sorted(OWN_PAGES):
            page = browser.client.get(path)
            assert page.status_code == 200, (path, page.text[:200])
            (titles[path],) = TITLE.findall(page.text)
        assert "custody" not in titles.values(), titles
        assert len(set(titles.values())) == len(titles), titles
