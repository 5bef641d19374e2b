"""Key transparency on the client: trust a public key only if the log shows it registered.

The server tells a sender whose keys to wrap for, and a receiver whose key
signed a manifest. A server that swapped a key could read content or forge a
sender; so the client asks for the ``key:registered`` entry with an inclusion
proof, and checks it against a checkpoint signed by the log key this client
pinned at the first login (``custody.client.trust``), after checking that the
checkpoint extends the largest one this client verified before. A swapped key
would have to be logged — where its owner and any monitor can see it — and a
log shown only to this client would be caught the next time it sees the real one.
"""

from __future__ import annotations

from custody.client.config import Session
from custody.client.http import Api
from custody.client.trust import LogView, await_quorum, require_pin
from custody.errors import CustodyError, IntegrityError
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.entry import Entry
from custody.ledger.events import EntryType
from custody.ledger.merkle import leaf_hash, verify_inclusion
from custody.ledger.note import Verifier
from custody.protocol.ledger import ProvenEntryOut

_REPORT = "do not send or accept material; report this to your security team"


def _logged_entry(api: Api, session: Session, index: object, whose: str) -> Entry:
    """Entry ``index``, proven included in a checkpoint that extends what this client saw."""
    return logged_entry(api, require_pin(session.server), index, whose)


def logged_entry(api: Api, verifier: Verifier, index: object, whose: str) -> Entry:
    """Entry ``index``, proven included in a checkpoint signed by ``verifier``'s key that
    extends the largest tree this client verified before."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise IntegrityError(f"the server named no ledger entry for {whose}", hint=_REPORT)
    view = LogView(verifier)

    def fetch() -> tuple[ProvenEntryOut, Checkpoint]:
        proven = api.get(f"/api/v1/ledger/entries/{index}", ProvenEntryOut)
        if proven.index != index or proven.checkpoint is None:
            raise IntegrityError(f"the server's proof of ledger entry {index} is malformed")
        return proven, view.accept(api, proven.checkpoint.encode("utf-8"))

    proven, checkpoint = await_quorum(fetch)  # a new entry's checkpoint: witnesses need a moment
    verify_inclusion(
        leaf_hash(proven.entry), index, checkpoint.size, proven.proof, checkpoint.root_hash
    )
    try:
        return Entry.from_bytes(proven.entry)
    except CustodyError as exc:
        raise IntegrityError(f"ledger entry {index} is not a custody entry") from exc


def _refuse_unless(checks: tuple[tuple[str, bool], ...], whose: str, index: int | None) -> None:
    wrong = [what for what, ok in checks if not ok]
    if wrong:
        raise IntegrityError(
            f"the server's key for {whose} is not the one the ledger shows at entry {index} "
            f"({', '.join(wrong)} differ)",
            hint=_REPORT,
        )


def check_key_logged(
    api: Api,
    session: Session,
    *,
    index: int | None,
    user_id: str,
    age_recipient: str | None = None,
    signing_key: str | None = None,
) -> None:
    """Raise :class:`IntegrityError` unless entry ``index`` registers these keys for ``user_id``."""
    entry = _logged_entry(api, session, index, f"user {user_id}'s key")
    _refuse_unless(
        (
            ("entry type", entry.type == EntryType.KEY_REGISTERED),
            ("owner", entry.actor == user_id),
            (
                "encryption key",
                age_recipient is None or entry.data.get("age_recipient") == age_recipient,
            ),
            ("signing key", signing_key is None or entry.data.get("signing_key") == signing_key),
        ),
        f"user {user_id}",
        index,
    )


def check_recovery_key_logged(
    api: Api, session: Session, *, index: int | None, org_id: str, recipient: str
) -> None:
    """Raise :class:`IntegrityError` unless entry ``index`` logs ``recipient`` as the recovery
    key of organisation ``org_id`` (a server must not slip its own key in as "recovery")."""
    entry = _logged_entry(api, session, index, f"organisation {org_id}'s recovery key")
    _refuse_unless(
        (
            ("entry type", entry.type == EntryType.ORG_RECOVERY_KEY),
            ("organisation", entry.data.get("org") == org_id),
            ("recovery key", entry.data.get("recovery_recipient") == recipient),
        ),
        f"organisation {org_id}'s recovery",
        index,
    )
