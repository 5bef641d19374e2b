"""Every page of the web application passes axe-core (WCAG 2.0/2.1 A and AA, 2.2 AA) with no
violation, at 1280 px and at 390 px wide, and scrolls no sideways at either (reflow), in real
Chromium against a real ``custody serve``, signed in as a role that may see it, with real
objects behind its path parameters (a sent transfer, its item, its case, an incident...).

The pages are not listed by hand: every GET route the web application declares
(``is_web`` in ``custody.http.policy``, as the authorisation matrix walks them) is visited,
so a page added later is checked, or fails this test as "not visited" until it is made
visitable. To make a new page visitable:

- a path parameter this test has no object for: add ``"name": lambda s: s.<object>`` to
  :data:`PARAMS` (make the object in :class:`Scene` if none fits);
- a page whose policy's default person (:data:`AS_POLICY`) may not see it (e.g. only the
  sender may): add ``"/its/{path}": "officer"`` to :data:`AS_PAGE`;
- a GET route that is no page (a download, an asset, a redirect elsewhere): add it to
  :data:`NOT_PAGES` with the reason;
- a state of a page worth checking too (a filled form, a filter): add its URL to
  :data:`MORE`.

With ``CUSTODY_SCREENSHOTS=1`` (``scripts/screenshots.sh``) the walk also saves each page, at
1280 px, into ``docs/screenshots/`` for docs/web.md (:mod:`support.screenshots`: the names
come from the routes; a page added later needs its entry in docs/web.md, which
tests/unit/web/test_web_screenshots_documented.py checks).

SQLite only: the pages are the same on both backends.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from custody.domain.policy import Policy
from custody.http.policy import declared_routes, is_web
from custody.web import routers
from support import screenshots
from support.axe import assert_accessible
from support.chromium import sign_in
from support.server import People, Person, Server, item_ids, make_file, new_case, new_person
from support.world import POLICE

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]

# Who looks at a page, by its policy; "newbie" is a person signed in with a password and no
# second factor yet (the enrolment page's only visitor), "anonymous" nobody.
AS_POLICY: dict[Policy, str] = {
    Policy.PUBLIC: "anonymous",
    Policy.ENROLMENT: "newbie",
    Policy.AUTHENTICATED: "prosecutor",
    Policy.CONTENT_READ: "prosecutor",
    Policy.CONTENT_SEND: "officer",
    Policy.AUDIT_READ: "auditor",
    Policy.PEOPLE_ADMIN: "admin",
    Policy.ADMIN: "admin",
}
# ...and where a page's object is for someone else than its policy's default person.
AS_PAGE: dict[str, str] = {
    "/transfers/{transfer_id}/revoke": "officer",  # the sender revokes
    "/reports/{ref}": "officer",  # the sender's access report
    "/incidents/{incident_id}": "officer",  # who opened it
    "/retention": "officer",
}
# GET routes that are not pages of their own.
NOT_PAGES: dict[str, str] = {
    "/static/{path:path}": "the pages' stylesheet and scripts",
    "/bundle/{ref}": "a download: the evidence bundle (zip)",
    "/reports/{ref}/export.csv": "a download: the access report as CSV",
    "/reports/{ref}/export.json": "a download: the access report as JSON",
}
# Path parameters -> the real object behind them.
PARAMS: dict[str, Callable[[Scene], str]] = {
    "transfer_id": lambda s: s.transfer,
    "item_id": lambda s: s.item,
    "ref": lambda s: s.transfer,
    "urn": lambda s: s.case,
    "incident_id": lambda s: s.incident,
    "user_id": lambda s: s.officer.account.user_id,
}
# More states of pages: (who, URL with its object filled in by str.format on the Scene).
MORE: list[tuple[str, str]] = [
    ("officer", "/retention?ref={s.case}"),
    ("officer", "/incidents/new?ref={s.transfer}"),
    ("prosecutor", "/inbox?state=sent"),
    ("prosecutor", "/no/such/page"),  # the error page
    ("anonymous", "/inbox"),  # no session: the error page that leads to sign-in
]


class Scene:
    """A transfer from the officer to the prosecutor (its case, its item), an incident on
    another, and the people who look at the pages."""

    case: str
    transfer: str
    item: str
    incident: str
    officer: Person

    def __init__(self, server: Server, people: People, tmp_path: Path) -> None:
        self.server = server
        self.officer, self.prosecutor = people.officer, people.prosecutor
        self.case = new_case(self.officer)
        self.transfer = self.officer.send(
            [make_file(tmp_path / "out", "statement.pdf", 2048)], self.case,
            self.prosecutor.account.org)
        (self.item,) = item_ids(self.officer, self.transfer)
        # An incident suspends what it is opened on: a transfer of its own.
        wrong = self.officer.send([make_file(tmp_path / "wrong", "note.txt", 512)], self.case,
                                  self.prosecutor.account.org)
        with self.officer.api() as api:
            made = api.post("/api/v1/incidents",
                            json={"ref": wrong, "reason": "sent to the wrong unit"})
        assert made.status_code == 201, made.text
        self.incident = str(made.json()["id"])
        tag = uuid.uuid4().hex[:8]
        home = server.work / "a11y"
        self.admin = new_person(server, home / f"admin-{tag}", f"a11y-admin-{tag}",
                                f"admin.{tag}@tvp.police.example", POLICE, "admin", keys=False)
        self.auditor = new_person(server, home / f"auditor-{tag}", f"a11y-auditor-{tag}",
                                  f"auditor.{tag}@tvp.police.example", POLICE, "auditor",
                                  keys=False)
        # No second factor yet: signs in with the password alone, to the enrolment page.
        self.newbie = Person(server, server.add_user(
            f"a11y-newbie-{tag}", f"new.{tag}@tvp.police.example", POLICE, "officer"),
            home / f"newbie-{tag}")

    def stand_ins(self) -> dict[str, str]:
        """What this run made up -> what the screenshots show instead (ids and times are
        replaced by :data:`support.screenshots.GENERIC`)."""
        tag = self.admin.email.split("@")[0].removeprefix("admin.")
        return {self.case: "43AB0012326", tag: "d0c5d0c5"}

    def person(self, who: str) -> Person | None:
        return {"officer": self.officer, "prosecutor": self.prosecutor, "admin": self.admin,
                "auditor": self.auditor, "newbie": self.newbie}.get(who)


@pytest.fixture(scope="module")
def scene(server: Server, people: People, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return Scene(server, people, tmp_path_factory.mktemp("a11y"))


def pages() -> list[tuple[str, Policy]]:
    """Every GET page the web application declares, with its policy."""
    routes = [r for router in routers for r in router.routes]
    return sorted({(d.path, d.policy) for d in declared_routes(routes)
                   if is_web(d.route) and "GET" in d.methods and d.policy is not None})


def visits(scene: Scene) -> tuple[dict[str, list[tuple[str, str | None]]], list[str]]:
    """URLs to check, by who looks, each with the name of its screenshot (None: none); and
    the pages that could not be visited, with why."""
    by_who: dict[str, list[tuple[str, str | None]]] = {}
    missing: list[str] = []
    for path, policy in pages():
        if path in NOT_PAGES:
            continue
        names = re.findall(r"\{([^}:]+)[^}]*\}", path)
        unknown = [n for n in names if n not in PARAMS]
        if unknown:
            missing.append(f"{path}: no object for {', '.join(unknown)} (add it to PARAMS)")
            continue
        url = re.sub(r"\{([^}:]+)[^}]*\}", lambda m: PARAMS[m[1]](scene), path)
        shot = None if path in screenshots.REDIRECTS else screenshots.name_of(path)
        by_who.setdefault(AS_PAGE.get(path, AS_POLICY[policy]), []).append((url, shot))
    for who, url in MORE:
        by_who.setdefault(who, []).append((url.format(s=scene), screenshots.EXTRA.get((who, url))))
    return by_who, missing


def signed_in_as(context: BrowserContext, server: Server, scene: Scene, who: str) -> Page:
    page = context.new_page()
    person = scene.person(who)
    if person is None:
        return page
    if who == "newbie":
        sign_in(page, server, person, code=False)
        page.click("#sign-in")
        page.wait_for_url("**/enrol")
        return page
    page.goto(f"{server.web_url}/login")
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    page.fill("#code", person.code())
    page.click("#sign-in")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_every_page_passes_axe_at_desktop_and_phone_widths(
    server: Server, scene: Scene, chromium: Any
) -> None:
    by_who, missing = visits(scene)
    problems = list(missing)
    checked: list[str] = []
    for who, urls in sorted(by_who.items()):
        context = chromium.new_context()
        context.set_default_timeout(60_000)
        try:
            page = signed_in_as(context, server, scene, who)
            for url, shot in urls:
                response = page.goto(f"{server.web_url}{url}", wait_until="networkidle")
                assert response is not None
                if response.status >= 400 and "/no/such/page" not in url and who != "anonymous":
                    problems.append(f"{url} as {who}: HTTP {response.status} (not visited: "
                                    "give it a person who may see it in AS_PAGE)")
                    continue
                try:
                    assert_accessible(page)
                except AssertionError as failure:
                    problems.append(f"{url} as {who}:\n{failure}")
                checked.append(url)
                if shot is not None and screenshots.enabled():
                    screenshots.save(page, shot, scene.stand_ins())
        finally:
            context.close()
    assert not problems, "\n\n".join(problems)
    # The walk really went through the pages of every role (and the first sign-in's).
    assert {"/login", "/activate", "/enrol", "/inbox", "/send", "/security", "/admin/people",
            "/audit", f"/transfers/{scene.transfer}"} <= set(checked), checked
