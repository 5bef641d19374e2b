"""CUSTODY_TRUSTED_PROXIES: read as comma-separated addresses and networks, refused if not.

uvicorn takes whatever it cannot parse as a host name no peer ever has, so a typo would
silently change who is trusted; the settings refuse it when the server starts instead.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from custody.settings import Settings


def test_no_proxy_is_trusted_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTODY_TRUSTED_PROXIES", raising=False)
    assert Settings().trusted_proxies == ()


@pytest.mark.parametrize(("value", "parsed"), [
    ("127.0.0.1", ("127.0.0.1",)),
    (" 10.0.0.5 , 10.1.0.0/24,::1 ", ("10.0.0.5", "10.1.0.0/24", "::1")),
    ("2001:DB8::/32,", ("2001:db8::/32",)),  # written the one way uvicorn compares
    ("", ()),
])
def test_the_variable_is_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch, value: str, parsed: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CUSTODY_TRUSTED_PROXIES", value)
    assert Settings().trusted_proxies == parsed


@pytest.mark.parametrize("value", [
    "proxy.example",    # a name: uvicorn would compare it to the peer's address as text
    "*",                # everyone: the very thing this setting is there to prevent
    "10.0.0.1/8",       # host bits set: which network was meant?
    "127.0.0.1,300.1.1.1",
])
def test_a_bad_entry_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CUSTODY_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "CUSTODY_TRUSTED_PROXIES" in message
    assert "is not an IP address or network" in message


def test_given_in_code_as_a_list() -> None:
    assert Settings(trusted_proxies=["192.0.2.1"]).trusted_proxies == ("192.0.2.1",)
