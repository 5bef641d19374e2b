"""Receiving and playing in the browser (real Chromium, a real server), with the CLI's
guarantees: an officer sends with the CLI; a prosecutor of another organisation saves each
item in the browser — byte for byte what was sent, each receipt in the ledger — and plays
the video (it advances, seeks to the middle, names the viewer, one ``item:viewed`` entry).
One flipped byte in the stored ciphertext: the browser refuses, the download never
completes, the page says why in the CLI's words, and the failure is in ``custody report``.
Another organisation's prosecutor is refused the page, the player and the content; a sender
key the ledger does not show (swapped on its way) offers nothing to save or play. And the
issue's check without any CLI: sent from one browser, saved and played in another.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Download, Page, Request, Route, expect

from custody.crypto.signing import SigningKey
from custody.domain.people import OrgKind
from custody.ledger.events import EntryType
from support.chromium import (
    WAIT_MS,
    JsMemory,
    send_in_browser,
    sent_transfer,
    sign_in,
    unlock_keys,
)
from support.server import (
    People,
    Person,
    Server,
    item_ids,
    make_file,
    new_case,
    new_person,
)
from support.world import POLICE

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]

POLL_MS = 100
# The large video: 192 MiB, or CUSTODY_BROWSER_LARGE_MIB (1024 for the 1 GiB check).
LARGE = int(os.environ.get("CUSTODY_BROWSER_LARGE_MIB", "192")) << 20
LARGE_TIMEOUT = pytest.mark.timeout(300 + 600 * (LARGE >> 30))  # pytest-timeout's 300 s: 192 MiB


def make_video(path: Path, seconds: int = 8) -> Path:
    """A small H.264 MP4 (moov first) that Debian's Chromium plays: a test pattern with a
    running frame counter, so any point of it differs from any other."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed to make the test videos: apt-get install ffmpeg")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=size=320x240:rate=25:duration={seconds}", "-c:v", "libx264",
         "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
        check=True, timeout=120)
    return path


def wait_until(page: Page, check: Callable[[], Any], what: str, timeout_s: float = 60,
               detail: Callable[[], Any] = lambda: "") -> Any:
    """Poll ``check`` (the CSP forbids wait_for_function's eval), letting the page's events
    arrive in between; on timeout, fail saying ``what`` and ``detail()``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what} {detail()}")
        page.wait_for_timeout(POLL_MS)


@pytest.fixture
def prosecutor(server: Server) -> Person:
    """A prosecutor of an organisation of their own (each signs in; codes are per minute)."""
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"r.{uuid.uuid4().hex[:8]}@cps.example"
    return new_person(server, server.work / "people" / email, email, email, org, "prosecutor")


def open_transfer(page: Page, server: Server, prosecutor: Person, transfer: str) -> None:
    sign_in(page, server, prosecutor)
    unlock_keys(page, server, prosecutor)
    page.goto(f"{server.web_url}/transfers/{transfer}")
    expect(page.locator("#receive-state")).to_contain_text("verified against")


def save(page: Page, item: str) -> Download:
    with page.expect_download() as download:
        page.click(f'tr[data-item="{item}"] button.save')
    return download.value


def items_by_name(page: Page) -> dict[str, str]:
    rows = page.locator("#items tbody tr")
    named = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        name = (row.locator(".file").text_content() or "").rsplit(" (", 1)[0]
        named[name] = row.get_attribute("data-item") or ""
    return named


def test_save_each_item_byte_for_byte_and_receive_all(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    files = [make_video(out / "interview.mp4"),
             make_file(out, "statement.pdf", 300_000),
             make_file(out, "exhibit list.txt", content=b"exhibit 1\nexhibit 2\n")]
    case = new_case(people.officer)
    transfer = people.officer.send(files, case, prosecutor.account.org)
    page = context.new_page()
    open_transfer(page, server, prosecutor, transfer)
    named = items_by_name(page)
    assert set(named) == {f.name for f in files}
    for original in files:
        item = named[original.name]
        download = save(page, item)
        assert download.suggested_filename == original.name
        assert download.failure() is None
        assert Path(download.path()).read_bytes() == original.read_bytes()
        expect(page.locator(f'tr[data-item="{item}"] .outcome')).to_contain_text(
            "signature and SHA-256 verified")
    received = [e for e in server.world.entries(EntryType.ITEM_RECEIVED)
                if e.actor == prosecutor.account.user_id]
    assert sorted(str(e.item) for e in received) == sorted(named.values())
    history = prosecutor.ok("history", transfer).stdout
    assert history.count(f"{prosecutor.email}  received it: signature and hashes verified") == 3

    # "Receive all": every item again, one download each, each verified.
    saved: list[Download] = []
    page.on("download", lambda download: saved.append(download))  # noqa: PLW0108 (Playwright needs a Python function)
    page.click("#receive-all")
    expect(page.locator("#receive-state")).to_contain_text("Received 3 of 3 item(s)")
    assert sorted(d.suggested_filename for d in saved) == sorted(f.name for f in files)
    for download in saved:
        original = out / download.suggested_filename
        assert Path(download.path()).read_bytes() == original.read_bytes()


def video_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.locator("#video").evaluate(
        "v => ({time: v.currentTime, duration: v.duration, seeking: v.seeking, "
        "paused: v.paused, error: v.error && v.error.message})")
    return state


def play(page: Page, transfer: str, item: str) -> None:
    """From the transfer's page, open the player and start it (headless: muted autoplay)."""
    page.click(f'tr[data-item="{item}"] a.play')
    page.wait_for_url(f"**/play/{item}")
    expect(page.locator("#play-state")).to_contain_text("Playing")
    # In view, and muted: Chromium pauses a muted video that plays without a gesture
    # once it is off screen.
    page.locator("#video").evaluate(
        "v => { v.scrollIntoView(); v.muted = true; return v.play(); }")


