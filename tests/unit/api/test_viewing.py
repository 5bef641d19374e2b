"""The browser's player: a viewing is one item:viewed entry, then ranges fetched by its id —
each checked like a download (a revocation stops the player), none logged again, none for
anyone but the viewer, none after the viewing ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from custody.domain.people import Role
from custody.ledger.events import EntryType
from support.in_process import InProcess, Member, in_process
from support.world import CPS, OTHER, POLICE


class Scene:
    def __init__(self, w: InProcess) -> None:
        self.w = w
        self.officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        self.prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        self.other = w.add("other", "pc.reid@northshire.police.example", OTHER, Role.OFFICER)
        for m in (self.officer, self.prosecutor, self.other):
            w.register_keys(m)
        sent = w.transfer(self.officer, CPS, "47TV0000001", send=True)
        self.item, self.transfer = sent["item"], sent["transfer"]

    def view(self, who: Member) -> httpx.Response:
        return self.w.client.post(f"/api/v1/items/{self.item}/views", headers=who.auth)

    def fetch(
        self, who: Member, view: str, byte_range: str | None = "bytes=0-15"
    ) -> httpx.Response:
        headers = {**who.auth, **({"Range": byte_range} if byte_range else {})}
        return self.w.client.get(f"/api/v1/views/{view}/content", headers=headers)

    def count(self, type_: str) -> int:
        return len(self.w.world.entries(type_))


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        yield Scene(w)


def test_a_viewing_is_logged_once_and_serves_ranges(scene: Scene) -> None:
    started = scene.view(scene.prosecutor)
    assert started.status_code == 201, started.text
    view = started.json()
    assert view["item"] == scene.item
    (viewed,) = scene.w.world.entries(EntryType.ITEM_VIEWED)
    assert viewed.data["view"] == view["view"]
    assert viewed.actor == scene.prosecutor.user_id
    whole = scene.fetch(scene.prosecutor, view["view"], None)
    assert whole.status_code == 200
    assert len(whole.content) == view["ciphertext_size"]
    for first, last in ((0, 15), (10, 63), (63, 63)):
        part = scene.fetch(scene.prosecutor, view["view"], f"bytes={first}-{last}")
        assert part.status_code == 206
        assert part.content == whole.content[first : last + 1]
    assert scene.count(EntryType.ITEM_VIEWED) == 1
    assert scene.count(EntryType.ITEM_DOWNLOADED) == 0
    shown = scene.w.client.get(f"/api/v1/transfers/{scene.transfer}", headers=scene.officer.auth)
    assert shown.json()["state"] == "delivered"


def test_nobody_else_uses_a_viewing_nor_starts_one_without_access(scene: Scene) -> None:
    view = scene.view(scene.prosecutor).json()["view"]
    assert scene.fetch(scene.other, view).status_code == 404
    assert scene.fetch(scene.prosecutor, "no-such-view").status_code == 404
    assert scene.view(scene.other).status_code == 404
    refused = scene.w.world.entries(EntryType.ACCESS_REFUSED)
    assert [(e.actor, e.data["action"]) for e in refused] == [(scene.other.user_id, "view")]


def test_a_revocation_stops_the_player_and_is_recorded(scene: Scene) -> None:
    view = scene.view(scene.prosecutor).json()["view"]
    revoked = scene.w.client.post(
        f"/api/v1/transfers/{scene.transfer}/revoke",
        headers=scene.officer.auth,
        json={"reason": "wrong unit"},
    )
    assert revoked.status_code == 200, revoked.text
    stopped = scene.fetch(scene.prosecutor, view)
    assert stopped.status_code in (403, 404, 410)
    refused = scene.w.world.entries(EntryType.ACCESS_REFUSED)
    assert [(e.actor, e.data["action"]) for e in refused] == [(scene.prosecutor.user_id, "view")]


def test_a_viewing_ends(scene: Scene) -> None:
    view = scene.view(scene.prosecutor).json()["view"]
    scene.w.clock.advance(timedelta(hours=4, seconds=1))
    ended = scene.fetch(scene.prosecutor, view)
    assert ended.status_code == 410
    assert "open the player again" in ended.text
