"""A transfer to a unit of 3,000 people: its entries fit the 65,535-byte cap by committing to
the list and spelling it out in ``people:part`` entries (docs/ledger.md, "Long lists of
people"); the bundle verifies with ``custody verify`` and with the independent Go verifier;
the access report names all 3,000; a part dropped, altered or added is refused by both; a
transfer to a few people writes the same bytes as before.

The 3,000 people are bulk-inserted with their keys (the services would make each one with an
account, a ledger entry and a password hash: minutes, and not what is tested here); the
sender, the transfer, the sealing, the sending, the revocation, the report and the bundle go
through the services, on SQLite.
"""

from __future__ import annotations

import base64
import io
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custody.bundle import build_bundle
from custody.cli.ledger_cmds import describe
from custody.clock import FixedClock
from custody.crypto.age import Identity
from custody.crypto.signing import SigningKey
from custody.domain.people import Role
from custody.domain.policy import Scope
from custody.errors import InvalidInput
from custody.ledger import note, people
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.entry import Entry, PrevRef
from custody.ledger.merkle import MemoryTree, inclusion_proof, leaf_hash
from custody.ledger.tiles import MAX_ENTRY_SIZE
from custody.protocol.ledger import TrailEntryOut
from custody.protocol.transfers import MAX_RECIPIENTS
from custody.server.app import create_app
from custody.services import cases, delivery, items, reports, tokens, trails, transfers
from custody.store.ledger_store import LedgerStore
from custody.store.models import Item, User, UserKey
from support.cli import base_env, run_custody
from support.go import build_go
from support.world import CPS, POLICE, T0, Account, Cast, World, new_urn, world_settings

UNIT = "Serious Fraud"
MANY = 3000


@dataclass
class Large:
    world: World
    sender: Account
    transfer: str
    item: str
    recipients: list[str]
    emails: set[str]


def _bulk_people(world: World, org: str, unit: str) -> tuple[list[str], set[str]]:
    """``MANY`` prosecutors in ``unit``, each with registered keys, in one transaction."""
    ids, emails = [], set()
    with world.ctx.unit_of_work() as session:
        for n in range(MANY):
            user_id, email = str(uuid.uuid4()), f"p{n:04d}@cps.example"
            session.add(User(id=user_id, email=email, org_id=org, role=Role.PROSECUTOR.value,
                             unit_id=unit, password_hash="-", created_at=T0))  # noqa: S106 - no sign-in
            ids.append(user_id)
            emails.add(email)
        session.flush()
        session.add_all(
            UserKey(user_id=user_id, age_recipient=Identity.generate().recipient.to_string(),
                    signing_key=base64.b64encode(bytes(32)).decode(), ledger_index=0,
                    created_at=T0)
            for user_id in ids
        )
    return sorted(ids), emails


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Large]:
    folder = tmp_path_factory.mktemp("large")
    world = World.create(
        world_settings(folder / "data", f"sqlite:///{folder / 'custody.db'}",
                       smtp_host="127.0.0.1", smtp_port=1),
        FixedClock(T0),
    )
    world.organisations()
    sender = world.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER, keys=True)
    unit = world.unit(CPS, UNIT)
    recipients, emails = _bulk_people(world, world.orgs[CPS], unit)
    sent = world.sent_transfer(sender.actor, f"{CPS}/{UNIT}")
    try:
        yield Large(world, sender, sent.id, sent.items[0].id, recipients, emails)
    finally:
        world.close()


@pytest.fixture(scope="module")
def go_verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go("c2sp_verify.go", tmp_path_factory.mktemp("c2sp-verify"))


def _log(world: World) -> list[tuple[int, Entry, bytes]]:
    with world.ctx.unit_of_work() as session:
        store = LedgerStore(session)
        rows = [(i, store.entry(i)) for i in range(store.size())]
    return [(i, Entry.from_bytes(raw), raw) for i, raw in rows]


