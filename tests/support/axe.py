"""axe-core (npm ``axe-core``, js/node_modules) run in the page under test: WCAG 2.2 A and AA.

:func:`assert_accessible` checks the page as it is now at each width (1280 px, a desktop, and
390 px, a phone: WCAG 1.4.10 reflow), and fails listing every violation: its rule, impact,
the CSS selectors of the elements at fault and the rule's help page. At each width it also
checks that nothing is wider than the window (no horizontal scrolling: reflow), which axe
does not.

How axe gets into the page: the pages' CSP allows scripts only from ``/static/``
(``script-src 'self'``), so ``page.add_script_tag(path=...)`` (an inline ``<script>``) is
refused by the page. The source is evaluated through the DevTools protocol instead
(``page.evaluate``), which the page's CSP does not govern; nothing in the page's own policy
is loosened and the page's context is the one being checked (no ``bypass_csp``).

Call it in a page test once the page has settled (its script has filled it in)::

    from support.axe import assert_accessible
    assert_accessible(page)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from playwright.sync_api import Page

from support.paths import REPO_ROOT

AXE = REPO_ROOT / "js" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
HEIGHT = 900

_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map((n) => n.target.join(" ")),
    summaries: v.nodes.map((n) => n.failureSummary || ""),
  }));
}"""

# Elements wider than the window (reflow): the widest few, by a selector a person can find.
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.classList.length ? "." + [...e.classList].join(".") : "");
  return [...document.body.querySelectorAll("*")]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .slice(0, 8)
    .map((e) => `${name(e)} (right edge ${Math.round(e.getBoundingClientRect().right)} px)`);
}"""



@functools.cache
def _source() -> str:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci` in js/")
    return AXE.read_text(encoding="utf-8")


def _inject(page: Page) -> None:
    if page.evaluate("() => typeof window.axe !== 'undefined'"):
        return
    # As an expression (not a function): the UMD wrapper sets window.axe.
    page.evaluate(f"{_source()}\n;undefined")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        raise AssertionError("axe-core did not load into the page")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's WCAG 2.2 A/AA violations on the page as it is now."""
    _inject(page)
    found: list[dict[str, Any]] = page.evaluate(_RUN, list(TAGS))
    return found


def overflow(page: Page) -> list[str]:
    """What sticks out of the window horizontally (empty if the page reflows)."""
    found: list[str] = page.evaluate(_OVERFLOW)
    return found


def describe(found: Iterable[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for target, summary in zip(v["targets"], v["summaries"], strict=True):
            first = summary.splitlines()[1].strip() if summary.count("\n") else summary
            lines.append(f"    {target}: {first}")
    return "\n".join(lines)


def assert_accessible(page: Page, *, widths: Iterable[int] = (1280, 390)) -> None:
    """No axe-core violation (WCAG 2.0/2.1 A and AA, 2.2 AA) and no horizontal scrolling, at
    each of ``widths``; the window is put back as it was."""
    before = page.viewport_size
    problems: list[str] = []
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            found = violations(page)
            if found:
                problems.append(f"at {width} px, {len(found)} axe violation(s) on "
                                f"{page.url}:\n{describe(found)}")
            wide = overflow(page)
            if wide:
                problems.append(f"at {width} px, {page.url} scrolls sideways (WCAG 1.4.10 "
                                f"reflow): {', '.join(wide)}")
    finally:
        if before is not None:
            page.set_viewport_size(before)
    if problems:
        raise AssertionError("\n".join(problems))