def test_the_video_plays_seeks_and_names_the_viewer(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "out" / "interview.mp4", seconds=20)
    case = new_case(people.officer)
    transfer = people.officer.send([video], case, prosecutor.account.org)
    page = context.new_page()
    open_transfer(page, server, prosecutor, transfer)
    item = items_by_name(page)["interview.mp4"]
    play(page, transfer, item)
    wait_until(page, lambda: video_state(page)["time"] > 1.0, "the video to play")
    state = video_state(page)
    assert state["error"] is None
    assert 19 < state["duration"] < 21
    # Seek to the middle: it plays on from there.
    page.locator("#video").evaluate("v => { v.currentTime = v.duration / 2; }")
    wait_until(page, lambda: (s := video_state(page))["time"] > 10.5 and not s["seeking"],
               "the video to play on from the middle")
    mark = page.locator("#watermark")
    expect(mark).to_contain_text(f"Viewed by {prosecutor.email}")
    first = mark.text_content()
    expect(mark).not_to_have_text(first or "")  # the time moves on, every second
    assert mark.is_visible()
    viewed = [e for e in server.world.entries(EntryType.ITEM_VIEWED)
              if e.actor == prosecutor.account.user_id]
    assert [e.item for e in viewed] == [item]
    report = prosecutor.ok("report", item).stdout
    assert f"{prosecutor.email}  item:viewed" in report