def _verify_both(bundle: bytes, log_key: str, folder: Path, go: Path) -> tuple[str, str]:
    """``custody verify`` and the Go verifier on ``bundle``: (custody's output, Go's); each
    ends in ``FAIL``/an error line if refused, with its exit status in front."""
    path = folder / "bundle.zip"
    path.write_bytes(bundle)
    mine = run_custody(["verify", str(path), "--log-key", log_key],
                       base_env(HOME=str(folder)), cwd=folder)
    theirs = subprocess.run([str(go), "bundle", str(path), log_key], capture_output=True,
                            text=True, timeout=120, check=False)
    return (f"{mine.returncode}\n{mine.stdout}{mine.stderr}",
            f"{theirs.returncode}\n{theirs.stdout}{theirs.stderr}")


def test_a_transfer_to_3000_people_sends_with_every_entry_under_the_cap(large: Large) -> None:
    log = _log(large.world)
    assert all(len(raw) <= MAX_ENTRY_SIZE for _, _, raw in log)
    parsed = {i: e for i, e, _ in log}
    for type_, name in (("transfer:created", "recipients"), ("transfer:sent", "recipients"),
                        ("item:sealed", "readers")):
        (index, entry), = [(i, e) for i, e in parsed.items() if e.type == type_]
        assert name not in entry.data
        expected = large.recipients if name == "recipients" else sorted(
            [*large.recipients, large.sender.user_id])
        commitment = entry.data[f"{name}_committed"]
        assert commitment["count"] == len(expected)
        assert commitment["parts"] == [index - 3, index - 2, index - 1]
        assert people.named(index, entry, name, parsed) == expected
    assert max(len(raw) for _, e, raw in log if e.type == people.PART_TYPE) < 50_000
    with large.world.ctx.unit_of_work() as session:  # custody ledger verify's replay
        verified = LedgerStore(session).verify_all()
    assert verified.ok, str(verified)


def test_custody_history_says_which_part_of_which_list_each_part_is(large: Large) -> None:
    rows = trails.history(large.world.ctx, large.sender.actor, large.item)
    parts = [describe(TrailEntryOut.model_validate(r, from_attributes=True)) for r in rows
             if r.type == people.PART_TYPE]
    assert [p.split("tvp.police.example  ", 1)[1] for p in parts] == [
        f"listed people for the next entry ({name}, part {n} of 3)"
        for name in ("readers", "recipients") for n in (1, 2, 3)
    ]


def test_the_access_report_lists_all_3000_as_could_access(large: Large) -> None:
    report = reports.access_report(large.world.ctx, large.sender.actor, large.item)
    could = {g.reader for g in report.could_access if g.kind == "transfer"}
    assert large.emails <= could
    assert len(large.emails) == MANY


def test_the_bundle_verifies_with_custody_and_independently(
    large: Large, go_verifier: Path, tmp_path: Path, cli_runner: None
) -> None:
    bundle = trails.server_bundle(large.world.ctx, large.sender.actor, large.item)
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        types = [Entry.from_bytes(zf.read(n)).type for n in zf.namelist()
                 if n.startswith("entries/")]
    assert types.count(people.PART_TYPE) == 6  # item:sealed's readers, transfer:sent's recipients
    mine, theirs = _verify_both(bundle, large.world.log_key, tmp_path, go_verifier)
    assert mine.startswith("0\n"), mine
    assert f"its readers, {MANY + 1} people, match its commitment and its 3 part(s)" in mine
    assert f"its recipients, {MANY} people, match its commitment" in mine
    assert theirs.startswith("0\n"), theirs
    assert f"recipients of {MANY} people match its commitment (3 parts)" in theirs


