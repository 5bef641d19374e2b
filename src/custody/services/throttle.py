"""Sign-in throttling: exponential back-off, then a temporary lockout (ASVS V2.2.1).

Failures are counted per account and per address. After a few failures on an
account each further attempt must wait (1 s, 2 s, 4 s ... up to a minute);
``login_lockout_failures`` in a row lock it for ``login_lockout_minutes``, and
while locked even the right password is refused. An address is locked after
``address_lockout_failures`` failures on any accounts. A success clears the
account's count, not the address's. Time comes from the context's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from custody.services.context import ServiceContext
from custody.store.models_security import SignInThrottle

FREE_FAILURES = 4
PAUSED = frozenset({"locked", "back-off"})  # what :func:`refusal` answers
MAX_DELAY = timedelta(seconds=60)


def account_key(email: str) -> str:
    return f"account:{email[:280]}"


def address_key(address: str | None) -> str | None:
    return f"address:{address}" if address else None


def back_off(failures: int) -> timedelta:
    """How long after the last failure the next attempt must wait."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def _row(session: Session, key: str) -> SignInThrottle:
    row = session.get(SignInThrottle, key, with_for_update=True)
    if row is None:
        row = SignInThrottle(key=key, failures=0)
        session.add(row)
    return row


def _fresh(row: SignInThrottle, now: datetime, window: timedelta) -> None:
    """Forget failures once a lockout has ended or the last one is older than the window."""
    if (row.locked_until is not None and row.locked_until <= now) or (
        row.last_failure_at is not None and now - row.last_failure_at > window
    ):
        row.failures, row.locked_until = 0, None


def refusal(session: Session, ctx: ServiceContext, email: str, address: str | None) -> str | None:
    """Why an attempt may not be tried now ("locked", "back-off"), or None."""
    now = ctx.clock.now()
    window = timedelta(minutes=ctx.settings.login_lockout_minutes)
    for key in (account_key(email), address_key(address)):
        if key is None:
            continue
        row = session.get(SignInThrottle, key)
        if row is None:
            continue
        _fresh(row, now, window)
        if row.locked_until is not None and row.locked_until > now:
            return "locked"
        if (
            key.startswith("account:")
            and row.last_failure_at is not None
            and now < row.last_failure_at + back_off(row.failures)
        ):
            return "back-off"
    return None


def failed(session: Session, ctx: ServiceContext, email: str, address: str | None) -> bool:
    """Count a failure; True if it locked the account or address."""
    now = ctx.clock.now()
    window = timedelta(minutes=ctx.settings.login_lockout_minutes)
    locked = False
    limits = {
        account_key(email): ctx.settings.login_lockout_failures,
        address_key(address): ctx.settings.address_lockout_failures,
    }
    for key, limit in limits.items():
        if key is None:
            continue
        row = _row(session, key)
        _fresh(row, now, window)
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= limit:
            row.locked_until = now + window
            locked = True
    return locked


def succeeded(session: Session, email: str) -> None:
    row = session.get(SignInThrottle, account_key(email))
    if row is not None:
        row.failures, row.locked_until, row.last_failure_at = 0, None, None
