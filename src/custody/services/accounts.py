"""Organisations, people, passwords, sign-in and public keys."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from custody.crypto.age import Recipient
from custody.crypto.signing import VerifyKey
from custody.domain.people import (
    CONTENT_ROLES,
    OrgKind,
    Role,
    check_org_name,
    check_unit_membership,
    normalise_email,
)
from custody.domain.policy import Scope, grant
from custody.errors import (
    Conflict,
    CustodyError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    SecondFactorRequired,
)
from custody.ledger.events import EntryType
from custody.protocol.accounts import KeysOut
from custody.services import activation, second_factor, throttle, tokens
from custody.services.context import Actor, Origin, ServiceContext, refuse
from custody.services.ledger import SYSTEM, record
from custody.services.security_events import record_event
from custody.store.models import Organisation, Unit, User, UserKey

MIN_PASSWORD = 12


def _cost(ctx: ServiceContext) -> tuple[int, int]:
    """The argon2id cost the settings name: (time cost, memory in KiB)."""
    return ctx.settings.password_hash_time_cost, ctx.settings.password_hash_memory_kib


@functools.cache
def _hasher(cost: tuple[int, int]) -> PasswordHasher:
    time_cost, memory_kib = cost
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


@functools.cache
def _dummy_hash(cost: tuple[int, int]) -> str:
    """A hash to verify against for unknown users: same cost, no user-exists oracle."""
    return _hasher(cost).hash(secrets.token_hex(16))


def create_org(
    ctx: ServiceContext, name: str, kind: OrgKind, recovery_recipient: str
) -> Organisation:
    name = check_org_name(name)
    Recipient.parse(recovery_recipient)  # refuse junk before storing it
    with ctx.unit_of_work() as session:
        if session.scalar(select(Organisation).where(Organisation.name == name)):
            raise Conflict(f"an organisation named {name!r} exists already")
        org = Organisation(
            name=name,
            kind=kind.value,
            recovery_recipient=recovery_recipient,
            default_ack_hours=ctx.settings.default_ack_hours,
            created_at=ctx.clock.now(),
        )
        session.add(org)
        session.flush()
        record(
            ctx, session, EntryType.ORG_CREATED, "system", data={"org": org.id, "kind": kind.value}
        )
        _log_recovery_key(ctx, session, org)
        return org


def _log_recovery_key(ctx: ServiceContext, session: Session, org: Organisation) -> None:
    """Log the organisation's recovery key: a client wraps only for one the ledger shows."""
    appended = record(
        ctx,
        session,
        EntryType.ORG_RECOVERY_KEY,
        SYSTEM,
        data={"org": org.id, "recovery_recipient": org.recovery_recipient},
    )
    org.recovery_key_index = appended.index


def log_recovery_keys(ctx: ServiceContext) -> int:
    """Log the recovery keys of organisations made before they were logged (``admin init``)."""
    with ctx.unit_of_work() as session:
        unlogged = session.scalars(
            select(Organisation)
            .where(Organisation.recovery_key_index.is_(None))
            .order_by(Organisation.created_at)
        ).all()
        for org in unlogged:
            _log_recovery_key(ctx, session, org)
        return len(unlogged)


def find_org(session: Session, name_or_id: str) -> Organisation:
    org = session.scalar(
        select(Organisation).where(
            (Organisation.name == name_or_id) | (Organisation.id == name_or_id)
        )
    )
    if org is None:
        raise NotFound(
            f"no organisation {name_or_id!r}", hint="list them with `custody admin org list`"
        )
    return org


def list_orgs(ctx: ServiceContext) -> list[Organisation]:
    with ctx.unit_of_work() as session:
        return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def create_user(
    ctx: ServiceContext,
    email: str,
    org_name: str,
    role: Role,
    password: str,
    unit: str | None = None,
) -> User:
    """The operator creates a person with a password they set (scripted provisioning)."""
    with ctx.unit_of_work() as session:
        org = find_org(session, org_name)
        unit_id = find_unit(session, org.id, unit).id if unit else None
        return add_user(ctx, session, email, org.id, role, password, unit_id, by=SYSTEM)


@dataclass(frozen=True)
class Invited:
    user: User
    activation_code: str | None  # for the operator to hand over, when it was not e-mailed