def test_revoking_it_names_every_reader_and_the_report_finds_each_end(
    large: Large, go_verifier: Path, tmp_path: Path, cli_runner: None
) -> None:
    actor = large.sender.actor
    delivery.revoke(large.world.ctx, actor, large.transfer, "sent to the wrong unit")
    revoked = large.world.entries("transfer:revoked")[-1]
    assert revoked.data["readers_committed"]["count"] == MANY
    report = reports.access_report(large.world.ctx, actor, large.item)
    ends = {g.end_index for g in report.could_access if g.end == "revoked"}
    assert len(ends) == 1
    assert None not in ends
    bundle = trails.server_bundle(large.world.ctx, actor, large.item)
    mine, theirs = _verify_both(bundle, large.world.log_key, tmp_path, go_verifier)
    assert mine.startswith("0\n"), mine
    assert theirs.startswith("0\n"), theirs


# ── a hostile log: parts that do not match, signed by the log's key ──────────────────────

LOG = note.Signer("custody.example/ledger", SigningKey(bytes(range(32))))
T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ACTOR, CASE, TRANSFER, ITEM = (str(uuid.UUID(int=n)) for n in (1, 2, 3, 4))
IDS = sorted(str(uuid.UUID(int=(n + 1) * 7919)) for n in range(MANY))


def _forged(tamper: str) -> bytes:
    """The bundle of one item's trail: three parts, the transfer:sent that commits to them,
    a receipt; ``tamper``: ``drop`` leaves part 2 out of the bundle, ``alter`` logs part 2
    with one id changed, ``extra`` logs one more part nobody commits to, ``both`` has the
    transfer:sent name two recipients inline too."""
    chunks = people.split(IDS)
    if tamper == "alter":
        first = uuid.UUID(chunks[1][0]).int + 1
        chunks[1] = [str(uuid.UUID(int=first)), *chunks[1][1:]]
    events = [Entry(people.PART_TYPE, T, ACTOR, CASE, TRANSFER, ITEM, None,
                    people.part_data("recipients", n, len(chunks), chunk))
              for n, chunk in enumerate(chunks, 1)]
    sent = {"recipients_committed": people.commitment(IDS, [0, 1, 2])}
    if tamper == "both":
        sent["recipients"] = IDS[:2]
    events.append(Entry("transfer:sent", T, ACTOR, CASE, TRANSFER, ITEM, None, sent))
    if tamper == "extra":
        events.append(Entry(people.PART_TYPE, T, ACTOR, CASE, TRANSFER, ITEM, None,
                            people.part_data("recipients", 1, 1, [str(uuid.UUID(int=5))])))
    events.append(Entry("item:received", T, IDS[0], CASE, TRANSFER, ITEM))
    tree, rows, prev = MemoryTree(), [], None
    for event in events:
        raw = event.with_prev(prev).to_bytes()
        index = tree.append(raw)
        prev = PrevRef(index, leaf_hash(raw).hex())
        rows.append((index, raw))
    signed = sign_checkpoint(Checkpoint(LOG.name, tree.size, tree.root()), LOG)
    kept = [(i, raw) for i, raw in rows if not (tamper == "drop" and i == 1)]
    return build_bundle(LOG.name, signed,
                        [(i, raw, inclusion_proof(tree, i, tree.size)) for i, raw in kept], [])


@pytest.mark.parametrize(
    ("tamper", "custody_says", "go_says"),
    [
        ("none", "match its commitment and its 3 part(s)", "match its commitment (3 parts)"),
        ("drop", "part 2 of 3 (entry 1) is missing", "part 2 of 3 (entry 1) is not in the bundle"),
        ("alter", "the parts' ids do not hash to the committed sha256",
         "the parts' ids do not hash to the committed sha256"),
        ("extra", "entry 4 is a people:part that no entry in the bundle commits to",
         "entry 4 is a people:part that no entry in the bundle commits to"),
        ("both", "recipients inline or committed to, not both",
         "entry 3: has recipients inline and committed to"),
    ],
)
def test_a_part_dropped_altered_or_added_is_refused_by_both_verifiers(
    tamper: str, custody_says: str, go_says: str, go_verifier: Path, tmp_path: Path,
    cli_runner: None,
) -> None:
    mine, theirs = _verify_both(_forged(tamper), LOG.verifier.vkey, tmp_path, go_verifier)
    assert custody_says in mine, mine
    assert go_says in theirs, theirs
    refused = tamper != "none"
    assert mine.startswith("8\n" if refused else "0\n"), mine  # 8: integrity failure
    assert theirs.startswith("1\n" if refused else "0\n"), theirs


