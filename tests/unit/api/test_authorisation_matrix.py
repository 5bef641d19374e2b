"""The authorisation matrix: every route of the app, every kind of actor, allow or deny.

Routes are enumerated from ``app.routes`` (JSON API, tus, the public log, health),
so a new endpoint is in the matrix the moment it exists; one that declares no
policy fails it. Actors: anonymous, another organisation, same organisation
wrong role, right role, a revoked token, an expired token. The web application's
pages (``requires(..., web=True)``) are called the way a browser would: with a
session cookie instead of a bearer token, and a valid CSRF token and our own
``Origin`` on every POST, so that only the policy decides.

"Allowed" means past the policy: any answer but 401, 403 or 404 (an empty body
earns a 400, which is fine). Bodies are empty except where an object check can
only be reached with a valid one (``EXAMPLE_BODIES``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import BaseRoute

from custody.domain.people import Role
from custody.domain.policy import Policy, Scope
from custody.http.deps import LOGIN_COOKIE, SESSION_COOKIE
from custody.http.policy import declared_routes, is_web, requires, undeclared
from custody.services import tokens, units, web_sessions
from custody.services.tokens import hash_token
from custody.store.models import ApiToken, User
from custody.store.models_security import WebAuthnCredential
from support.in_process import InProcess, TestClient, in_process
from support.world import CPS, OTHER, POLICE

DENIED = {401, 403, 404}
WEB = "https://testserver"  # Secure cookies need https, as in a browser
OBJECT_PARAMS = {"transfer_id", "item_id", "upload_id", "ref", "token_id", "incident_id",
                 "user_id", "key_id", "view_id", "urn"}
# Routes that act on a transfer still being put together; the rest act on a sent one.
ON_DRAFT = {"/api/v1/transfers/{transfer_id}/items", "/api/v1/items/{item_id}/seal",
            "/api/v1/transfers/{transfer_id}/send"}
EXAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/transfers/{transfer_id}/items"): {"ciphertext_size": 10},
    ("POST", "/api/v1/items/{item_id}/seal"): {
        "sealed_manifest": "AAAA", "manifest_sha256": "ab" * 32, "wraps": {}},
    ("POST", "/api/v1/items/{item_id}/receipt"): {"manifest_sha256": "ab" * 32, "verified": True},
    ("POST", "/api/v1/transfers/{transfer_id}/revoke"): {"reason": "sent in error"},
    ("POST", "/api/v1/transfers/{transfer_id}/ack"): {"without_receipt": True},
    ("POST", "/api/v1/items/{item_id}/shares"): {
        "email": "b.okafor@cps.example", "wrap": "AAAA", "key_index": 0},
    ("POST", "/api/v1/transfers/{transfer_id}/subjects"): {"subjects": ["V1"]},
    ("POST", "/api/v1/people/{user_id}/disable"): {"reason": "left the unit"},
    ("POST", "/api/v1/people/{user_id}/reset-second-factor"): {"reason": "phone lost"},
    ("POST", "/api/v1/people/{user_id}/unit"): {"unit": "Interview Unit"},
    # The web's forms (sent as form fields beside the CSRF token).
    ("POST", "/admin/people/{user_id}/disable"): {"reason": "left the unit", "confirm": "yes"},
    ("POST", "/admin/people/{user_id}/reset-second-factor"): {
        "reason": "phone lost", "confirm": "yes"},
    ("POST", "/admin/people/{user_id}/unit"): {"unit": "Interview Unit"},
}

# ...and headers, where a protocol checks them before the object.
EXAMPLE_HEADERS: dict[tuple[str, str], dict[str, str]] = {
    ("PATCH", "/api/v1/uploads/{upload_id}"): {
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
}

# ...and query parameters, which are checked before the object too.
EXAMPLE_QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/items/{item_id}/share-target"): {"email": "b.okafor@cps.example"},
}


# policy -> (right actor, same-organisation wrong role or None, other-organisation actor)
CAST: dict[Policy, tuple[str, str | None, str]] = {
    Policy.PUBLIC: ("anonymous", None, "outsider"),
    Policy.ENROLMENT: ("newbie", "officer", "newbie_other"),
    Policy.AUTHENTICATED: ("officer", None, "outsider"),
    Policy.CONTENT_SEND: ("officer", "auditor_police", "outsider"),
    Policy.CONTENT_READ: ("prosecutor", "auditor_cps", "outsider"),
    Policy.AUDIT_READ: ("auditor_cps", "admin_cps", "auditor_other"),
    Policy.PEOPLE_ADMIN: ("admin_police", "officer", "admin_other"),
    # A unit admin holds the "admin" scope but nothing organisation-wide.
    Policy.ADMIN: ("admin_police", "unit_admin_police", "admin_other"),
}


class Matrix:
    def __init__(self, w: InProcess) -> None:
        self.w = w
        add = w.add
        add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        add("auditor_police", "auditor@tvp.police.example", POLICE, Role.AUDITOR)
        add("admin_police", "admin@tvp.police.example", POLICE, Role.ADMIN)
        add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        add("auditor_cps", "auditor@cps.example", CPS, Role.AUDITOR)
        add("admin_cps", "admin@cps.example", CPS, Role.ADMIN)
        add("outsider", "pc.reid@northshire.police.example", OTHER, Role.OFFICER)
        add("auditor_other", "auditor@northshire.police.example", OTHER, Role.AUDITOR)
        add("admin_other", "admin@northshire.police.example", OTHER, Role.ADMIN)
        units.create_unit(w.ctx, POLICE, "Interview Unit")
        add("unit_admin_police", "unit.admin@tvp.police.example", POLICE, Role.UNIT_ADMIN,
            unit="Interview Unit")
        # Whom people admins act on (the right role disables, resets and moves them).
        add("member", "pc.member@tvp.police.example", POLICE, Role.OFFICER, enrol=False,
            unit="Interview Unit")
        with w.ctx.unit_of_work() as session:
            self.member_id = session.scalars(
                select(User.id).where(User.email == "pc.member@tvp.police.example")).one()
        add("newbie", "new.officer@tvp.police.example", POLICE, Role.OFFICER, enrol=False)
        add("newbie_other", "new@northshire.police.example", OTHER, Role.OFFICER, enrol=False)
        for key in ("officer", "prosecutor", "outsider"):
            w.register_keys(w.members[key])
        self.sent = w.transfer(w.members["officer"], CPS, "47TV0000001", send=True)
        self.draft = w.transfer(w.members["officer"], CPS, "47TV0000002", send=False)
        spoiled = w.transfer(w.members["officer"], CPS, "47TV0000003", send=True)
        opened = w.client.post("/api/v1/incidents", headers=w.members["officer"].auth,
                               json={"ref": spoiled["transfer"], "reason": "wrong recipient"})
        assert opened.status_code == 201, opened.text
        self.incident = str(opened.json()["id"])
        # Someone to share with: joins after the transfers, so is not a reader yet.
        w.register_keys(add("colleague", "b.okafor@cps.example", CPS, Role.PROSECUTOR))
        self.web = {r.path: r.policy for r in declared_routes(w.app.routes) if is_web(r.route)}
        self.browser = TestClient(w.app, base_url=WEB, follow_redirects=False,
                                  raise_server_exceptions=False)

    def token(self, key: str) -> str | None:
        """A fresh token of ``key`` (routes such as "revoke all" spend the one they use)."""
        if key == "anonymous":
            return None
        member = self.w.members[key]
        if member.totp is None:
            return str(self.w.post_login(member).json()["token"])
        return str(self.w.login(member)["token"])

    def spoiled(self, key: str, how: str) -> str:
        return self._spoil(self.token(key), how)

    def _spoil(self, token: str | None, how: str) -> str:
        """``token``, ``how`` "revoked" or else expired a second ago."""
        assert token is not None
        with self.w.ctx.unit_of_work() as session:
            row = session.scalars(
                select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()
            if how == "revoked":
                row.revoked_at = self.w.clock.now()
            else:
                row.expires_at = self.w.clock.now() - timedelta(seconds=1)
        return token

    # ── the web application: session cookies, CSRF tokens ──

    def session(self, key: str) -> str | None:
        """A fresh browser session of ``key`` (made directly: the login page has its own tests)."""
        if key == "anonymous":
            return None
        with self.w.ctx.unit_of_work() as session:
            user_id = session.scalars(
                select(User.id).where(User.email == self.w.members[key].email)).one()
        if self.w.members[key].totp is None:
            # No second factor yet: what a first sign-in gets, a session good for /enrol only.
            with self.w.ctx.unit_of_work() as db:
                user = db.get_one(User, user_id)
                return tokens.issue(self.w.ctx, db, user, frozenset({Scope.ENROL}),
                                    timedelta(minutes=10), "browser", tokens.SESSION).token
        return web_sessions.issue(self.w.ctx, user_id, None).token

    def spoiled_session(self, key: str, how: str) -> str:
        return self._spoil(self.session(key), how)

    def viewing(self) -> str:
        """A viewing of the sent item by its recipient (anyone else's request for it is "not
        found", past the policy; the recipient's own is served)."""
        prosecutor = self.w.members["prosecutor"]
        made = self.w.client.post(f"/api/v1/items/{self.sent['item']}/views",
                                  headers={"Authorization": f"Bearer {self.token('prosecutor')}"})
        assert made.status_code == 201, (prosecutor.email, made.text)
        return str(made.json()["view"])

    def security_key(self, owner: str) -> str:
        """A security key of ``owner``'s to remove (only its row: no browser needed)."""
        with self.w.ctx.unit_of_work() as session:
            user_id = session.scalars(
                select(User.id).where(User.email == self.w.members[owner].email)).one()
            row = WebAuthnCredential(user_id=user_id, credential_id=f"matrix-{uuid.uuid4()}",
                                     public_key=b"\0", label="matrix",
                                     created_at=self.w.clock.now())
            session.add(row)
            session.flush()
            return row.id

    def web_call(self, method: str, template: str, path: str, session: str | None,
                 body: Any = None) -> int:
        """A browser's request: the session cookie, and for a POST our Origin and the form's
        CSRF token (the login form's, bound to a pre-session cookie, on a public page), beside
        the form's example fields, if any."""
        cookies, data = {}, None
        if session:
            cookies[SESSION_COOKIE] = session
        if method == "POST" and self.web[template] is Policy.PUBLIC:
            cookies[LOGIN_COOKIE] = "matrix-pre-session"
            data = {"csrf": web_sessions.login_csrf_token(self.w.ctx, "matrix-pre-session")}
        elif method == "POST" and session:
            with self.w.ctx.unit_of_work() as db:
                session_id = db.scalars(select(ApiToken.id).where(
                    ApiToken.token_hash == hash_token(session))).one()
            data = {"csrf": web_sessions.csrf_token(self.w.ctx, session_id)}
        if method == "POST" and body:
            data = {**(data or {}), **body}
        self.browser.cookies.clear()
        headers = {"Origin": WEB}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        response = self.browser.request(method, path, headers=headers, data=data)
        assert response.status_code < 500, (method, path, response.text)
        return response.status_code

    def path(self, template: str, policy: Policy, owner: str) -> str:
        target = self.draft if template in ON_DRAFT else self.sent
        values: dict[str, Callable[[], str]] = {
            "transfer_id": lambda: target["transfer"],
            "item_id": lambda: target["item"],
            "upload_id": lambda: self.draft["upload"],
            "ref": lambda: self.sent["item"],
            "urn": lambda: "47TV0000001",  # the sent transfer's case
            "index": lambda: "0",
            "path": lambda: "0/000",
            "incident_id": lambda: self.incident,
            "user_id": lambda: self.member_id,
            "key_id": lambda: self.security_key(owner),
            "asset": lambda: "custody.js",
            "token_id": lambda: self.w.login(self.w.members[owner])["token_id"],
            "view_id": self.viewing,
        }

        def fill(match: re.Match[str]) -> str:
            name = match[1].split(":")[0]
            assert name in values, f"{template}: the matrix has no value for {{{name}}}"
            return values[name]()

        return re.sub(r"\{([^}]+)\}", fill, template)

    def call(self, method: str, template: str, path: str, token: str | None,
             body: Any = None) -> int:
        if template in self.web:
            return self.web_call(method, template, path, token, body)
        # tus routes check the protocol version before the object: always speak it.
        headers = {"Tus-Resumable": "1.0.0", **EXAMPLE_HEADERS.get((method, template), {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.w.client.request(method, path, headers=headers, json=body,
                                         params=EXAMPLE_QUERIES.get((method, template)))
        assert response.status_code < 500, (method, path, response.text)
        return response.status_code


def _check(m: Matrix, problems: list[str], method: str, template: str, policy: Policy,
           owner: str, actor: str, token: str | None, allowed: bool, body: Any = None) -> None:
    status = m.call(method, template, m.path(template, policy, owner), token, body)
    denied = status in ({401, 403} if policy is Policy.PUBLIC else DENIED)
    if denied == allowed:
        problems.append(f"{method} {template} as {actor}: {status}")


def run_matrix(m: Matrix, routes: Sequence[BaseRoute] | None = None) -> list[str]:
    """Every (route, actor) whose answer is not what its declared policy says, walking
    ``routes`` (by default every route of the app)."""
    routes = m.w.app.routes if routes is None else routes
    problems = [f"{r}: declares no policy" for r in undeclared(routes)]
    for declared in declared_routes(routes):
        policy, route = declared.policy, declared.route
        if policy is None or not isinstance(route, APIRoute):
            continue
        right, wrong, other = CAST[policy]
        params = {p.split(":")[0] for p in re.findall(r"\{([^}]+)\}", declared.path)}
        on_object = bool(params & OBJECT_PARAMS)
        # Web pages: session cookies, never bearer tokens (and the other way round).
        token, spoiled = ((m.session, m.spoiled_session) if is_web(route)
                          else (m.token, m.spoiled))
        for method in sorted(declared.methods):
            check = partial(_check, m, problems, method, declared.path, policy, right)
            public = policy is Policy.PUBLIC
            check("anonymous", None, public)
            if wrong is not None:
                check("wrong role", token(wrong), False)
            example = EXAMPLE_BODIES.get((method, declared.path)) if on_object else None
            if on_object and route.body_field is not None and example is None:
                problems.append(f"{method} {declared.path}: add an example body to the matrix")
            check("other organisation", token(other), public or not on_object, example)
            if not public:
                check("revoked token", spoiled(right, "revoked"), False)
                check("expired token", spoiled(right, "expired"), False)
            # Last: the right role may change what it acts on (terminate, revoke, send).
            check("right role", token(right), True)
    return problems


@pytest.fixture
def matrix(tmp_path: Path) -> Any:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        yield Matrix(w)


@pytest.mark.slow  # over three seconds: the whole suite runs it, the fast run does not
def test_every_route_is_in_the_matrix_and_behaves(matrix: Matrix) -> None:
    paths = {r.path for r in declared_routes(matrix.w.app.routes)}
    # The matrix really does walk the tus, public-log and health routes too.
    assert {"/api/v1/uploads/{upload_id}", "/checkpoint", "/tile/{path:path}", "/healthz",
            "/api/v1/ledger/entries/{index}", "/openapi.json", "/api/v1/cases",
            "/api/v1/incidents"} <= paths
    # ...and the web application's pages, by session cookie.
    assert {"/login", "/inbox", "/transfers/{transfer_id}", "/transfers/{transfer_id}/ack",
            "/security/tokens/{token_id}/revoke", "/security/keys/{key_id}/remove",
            "/logout", "/admin/people", "/admin/people/{user_id}",
            "/admin/people/{user_id}/disable", "/admin/people/{user_id}/reset-second-factor",
            "/admin/people/{user_id}/unit", "/admin/units", "/admin/security-events",
            "/audit", "/notices", "/settings/notifications", "/incidents", "/incidents/new",
            "/incidents/{incident_id}", "/incidents/{incident_id}/reported",
            "/incidents/{incident_id}/close", "/retention", "/retention/hold"} <= set(matrix.web)
    assert run_matrix(matrix) == []


def _listed(m: Matrix, who: str, path: str, field: str, key: str) -> list[str]:
    """Every ``key`` of a paged list as ``who`` reads it, a page of one at a time."""
    found, after = [], None
    headers = {"Authorization": f"Bearer {m.token(who)}"}
    while True:
        params = {"limit": "1", **({"after": after} if after else {})}
        page = m.w.client.get(path, headers=headers, params=params)
        assert page.status_code == 200, page.text
        found += [str(row[key]) for row in page.json()[field]]
        if (after := page.json()["next"]) is None:
            return found


def test_the_lists_of_cases_and_incidents_hold_only_the_callers(matrix: Matrix) -> None:
    """A list is past the policy for anyone of the right role; what it holds is the caller's
    own: the sender sees their draft's case, a recipient never does, another organisation
    nothing; an admin of either organisation sees its incidents, an auditor none."""
    cases = partial(_listed, matrix, path="/api/v1/cases", field="cases", key="urn")
    incidents = partial(_listed, matrix, path="/api/v1/incidents", field="incidents", key="id")
    assert sorted(cases("officer")) == ["47TV0000001", "47TV0000002", "47TV0000003"]
    assert sorted(cases("prosecutor")) == ["47TV0000001", "47TV0000003"]
    assert cases("outsider") == []
    for who in ("officer", "prosecutor", "admin_police", "admin_cps"):
        assert incidents(who) == [matrix.incident], who
    for who in ("outsider", "auditor_cps", "admin_other", "unit_admin_police"):
        assert incidents(who) == [], who


def test_a_route_without_a_policy_fails_the_matrix(matrix: Matrix) -> None:
    app = matrix.w.app

    @app.get("/api/v1/sneaky")
    def sneaky() -> dict[str, str]:
        return {"case": "material"}

    @app.get("/api/v1/declared", dependencies=[requires(Policy.ADMIN)])
    def declared() -> dict[str, str]:
        return {}

    # The whole app is the other test's: the matrix walks the two new routes only.
    added = [r for r in app.routes if isinstance(r, APIRoute) and r.endpoint in (sneaky, declared)]
    assert len(added) == 2
    assert run_matrix(matrix, added) == ["GET /api/v1/sneaky: declares no policy"]
    assert undeclared(app.routes) == ["GET /api/v1/sneaky"]
