"""The browser's JavaScript memory while it sends and then receives one large file (issue 11:
a 4 GiB file keeps the page's JavaScript heap under 300 MB throughout).

Starts a real server the way the integration tests do (``tests/support``: SQLite, the test
cast logged in with keys), makes a file of ``--size-mib`` MiB (default 4096) of random bytes,
and in headless Debian Chromium (Playwright):

1. the officer sends it from /send (encrypted in the page's send worker, uploaded over tus,
   signed), while the page's and the send worker's memory are sampled;
2. the prosecutor saves it from the transfer page (decrypted and verified in the service
   worker, streamed to the downloads folder), while the page's and the service worker's
   memory are sampled; the saved file must equal the original (SHA-256).

Sampled about once a second over the DevTools protocol (``tests/support/chromium.py``'s
``JsMemory``): the page's ``JSHeapUsedSize`` (``Performance.getMetrics``, the issue's
figure), and for the page and the worker the V8 heap and the ArrayBuffers' backing stores
(``Runtime.getHeapUsage``), where bytes in flight live. Prints the peaks, writes them and
every sample to ``bench/out/browser_memory.json``, and exits 1 if the file changed, a step
failed, or the page's ``JSHeapUsedSize`` reached ``--limit-mb`` (300).

``--cli-send`` sends with ``custody send`` instead (minutes, not the better part of an
hour under Playwright) and measures the receive only.

Needs about 3 times the size free under ``--tmp-dir`` (the file, the server's blob, the saved
copy); all of it is removed at the end. Debian's ``chromium`` and Playwright (test extras).

    .venv/bin/python bench/browser_memory.py [--size-mib 4096] [--tmp-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test support: a real server and its people

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402 (after the path)

from support.chromium import (  # noqa: E402 (after the path)
    ARGS,
    CHROMIUM,
    JsMemory,
    send_in_browser,
    sent_transfer,
    sign_in,
    unlock_keys,
)
from support.server import new_case, shared_server  # noqa: E402 (after the path)
from support.world import CPS, new_urn  # noqa: E402 (after the path)

sys.path.insert(0, str(REPO / "bench"))
from browser_roundtrip import (  # noqa: E402 (after the path)
    MB,
    MIB,
    BenchFailed,
    _make,
    _require,
    _sha256,
)

OUT_JSON = REPO / "bench" / "out" / "browser_memory.json"
WAIT_S = 4 * 3600
EVERY_MS = 1000


def _watch(page: Page, memory: JsMemory, finished: Any, what: str) -> list[dict[str, Any]]:
    """Sample ``memory`` every second until ``finished()``; every sample, timed."""
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    while not finished():
        _require(time.monotonic() - started < WAIT_S, f"{what} did not finish in time")
        samples.append({"t": round(time.monotonic() - started, 1), **memory.sample()})
        page.wait_for_timeout(EVERY_MS)
    samples.append({"t": round(time.monotonic() - started, 1), **memory.sample()})
    return samples


def _report(step: str, memory: JsMemory, samples: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = samples[-1]["t"] if samples else 0
    print(f"\n{step}: {seconds:.0f} s, {len(samples)} samples ({memory.worker_samples} of the "
          f"{memory.label}, {memory.unanswered} unanswered); peaks, MiB:")
    for name, peak in memory.peaks.items():
        print(f"  {name:34} {peak / MIB:8.1f}")
    return {"seconds": seconds, "peaks": dict(memory.peaks), "worker_samples":
            memory.worker_samples, "unanswered": memory.unanswered, "samples": samples}


def _send(browser: Any, server: Any, source: Path, size_mib: int) -> tuple[str, dict[str, Any]]:
    """The officer sends ``source`` from /send; the transfer and the memory figures."""
    people = server.people
    sending = browser.new_context()
    sending.set_default_timeout(120_000)
    try:
        page = sending.new_page()
        sign_in(page, server, people.officer)
        unlock_keys(page, server, people.officer)
        send_in_browser(page, server, [source], new_urn(), CPS)
        expect(page.locator("#overall-text")).not_to_be_empty()
        memory = JsMemory(browser, page, "/static/app/send-worker.js", kind="worker")
        done = page.locator("#done-section:not([hidden]), #send-error:not([hidden])")
        samples = _watch(page, memory, lambda: done.count() > 0, "the send")
        transfer = sent_transfer(page)
        return transfer, _report(f"send {size_mib} MiB", memory, samples)
    finally:
        sending.close()


def _receiver(browser: Any, server: Any) -> Page:
    """The prosecutor, signed in with keys unlocked (before the send: a sign-in is no part
    of what is measured)."""
    receiving = browser.new_context(accept_downloads=True)
    receiving.set_default_timeout(120_000)
    page: Page = receiving.new_page()
    sign_in(page, server, server.people.prosecutor)
    unlock_keys(page, server, server.people.prosecutor)
    return page


def _receive(page: Page, server: Any, transfer: str, original: str,
             size_mib: int) -> dict[str, Any]:
    """The prosecutor saves the item; the memory figures. The saved file must be the file."""
    browser = page.context.browser
    try:
        page.goto(f"{server.web_url}/transfers/{transfer}")
        expect(page.locator("#receive-state")).to_contain_text("verified against")
        row = page.locator("#items tbody tr").first
        with page.expect_download(timeout=WAIT_S * 1000) as download:
            row.locator("button.save").click()
        memory = JsMemory(browser, page)
        outcome = row.locator(".outcome")
        samples = _watch(page, memory, lambda: any(
            said in (outcome.text_content() or "")
            for said in ("saved to your downloads", "failed", "could not")), "the save")
        expect(outcome).to_contain_text("saved to your downloads")
        figures = _report(f"receive {size_mib} MiB", memory, samples)
        saved = Path(download.value.path())
        _require(_sha256(saved) == original, "the browser's download is not the file")
        saved.unlink()
        return figures
    finally:
        page.context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=4096)
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--limit-mb", type=float, default=300)
    parser.add_argument("--json", type=Path, default=OUT_JSON)
    parser.add_argument("--cli-send", action="store_true",
                        help="send with custody send (quick) and measure only the receive")
    args = parser.parse_args()
    size = args.size_mib * MIB
    where = args.tmp_dir or Path(tempfile.gettempdir())
    free = shutil.disk_usage(where).free
    _require(free > 3 * size + (1 << 30),
             f"{where} has {free / 2**30:.1f} GiB free; {3 * size / 2**30 + 1:.1f} are needed")
    results: dict[str, Any] = {"size_mib": args.size_mib}
    with tempfile.TemporaryDirectory(dir=args.tmp_dir, prefix="custody-browser-memory-") as tmp:
        work = Path(tmp)
        source = work / "in" / "cctv camera 3.mp4"
        original = _make(source, size)
        (work / "server").mkdir()
        (work / "downloads").mkdir()
        with shared_server("sqlite", work / "server") as server, sync_playwright() as p:
            _require(server.people is not None, "the server has its people")
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True,
                                        downloads_path=work / "downloads")
            try:
                page = _receiver(browser, server)
                if args.cli_send:
                    officer = server.people.officer
                    sent = officer.ok("send", str(source), "--case", new_case(officer),
                                      "--to", CPS, timeout=WAIT_S).stdout
                    found = re.search(r"Sent transfer ([0-9a-f-]{36})", sent)
                    _require(found is not None, f"custody send said: {sent}")
                    assert found is not None  # noqa: S101 (for the type checker)
                    transfer = found[1]
                else:
                    transfer, results["send"] = _send(browser, server, source, args.size_mib)
                results["receive"] = _receive(page, server, transfer, original, args.size_mib)
            finally:
                browser.close()
    steps = [step for step in ("send", "receive") if step in results]
    page_peak = max(results[step]["peaks"]["page JSHeapUsedSize"] for step in steps)
    results["page_js_heap_peak_mb"] = page_peak / MB
    results["limit_mb"] = args.limit_mb
    print(f"\nthe page's JSHeapUsedSize peaked at {page_peak / MB:.1f} MB "
          f"(limit {args.limit_mb:.0f} MB)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    _require(page_peak < args.limit_mb * MB, "the page's JavaScript heap passed the limit")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailed as failed:
        print(f"browser_memory: {failed}", file=sys.stderr)
        sys.exit(1)