def make_large_video(path: Path, size: int = LARGE) -> Path:
    """About ``size`` bytes of H.264 that plays: random frames at a constant quality, so every
    second of it is as large as any other and the middle of the timeline is the middle of
    the file. About 2.6 MB a second: a loaded 2-core machine decrypts faster than it plays."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed to make the test videos: apt-get install ffmpeg")
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = size // 105_000 + 1  # ~105 kB a frame at 320x180, qp 12
    with Path("/dev/urandom").open("rb") as noise:
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
             "-pix_fmt", "yuv420p", "-s", "320x180", "-r", "25", "-i", "-",
             "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", "-qp", "12",
             "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
            stdin=noise, check=True, timeout=600)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@LARGE_TIMEOUT
def test_a_large_video_saves_and_plays_in_flat_memory(
    server: Server, people: People, prosecutor: Person, chromium: Any, context: BrowserContext,
    tmp_path: Path
) -> None:
    video = make_large_video(tmp_path / "out" / "cctv camera 3.mp4")
    size = video.stat().st_size
    case = new_case(people.officer)
    transfer = people.officer.send([video], case, prosecutor.account.org)
    page = context.new_page()
    open_transfer(page, server, prosecutor, transfer)
    item = items_by_name(page)[video.name]
    ranges: list[tuple[int, int]] = []  # what the service worker asks of the viewing

    def seen(request: Request) -> None:
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("range") or "")
        if "/api/v1/views/" in request.url and match:
            ranges.append((int(match[1]), int(match[2])))

    context.on("request", seen)
    # Save: 1 GiB through the service worker, sampling its memory and the page's as it goes.
    with page.expect_download() as started:
        page.click(f'tr[data-item="{item}"] button.save')
    memory = JsMemory(chromium, page)
    outcome = page.locator(f'tr[data-item="{item}"] .outcome')
    wait_until(page, lambda: memory.sample() and "saved to your downloads" in (
        outcome.text_content() or ""), "the large item to be saved", timeout_s=600)
    assert started.value.failure() is None
    assert sha256_of(Path(started.value.path())) == sha256_of(video)
    saving = dict(memory.peaks)
    Path(started.value.path()).unlink()

    # Play it, and seek to the middle: the service worker fetches the middle of the ciphertext.
    play(page, transfer, item)
    memory = JsMemory(chromium, page)
    wait_until(page, lambda: memory.sample() and video_state(page)["time"] > 1.0,
               "the large video to play", timeout_s=120,
               detail=lambda: (video_state(page), page.text_content("main")))
    duration = video_state(page)["duration"]
    asked = len(ranges)
    page.locator("#video").evaluate("v => { v.currentTime = v.duration / 2; }")
    wait_until(page, lambda: memory.sample() and (s := video_state(page))["time"] > duration / 2 + 1
               and not s["seeking"], "the large video to play on from the middle", timeout_s=120,
               detail=lambda: (video_state(page), page.text_content("main"), len(ranges),
                               ranges[-2:]))
    after_seek = ranges[asked:]
    assert any(0.4 * size < start < 0.6 * size for start, _ in after_seek), after_seek
    assert all(end - start < 4 << 20 for start, end in ranges)  # windows, never the file
    playing = dict(memory.peaks)
    print(f"\nJS memory peaks for a {size / 2**20:.0f} MiB item, MiB:")
    for name, peak in saving.items():
        print(f"  {name:32} saving {peak / 2**20:7.1f}   playing {playing[name] / 2**20:7.1f}")
    for peaks in (saving, playing):
        assert peaks["service worker heap + buffers"] < 96 << 20, peaks
        assert peaks["page heap + buffers"] < 96 << 20, peaks


class RealDownloads:
    """Chromium's own download behaviour into ``folder`` (files by their names, an
    intermediate file while they arrive), instead of Playwright's renamed copies; each
    download's end ("completed" or "canceled") as the browser reports it."""

    def __init__(self, chromium: Any, page: Page, folder: Path) -> None:
        self.ends: list[str] = []
        self.session = chromium.new_browser_cdp_session()
        target = page.context.new_cdp_session(page).send("Target.getTargetInfo")
        self.session.on("Browser.downloadProgress", self._progress)
        self.session.send("Browser.setDownloadBehavior", {
            "behavior": "allow", "downloadPath": str(folder), "eventsEnabled": True,
            "browserContextId": target["targetInfo"]["browserContextId"]})

    def _progress(self, event: dict[str, Any]) -> None:
        if event["state"] in ("completed", "canceled"):
            self.ends.append(event["state"])


