"""Conditional requests (RFC 9110 §13) for versioned documents.

A document's ETag is its version number in quotes. `If-Match` becomes a `Precondition` the
service checks under a row lock; `If-None-Match` on a GET is compared against the current
version before the document is read at all."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from spacekontext.documents import UNCONDITIONAL, Precondition, etags


def _versions(header: str) -> frozenset[int] | None:
    """The versions named by an ETag list; None for `*`. Tags that are not ours match nothing
    (so a stale or foreign tag gets a 412, never a silent overwrite)."""
    tags = etags(header)
    if tags is None:
        return None
    return frozenset(
        int(tag[1:-1])
        for tag in tags
        if len(tag) >= 2
        and tag[0] == tag[-1] == '"'
        and tag[1:-1].isascii()
        and tag[1:-1].isdigit()
    )


def precondition_from(if_match: str | None) -> Precondition:
    if if_match is None:
        return UNCONDITIONAL
    versions = _versions(if_match)
    # `If-Match: *` only asks that the resource exists, which every write here requires anyway.
    return UNCONDITIONAL if versions is None else Precondition(versions)


def not_modified(if_none_match: str | None, current_version: int) -> bool:
    if if_none_match is None:
        return False
    versions = _versions(if_none_match)
    return versions is None or current_version in versions


def _if_match(if_match: Annotated[str | None, Header()] = None) -> Precondition:
    return precondition_from(if_match)


IfMatch = Annotated[Precondition, Depends(_if_match)]
IfNoneMatch = Annotated[str | None, Header()]
