"""The one check every JSON request body passes before any route sees it (the edge layer runs
it on `application/json` and `*+json` bodies).

A body is refused with a 400 and a precise reason when it is not what PostgreSQL, orjson and
the services can hold as sent:

- not JSON (RFC 8259) in UTF-8: `NaN`/`Infinity`, numbers that overflow a double, lone
  surrogates, bytes that are not UTF-8 → `malformed_json`, with the line, column and position;
- nested deeper than `MAX_JSON_DEPTH` → `json_too_deep`;
- an integer outside the signed 64-bit range → `number_out_of_range` (jsonb would keep it, but
  orjson cannot encode it back and a parser that reads it as a double silently changes it);
- a NUL character (`\\u0000`) in any string or key → `invalid_characters` (PostgreSQL's text
  and jsonb cannot store it).

Value problems name the value by its JSON Pointer (RFC 6901) in `details.pointer`.

The common body costs one orjson parse and one walk over its values without building any
pointer; only a body that may break a rule is walked again with pointers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson

from spacekontext.errors import Invalid

# Deep enough for any document the editors produce (a floorplan is about 6 levels, a GeoJSON
# multipolygon 5, a three.js scene graph a few dozen); far below orjson's encoding limit (254)
# and Python's recursion limit, which deeper bodies used to hit.
MAX_JSON_DEPTH = 100
# Where the edge layer leaves a checked body's parsed document in the ASGI scope.
PARSED_JSON_BODY = "spacekontext.parsed_json_body"
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_NUL_ESCAPE = b"\\u0000"
# Digits kept, everything else blanked: a run of 19 digits is where an integer may leave the
# int64 range (orjson reads integers past 2**64 as doubles, silently, so the parsed document
# cannot tell).
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def check_json_body(body: bytes) -> Any:
    """Raise `Invalid` (400) when `body` is not a JSON document the API accepts; the parsed
    document otherwise (the same value Python's own parser gives for any body that passes:
    what differs between the two, NaN, Infinity, integers past 64 bits, lone surrogates, is
    refused here), which the routes then use instead of parsing the body again."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _malformed(exc.msg, exc.lineno, exc.colno, exc.pos) from None
    nul = _NUL_ESCAPE in body
    suspect = (
        nul
        or _has_long_digit_run(body)
        # Each level takes two bytes at least: a short body cannot be too deep.
        or (len(body) > 2 * MAX_JSON_DEPTH and nesting(body) > MAX_JSON_DEPTH)
    )
    if suspect:
        # Walked again with pointers, from an exact parse (orjson refused NaN/Infinity above).
        problem = _first_problem(json.loads(body), nul=nul)
        if problem is not None:
            raise problem
    return document


def _has_long_digit_run(body: bytes) -> bool:
    return _LONG_DIGIT_RUN in body.translate(_DIGITS_AS_ZEROS)


# Every byte but brackets and quotes, which are all the nesting depends on.
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_BRACKET_STEP = np.zeros(256, dtype=np.int64)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


def nesting(body: bytes) -> int:
    """How deep the containers of a valid JSON text nest, read off its bytes (a walk over the
    parsed containers took about 1.5 ms on a 200 KB floorplan, this a tenth of it): escapes
    out, so that every quote left opens or closes a string; then only brackets and quotes
    kept; strings out: first every pair of adjacent quotes (an empty string, or the end of one
    string and the start of the next: no bracket between them is lost or gained), which leaves
    only the strings that hold brackets, then those (every other piece between quotes); the
    brackets left, as +1 / -1 steps, summed."""
    if b"\\" in body:
        # Pairs first, left to right as a parser reads them, then escaped quotes.
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    if not structure:
        return 0
    steps = np.take(_BRACKET_STEP, np.frombuffer(structure, dtype=np.uint8))
    return max(0, int(np.cumsum(steps).max()))


def _malformed(message: str, line: int, column: int, position: int) -> Invalid:
    # orjson's message names what it expected, never the input's bytes.
    return Invalid(
        f"request body is not valid JSON: {message} (line {line}, column {column})",
        code="malformed_json",
        details={"line": line, "column": column, "position": position, "reason": message},
    )


def _first_problem(document: Any, *, nul: bool) -> Invalid | None:
    """The first problem found, with its JSON Pointer; None when the document is fine."""
    stack: list[tuple[Any, int, str]] = [([document], 0, "")]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth, path = pop()
        kind = type(value)
        if kind is dict:
            if depth > MAX_JSON_DEPTH:
                return _too_deep(path)
            for key, child in value.items():
                if nul and "\x00" in key:
                    return _nul(f"{path}/{_escape(key)}", "key")
                push((child, depth + 1, f"{path}/{_escape(key)}"))
        elif kind is list:
            if depth > MAX_JSON_DEPTH:
                return _too_deep(path)
            for index, child in enumerate(value):
                push((child, depth + 1, f"{path}/{index}" if depth else ""))
        elif kind is str:
            if nul and "\x00" in value:
                return _nul(path, "string")
        elif kind is int and not INT64_MIN <= value <= INT64_MAX:
            return Invalid(
                "an integer in the request body is outside the signed 64-bit range",
                code="number_out_of_range",
                details={"pointer": path or "/", "min": INT64_MIN, "max": INT64_MAX},
            )
    return None


def _too_deep(path: str) -> Invalid:
    return Invalid(
        f"the request body is nested deeper than {MAX_JSON_DEPTH} levels",
        code="json_too_deep",
        details={"pointer": path or "/", "maxDepth": MAX_JSON_DEPTH},
    )


def _nul(path: str, what: str) -> Invalid:
    return Invalid(
        f"a {what} in the request body contains a NUL character (\\u0000)",
        code="invalid_characters",
        details={"pointer": path or "/"},
    )


def _escape(key: str) -> str:
    # RFC 6901; a NUL is shown escaped so that no error body carries one.
    return key.replace("~", "~0").replace("/", "~1").replace("\x00", "\\u0000")