# ── a transfer to a few people: the entries of before, byte for byte ─────────────────────


def test_a_small_transfers_entries_are_byte_identical_to_the_inline_form(cast: Cast) -> None:
    tid = cast.transfer()
    log = _log(cast.world)
    assert not [e for _, e, _ in log if e.type == people.PART_TYPE]
    two = sorted([cast.prosecutor.user_id, cast.prosecutor2.user_id])
    readers = sorted([*two, cast.officer.user_id])
    (created, ), = [[raw for _, e, raw in log if e.type == "transfer:created"]]
    (sealed, ), = [[raw for _, e, raw in log if e.type == "item:sealed"]]
    (sent, ), = [[(e, raw) for _, e, raw in log if e.type == "transfer:sent"]]
    assert created.decode().startswith(f'{{"actor":"{cast.officer.user_id}","case":')
    assert f'"data":{{"org":"{cast.cps_org}","recipients":["{two[0]}","{two[1]}"]}},' in (
        created.decode()
    )
    assert f'"readers":["{readers[0]}","{readers[1]}","{readers[2]}"],"recovery":' in (
        sealed.decode()
    )
    entry, raw = sent
    deadline = entry.data["ack_deadline"]
    assert f'"data":{{"ack_deadline":"{deadline}","recipients":["{two[0]}","{two[1]}"]}},' in (
        raw.decode()
    )
    assert entry.transfer == tid


def test_an_item_is_sealed_for_all_of_them_through_the_api(large: Large) -> None:
    """The seal carries a key wrap for each of the 3,000, the sender and the two recovery
    keys, over 1 MiB of JSON: the route takes it whole (it refused more than 100 wraps once,
    so a unit of more than about 97 people could not be sent to)."""
    world, sender = large.world, large.sender.actor
    urn = new_urn()
    cases.create_case(world.ctx, sender, urn)
    draft = transfers.create_transfer(world.ctx, sender, urn, [f"{CPS}/{UNIT}"], None)
    item = items.add_item(world.ctx, sender, draft.id, 100)
    with world.ctx.unit_of_work() as session:
        row = session.get_one(Item, item.id)
        row.state, row.blob_key = "uploaded", f"items/{item.id}"
        user = session.get_one(User, sender.user_id)
        token = tokens.issue(world.ctx, session, user, frozenset({Scope.SEND}), timedelta(hours=1))
    wrap = base64.b64encode(bytes(232)).decode()  # an age file of one item key: 232 bytes
    body = {"sealed_manifest": base64.b64encode(b"sealed").decode(), "manifest_sha256": "a" * 64,
            "wraps": {r.recipient: wrap for r in draft.readers}}
    assert len(draft.readers) == MANY + 3
    with TestClient(create_app(world.settings, clock=world.ctx.clock, background=False)) as api:
        answer = api.post(f"/api/v1/items/{item.id}/seal", json=body,
                          headers={"Authorization": f"Bearer {token.token}"})
    assert answer.status_code == 204, answer.text[:300]
    assert len(answer.request.content) > 1024 * 1024
    with world.ctx.unit_of_work() as session:
        assert session.get_one(Item, item.id).state == "sealed"


def test_a_transfer_to_more_people_than_the_cap_is_refused_before_anything_is_written(
    large: Large,
) -> None:
    world, sender = large.world, large.sender.actor
    one_more = world.add("one-more", "one.more@cps.example", CPS, Role.PROSECUTOR, keys=True)
    urn = new_urn()
    cases.create_case(world.ctx, sender, urn)
    before = len(_log(world))
    with pytest.raises(InvalidInput, match=f"are {MAX_RECIPIENTS + 1} people; .* at most"):
        transfers.create_transfer(world.ctx, sender, urn, [f"{CPS}/{UNIT}", one_more.email], None)
    assert len(_log(world)) == before
