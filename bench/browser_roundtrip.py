"""Browser send and receive beside ``custody send`` and ``custody receive``, one file, one run.

Starts a real server the way the integration tests do (``tests/support``: SQLite, the test
cast logged in with keys), makes a file of ``--size-mib`` MiB of random bytes, then times:

1. ``custody send`` of it (the officer's CLI), and ``custody receive`` of that transfer (the
   prosecutor's CLI);
2. the same file sent from the browser (headless Debian Chromium, /send: encrypted in the
   page's worker, uploaded, signed), from the click to the page saying it was sent; and
   received in the browser (the transfer page's "Save": decrypted and verified in the
   service worker, streamed to the downloads folder), from the click to the page saying it
   was saved.

Playwright drives the browser over the DevTools protocol, whose network instrumentation
copies every request body: a 32 MiB PATCH takes about 2 s in a page under Playwright and
0.13 s without it (measured here). So the browser send is timed twice: under Playwright,
and in a Chromium that Playwright leaves (connected over CDP to sign in and start the send,
then disconnected) — timed from the click until the server holds the transfer as sent.
That second figure is the one a person's browser sees; the receive is timed under
Playwright only (it has to catch the download), so it is a lower bound.

Every received file must equal the original (SHA-256). Prints the times, MB/s (10^6 bytes
a second) and the ratios browser / CLI (throughput: above 1 is the browser faster), writes
``bench/out/browser_roundtrip.json``, and exits 1 if anything failed or changed the file.
Sign-in and unlocking keys are not timed. Needs Debian's ``chromium`` and Playwright (the
test extras).

    .venv/bin/python bench/browser_roundtrip.py [--size-mib 1024] [--tmp-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test support: a real server and its people

from playwright.sync_api import expect, sync_playwright  # noqa: E402 (after the path)

from support.chromium import (  # noqa: E402 (after the path)
    ARGS,
    CHROMIUM,
    send_in_browser,
    sent_transfer,
    sign_in,
    unlock_keys,
)
from support.cli import free_port  # noqa: E402 (after the path)
from support.server import Server, new_case, shared_server  # noqa: E402 (after the path)
from support.world import CPS, new_urn  # noqa: E402 (after the path)

OUT_JSON = REPO / "bench" / "out" / "browser_roundtrip.json"
MB = 1_000_000
MIB = 1 << 20
PIECE = 16 * MIB
WAIT_MS = 3_600_000


class BenchFailed(Exception):
    """A step failed or changed the file: the figures would mean nothing."""


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise BenchFailed(what)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(PIECE):
            digest.update(piece)
    return digest.hexdigest()


def _make(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; their SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            piece = os.urandom(min(left, PIECE))
            digest.update(piece)
            out.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def _cli(server: Server, source: Path, out: Path) -> dict[str, float]:
    people = server.people
    _require(people is not None, "the server has its people")
    assert people is not None  # noqa: S101 (for the type checker)
    case = new_case(people.officer)
    started = time.perf_counter()
    sent = people.officer.ok("send", str(source), "--case", case, "--to", CPS,
                             timeout=WAIT_MS / 1000).stdout
    send_s = time.perf_counter() - started
    match = re.search(r"Sent transfer ([0-9a-f-]{36})", sent)
    _require(match is not None, f"custody send said: {sent}")
    assert match is not None  # noqa: S101 (for the type checker)
    started = time.perf_counter()
    people.prosecutor.ok("receive", match[1], "--out", str(out), timeout=WAIT_MS / 1000)
    receive_s = time.perf_counter() - started
    received = out / source.name
    _require(_sha256(received) == _sha256(source), "custody receive changed the file")
    received.unlink()
    return {"send": send_s, "receive": receive_s}


def _browser(server: Server, source: Path) -> dict[str, float]:
    people = server.people
    _require(people is not None, "the server has its people")
    assert people is not None  # noqa: S101 (for the type checker)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            sending = browser.new_context()
            sending.set_default_timeout(120_000)
            page = sending.new_page()
            sign_in(page, server, people.officer)
            unlock_keys(page, server, people.officer)
            page.goto(f"{server.web_url}/send")
            started = time.perf_counter()
            send_in_browser(page, server, [source], new_urn(), CPS)
            transfer = sent_transfer(page, WAIT_MS)
            send_s = time.perf_counter() - started
            sending.close()

            receiving = browser.new_context(accept_downloads=True)
            receiving.set_default_timeout(120_000)
            page = receiving.new_page()
            sign_in(page, server, people.prosecutor)
            unlock_keys(page, server, people.prosecutor)
            page.goto(f"{server.web_url}/transfers/{transfer}")
            expect(page.locator("#receive-state")).to_contain_text("verified against")
            row = page.locator("#items tbody tr").first
            started = time.perf_counter()
            with page.expect_download(timeout=WAIT_MS) as download:
                row.locator("button.save").click()
            expect(row.locator(".outcome")).to_contain_text("saved to your downloads",
                                                            timeout=WAIT_MS)
            receive_s = time.perf_counter() - started
            saved = Path(download.value.path())
            _require(_sha256(saved) == _sha256(source), "the browser's download is not the file")
            saved.unlink()
            receiving.close()
        finally:
            browser.close()
    return {"send": send_s, "receive": receive_s}


def _detached_send(server: Server, source: Path, profile: Path) -> float:
    """Seconds from the click on "Encrypt and send" until the transfer is sent, in a Chromium
    with no DevTools client attached while it works."""
    people = server.people
    _require(people is not None, "the server has its people")
    assert people is not None  # noqa: S101 (for the type checker)
    port = free_port()
    proc = subprocess.Popen([CHROMIUM, "--headless", *ARGS, f"--remote-debugging-port={port}",
                             f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        urn = new_urn()
        with sync_playwright() as p:
            browser = p.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            page = browser.contexts[0].pages[0]  # the browser's own tab: it outlives us
            page.set_default_timeout(120_000)
            sign_in(page, server, people.officer)
            unlock_keys(page, server, people.officer)
            page.goto(f"{server.web_url}/send")
            page.wait_for_selector("#send-form:not([hidden])")
            # Playwright sends no file over 50 MB to a browser it did not launch; DevTools
            # can name the file on this machine instead.
            cdp = page.context.new_cdp_session(page)
            root = cdp.send("DOM.getDocument")["root"]["nodeId"]
            field = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#files"})
            cdp.send("DOM.setFileInputFiles", {"nodeId": field["nodeId"], "files": [str(source)]})
            page.fill("#case", urn)
            page.fill("#to", CPS)
            started = time.perf_counter()
            page.click("#send-button")
            # The worker must be running before we leave: a worker started while a DevTools
            # client is attached waits for it to say "run".
            expect(page.locator("#overall-text")).not_to_be_empty()
            browser.close()  # disconnects; the page goes on without DevTools
        deadline = time.monotonic() + WAIT_MS / 1000
        while not server.query("SELECT t.id FROM transfers t JOIN cases c ON c.id = t.case_id "
                               "WHERE c.urn = :urn AND t.state = 'sent'", urn=urn):
            _require(time.monotonic() < deadline, "the detached browser did not send in time")
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=OUT_JSON)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(dir=args.tmp_dir, prefix="custody-browser-bench-") as tmp:
        work = Path(tmp)
        source = work / "in" / "interview.mp4"
        _make(source, size)
        (work / "server").mkdir()
        with shared_server("sqlite", work / "server") as server:
            cli = _cli(server, source, work / "received")
            web = _browser(server, source)
            web["send (no DevTools)"] = _detached_send(server, source, work / "profile")
    rows: list[dict[str, Any]] = []
    print(f"\n{args.size_mib} MiB, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{'step':20} {'CLI s':>8} {'CLI MB/s':>9} {'browser s':>10} {'browser MB/s':>13} "
          f"{'browser/CLI':>12}")
    for step in ("send", "send (no DevTools)", "receive"):
        c, b = cli[step.split()[0]], web[step]
        row = {"step": step, "cli_s": c, "cli_mb_s": size / MB / c, "browser_s": b,
               "browser_mb_s": size / MB / b, "ratio": c / b}
        rows.append(row)
        print(f"{step:20} {c:8.1f} {row['cli_mb_s']:9.1f} {b:10.1f} {row['browser_mb_s']:13.1f} "
              f"{row['ratio']:11.2f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"size_mib": args.size_mib, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailed as failed:
        print(f"browser_roundtrip: {failed}", file=sys.stderr)
        sys.exit(1)
