"""The manifest of a backup: what the database dump holds (row counts per table, taken in the
dump's own snapshot) and every object (key, size, sha256). It is written last: a location
without a readable manifest is not a (complete) backup."""

from __future__ import annotations

from datetime import datetime

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MANIFEST_NAME = "manifest.json"
DUMP_NAME = "database.dump"
OBJECTS_PREFIX = "objects/"
FORMAT = "spacekontext-backup"
FORMAT_VERSION = 1


class NotABackup(Exception):
    """The location holds no readable backup manifest (the message says why)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabasePart(_Frozen):
    file: str = DUMP_NAME
    dump_format: str = "pg_dump custom"
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    server_version: str
    server_major: int
    client_major: int  # pg_dump's major: pg_restore must be at least this
    alembic_revision: str | None
    # "schema.table" -> rows, for every ordinary table (partitions counted one by one).
    tables: dict[str, int]


class ObjectEntry(_Frozen):
    key: str = Field(min_length=1)
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # What the store serves it as (S3 answers a signed GET with the stored Content-Type).
    content_type: str | None = None


class Manifest(_Frozen):
    format: str = FORMAT
    version: int = FORMAT_VERSION
    created_at: datetime
    app_version: str
    database: DatabasePart
    objects: list[ObjectEntry]

    @property
    def object_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self.objects)

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise NotABackup(f"{MANIFEST_NAME} is not JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise NotABackup(f"{MANIFEST_NAME} is not a {FORMAT} manifest")
        if data.get("version") != FORMAT_VERSION:
            raise NotABackup(
                f"manifest version {data.get('version')!r} is not supported "
                f"(this version reads {FORMAT_VERSION})"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise NotABackup(f"{MANIFEST_NAME} is malformed at {where}: {first['msg']}") from exc