def invite_user(
    ctx: ServiceContext, email: str, org_name: str, role: Role, unit: str | None = None
) -> Invited:
    """The operator creates a person who chooses their own password with a one-time
    activation code: e-mailed to them if the server has SMTP, else returned for the operator
    to hand over by a separate channel (``custody admin user create``)."""
    with ctx.unit_of_work() as session:
        org = find_org(session, org_name)
        unit_id = find_unit(session, org.id, unit).id if unit else None
        user = add_user(ctx, session, email, org.id, role, None, unit_id, by=SYSTEM)
        code = activation.issue(ctx, session, user, activation.ACTIVATE, by="operator")
        if ctx.settings.smtp_host:
            activation.mail(ctx, user, activation.ACTIVATE, code, "The custody operator")
            return Invited(user, None)
        return Invited(user, code)


def add_user(
    ctx: ServiceContext,
    session: Session,
    email: str,
    org_id: str,
    role: Role,
    password: str | None,
    unit_id: str | None,
    *,
    by: Actor | str,
) -> User:
    """Add a person in the caller's transaction; the ledger records it (ids only).

    Without ``password`` the account cannot sign in until the person activates it with a
    one-time code (:mod:`custody.services.activation`): its hash is of a random secret
    nobody ever holds.
    """
    email = normalise_email(email)
    if password is not None:
        check_password(password)
    check_unit_membership(role, unit_id)
    if session.scalar(select(User).where(User.email == email)):
        raise Conflict(f"a user {email} exists already")
    user = User(
        email=email,
        org_id=org_id,
        role=role.value,
        unit_id=unit_id,
        password_hash=_hasher(_cost(ctx)).hash(
            password if password is not None else secrets.token_hex(32)
        ),
        created_at=ctx.clock.now(),
    )
    session.add(user)
    session.flush()
    data = {"user": user.id, "org": org_id, "role": role.value}
    record(
        ctx, session, EntryType.USER_CREATED, by, data=data | ({"unit": unit_id} if unit_id else {})
    )
    return user


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")


def activate(
    ctx: ServiceContext, email: str, code: str, password: str, origin: Origin | None = None
) -> None:
    """The person sets their first password with the one-time code e-mailed to them.

    A wrong code is a failed sign-in (counted by the throttle, same generic refusal).
    """
    check_password(password)
    origin = origin or Origin()
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = email.strip().lower()[:254]
    with ctx.unit_of_work() as session:
        user = session.scalar(select(User).where(User.email == email))
        paused = throttle.refusal(session, ctx, email, origin.address)
        ids = {"user_id": user.id if user else None, "org_id": user.org_id if user else None}
        good = (
            user is not None
            and not user.disabled
            and not paused
            and activation.check(ctx, session, user.id, activation.ACTIVATE, code)
        )
        if user is not None and good:
            user.password_hash = _hasher(_cost(ctx)).hash(password)
            activation.spend(session, user.id, activation.ACTIVATE)
            throttle.succeeded(session, email)
            record(ctx, session, EntryType.ACCOUNT_ACTIVATED, user.id, data={"user": user.id})
            record_event(ctx, session, "account:activated", origin, email=email, **ids)
            return
        failed_login(ctx, session, email, origin, paused or "wrong activation code", ids)
        refuse(
            NotAuthenticated(
                "that activation code is not right, has been used, or has expired",
                hint="ask your admin to add you again if it has expired; it works once",
            )
        )


def find_unit(session: Session, org_id: str, name_or_id: str) -> Unit:
    """A unit of this organisation, by name or id."""
    unit = session.scalar(
        select(Unit).where(
            Unit.org_id == org_id, (Unit.name == name_or_id.strip()) | (Unit.id == name_or_id)
        )
    )
    if unit is None:
        raise NotFound(
            f"no unit {name_or_id!r} in this organisation",
            hint="list them with `custody units list` (operators: `custody admin unit list`)",
        )
    return unit


GENERIC_REFUSAL = (
    "the e-mail address or password is wrong (or the code, or sign-in is paused for a while "
    "after repeated failures)"
)


ENROLMENT_NEEDED = "enrolment needed: the web app does not enrol a second factor"
# Outcomes that are not failures but a next step, and how each is recorded.
_NEXT_STEP = {
    "code needed": ("login:second_factor_needed", None),
    "enrolment code needed": ("login:enrolment_code_needed", None),
    ENROLMENT_NEEDED: ("login:refused", ENROLMENT_NEEDED),
}


