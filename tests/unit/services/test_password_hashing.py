"""Passwords are hashed with argon2id at the cost the settings name.

Production keeps argon2-cffi's defaults (RFC 9106's low-memory recommendation); a cheaper
cost is for tests and development only, and refused anywhere else. An unknown account is
checked against a hash of the same cost, so the time taken tells nobody who has an account.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from pydantic import ValidationError

from custody.domain.people import Role
from custody.errors import NotAuthenticated
from custody.services import accounts
from custody.settings import Settings
from support.world import PASSWORD, POLICE, World, world_settings


def test_production_hashes_at_argon2s_defaults_and_refuses_less() -> None:
    production = Settings(mode="production")
    assert (production.password_hash_time_cost, production.password_hash_memory_kib) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
    )
    assert PasswordHasher().time_cost == production.password_hash_time_cost
    assert PasswordHasher().memory_cost == production.password_hash_memory_kib
    for cheap in ({"password_hash_time_cost": 2}, {"password_hash_memory_kib": 32768}):
        with pytest.raises(ValidationError, match="RFC 9106"):
            Settings(mode="production", **cheap)
    Settings(mode="development", password_hash_time_cost=1, password_hash_memory_kib=32)


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(1, 32), (2, 64)])
def test_the_settings_cost_is_the_cost_of_every_hash(
    tmp_path: Path, time_cost: int, memory_kib: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World.create(world_settings(
        tmp_path / "data", f"sqlite:///{tmp_path / 'custody.db'}",
        password_hash_time_cost=time_cost, password_hash_memory_kib=memory_kib,
    ))
    try:
        world.organisations()
        officer = world.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        stored = world.user(officer.email).password_hash
        parameters = extract_parameters(stored)
        assert (parameters.time_cost, parameters.memory_cost) == (time_cost, memory_kib)

        verified: list[str] = []
        real = PasswordHasher.verify

        def verify(self: PasswordHasher, hash_: str | bytes, password: str | bytes) -> bool:
            verified.append(str(hash_))
            return real(self, hash_, password)

        monkeypatch.setattr(PasswordHasher, "verify", verify)
        with pytest.raises(NotAuthenticated):
            accounts.login(world.ctx, "nobody@tvp.police.example", PASSWORD)
        (dummy,) = verified
        assert dummy != stored
        assert extract_parameters(dummy) == parameters
    finally:
        world.close()
