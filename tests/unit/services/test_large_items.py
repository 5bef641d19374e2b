"""Items of tens of gigabytes (issue 13): their size and their upload's length are kept
whole on both databases (PostgreSQL's INTEGER would end at 2^31 - 1 bytes)."""

from __future__ import annotations

from custody.services import cases, transfers, uploads
from custody.services import items as item_service
from support.world import CPS, Cast, new_urn

SIXTY_GB = 60_000_000_123


def test_a_60_gb_item_and_its_upload(cast: Cast) -> None:
    urn = new_urn()
    cases.create_case(cast.ctx, cast.officer, urn)
    transfer = transfers.create_transfer(cast.ctx, cast.officer, urn, [CPS], None)
    item = item_service.add_item(cast.ctx, cast.officer, transfer.id, SIXTY_GB)
    upload = uploads.create(cast.ctx, cast.officer, item.id, SIXTY_GB)
    assert (upload.offset, upload.length) == (0, SIXTY_GB)
    assert uploads.status(cast.ctx, cast.officer, upload.id).length == SIXTY_GB
    shown = transfers.view(cast.ctx, cast.officer, transfer.id)
    assert [i.ciphertext_size for i in shown.items] == [SIXTY_GB]
