"""docs/web.md, ``docs/screenshots/`` and the pages the web application declares agree: every
page has its screenshot, shown in docs/web.md under the page's own heading, and every
screenshot belongs to a page. The screenshots are made by the test run
(``scripts/screenshots.sh``, :mod:`support.screenshots`); this test only keeps them from
drifting from the pages and the docs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from integration.test_accessibility import NOT_PAGES, pages
from support import screenshots

WEB_MD = Path(__file__).resolve().parents[3] / "docs" / "web.md"
SECTION = "## Every page, with a screenshot"
_IMAGE = re.compile(r"!\[[^\]]+\]\(screenshots/([^)/]+)\.png\)")


def documented() -> list[tuple[str, list[str]]]:
    """The section's pages: each ``###`` heading with the screenshots under it."""
    text = WEB_MD.read_text("utf-8")
    assert SECTION in text, f"docs/web.md has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [(part.split("\n", 1)[0].strip(), _IMAGE.findall(part))
            for part in body.split("\n### ")[1:]]


def test_every_page_has_a_screenshot_in_web_md_and_every_screenshot_a_page() -> None:
    declared = {screenshots.name_of(path) for path, _ in pages()
                if path not in NOT_PAGES and path not in screenshots.REDIRECTS}
    expected = declared | set(screenshots.EXTRA.values())
    files = {f.stem for f in screenshots.DIRECTORY.glob("*.png")}
    assert not expected - files, (
        f"pages without a screenshot: {sorted(expected - files)} (run scripts/screenshots.sh)")
    assert not files - expected, f"screenshots of no page: {sorted(files - expected)}"

    sections = documented()
    shown = Counter(name for _, names in sections for name in names)
    assert not expected - set(shown), (
        f"pages docs/web.md does not show: {sorted(expected - set(shown))}")
    assert not set(shown) - files, f"images in docs/web.md with no file: {set(shown) - files}"
    assert all(n == 1 for n in shown.values()), f"shown more than once: {shown}"
    for heading, names in sections:
        assert len(names) == 1, f"### {heading}: one screenshot, not {names}"
        route = re.fullmatch(r"`(/[^`]*)`", heading)
        if route:  # a page's heading is its route, and its picture is that route's
            assert names == [screenshots.name_of(route[1])], heading


def test_the_screenshots_are_small() -> None:
    for shot in screenshots.DIRECTORY.glob("*.png"):
        assert shot.stat().st_size < 300_000, f"{shot.name}: {shot.stat().st_size} bytes"
