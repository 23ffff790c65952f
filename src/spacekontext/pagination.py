"""Keyset pagination shared by every list: a page of at most `limit` rows (1..MAX_PAGE) and
an opaque cursor that holds the last row's sort key, so the next page starts after it with an
index range scan, however deep the client pages.

A cursor is the URL-safe base64 of `[k|…|]timestamp|id`: the row's timestamp and id, after
any leading integer keys of the order (a floorplan's level). Projects' cursors have none."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import NamedTuple

from spacekontext.errors import Invalid

MAX_PAGE = 100
DEFAULT_PAGE = 50
# A cursor is a few dozen characters; the bound keeps garbage out of the decoder.
MAX_CURSOR_CHARS = 512
# A leading key is an integer column (a floorplan's level): PostgreSQL's `integer`.
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


class Cursor(NamedTuple):
    at: datetime
    row_id: str
    leading: tuple[int, ...] = ()


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", code="invalid_limit")


def encode_cursor(at: datetime, row_id: str, *leading: int) -> str:
    raw = "|".join([*(str(key) for key in leading), at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, leading: int = 0) -> Cursor:
    """The cursor's keys; `leading` says how many integer keys the list's order puts first (a
    cursor of another list is malformed here)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        *keys, stamp, row_id = raw.split("|", leading + 1)
        if len(keys) != leading or not row_id:
            raise ValueError("wrong number of keys")
        # In UTC, so that the stamp is one PostgreSQL and the driver can take: a naive stamp
        # or year 1 at +14:00 (year 0 in UTC) is no cursor this API wrote.
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("timestamp without time zone")
        at = at.astimezone(UTC)
        ints = tuple(int(key) for key in keys)
        if "\x00" in row_id or not all(_INT32_MIN <= key <= _INT32_MAX for key in ints):
            raise ValueError("key out of range")
        return Cursor(at, row_id, ints)
    except (ValueError, OverflowError, UnicodeDecodeError) as exc:
        raise Invalid("malformed cursor", code="invalid_cursor") from exc
