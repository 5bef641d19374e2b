"""A hostile server, or whoever sits in front of it, against the real CLI (security review 1, 2, 7).

Each attack is played by :class:`hostile.HostileProxy`, a proxy in front of a real
``custody serve`` that rewrites its answers:

1. without the log key (a TLS terminator): it names its own log key at login and serves a
   ledger in which the recipient "registered" the attacker's key, so that a sender wraps
   the item key for the attacker. The client pinned the real key at its first login and
   refuses the new one, loudly; nothing is wrapped for the attacker.
2. with the log key (the operator): it shows a client an older tree (rollback), a tree that
   does not extend the one the client verified (a fork), or a private extension that the
   real log later contradicts (a split view). Each is refused, with both signed
   checkpoints kept as evidence.
7. it sends ids that would name files outside the client's folders, or an upload URL on
   another host (which would receive the bearer token): refused before any use.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.crypto.age import Identity
from custody.crypto.signing import SigningKey
from custody.domain.people import OrgKind
from custody.ledger.entry import Entry
from custody.ledger.note import Signer
from custody.protocol.codes import ErrorCode
from custody.protocol.errors import envelope
from support.cli import assert_fails, ok
from support.hostile import Answer, ForgedLog, HostileProxy, log_signer
from support.server import People, Person, Server, make_file, new_case
from support.world import CPS

INTEGRITY = 8  # the exit code of an IntegrityError


@pytest.fixture
def proxy(server: Server) -> Iterator[HostileProxy]:
    made = HostileProxy(server.url)
    try:
        yield made
    finally:
        made.close()


def _via(proxy: HostileProxy, server: Server, key: str, org: str, role: str) -> Person:
    """A new person whose machine reaches the server through ``proxy`` (honest for now)."""
    suffix = uuid.uuid4().hex[:8]
    account = server.add_user(f"{key}-{suffix}", f"{key}.{suffix}@example.police.uk", org, role)
    person = Person(server, account, server.work / "people" / f"{key}-{suffix}")
    person.login(url=proxy.url)
    return person


def _real_entries(server: Server) -> list[bytes]:
    rows = server.query('SELECT body FROM ledger_entries ORDER BY "index"')
    return [bytes(r[0]) for r in rows]


def _remembered(person: Person) -> dict[str, object]:
    (path,) = (person.home / "trust").glob("log-*.json")
    data: dict[str, object] = json.loads(path.read_text())
    return data


def _wraps_for(server: Server, recipient: str) -> int:
    rows = server.query("SELECT count(*) FROM key_wraps WHERE recipient = :r", r=recipient)
    return int(rows[0][0])


def _evidence(person: Person) -> list[str]:
    return [p.read_text() for p in sorted((person.home / "evidence").glob("split-view-*.txt"))]


def _wait_for_checkpoint(server: Server, size: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = server.query("SELECT max(size) FROM ledger_checkpoints")
        if rows[0][0] is not None and rows[0][0] >= size:
            return
        time.sleep(0.2)
    pytest.fail(f"no checkpoint of {size} entries within 30 s")


# ── 1. a proxy without the log key ──────────────────────────────────────────────────────────


def test_the_first_login_needs_the_log_key_from_elsewhere(server: Server, tmp_path: Path) -> None:
    account = server.add_user(f"nokey-{uuid.uuid4().hex[:6]}", "x.nokey@example.police.uk",
                              CPS, "prosecutor")
    person = Person(server, account, tmp_path / "home")
    result = person.run("login", "--server", server.url, "--email", person.email,
                        env=person.env(CUSTODY_LOG_KEY=""))
    assert_fails(result, "needs the log's verifier key", "--log-key", code=2)
    assert not (person.home / "trust" / "pins.json").exists()
    assert not (person.home / "session.json").exists()


def test_a_proxy_without_the_log_key_cannot_make_a_sender_wrap_for_it(
    server: Server, people: People, proxy: HostileProxy, tmp_path: Path
) -> None:
    officer = _via(proxy, server, "officer", "Thames Valley Police", "officer")
    officer.keys_init()
    urn = new_case(officer)
    pins = (officer.home / "trust" / "pins.json").read_text()
    prosecutor_id = people.prosecutor.session["user_id"]

    # The proxy turns hostile: a log key of its own, and in its ledger the prosecutor
    # "registered" the attacker's encryption key.
    fake = Signer(server.log_key.split("+")[0], SigningKey.generate())
    attacker = Identity.generate().recipient.to_string()
    forged = ForgedLog(fake, _real_entries(server))
    swapped = forged.append(Entry(
        type="key:registered", time=datetime.now(UTC), actor=prosecutor_id,
        data={"age_recipient": attacker, "signing_key": SigningKey.generate().public_key.to_b64()},
    ).to_bytes())

    def login(_: str, answer: Answer) -> Answer:
        return answer.with_json({**answer.json(), "log_key": fake.verifier.vkey})

    def readers(_: str, answer: Answer) -> Answer:
        body = answer.json()
        for reader in body.get("readers", []):
            if reader["user_id"] == prosecutor_id:
                reader["recipient"], reader["key_index"] = attacker, swapped
        return answer.with_json(body)

    def entry(path: str, answer: Answer) -> Answer:
        index = int(path.rsplit("/", 1)[1])
        return answer.with_json(forged.proven(index), 200) if index == swapped else answer

    proxy.on("POST", "/api/v1/login", login)
    proxy.on("POST", "/api/v1/transfers", readers)
    proxy.on("GET", r"/api/v1/ledger/entries/\d+", entry)
    proxy.on("GET", "/checkpoint", lambda _, a: Answer(200, a.headers, forged.checkpoint()))

    # A login through it is refused, loudly, and the pinned key stays.
    again = officer.run("login", "--server", proxy.url, "--email", officer.email,
                        env=officer.env(CUSTODY_TOTP_CODE=officer.code()))
    assert_fails(again, "names the log key", "not the one pinned", code=INTEGRITY)
    assert (officer.home / "trust" / "pins.json").read_text() == pins
    # With the token it holds, a send through it is refused before anything is wrapped.
    file = make_file(tmp_path, "statement.txt", content=b"for the prosecutor only\n")
    sent = officer.run("send", str(file), "--case", urn, "--to", people.prosecutor.email)
    assert sent.returncode == INTEGRITY, sent.stderr
    assert sent.stderr.startswith("error:")
    assert _wraps_for(server, attacker) == 0

    # Nor can it slip its own key in as an organisation's recovery key.
    proxy.honest()
    proxy.on("POST", "/api/v1/transfers", lambda _, a: a.with_json({
        **a.json(),
        "readers": [r if r["org_id"] is None else {**r, "recipient": attacker}
                    for r in a.json()["readers"]],
    }))
    other = make_file(tmp_path, "exhibit.txt", content=b"another exhibit\n")
    sent = officer.run("send", str(other), "--case", urn, "--to", people.prosecutor.email)
    assert_fails(sent, "recovery key", code=INTEGRITY)
    assert _wraps_for(server, attacker) == 0


# ── 2. a server with the log key ────────────────────────────────────────────────────────────


def test_a_server_with_the_log_key_cannot_roll_back_or_fork_a_clients_view(
    server: Server, people: People, proxy: HostileProxy
) -> None:
    officer = _via(proxy, server, "viewer", "Thames Valley Police", "officer")
    ok(officer.run("checkpoint"))
    known = _remembered(officer)
    size = int(str(known["size"]))
    signer = log_signer(server.data_dir)
    real = _real_entries(server)[:size]

    def serve(log: ForgedLog) -> None:
        def consistency(path: str, a: Answer) -> Answer:
            old, new = (int(part.split("=")[1]) for part in path.split("?")[1].split("&"))
            if new > len(log.entries):  # as a server asked past its size answers
                lost = f"the ledger has {len(log.entries)} entries, not {new}"
                return a.with_json(envelope(ErrorCode.INVALID_INPUT, lost), status=400)
            return a.with_json(log.consistency(old, new), status=200)

        proxy.honest()
        proxy.on("GET", "/checkpoint", lambda _, a: Answer(200, a.headers, log.checkpoint()))
        proxy.on("GET", "/api/v1/ledger/consistency", consistency)

    # A rollback: the real tree as it was, a few entries ago, really signed.
    serve(ForgedLog(signer, real[: size - 3]))
    assert_fails(officer.run("checkpoint"), "already verified one of", code=INTEGRITY)
    # A fork: the same history with one old entry changed, and one more entry.
    forked = [*real]
    forked[size // 2] = Entry(type="key:registered", time=datetime.now(UTC), actor="system",
                              data={"age_recipient": "forged"}).to_bytes()
    fork = ForgedLog(signer, forked)
    fork.append(real[-1])
    serve(fork)
    assert_fails(officer.run("checkpoint"), "does not extend", code=INTEGRITY)
    assert _remembered(officer) == known  # nothing it was shown was taken in
    assert len(_evidence(officer)) == 2

    # A private extension is consistent with what the client saw, so it is taken in (the
    # witnesses' part is to stop that); but the real log, shown next, contradicts it.
    private = ForgedLog(signer, real)
    private.append(Entry(type="key:registered", time=datetime.now(UTC), actor="system",
                         data={"age_recipient": "for your eyes only"}).to_bytes())
    serve(private)
    ok(officer.run("checkpoint"))
    assert _remembered(officer)["size"] == size + 1
    proxy.honest()
    for _ in range(3):  # the real log grows past the private view
        people.officer.ok("case", "create", f"47TV{uuid.uuid4().int % 10**7:07d}")
    _wait_for_checkpoint(server, size + 3)
    split = officer.run("checkpoint")
    assert_fails(split, "not the one everybody sees", code=INTEGRITY)
    evidence = _evidence(officer)
    assert len(evidence) == 3
    assert private.checkpoint().decode() in evidence[-1]


# ── 7. ids that would name files or other hosts ─────────────────────────────────────────────


def test_ids_from_the_server_never_become_paths_or_other_hosts(
    server: Server, people: People, proxy: HostileProxy, tmp_path: Path
) -> None:
    officer = _via(proxy, server, "sender", "Thames Valley Police", "officer")
    officer.keys_init()
    urn = new_case(officer)
    # In an organisation of its own: who reads what is sent to CPS stays as other tests expect.
    prosecutor = _via(proxy, server, "reader", server.world.new_org(OrgKind.PROSECUTION),
                      "prosecutor")
    prosecutor.keys_init()
    file = make_file(tmp_path, "note.txt", content=b"a note\n")

    proxy.on("POST", "/api/v1/uploads", lambda _, a: Answer(
        a.status, {**a.headers, "location": "http://evil.example/api/v1/uploads/" + "0" * 32},
        a.body))
    sent = officer.run("send", str(file), "--case", urn, "--to", prosecutor.email)
    assert_fails(sent, "malformed upload location", code=INTEGRITY)
    assert not any("evil.example" in s for s in proxy.seen)

    proxy.honest()
    transfer = officer.send([file], urn, prosecutor.email)
    escape = "../../../../escaped"
    proxy.on("GET", f"/api/v1/transfers/{transfer}", lambda _, a: a.with_json({
        **a.json(), "items": [{**i, "id": escape} for i in a.json()["items"]]}))
    out = tmp_path / "in"
    got = prosecutor.run("receive", transfer, "--out", str(out))
    assert_fails(got, "malformed item id", code=INTEGRITY)
    assert not list(prosecutor.home.parent.rglob("escaped*"))
    assert not out.exists() or not any(out.iterdir())
