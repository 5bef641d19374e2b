"""Bech32 (BIP 173) as age uses it for keys: ``age1...`` and ``AGE-SECRET-KEY-1...``.

age uses the original Bech32 checksum (not Bech32m), refuses mixed case, and
(unlike BIP 173) has no 90-character limit, because post-quantum keys are long.
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(ValueError):
    """The text is not valid Bech32."""


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATORS):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise Bech32Error("non-zero or excess padding bits")
    return out


def encode(hrp: str, data: bytes, *, upper: bool = False) -> str:
    """Bech32 of ``data`` under the human-readable part ``hrp`` (given in lower case)."""
    values = _convert_bits(data, 8, 5, pad=True)
    checksum = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    values += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(_CHARSET[v] for v in values)
    return text.upper() if upper else text


def decode(text: str) -> tuple[str, bytes]:
    """(lower-case hrp, data) of a Bech32 string; :class:`Bech32Error` if it is not one."""
    if not text.isascii() or any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise Bech32Error("characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed case")
    text = text.lower()
    split = text.rfind("1")
    if split < 1 or split + 7 > len(text):
        raise Bech32Error("missing separator or checksum")
    hrp, rest = text[:split], text[split + 1 :]
    try:
        values = [_CHARSET.index(c) for c in rest]
    except ValueError as exc:
        raise Bech32Error("character outside the Bech32 alphabet") from exc
    if _polymod([*_hrp_expand(hrp), *values]) != 1:
        raise Bech32Error("bad checksum")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))
