"""The nesting depth of a JSON body read off its bytes (`jsonbody.nesting`) against a walk over
the parsed containers, on generated JSON: strings full of brackets, quotes and backslashes,
keys too, and deep nesting."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from spacekontext.http.jsonbody import nesting

TRICKY_TEXT = st.text(alphabet='[]{}"\\\\/ab\n\u00e9\u2028', max_size=12)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TRICKY_TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(TRICKY_TEXT, inner, max_size=4)
    ),
    max_leaves=40,
)


def walked_depth(document: Any) -> int:
    """Containers level by level, as the check used to walk them."""
    level = [document] if type(document) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        below: list[Any] = []
        for value in level:
            children = value.values() if type(value) is dict else value
            below += [child for child in children if type(child) in (dict, list)]
        level = below
    return depth


@settings(max_examples=400, deadline=None)
@given(JSON, st.booleans())
def test_nesting_read_off_the_bytes_is_the_containers_depth(
    document: Any, ascii_only: bool
) -> None:
    for text in (json.dumps(document, ensure_ascii=ascii_only), json.dumps(document, indent=1)):
        assert nesting(text.encode()) == walked_depth(document)


def test_deep_and_shallow_bodies() -> None:
    assert nesting(b"[" * 150 + b"]" * 150) == 150
    assert nesting(b'{"a": "[[[[[[", "b": [{"c": "\\\\"}, "\\"]]"]}') == 3
    assert nesting(b'"just a string with [ and {"') == 0
    assert nesting(b"17") == 0
