"""Headless Chromium (Debian's ``/usr/bin/chromium``, never ``playwright install``) driven by
Playwright, and what the browser tests do in it: sign in, unlock keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from support.server import Person, Server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000  # a loaded 2-core machine; every wait is on a selector or a URL, never a sleep


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is needed: apt-get install chromium (scripts/test.sh does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[BrowserContext]:
    ctx = chromium.new_context(accept_downloads=True)
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    ctx.close()


def sign_in(page: Page, server: Server, person: Person, *, code: bool = True) -> None:
    """Password and (unless ``code`` is False) a fresh TOTP code, on the sign-in page."""
    page.goto(f"{server.web_url}/login")
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    if code:
        page.fill("#code", person.code())
        page.click("#sign-in")
        page.wait_for_url("**/inbox")


def unlock_keys(page: Page, server: Server, person: Person) -> None:
    """Open "Your keys", pin the log key (first time in this browser), unlock the key file
    ``custody keys init`` made, with its passphrase."""
    page.goto(f"{server.web_url}/keys")
    page.wait_for_selector("#unlock-section:not([hidden]), #unlocked-section:not([hidden])")
    if page.is_visible("#unlocked-section"):
        return
    if page.is_visible("#log-key"):
        page.fill("#log-key", server.log_key)
    (key_file,) = (person.home / "keys").glob("*.age")  # what `custody keys init` wrote
    page.set_input_files("#key-file", str(key_file))
    page.fill("#unlock-passphrase", person.passphrase)
    page.click("#unlock-button")
    page.wait_for_selector("#unlocked-section:not([hidden])")
