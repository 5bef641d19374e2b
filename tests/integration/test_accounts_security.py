"""Second factor, tokens and the system-use notice, end to end through the real CLI."""

from __future__ import annotations

import re

import httpx

from support.cli import assert_fails, ok
from support.server import Person, Server, new_person
from support.world import POLICE


def test_enrolment_from_the_cli(server: Server) -> None:
    home = server.work / "people" / "enrolling"
    person = new_person(
        server, home, "enrolling", "dc.enrol@tvp.police.example", POLICE, "officer", keys=False
    )
    assert person.totp is not None
    # `custody login` showed the notice and the app's URI; `custody enrol` the recovery codes.
    again = person.run("login", "--server", server.url, "--email", person.email)
    assert_fails(again, "code", "CUSTODY_TOTP_CODE")
    assert "System-use notice" in again.stdout
    assert "monitored" in again.stdout
    ok(person.run("whoami"))


def test_person_without_second_factor_reaches_nothing(server: Server) -> None:
    account = server.add_user("halfway", "dc.halfway@tvp.police.example", POLICE, "officer")
    home = server.work / "people" / "halfway"
    home.mkdir(parents=True)
    person = Person(server, account, home)
    shown = person.ok("login", "--server", server.url, "--email", person.email).stdout
    assert re.search(r"otpauth://totp/custody:dc\.halfway%40tvp\.police\.example\?secret=", shown)
    assert "custody enrol" in shown
    assert_fails(person.run("inbox"), "not logged in", code=3)
    # The enrolment token itself opens no case material either.
    enrolment = (home / "enrolment.json").read_text()
    token = re.search(r'"token": "([^"]+)"', enrolment)
    assert token
    with httpx.Client(base_url=server.url) as http:
        for path in ("/api/v1/transfers/inbox", "/api/v1/me", "/api/v1/history/x"):
            refused = http.get(path, headers={"Authorization": f"Bearer {token[1]}"})
            assert refused.status_code == 401, refused.text
    assert_fails(
        person.run("enrol", env=person.env(CUSTODY_TOTP_CODE="000000")), "code is not right", code=3
    )


def test_tokens_scopes_revocation_and_reset(server: Server) -> None:
    home = server.work / "people" / "tokens"
    person = new_person(
        server, home, "tokens", "dc.tokens@tvp.police.example", POLICE, "officer", keys=False
    )
    stolen = person.session["token"]
    ok(
        person.run(
            "login",
            "--server",
            server.url,
            "--email",
            person.email,
            "--scope",
            "read",
            env=person.env(CUSTODY_TOTP_CODE=person.code()),
        )
    )
    assert_fails(person.run("case", "create", "47TV9999001"), "scope", code=4)
    listed = ok(person.run("tokens", "list")).stdout
    assert "(this one)" in listed
    assert len(re.findall(r"^[0-9a-f-]{36}  api ", listed, re.M)) == 2
    stolen_id = next(line.split()[0] for line in listed.splitlines()[1:] if "this one" not in line)
    headers = {"Authorization": f"Bearer {stolen}"}
    assert httpx.get(f"{server.url}/api/v1/me", headers=headers).status_code == 200
    ok(person.run("tokens", "revoke", stolen_id))
    assert httpx.get(f"{server.url}/api/v1/me", headers=headers).status_code == 401
    # The operator resets the second factor: a ledger entry; tokens end; the next login enrols.
    # The password alone no longer enrols: the one-time code (printed for the operator to
    # hand over, on a server machine without SMTP) must come with it.
    reset = server.admin("user", "reset-2fa", person.email, "--reason", "phone lost").stdout
    assert "ledger index" in reset
    code = re.search(r"re-enrolment code: (\S+)", reset)
    assert code, reset
    assert_fails(person.run("whoami"), "not valid", code=3)
    assert_fails(
        person.run("login", "--server", server.url, "--email", person.email),
        "one-time code", code=3,
    )
    person.totp = None
    person.login("--enrolment-code", code[1])
    ok(person.run("whoami"))


def test_security_headers(server: Server) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # no TLS here
    assert httpx.get(f"{server.url}/docs").status_code == 404
