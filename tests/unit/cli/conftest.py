"""The real ``custody`` command tree (``custody.cli.main.main``), run in this process against the
real app in process: every ``Api`` the commands open goes over the TestClient's transport
(``custody.client.http.TRANSPORT``), each person works in their own CUSTODY_HOME with a key
file sealed under their passphrase, as ``custody keys init`` leaves it."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from custody.cli.main import main
from custody.client import http
from custody.client.config import Session
from custody.client.trust import parse_log_key, pin_log_key
from custody.domain.people import Role
from custody.files import write_private
from support.client import SERVER, Desks, Machine
from support.in_process import transport
from support.world import CPS

PASSPHRASE = "a long enough passphrase"  # noqa: S105 - the test machines' key files


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


@dataclass
class Terminal:
    """Runs ``custody ARGV`` as one of the desks' people, capturing what it prints."""

    desks: Desks
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def run(self, home: Path, *argv: str, stdin: bytes | None = None, **env: str) -> Ran:
        with self.monkeypatch.context() as m:
            if stdin is not None:  # a pipe, not a terminal
                m.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
            m.setenv("CUSTODY_HOME", str(home))
            m.setenv("CUSTODY_PASSPHRASE", PASSPHRASE)
            for name, value in env.items():
                m.setenv(name, value)
            self.capsys.readouterr()
            code = main([str(a) for a in argv])
            out, err = self.capsys.readouterr()
        return Ran(code, out, err)

    def ok(self, who: Machine | Path, *argv: str, stdin: bytes | None = None, **env: str) -> Ran:
        home = who.home if isinstance(who, Machine) else who
        ran = self.run(home, *argv, stdin=stdin, **env)
        assert ran.code == 0, f"custody {' '.join(argv)} exited {ran.code}:\n{ran.out}{ran.err}"
        return ran

    def admin(self) -> Path:
        """CPS's organisation admin at a machine of their own (an admin holds no keys)."""
        app = self.desks.app
        member = app.add("cps_admin_cli", "it.admin@cps.example", CPS, Role.ADMIN)
        home = self.desks.officer.home.parent / "cps_admin_cli"
        home.mkdir(mode=0o700)
        with self.monkeypatch.context() as m:
            m.setenv("CUSTODY_HOME", str(home))
            Session(
                SERVER, member.token, "", member.user_id, member.email, member.org, member.role
            ).save()
            pin_log_key(SERVER, parse_log_key(app.world.log_key))
        return home


@pytest.fixture
def terminal(
    desks: Desks, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Terminal:
    monkeypatch.setattr(http, "TRANSPORT", transport(desks.app.client))
    monkeypatch.delenv("CUSTODY_TOTP_CODE", raising=False)
    for machine in (desks.officer, desks.prosecutor, desks.prosecutor2, desks.outsider):
        key_file = machine.home / "keys" / f"{machine.session.user_id}.age"
        write_private(key_file, machine.keys.seal(PASSPHRASE, work_factor=10))
    return Terminal(desks, capsys, monkeypatch)
