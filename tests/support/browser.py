"""A browser stand-in for the in-process app: a TestClient on https://testserver with its own
cookie jar, so ``Secure`` cookies are kept and sent, as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from custody.http.deps import LOGIN_COOKIE, SESSION_COOKIE
from support.in_process import InProcess, Member, TestClient, in_process

BASE = "https://testserver"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]*)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, html
    return match[1]


class Browser:
    def __init__(self, w: InProcess) -> None:
        self.w = w
        self.client = TestClient(
            w.app, base_url=BASE, raise_server_exceptions=False, follow_redirects=False
        )

    @property
    def session(self) -> str | None:
        return self.client.cookies.get(SESSION_COOKIE)

    @property
    def pre_session(self) -> str | None:
        return self.client.cookies.get(LOGIN_COOKIE)

    def login_form(self) -> str:
        page = self.client.get("/login")
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def post_login(self, member: Member, code: str | None = None, **extra: str) -> Any:
        fields = {
            "csrf": self.login_form(),
            "email": member.email,
            "password": member.password,
            "code": code if code is not None else self.w.code(member),
            **extra,
        }
        return self.client.post("/login", data=fields, headers={"Origin": BASE})

    def sign_in(self, member: Member) -> Any:
        response = self.post_login(member)
        assert response.status_code == 303, response.text
        return response

    def csrf(self) -> str:
        page = self.client.get("/security")
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def post(
        self, path: str, csrf: str | None = None, origin: str | None = BASE, **fields: str
    ) -> Any:
        data = dict(fields)
        if csrf is not None:
            data["csrf"] = csrf
        headers = {"Origin": origin} if origin else {}
        return self.client.post(path, data=data, headers=headers)

    def close(self) -> None:
        self.client.close()


@contextmanager
def web_world(tmp_path: Path, **settings: Any) -> Iterator[InProcess]:
    """An in-process world on SQLite whose public address is the stand-in browser's."""
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}", public_url=BASE,
                    **settings) as w:
        yield w
