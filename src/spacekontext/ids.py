"""Identifiers: 26-character, URL-safe, lowercase Crockford base32 of a 48-bit millisecond
timestamp followed by 80 random bits (the ULID layout). They sort by creation time, which keeps
B-tree inserts at the right edge of the index, and they reveal nothing but that time."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id() -> str:
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_valid_id(value: str) -> bool:
    return len(value) == 26 and all(c in _ALPHABET for c in value)
