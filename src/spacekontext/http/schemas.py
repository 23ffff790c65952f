"""Base models for the JSON API: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field, model_validator
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Outgoing bodies."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def alias_of(field: str, kind: Any) -> Any:
    """An outgoing field that repeats `field` under another key (a client's name for the same
    value), documented as read-only with `kind` as its type: in a class body,
    `name = alias_of("original_name", str)  # type: ignore[pydantic-field]` (pydantic's mypy
    plugin knows a computed field only by its decorator)."""
    return computed_field(return_type=kind)(property(lambda model: getattr(model, field)))


class ApiInput(BaseModel):
    """Incoming bodies: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        # Pydantic's lax mode reads `true` as 1 for an int field: a client that sends a
        # boolean where a number belongs is wrong, and hears so.
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                key = field.alias or name
                value = data.get(key, data.get(name))
                if isinstance(value, bool) and not _takes_bool(field.annotation):
                    raise ValueError(f"`{key}` must not be a boolean")
                # Whitespace is stripped before the length is checked: a string longer than
                # the documented maxLength is refused as sent, not accepted once trimmed.
                limit = _max_length(field.metadata)
                if isinstance(value, str) and limit is not None and len(value) > limit:
                    raise ValueError(f"`{key}` must be at most {limit} characters")
        return data


def _max_length(metadata: list[Any]) -> int | None:
    for constraint in metadata:
        limit = getattr(constraint, "max_length", None)
        if isinstance(limit, int):
            return limit
    return None


def _takes_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any or annotation is object:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_bool(arg) for arg in typing.get_args(annotation))
    # Lists, dicts, models, strings: pydantic refuses a boolean for those by itself.
    return typing.get_origin(annotation) is typing.Annotated and _takes_bool(
        typing.get_args(annotation)[0]
    )