def test_one_flipped_byte_is_refused_and_nothing_is_saved(
    server: Server, people: People, prosecutor: Person, chromium: Any, context: BrowserContext,
    tmp_path: Path
) -> None:
    out = tmp_path / "out"
    intact = make_file(out, "interview notes.pdf", 3_000_000)
    tampered = make_file(out, "custody record.pdf", 20_000_000)
    case = new_case(people.officer)
    transfer = people.officer.send([intact, tampered], case, prosecutor.account.org)
    page = context.new_page()
    open_transfer(page, server, prosecutor, transfer)
    named = items_by_name(page)
    with server.flipped_byte(named[tampered.name]):
        # Chromium's own downloads: by their names, into a folder of their own.
        folder = tmp_path / "downloads"
        folder.mkdir()
        downloads = RealDownloads(chromium, page, folder)

        page.click(f'tr[data-item="{named[intact.name]}"] button.save')
        wait_until(page, lambda: downloads.ends == ["completed"], "the intact item to be saved")
        assert (folder / intact.name).read_bytes() == intact.read_bytes()

        item = named[tampered.name]
        page.click(f'tr[data-item="{item}"] button.save')
        # While it runs (20 MB to fetch and decrypt), the other item's Save is disabled.
        expect(page.locator(f'tr[data-item="{named[intact.name]}"] button.save')).to_be_disabled()
        outcome = page.locator(f'tr[data-item="{item}"] .outcome')
        expect(outcome).to_contain_text(
            f"item {item} ({tampered.name}) failed verification: "
            "the ciphertext is not what the sender signed")
        assert outcome.get_attribute("role") == "alert"
        # One save at a time: the buttons are disabled while one runs, and enabled again
        # when it has ended, refused or not.
        expect(page.locator("button.save")).to_have_count(2)
        for button in page.locator("button.save").all():
            expect(button).to_be_enabled()
        wait_until(page, lambda: len(downloads.ends) == 2, "the download to end")
        assert downloads.ends == ["completed", "canceled"]
        # Nothing of it on disk: no file by its name, no partial file either.
        assert sorted(p.name for p in folder.iterdir()) == [intact.name]

    failed = [e for e in server.world.entries(EntryType.ITEM_VERIFICATION_FAILED)
              if e.item == item]
    assert [e.actor for e in failed] == [prosecutor.account.user_id]
    report = prosecutor.ok("report", item).stdout
    assert f"{prosecutor.email}  item:verification_failed" in report
    history = prosecutor.ok("history", item).stdout
    refused = "REFUSED it: verification failed (the ciphertext is not what the sender signed)"
    assert refused in history