class EnrolmentNeeded(Forbidden):
    """A right password for a browser sign-in, but no second factor to sign in with yet."""


class EnrolmentCodeNeeded(NotAuthenticated):
    """A right password, but the second factor was reset: enrolling again needs the one-time
    code e-mailed to the person."""


@dataclass(frozen=True)
class LoginResult:
    """A full token, or (``enrolling``) a short-lived token good only for enrolment."""

    issued: tokens.IssuedToken
    enrolling: bool


def login(
    ctx: ServiceContext,
    email: str,
    password: str,
    *,
    code: str | None = None,
    recovery_code: str | None = None,
    scopes: frozenset[Scope] | None = None,
    origin: Origin | None = None,
    kind: tokens.Kind = tokens.API,
    enrolment_code: str | None = None,
    enrol_in_browser: bool = False,
) -> LoginResult:
    """Password, then second factor; one generic error, and the same work, for every failure.

    Unknown address, wrong password, wrong code and a paused account all say the same and
    all verify a password hash. Every attempt is a security event; failures feed the throttle.
    ``kind``: an API token (the CLI) or a browser session (the web app's sign-in page).
    ``enrol_in_browser``: the sign-in page's form, which enrols a first second factor (a
    session good for enrolment only, as the CLI's token); a browser sign-in by any other
    path (the security-key script) is refused for want of one.
    """
    origin = origin or Origin()
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = email.strip().lower()[:254]  # still counted and recorded, never matched
    with ctx.unit_of_work() as session:
        outcome, user = _check(ctx, session, email, password, code, recovery_code, origin)
        if outcome == "ok" and user is not None:
            outcome = _enrolment_step(
                ctx, session, user, enrolment_code, kind, enrol_in_browser
            )
        ids = {"user_id": user.id if user else None, "org_id": user.org_id if user else None}
        if outcome in _NEXT_STEP:  # not failures: the person has a step to take
            event, detail = _NEXT_STEP[outcome]
            record_event(ctx, session, event, origin, email=email, detail=detail, **ids)
            refuse(_login_refusal(outcome))
        if outcome != "ok" or user is None:
            failed_login(ctx, session, email, origin, outcome, ids)
            refuse(_login_refusal(outcome))
        throttle.succeeded(session, email)
        enrolling = not second_factor.is_enrolled(session, user.id)
        browser = kind == tokens.SESSION
        label = "browser" if browser else None
        if enrolling:
            ttl = timedelta(minutes=ctx.settings.enrolment_minutes)
            wanted = frozenset({Scope.ENROL})
        else:
            hours = ctx.settings.session_hours if browser else ctx.settings.token_ttl_hours
            ttl, wanted = timedelta(hours=hours), grant(user.role, scopes)
        issued = tokens.issue(ctx, session, user, wanted, ttl, label, kind)
        detail = "enrolment" if enrolling else f"scopes {issued.scopes}"
        record_event(ctx, session, "login:succeeded", origin, email=email, detail=detail, **ids)
        return LoginResult(issued, enrolling)


def _login_refusal(outcome: str) -> CustodyError:
    """What a sign-in that issued no token tells the person: a next step, or one generic
    refusal whatever failed."""
    if outcome == "code needed":
        return SecondFactorRequired(
            "enter the code from your authenticator app",
            hint="set CUSTODY_TOTP_CODE, or use --recovery-code",
        )
    if outcome == "enrolment code needed":
        return EnrolmentCodeNeeded(
            "your second factor was reset: enrolling a new one needs the one-time code e-mailed "
            "to you",
            hint="custody login --server URL --email ADDRESS --enrolment-code CODE",
        )
    if outcome == ENROLMENT_NEEDED:
        return EnrolmentNeeded("this account has no second factor yet")
    return NotAuthenticated(GENERIC_REFUSAL, hint="check them and try again later")


def _enrolment_step(
    ctx: ServiceContext,
    session: Session,
    user: User,
    enrolment_code: str | None,
    kind: tokens.Kind,
    enrol_in_browser: bool = False,
) -> str:
    """For a person without a second factor: only the sign-in page's form enrols one in the
    browser (docs/web.md); and after a reset, only the person (with the code e-mailed to
    them) may enrol again, since the password alone, which someone else may know, is not
    enough."""
    if second_factor.is_enrolled(session, user.id):
        return "ok"
    if kind == tokens.SESSION and not enrol_in_browser:
        return ENROLMENT_NEEDED
    if not activation.pending(session, user.id, activation.REENROL):
        return "ok"
    if not enrolment_code:
        return "enrolment code needed"
    if activation.check(ctx, session, user.id, activation.REENROL, enrolment_code):
        return "ok"
    return "wrong enrolment code"


