"""JSON text that is already encoded, for a JSON column to bind as it is."""

from __future__ import annotations


class JSONText(str):
    """JSON already encoded (e.g. a document's canonical form, which was encoded once to measure
    and hash it): the engine's JSON serializer passes it through instead of encoding the value
    a second time. Only the exact type is recognised: a plain str is a JSON string value."""

    __slots__ = ()
