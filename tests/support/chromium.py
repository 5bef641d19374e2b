"""Headless Chromium (Debian's ``/usr/bin/chromium``, never ``playwright install``) driven by
Playwright, and what the browser tests do in it: a first sign-in from a fresh account (activate,
enrol from the secret on the page), sign in, make or unlock keys, send."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from custody.domain.people import Role
from support.server import Person, Server
from support.world import Account

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A test's play() is not a user's gesture: without this, Chromium may pause a video it
    # let play muted (off screen, or when the machine is slow to lay the page out).
    "--autoplay-policy=no-user-gesture-required",
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
    # expect() has its own default (5 s): a verdict that needs a whole item decrypted and
    # hashed on a loaded machine takes longer.
    expect.set_options(timeout=WAIT_MS)
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


def enrol_in_the_browser(page: Page, person: Person) -> None:
    """The enrolment page: the QR code shown, and the secret read off the page as a person
    types it into their authenticator app (``person.totp`` from then on)."""
    page.wait_for_url("**/enrol")
    expect(page.locator("svg#qr")).to_be_visible()
    secret = (page.text_content("#secret") or "").replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    person.totp = pyotp.TOTP(secret)


def activate_in_the_browser(page: Page, server: Server, who: Person, code: str) -> None:
    """A first sign-in with nothing but the browser: the one-time code and a password of their
    own, then the authenticator app from the secret the page shows, then the recovery codes,
    shown once."""
    page.goto(f"{server.web_url}/activate")
    page.fill("#email", who.email)
    page.fill("#activation-code", code)
    page.fill("#password", who.password)
    page.fill("#password-again", who.password)
    page.click("#activate")
    enrol_in_the_browser(page, who)
    page.fill("#code", who.code())
    page.click("#confirm")
    expect(page.locator("#recovery-codes")).to_be_visible()


def fresh(page: Page, server: Server, org: str, role: Role, unit: str | None = None, *,
          domain: str = "tvp.police.example") -> Person:
    """An account the operator has just created (``custody admin user create``, which prints
    the activation code to hand over), signed in for the first time in ``page``; its home is
    an empty folder (no CLI session, no keys)."""
    email = f"{role.value}.{uuid.uuid4().hex[:8]}@{domain}"
    where = ["--unit", unit] if unit else []
    out = server.admin("user", "create", email, "--org", org, "--role", role.value,
                       *where).stdout
    code = re.search(r"activation code: (\S+)", out)
    assert code, out
    who = Person(server, Account(email, email, org, role.value, f"chosen-{uuid.uuid4().hex}"),
                 server.work / "first" / email)
    activate_in_the_browser(page, server, who, code[1])
    return who


def make_keys(page: Page, server: Server, person: Person) -> str:
    """Make keys in "Your keys" (first time in this browser: pin the log key, choose a
    passphrase); they are registered in the ledger and unlocked here. Their age recipient."""
    page.goto(f"{server.web_url}/keys")
    page.wait_for_selector("#create-section:not([hidden])")
    page.fill("#log-key", server.log_key)
    page.fill("#new-passphrase", person.passphrase)
    page.fill("#new-passphrase-again", person.passphrase)
    page.click("#create-button")
    page.wait_for_selector("#unlocked-section:not([hidden])")
    return page.text_content("#age-recipient") or ""


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


def send_in_browser(page: Page, server: Server, files: list[Path], case: str, to: str, *,
                    ack_within: str = "", subjects: str = "", again: bool = False) -> None:
    """Open "Send", choose ``files``, the case and the recipients, and start sending; the
    keys must be unlocked in this browser (:func:`unlock_keys`). Returns once it started."""
    if not page.url.endswith("/send"):
        page.goto(f"{server.web_url}/send")
    page.wait_for_selector("#send-form:not([hidden])")
    page.set_input_files("#files", [str(f) for f in files])
    page.fill("#case", case)
    page.fill("#to", to)
    page.fill("#ack-within", ack_within)
    page.fill("#subjects", subjects)
    if again:
        page.check("#send-again")
    page.click("#send-button")


def sent_transfer(page: Page, timeout_ms: float = WAIT_MS) -> str:
    """Wait until the page says the transfer was sent; its id. Fails with the page's message
    if it says it was not sent."""
    page.wait_for_selector("#done-section:not([hidden]), #send-error:not([hidden])",
                           timeout=timeout_ms)
    if page.is_visible("#send-error"):
        pytest.fail(f"the page did not send: {page.text_content('#send-error')}")
    href = page.get_attribute("#done-link", "href") or ""
    assert href.startswith("/transfers/"), href
    return href.removeprefix("/transfers/")


class JsMemory:
    """The JavaScript memory of a page and of one of its workers (by default the service
    worker that serves it; ``kind="worker"`` for a page's own worker, as the send page's),
    sampled over the DevTools protocol: the page's ``JSHeapUsedSize``
    (``Performance.getMetrics``), and for both the V8 heap and the ArrayBuffers' backing
    stores (``Runtime.getHeapUsage``), where a worker's bytes in flight live. :meth:`sample`
    keeps the peaks."""

    def __init__(self, chromium: Any, page: Page, worker_url: str = "/static/app/sw.js",
                 kind: str = "service_worker") -> None:
        self.label = "service worker" if kind == "service_worker" else "worker"
        self.worker_ended = False
        self.worker_samples = 0
        self.unanswered = 0
        self.peaks: dict[str, int] = {}
        self._page = page.context.new_cdp_session(page)
        self._page.send("Performance.enable")
        self._browser = chromium.new_browser_cdp_session()
        self._replies: dict[int, Any] = {}
        self._next = 0
        self._browser.on("Target.receivedMessageFromTarget", self._reply)
        self._browser.on("Target.detachedFromTarget", self._detached)
        targets = self._browser.send("Target.getTargets")["targetInfos"]
        workers = [t for t in targets if t["type"] == kind and t["url"].endswith(worker_url)]
        assert workers, f"no {self.label} {worker_url} is running"
        self._worker = self._browser.send(
            "Target.attachToTarget", {"targetId": workers[0]["targetId"], "flatten": False}
        )["sessionId"]
        self._pump = page

    def _reply(self, event: dict[str, Any]) -> None:
        message = json.loads(event["message"])
        if "id" in message:
            self._replies[message["id"]] = message

    def _detached(self, event: dict[str, Any]) -> None:
        if event.get("sessionId") == self._worker:
            self.worker_ended = True

    def _worker_call(self, method: str) -> dict[str, Any] | None:
        """The worker's answer; None if it has ended (before or while it was asked), or if it
        did not answer within 30 s (counted in :attr:`unanswered`: a worker busy in one long
        run of promise callbacks answers DevTools only when it is through)."""
        self._next += 1
        ask = self._next
        try:
            self._browser.send("Target.sendMessageToTarget", {
                "sessionId": self._worker, "message": json.dumps({"id": ask, "method": method})})
        except PlaywrightError as error:
            if "No session with given id" not in str(error):
                raise
            self.worker_ended = True
        deadline = time.monotonic() + 30
        while ask not in self._replies:
            if self.worker_ended:
                return None
            if time.monotonic() > deadline:
                self.unanswered += 1
                return None
            self._pump.wait_for_timeout(10)
        result: dict[str, Any] = self._replies.pop(ask)["result"]
        return result

    def sample(self) -> dict[str, int]:
        """The figures now (and the peaks so far); once the worker has ended (a page's own
        worker ends with its job), the page's only, and :attr:`worker_samples` stops."""
        reply = self._page.send("Performance.getMetrics")
        metrics = {m["name"]: m["value"] for m in reply["metrics"]}
        page = self._page.send("Runtime.getHeapUsage")
        now = {
            "page JSHeapUsedSize": int(metrics["JSHeapUsedSize"]),
            "page heap + buffers": int(page["usedSize"] + page.get("backingStorageSize", 0)),
        }
        worker = None if self.worker_ended else self._worker_call("Runtime.getHeapUsage")
        if worker is not None:
            self.worker_samples += 1
            now[f"{self.label} heap"] = int(worker["usedSize"])
            now[f"{self.label} heap + buffers"] = int(
                worker["usedSize"] + worker.get("backingStorageSize", 0))
        for name, value in now.items():
            self.peaks[name] = max(self.peaks.get(name, 0), value)
        return now