def failed_login(
    ctx: ServiceContext,
    session: Session,
    email: str,
    origin: Origin,
    why: str,
    ids: dict[str, str | None],
) -> None:
    """Every failed sign-in, by code or security key: fed to the throttle and recorded."""
    if why not in throttle.PAUSED:  # a refused retry does not extend the pause
        throttle.failed(session, ctx, email, origin.address)
    record_event(ctx, session, "login:failed", origin, email=email, detail=why, **ids)


def _check(  # noqa: PLR0911 - one return per outcome reads clearest
    ctx: ServiceContext,
    session: Session,
    email: str,
    password: str,
    code: str | None,
    recovery_code: str | None,
    origin: Origin,
) -> tuple[str, User | None]:
    """What came of an attempt: "ok", "code needed", or why it failed (kept server-side)."""
    user = session.scalar(select(User).where(User.email == email))
    paused = throttle.refusal(session, ctx, email, origin.address)
    if paused:
        # Answered before any password hash: a flood of paused attempts must not buy
        # argon2 time from everyone else's requests. The quicker answer is no oracle: a
        # pause comes only from failures on this very account key or address, counted the
        # same whether the account exists or not, so it tells the sender that recent
        # attempts failed (theirs), not whether the account exists or the password is right.
        return paused, user
    try:
        # Verify even for unknown users: same cost, no user-exists oracle.
        cost = _cost(ctx)
        _hasher(cost).verify(user.password_hash if user else _dummy_hash(cost), password)
        right = True
    except (VerificationError, InvalidHashError):
        right = False
    if user is None or user.disabled:
        return "unknown or disabled", user
    if not right:
        return "wrong password", user
    if not second_factor.is_enrolled(session, user.id):
        return "ok", user
    if not code and not recovery_code:
        return "code needed", user
    if not second_factor.verify(ctx, session, user.id, code, recovery_code):
        return "wrong code", user
    return "ok", user


def register_keys(
    ctx: ServiceContext, actor: Actor, age_recipient: str, signing_key: str
) -> KeysOut:
    """Register a user's public keys; each registration is a ledger entry (key transparency)."""
    Recipient.parse(age_recipient)
    VerifyKey.from_b64(signing_key)
    if actor.role not in CONTENT_ROLES:
        raise Forbidden(f"a {actor.role} does not handle case material and needs no keys")
    with ctx.unit_of_work() as session:
        now = ctx.clock.now()
        for old in session.scalars(
            select(UserKey).where(UserKey.user_id == actor.user_id, UserKey.retired_at.is_(None))
        ):
            old.retired_at = now
        appended = record(
            ctx,
            session,
            EntryType.KEY_REGISTERED,
            actor,
            data={"age_recipient": age_recipient, "signing_key": signing_key},
        )
        key = UserKey(
            user_id=actor.user_id,
            age_recipient=age_recipient,
            signing_key=signing_key,
            ledger_index=appended.index,
            created_at=now,
        )
        session.add(key)
        return KeysOut.of(key, email=actor.email)


def my_keys(ctx: ServiceContext, actor: Actor) -> KeysOut:
    """The public keys the actor registered last, and the ledger entry that registers them."""
    with ctx.unit_of_work() as session:
        key = current_key(session, actor.user_id)
        if key is None:
            raise NotFound("you have no keys registered", hint="make them: custody keys init")
        return KeysOut.of(key, email=actor.email)


def current_key(session: Session, user_id: str) -> UserKey | None:
    return session.scalar(
        select(UserKey).where(UserKey.user_id == user_id, UserKey.retired_at.is_(None))
    )


def key_by_index(ctx: ServiceContext, ledger_index: int) -> UserKey:
    with ctx.unit_of_work() as session:
        key = session.scalar(select(UserKey).where(UserKey.ledger_index == ledger_index))
        if key is None:
            raise NotFound(f"no key registered at ledger index {ledger_index}")
        return key
