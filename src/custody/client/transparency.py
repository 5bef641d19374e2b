"""Key transparency on the client: trust a public key only if the log shows it registered.

The server tells a sender whose keys to wrap for, and a receiver whose key
signed a manifest. A server that swapped a key could read content or forge a
sender; so the client asks for the ``key:registered`` entry with an inclusion
proof, and checks it against a checkpoint signed by the log key this client
pinned at login. A swapped key would have to be logged — where its owner and
any monitor can see it.
"""

from __future__ import annotations

import base64

from custody.client.config import Session
from custody.client.http import Api
from custody.errors import IntegrityError
from custody.ledger.checkpoint import open_checkpoint
from custody.ledger.entry import Entry
from custody.ledger.merkle import leaf_hash, verify_inclusion
from custody.ledger.note import Verifier


def check_key_logged(
    api: Api,
    session: Session,
    *,
    index: int,
    user_id: str,
    age_recipient: str | None = None,
    signing_key: str | None = None,
) -> None:
    """Raise :class:`IntegrityError` unless entry ``index`` registers these keys for ``user_id``."""
    if not session.log_key:
        raise IntegrityError(
            "this client has no log key pinned", hint="log in again: custody login"
        )
    proven = api.get(f"/api/v1/ledger/entries/{index}")
    body = base64.b64decode(proven["entry"])
    checkpoint = open_checkpoint(
        proven["checkpoint"].encode("utf-8"),
        Verifier.from_vkey(session.log_key),
        session.log_origin,
    )
    verify_inclusion(
        leaf_hash(body),
        index,
        checkpoint.size,
        [base64.b64decode(h) for h in proven["proof"]],
        checkpoint.root_hash,
    )
    entry = Entry.from_bytes(body)
    wrong = [
        what
        for what, ok in (
            ("entry type", entry.type == "key:registered"),
            ("owner", entry.actor == user_id),
            (
                "encryption key",
                age_recipient is None or entry.data.get("age_recipient") == age_recipient,
            ),
            ("signing key", signing_key is None or entry.data.get("signing_key") == signing_key),
        )
        if not ok
    ]
    if wrong:
        raise IntegrityError(
            f"the server's key for user {user_id} is not the one the ledger shows at entry {index} "
            f"({', '.join(wrong)} differ)",
            hint="do not send or accept material; report this to your security team",
        )
