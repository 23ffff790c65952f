"""Request ids: random, unique, 16 hex digits, read from the kernel in blocks; a forked child
never repeats its parent's."""

from __future__ import annotations

import os
import re

from spacekontext.http.edge import RequestIds, _request_id


def test_ids_are_unique_hex_across_many_refills() -> None:
    ids = RequestIds()
    made = [ids.new() for _ in range(5_000)]  # ten blocks of 512
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in made)


def test_a_sane_incoming_id_is_kept_and_anything_else_replaced() -> None:
    assert _request_id(b"proxy-1234") == "proxy-1234"
    for bad in (None, b"", b"x" * 65, b"tab\there"):
        assert re.fullmatch(r"[0-9a-f]{16}", _request_id(bad))


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    _request_id(None)  # the parent has a block of bytes in hand
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, ",".join(_request_id(None) for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    childs = os.read(read, 4096).decode().split(",")
    os.close(read)
    parents = [_request_id(None) for _ in range(4)]
    assert len(childs) == 4
    assert not set(childs) & set(parents)
