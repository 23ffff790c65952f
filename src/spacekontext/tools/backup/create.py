"""Take a backup: the database dump and every object, then the manifest (last, so that a
location with a manifest holds a complete backup).

The dump and the object copy run at the same time. They are not one instant: the dump is the
database at its snapshot, the objects are those present while they are copied. An object
deleted between the two is missing from the backup while its row is in the dump; one
uploaded in between is in the backup without its row. Both are what `spacekontext storage
reconcile` reports and repairs after a restore (docs/backups.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

import anyio.to_thread

from spacekontext.storage.base import ObjectInfo, ObjectStore
from spacekontext.tools.backup import database
from spacekontext.tools.backup.location import BackupLocation, staging_file
from spacekontext.tools.backup.manifest import (
    DUMP_NAME,
    OBJECTS_PREFIX,
    DatabasePart,
    Manifest,
    ObjectEntry,
)
from spacekontext.tools.backup.objects import (
    Counter,
    copy_object,
    file_size_and_sha256,
    for_each,
)
from spacekontext.tools.backup.options import RunOptions
from spacekontext.tools.backup.pgclient import client_for


class LocationNotEmpty(Exception):
    pass


def app_version() -> str:
    try:
        return version("spacekontext")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


async def create_backup(
    database_url: str,
    store: ObjectStore,
    location: BackupLocation,
    options: RunOptions = RunOptions(),
) -> Manifest:
    if not await location.is_empty():
        raise LocationNotEmpty(f"{location.description} is not empty: a backup needs its own")
    copied = Counter()
    entries: list[ObjectEntry] = []

    async def copy(info: ObjectInfo) -> None:
        content_type = info.content_type
        if content_type is None:
            # S3 lists no content types: one HEAD per object.
            head = await store.head(info.key)
            content_type = head.content_type if head is not None else None
        stored = await copy_object(
            store,
            info.key,
            location.store,
            location.key(OBJECTS_PREFIX + info.key),
            content_type=content_type,
        )
        entries.append(
            ObjectEntry(
                key=info.key,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                content_type=content_type,
            )
        )
        copied.add(stored.size_bytes)

    async with database.exported_snapshot(database_url) as (conn, snapshot):
        server = await database.server_version(conn)
        client = client_for(server.major, configured=options.pg_bin_dir)
        options.progress(
            f"PostgreSQL {server.text}: pg_dump {client.version} from {client.bin_dir}"
        )
        with staging_file(location, DUMP_NAME) as dump_path:
            dumping = asyncio.create_task(database.dump(client, database_url, snapshot, dump_path))
            try:
                tables = await database.table_counts(conn)
                revision = await database.alembic_revision(conn)
                await for_each(store.list(""), copy, concurrency=options.concurrency)
                options.progress(f"objects: {copied.objects} ({copied.bytes} bytes)")
                await dumping
            finally:
                if not dumping.done():
                    dumping.cancel()
            size, sha256 = await anyio.to_thread.run_sync(file_size_and_sha256, dump_path)
            if location.directory is None:
                await location.upload_file(DUMP_NAME, dump_path)
        options.progress(
            f"database: {sum(tables.values())} rows in {len(tables)} tables, {size} bytes"
        )

    manifest = Manifest(
        created_at=datetime.now(UTC),
        app_version=app_version(),
        database=DatabasePart(
            size_bytes=size,
            sha256=sha256,
            server_version=server.text,
            server_major=server.major,
            client_major=client.major,
            alembic_revision=revision,
            tables=tables,
        ),
        objects=sorted(entries, key=lambda entry: entry.key.encode()),
    )
    await location.write_manifest(manifest)
    return manifest
