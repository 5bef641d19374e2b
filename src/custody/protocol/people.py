"""Units and people administration."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from custody.protocol.types import Email, Strict, View


class UnitIn(Strict):
    name: str = Field(max_length=80)


class UnitOut(View):
    id: str
    name: str
    org: str
    members: int
    created_at: datetime


class PersonIn(Strict):
    email: Email
    role: str = Field(max_length=20, description="officer, prosecutor, paralegal, ...")
    unit: str | None = Field(default=None, max_length=80, description="a unit's name or id")


class PersonOut(View):
    id: str
    email: str
    role: str
    unit: str | None
    unit_id: str | None
    disabled: bool
    enrolled: bool  # has a second factor
    keys: bool
    created_at: datetime


class PeoplePage(View):
    """One page of the people an admin administers, newest first."""

    people: list[PersonOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class PersonAddedOut(View):
    person: PersonOut
    # The one-time activation code went to this address only; the admin never sees it.
    activation_sent_to: str


class ReasonIn(Strict):
    reason: str = Field(max_length=300)


class MoveIn(Strict):
    unit: str | None = Field(max_length=80, description="a unit's name or id; null: no unit")


class ResetOut(View):
    ledger_index: int
    # The one-time re-enrolment code went to this address only; the admin never sees it.
    enrolment_code_sent_to: str
