"""Custody trails: an item's or transfer's history, and the proofs behind a bundle."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.bundle import build_bundle
from custody.bundle.names import Named, sign_names
from custody.errors import Conflict, InvalidInput, NotFound
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.protocol.ledger import BundleOut, ConsistencyOut, NamesOut, ProvenEntryOut
from custody.services.context import Actor, ServiceContext
from custody.services.ledger import TrailEntry, describe, publish_checkpoint
from custody.services.trail_access import trail_item_ids
from custody.services.transfer_views import own_wraps
from custody.store.ledger_store import LedgerStore
from custody.store.models import Item, Organisation, User, UserKey


def _trail_rows(store: LedgerStore, item_ids: list[str]) -> dict[int, bytes]:
    rows: dict[int, bytes] = {}
    for item_id in item_ids:
        rows.update(store.item_trail(item_id))
    return rows


def history(ctx: ServiceContext, actor: Actor, ref: str) -> list[TrailEntry]:
    """Every ledger entry of an item, or of all a transfer's items, in log order."""
    with ctx.unit_of_work() as session:
        item_ids = trail_item_ids(session, actor, ref)
        rows = _trail_rows(LedgerStore(session), item_ids)
        return describe(session, sorted(rows.items()))


def bundle_material(ctx: ServiceContext, actor: Actor, ref: str) -> BundleOut:
    """The items' trails and the registrations of the keys that sealed them, each with an
    inclusion proof against one checkpoint that covers them all; that checkpoint ends in a
    ``ledger:heads`` entry, and each item's head in it is proven, so the trails are complete
    up to the checkpoint, not merely chained."""
    if ctx.log_signer is None:
        raise Conflict("this server has no log signing key", hint="run `custody admin init`")
    with ctx.unit_of_work() as session:
        item_ids = trail_item_ids(session, actor, ref)  # authorised before the log moves
        store = LedgerStore(session)
        # Under the sequencer's lock until commit: the map and the checkpoint stay as sealed.
        checkpoint = store.seal_heads(ctx.log_signer, ctx.origin, ctx.clock.now())
        rows = _trail_rows(store, item_ids)
        indexes = set(rows) | _key_registrations(session, rows.values()) | {checkpoint.size - 1}
        head_proofs = {i: store.head_proof(i) for i in item_ids}  # each has item:created
        entries = [
            ProvenEntryOut(
                index=i, entry=store.entry(i), proof=store.inclusion_proof(i, checkpoint.size)
            )
            for i in sorted(indexes)
        ]
        manifests = {
            item.id: item.sealed_manifest
            for item in session.scalars(select(Item).where(Item.id.in_(item_ids)))
            if item.sealed_manifest is not None
        }
        wraps = own_wraps(session, item_ids, actor.user_id)
        return BundleOut(
            origin=ctx.origin,
            checkpoint=checkpoint.note.decode("utf-8"),  # every entry's proof is against it
            entries=entries,
            sealed_manifests=manifests,
            wraps=wraps,  # the asking reader's own, to open the manifests
            head_proofs=head_proofs,
        )


def names_of(ctx: ServiceContext, actor: Actor, ref: str) -> NamesOut:
    """Who the actors of the trail of ``ref`` are (address, role, organisation), signed by the
    log's key in the names context: the operator's attestation for a court, not the log's
    proof (:mod:`custody.bundle.names`). Whoever may bundle the trail may name its actors, as
    ``history`` already does."""
    if ctx.log_signer is None:
        raise Conflict("this server has no log signing key", hint="run `custody admin init`")
    with ctx.unit_of_work() as session:
        item_ids = trail_item_ids(session, actor, ref)
        rows = _trail_rows(LedgerStore(session), item_ids)
        ids = {Entry.from_bytes(body).actor for body in rows.values()}
        people = session.execute(
            select(User.id, User.email, User.role, Organisation.name)
            .join(Organisation, Organisation.id == User.org_id)
            .where(User.id.in_(ids))
        )
        named = {user_id: Named(email, org, role) for user_id, email, role, org in people}
        signed = sign_names(ctx.origin, ctx.clock.now(), named, ctx.log_signer)
        return NamesOut(names=signed.decode("ascii"))


def _key_registrations(session: Session, bodies: Iterable[bytes]) -> set[int]:
    """Ledger indexes of the key registrations whose signing keys sealed these items."""
    found: set[int] = set()
    for body in bodies:
        entry = Entry.from_bytes(body)
        if entry.type == EntryType.ITEM_SEALED:
            index = session.scalar(
                select(UserKey.ledger_index).where(
                    UserKey.user_id == entry.actor, UserKey.signing_key == entry.data["signing_key"]
                )
            )
            if index is not None:
                found.add(index)
    return found


def consistency(ctx: ServiceContext, old: int, new: int) -> ConsistencyOut:
    """RFC 9162 §2.1.4 consistency proof between two sizes of the log (no login: no names).

    A client that remembers a checkpoint of ``old`` entries asks for this before it
    accepts a newer one of ``new`` entries.
    """
    with ctx.unit_of_work() as session:
        store = LedgerStore(session)
        head = store.size()
        if not 0 < old <= new <= head:
            raise InvalidInput(
                f"ask for 0 < old <= new <= {head} (the log's size), not old={old}, new={new}"
            )
        return ConsistencyOut(old=old, new=new, proof=store.consistency_proof(old, new))


def proven_entry(ctx: ServiceContext, index: int) -> ProvenEntryOut:
    """Entry ``index`` with its inclusion proof against the newest checkpoint (signed now if
    none covers it yet). Entries carry no personal data, so anyone may ask."""
    with ctx.unit_of_work() as session:
        store = LedgerStore(session)
        if not 0 <= index < store.size():
            raise NotFound(f"no ledger entry {index}")
        checkpoint = store.latest_checkpoint()
    if checkpoint is None or checkpoint.size <= index:
        publish_checkpoint(ctx)
    with ctx.unit_of_work() as session:
        store = LedgerStore(session)
        checkpoint = store.latest_checkpoint()
        if checkpoint is None or checkpoint.size <= index:
            raise Conflict("no checkpoint covers this entry yet", hint="try again in a few seconds")
        proof = store.inclusion_proof(index, checkpoint.size)
        return ProvenEntryOut(
            index=index,
            entry=store.entry(index),
            proof=proof,
            checkpoint=checkpoint.note.decode("utf-8"),
        )


def server_bundle(ctx: ServiceContext, actor: Actor, ref: str) -> bytes:
    """The evidence bundle of ``ref`` as the server can make it: every entry of the trails,
    the sealing keys' registrations and the heads proofs, each proven against one new
    checkpoint; ``custody verify`` checks it offline. The items' signed manifests are not in
    it: they are sealed for the readers, and only a reader's own client (``custody bundle``)
    can open them; without them, this is the bundle ``custody bundle`` makes for someone
    who reads no content (an auditor)."""
    material = bundle_material(ctx, actor, ref)
    entries = [(e.index, e.entry, e.proof) for e in material.entries]
    return build_bundle(
        material.origin, material.checkpoint.encode("utf-8"), entries, [], material.head_proofs
    )
