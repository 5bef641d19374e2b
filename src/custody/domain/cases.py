"""Cases, identified by their Unique Reference Number (URN)."""

from __future__ import annotations

import re

from custody.errors import InvalidInput

# A police URN: two-digit force code, two characters (unit/station), five-digit
# serial and a two-digit year, e.g. 47XX1234567.
_URN = re.compile(r"^[0-9]{2}[A-Z0-9]{2}[0-9]{7}$")


def parse_urn(text: str) -> str:
    urn = text.strip().upper()
    if not _URN.fullmatch(urn):
        raise InvalidInput(
            f"{text!r} is not a case URN",
            hint="a URN is 11 characters: force code, unit, serial and year, e.g. 47XX1234567",
        )
    return urn
