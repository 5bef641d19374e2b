"""Screenshots of the web application's pages for docs/web.md, made by the test run:
tests/integration/test_accessibility.py, which visits every page as a person who may see it,
saves one per page into ``docs/screenshots/`` when ``CUSTODY_SCREENSHOTS=1``
(``scripts/screenshots.sh``). tests/unit/web/test_web_screenshots_documented.py checks that
docs/web.md, the files and the pages the application declares agree.

A page's file is named from its route, so it is stable: ``/admin/people/{user_id}`` is
``admin-people-user_id.png``. The window is fixed (1280 px wide, the whole page's height);
what changes from run to run (ids, times, addresses made for the run, the authenticator
secret and its QR code) is written over with fixed stand-ins before the picture is taken, so
a file changes only when its page does (but for the order of rows sorted by a random id: the
transfer page, its access report and the incident list its two recipients either way)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page

from custody.web.first_sign_in import qr_svg

DIRECTORY = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 800

# Routes that are no page of their own but a redirect elsewhere: no screenshot.
REDIRECTS: dict[str, str] = {
    "/": "to the person's home page, or the sign-in page",
    "/admin": "to /admin/people",
}
# Screenshots of a page in another state than its route's own: (who, URL as in
# test_accessibility's MORE) -> name; a route's own name here replaces its bare state.
EXTRA: dict[tuple[str, str], str] = {
    ("officer", "/retention?ref={s.case}"): "retention",
    ("officer", "/incidents/new?ref={s.transfer}"): "incidents-new",
    ("prosecutor", "/no/such/page"): "error-not-found",
    ("anonymous", "/inbox"): "error-sign-in-first",
}

# Run-made values -> what the picture shows instead. Applied to every text node and input
# value of the page (never to what is sent: the page is only looked at afterwards).
_STAND_INS = r"""(pairs) => {
  const rules = pairs.map(([p, r]) => [new RegExp(p, "g"), r]);
  const fix = (s) => rules.reduce((t, [re, r]) => t.replace(re, r), s);
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) n.nodeValue = fix(n.nodeValue);
  for (const e of document.querySelectorAll("input:not([type=hidden]), textarea"))
    e.value = fix(e.value);
}"""
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
GENERIC: list[tuple[str, str]] = [
    (UUID, "0c0ffee0-5eed-4bad-8000-00000000d0c5"),
    (r"\b(?=[a-f]*[0-9])[0-9a-f]{8}\b", "0c0ffee0"),  # an id's short form
    (r"localhost:[0-9]+", "localhost:8443"),  # the run's port
    (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "2026-03-02 09:41 UTC"),
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", "2026-03-02T09:41"),
    (r"\b\d+ h \d+ min\b", "71 h 59 min"),
    (r"\b[A-Z2-7]{4}( [A-Z2-7]{4}){7}\b", "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567"),
]
# The enrolment page's QR code, drawn again for the stand-in secret above.
_QR = qr_svg("otpauth://totp/custody:someone%40tvp.police.example"
             "?secret=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567&issuer=custody")
_REDRAW = "(svg) => { const q = document.querySelector('svg#qr'); if (q) q.outerHTML = svg; }"


def enabled() -> bool:
    return os.environ.get("CUSTODY_SCREENSHOTS") == "1"


def name_of(route: str) -> str:
    """``/transfers/{transfer_id}/revoke`` -> ``transfers-transfer_id-revoke``."""
    name = re.sub(r"\{([^}:]+)[^}]*\}", r"\1", route).strip("/").replace("/", "-")
    return name or "root"


def save(page: Page, name: str, stand_ins: dict[str, str]) -> Path:
    """The page as it is now, at 1280 px, its whole height, into ``docs/screenshots/``, with
    ``stand_ins`` (run-made text -> fixed text) and :data:`GENERIC` written over it."""
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    pairs = [(re.escape(k), v) for k, v in sorted(stand_ins.items(), key=lambda kv: -len(kv[0]))]
    page.evaluate(_STAND_INS, pairs + GENERIC)
    page.evaluate(_REDRAW, str(_QR))
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    path = DIRECTORY / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path
