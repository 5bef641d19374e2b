"""Keys in the browser (real Chromium, a real server): unlock the key file the CLI made, or
make keys in the page; either way the ledger must show them, against the log key the person
pinned — never one the server names. The secret keys never reach the server."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from custody.crypto.keys import UserKeys
from custody.domain.people import OrgKind
from custody.ledger.events import EntryType
from support.chromium import sign_in, unlock_keys
from support.server import Person, Server, new_person

pytestmark = [pytest.mark.parametrize("server", ["sqlite"], indirect=True), pytest.mark.slow]


def _person(server: Server, *, keys: bool) -> Person:
    org = server.world.new_org(OrgKind.PROSECUTION)
    email = f"k.{uuid.uuid4().hex[:8]}@cps.example"
    return new_person(server, server.work / "people" / email, email, email, org, "prosecutor",
                      keys=keys)


def test_unlock_the_cli_key_file_and_lock_it_again(server: Server,
                                                     context: BrowserContext) -> None:
    person = _person(server, keys=True)
    page = context.new_page()
    sign_in(page, server, person)
    unlock_keys(page, server, person)
    shown = page.text_content("#age-recipient")
    registered = person.ok("whoami").stdout  # the CLI's own session still works
    assert person.email in registered
    assert (shown or "").startswith("age1")
    assert (page.text_content("#key-index") or "").isdigit()
    # A reload keeps them unlocked (sealed in IndexedDB); "Lock" forgets them.
    page.reload()
    page.wait_for_selector("#unlocked-section:not([hidden])")
    page.click("#lock")
    page.wait_for_selector("#unlock-section:not([hidden])")


def test_a_wrong_passphrase_or_another_key_file_unlocks_nothing(
    server: Server, context: BrowserContext, tmp_path: Path
) -> None:
    person = _person(server, keys=True)
    page = context.new_page()
    sign_in(page, server, person)
    page.goto(f"{server.web_url}/keys")
    page.fill("#log-key", server.log_key)
    (key_file,) = (person.home / "keys").glob("*.age")
    page.set_input_files("#key-file", str(key_file))
    page.fill("#unlock-passphrase", "not the passphrase")
    page.click("#unlock-button")
    page.wait_for_selector("#keys-error:not([hidden])")
    assert "passphrase" in (page.text_content("#keys-error") or "")
    other = tmp_path / "other.age"
    other.write_bytes(UserKeys.generate().seal("another passphrase!", work_factor=10))
    page.set_input_files("#key-file", str(other))
    page.fill("#unlock-passphrase", "another passphrase!")
    page.click("#unlock-button")
    expect(page.locator("#keys-error")).to_contain_text("not the keys you registered")
    assert page.is_hidden("#unlocked-section")


def test_a_log_key_the_server_does_not_sign_with_is_refused(
    server: Server, context: BrowserContext
) -> None:
    person = _person(server, keys=True)
    page = context.new_page()
    sign_in(page, server, person)
    page.goto(f"{server.web_url}/keys")
    forged = server.log_key.rsplit("+", 1)[0] + "+AQ" + "A" * 41 + "="  # same name, other key
    page.fill("#log-key", forged)
    (key_file,) = (person.home / "keys").glob("*.age")
    page.set_input_files("#key-file", str(key_file))
    page.fill("#unlock-passphrase", person.passphrase)
    page.click("#unlock-button")
    page.wait_for_selector("#keys-error:not([hidden])")
    assert page.is_hidden("#unlocked-section")


def test_make_keys_in_the_browser(server: Server, context: BrowserContext, tmp_path: Path) -> None:
    person = _person(server, keys=False)
    page = context.new_page()
    sign_in(page, server, person)
    page.goto(f"{server.web_url}/keys")
    page.wait_for_selector("#create-section:not([hidden])")
    assert page.is_hidden("#unlock-section")  # nothing registered to unlock
    page.fill("#log-key", server.log_key)
    passphrase = f"a long passphrase {uuid.uuid4().hex}"
    page.fill("#new-passphrase", passphrase)
    page.fill("#new-passphrase-again", passphrase)
    page.click("#create-button")
    page.wait_for_selector("#unlocked-section:not([hidden])")
    with page.expect_download() as download:
        page.click("#key-file-link")
    saved = tmp_path / "custody-keys.age"
    download.value.save_as(saved)
    keys = UserKeys.unseal(saved.read_bytes(), passphrase)  # the CLI opens what the page made
    assert keys.age_recipient == page.text_content("#age-recipient")
    registered = [
        e.data["age_recipient"]
        for e in server.world.entries(EntryType.KEY_REGISTERED)
        if e.actor == person.account.user_id
    ]
    assert registered == [keys.age_recipient]
