"""Identifiers: 26-character, URL-safe, lowercase Crockford base32 of a 48-bit millisecond
timestamp followed by 80 random bits (the ULID layout). They sort by creation time, which keeps
B-tree inserts at the right edge of the index, and they reveal nothing but that time."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id() -> str:
    return id_of(time.time_ns() // 1_000_000, secrets.randbits(80))


def id_of(created_ms: int, random_bits: int) -> str:
    """The id of a millisecond timestamp and 80 random bits (a reproducible source of them
    gives reproducible ids: the seed data)."""
    value = created_ms << 80 | random_bits
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_valid_id(value: str) -> bool:
    return len(value) == 26 and all(c in _ALPHABET for c in value)