def test_another_organisation_can_neither_open_nor_play_it(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    """A prosecutor of a third organisation, signed in with keys unlocked, is refused the
    transfer's page, the player and the content: nothing is named, played or fetched, and
    each attempt on the item is recorded."""
    video = make_video(tmp_path / "out" / "interview.mp4", seconds=2)
    case = new_case(people.officer)
    transfer = people.officer.send([video], case, prosecutor.account.org)
    (item,) = item_ids(people.officer, transfer)
    email = f"o.{uuid.uuid4().hex[:8]}@cps.example"
    outsider = new_person(server, server.work / "people" / email, email, email,
                          server.world.new_org(OrgKind.PROSECUTION), "prosecutor")
    page = context.new_page()
    sign_in(page, server, outsider)
    unlock_keys(page, server, outsider)
    csrf = page.get_attribute("meta[name=custody-csrf]", "content") or ""
    for path in (f"/transfers/{transfer}", f"/play/{item}"):
        answer = page.goto(f"{server.web_url}{path}")
        assert answer is not None
        assert answer.status in (403, 404), (path, answer.status)
        assert page.locator("#video").count() == 0
        assert video.name not in page.content()
    for path in (f"/api/v1/items/{item}/content", f"/api/v1/items/{item}"):
        assert page.request.get(f"{server.web_url}{path}").status in (403, 404), path
    made = page.request.post(f"{server.web_url}/api/v1/items/{item}/views",
                             headers={"X-CSRF-Token": csrf})
    assert made.status in (403, 404), made.status
    assert not [e for e in server.world.entries(EntryType.ITEM_VIEWED) if e.item == item]
    refused = [e for e in server.world.entries(EntryType.ACCESS_REFUSED)
               if e.actor == outsider.account.user_id]
    assert refused, "the refused attempts are not in the ledger"


def test_sent_in_one_browser_received_and_played_in_another(
    server: Server, prosecutor: Person, chromium: Any, context: BrowserContext, tmp_path: Path
) -> None:
    """The issue's check, small: an officer sends a video and two documents from their
    browser; a prosecutor of another organisation saves each byte for byte in theirs, and
    the video plays and seeks there. No CLI on either side."""
    email = f"dc.{uuid.uuid4().hex[:8]}@tvp.police.example"
    officer = new_person(server, server.work / "people" / email, email, email, POLICE, "officer")
    out = tmp_path / "out"
    files = [make_video(out / "ABE interview.mp4", seconds=20),
             make_file(out, "MG11 statement.pdf", 1_500_000),
             make_file(out, "exhibits.csv", content=b"JB/1,knife\nJB/2,phone\n")]
    sending = context.new_page()
    sign_in(sending, server, officer)
    unlock_keys(sending, server, officer)
    send_in_browser(sending, server, files, new_case(officer), prosecutor.account.org)
    transfer = sent_transfer(sending)

    receiving_context = chromium.new_context(accept_downloads=True)
    receiving_context.set_default_timeout(WAIT_MS)
    try:
        page = receiving_context.new_page()
        open_transfer(page, server, prosecutor, transfer)
        named = items_by_name(page)
        assert set(named) == {f.name for f in files}
        for original in files:
            download = save(page, named[original.name])
            assert download.suggested_filename == original.name
            assert Path(download.path()).read_bytes() == original.read_bytes()
            outcome = page.locator(f'tr[data-item="{named[original.name]}"] .outcome')
            expect(outcome).to_contain_text("signature and SHA-256 verified")
        item = named["ABE interview.mp4"]
        play(page, transfer, item)
        wait_until(page, lambda: video_state(page)["time"] > 1.0, "the video to play",
                   detail=lambda: video_state(page))
        page.locator("#video").evaluate("v => { v.currentTime = v.duration / 2; }")
        wait_until(page, lambda: (s := video_state(page))["time"] > 10.5 and not s["seeking"],
                   "the video to play on from the middle", detail=lambda: video_state(page))
        expect(page.locator("#watermark")).to_contain_text(f"Viewed by {prosecutor.email}")
    finally:
        receiving_context.close()
    received = {e.item for e in server.world.entries(EntryType.ITEM_RECEIVED)
                if e.actor == prosecutor.account.user_id}
    assert set(named.values()) <= received


def test_a_sender_key_the_ledger_does_not_show_offers_nothing(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    """The server (or someone on the way) names another signing key for the sender, with a
    manifest it could have signed: the page proves the key against the ledger, refuses, and
    offers nothing to save or play; no receipt is made."""
    document = make_file(tmp_path / "out", "custody record.pdf", 40_000)
    case = new_case(people.officer)
    transfer = people.officer.send([document], case, prosecutor.account.org)
    forged = SigningKey.generate().public_key.to_b64()
    swapped: list[str] = []

    def swap_the_senders_key(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["sender_signing_key"] = forged
        swapped.append(body["id"])
        route.fulfill(response=answer, body=json.dumps(body))

    context.route(re.compile(rf".*/api/v1/transfers/{transfer}$"), swap_the_senders_key)
    page = context.new_page()
    sign_in(page, server, prosecutor)
    unlock_keys(page, server, prosecutor)
    page.goto(f"{server.web_url}/transfers/{transfer}")
    error = page.locator("#receive-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("signing key")
    assert swapped == [transfer]
    assert page.locator("button.save, a.play, #receive-all:not([hidden])").count() == 0
    (item,) = item_ids(people.officer, transfer)
    assert document.name not in page.content()  # the manifest was never opened
    assert not [e for e in server.world.entries(EntryType.ITEM_RECEIVED) if e.item == item]


# "Receive all into a folder…": headless Chromium cannot show the folder picker, so the page
# is handed a folder of the browser's own private file system (the same File System Access
# handles a chosen folder gives), read back below.
PICK_PRIVATE_FOLDER = """
window.showDirectoryPicker = async () => {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle("chosen", { create: true });
};
"""
READ_PRIVATE_FOLDER = """async () => {
  const out = {};
  const walk = async (folder, prefix) => {
    for await (const [name, handle] of folder.entries()) {
      if (handle.kind === "directory") {
        out[prefix + name + "/"] = null;
        await walk(handle, prefix + name + "/");
      } else {
        const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
        out[prefix + name] = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
          .map((b) => b.toString(16).padStart(2, "0")).join("");
      }
    }
  };
  await walk(await (await navigator.storage.getDirectory()).getDirectoryHandle("chosen"), "");
  return out;
}"""
# The smallest WebAssembly module: compiling it is what hash-wasm does first.
COMPILE_WASM = """() => WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
  .then(() => "compiled", (error) => error.name)"""


def test_receive_all_into_a_folder_recreates_the_senders_folders(
    server: Server, people: People, prosecutor: Person, context: BrowserContext, tmp_path: Path
) -> None:
    """A folder sent with ``custody send DIR`` (two files of one name in two folders): the
    transfer page shows each item's folder, and "Receive all into a folder…" writes the same
    tree under the folder chosen, each file byte for byte, each receipt in the ledger; again
    into the same folder, the files already there are recognised as verified, not copied."""
    sent = tmp_path / "case-files"
    files = [make_file(sent / "interviews" / "witness A", "statement.txt", 200_000),
             make_file(sent / "interviews" / "witness B", "statement.txt", 150_000),
             make_file(sent, "exhibits.csv", content=b"JB/1,knife\n")]
    transfer = people.officer.send([sent], new_case(people.officer), prosecutor.account.org)
    context.add_init_script(PICK_PRIVATE_FOLDER)
    page = context.new_page()
    open_transfer(page, server, prosecutor, transfer)
    shown = {f"case-files/{f.relative_to(sent).as_posix()}" for f in files}
    assert set(items_by_name(page)) == shown
    page.click("#receive-all-folder")
    expect(page.locator("#receive-state")).to_contain_text(
        "Received 3 of 3 item(s) into chosen, each verified.")
    written = page.evaluate(READ_PRIVATE_FOLDER)
    assert written == {
        "case-files/": None, "case-files/interviews/": None,
        "case-files/interviews/witness A/": None, "case-files/interviews/witness B/": None,
        **{f"case-files/{f.relative_to(sent).as_posix()}": sha256_of(f) for f in files},
    }
    for path, item in items_by_name(page).items():
        expect(page.locator(f'tr[data-item="{item}"] .outcome')).to_contain_text(
            f"signature and SHA-256 verified; saved in chosen/{path}")
    received = [e for e in server.world.entries(EntryType.ITEM_RECEIVED)
                if e.actor == prosecutor.account.user_id]
    assert len(received) == 3

    page.click("#receive-all-folder")
    expect(page.locator("#receive-state")).to_contain_text("Received 3 of 3 item(s) into chosen")
    row = items_by_name(page)["case-files/exhibits.csv"]
    expect(page.locator(f'tr[data-item="{row}"] .outcome')).to_contain_text(
        "already in chosen/case-files/exhibits.csv and verified")
    assert page.evaluate(READ_PRIVATE_FOLDER) == written

    # One flipped byte in one item's blob, its file gone from the folder: that item is
    # refused in the CLI's words and nothing of it is left there, not even an empty file.
    witness_b = "case-files/interviews/witness B/statement.txt"
    item = items_by_name(page)[witness_b]
    with server.flipped_byte(item):
        page.evaluate("""async () => {
          const root = await (await navigator.storage.getDirectory()).getDirectoryHandle("chosen");
          const folder = await (await (await root.getDirectoryHandle("case-files"))
            .getDirectoryHandle("interviews")).getDirectoryHandle("witness B");
          await folder.removeEntry("statement.txt");
        }""")
        page.click("#receive-all-folder")
        expect(page.locator("#receive-state")).to_contain_text(
            "Received 2 of 3 item(s) into chosen")
        expect(page.locator(f'tr[data-item="{item}"] .outcome')).to_contain_text(
            f"item {item} (statement.txt) failed verification: "
            "the ciphertext is not what the sender signed")
        assert page.evaluate(READ_PRIVATE_FOLDER) == {
            k: v for k, v in written.items() if k != witness_b}

    # The service worker hashed all this with WebAssembly: its own policy allows compiling
    # it ('wasm-unsafe-eval'), the page's unchanged policy does not.
    workers = [w for w in context.service_workers if w.url.endswith("/static/app/sw.js")]
    assert workers, "the service worker is running"
    assert workers[0].evaluate(COMPILE_WASM) == "compiled"
    assert page.evaluate(COMPILE_WASM) == "CompileError"
