"""``custody share``: wrap an item key you hold for one more reader, on this machine.

The client fetches its own wrap of the item, opens it with the user's key, asks
the server whose key to wrap for, checks in the ledger that the reader registered
that key (as ``sending`` does for recipients), and uploads only the new wrap.
"""

from __future__ import annotations

import base64

from custody.client.config import Session
from custody.client.http import Api
from custody.client.ids import server_id
from custody.client.transparency import check_key_logged
from custody.crypto import age
from custody.crypto.age import DecryptionFailed
from custody.crypto.items import unwrap, wrap
from custody.crypto.keys import UserKeys
from custody.errors import Forbidden, IntegrityError
from custody.protocol.assurance import ShareIn, ShareOut, ShareTargetOut
from custody.protocol.transfers import TransferOut


def share_item(
    api: Api, session: Session, keys: UserKeys, item_id: str, email: str, expires: str | None
) -> ShareOut:
    view = api.get(f"/api/v1/items/{item_id}", TransferOut)
    mine = next((i.wrap for i in view.items if i.id == item_id), None)
    if mine is None:
        raise Forbidden(f"you hold no key for item {item_id}", hint="only a holder can share")
    try:
        item_key = unwrap(mine, keys.identity)
    except DecryptionFailed:
        raise IntegrityError(
            f"your key does not open item {item_id}",
            hint="were your keys replaced since you received it? ask the sender to share it",
        ) from None
    target = api.get(
        f"/api/v1/items/{item_id}/share-target", ShareTargetOut, params={"email": email}
    )
    server_id(target.user_id, "user id")
    # Wrap only for a key the ledger shows its owner registered.
    check_key_logged(
        api,
        session,
        index=target.key_index,
        user_id=target.user_id,
        age_recipient=target.recipient,
    )
    wrapped = wrap(item_key, age.Recipient.parse(target.recipient))
    body = ShareIn(
        email=target.email,
        wrap=base64.b64encode(wrapped).decode(),
        key_index=target.key_index,
        expires=expires,
    )
    return api.post(f"/api/v1/items/{item_id}/shares", ShareOut, body)
