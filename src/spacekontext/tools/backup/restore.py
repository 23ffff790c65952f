"""Restore a backup into an empty database and an empty object store, and verify the result
against the manifest: the row count of every table and the sha256 of every object.

Both targets must be empty: a restore never merges into live data. Objects whose bytes in the
backup do not match the manifest are reported and not stored (a corrupted object is not put
where the API would serve it)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio.to_thread

from spacekontext.errors import NotFound
from spacekontext.storage.base import ObjectStore
from spacekontext.tools.backup import database
from spacekontext.tools.backup.location import BackupLocation
from spacekontext.tools.backup.manifest import DUMP_NAME, OBJECTS_PREFIX, Manifest, ObjectEntry
from spacekontext.tools.backup.objects import (
    Counter,
    copy_object,
    file_size_and_sha256,
    for_each,
    sha256_of,
)
from spacekontext.tools.backup.options import RunOptions
from spacekontext.tools.backup.pgclient import client_for


class TargetNotEmpty(Exception):
    pass


class CorruptBackup(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # row_count, table_missing, table_unexpected, object_hash, object_missing, ...
    subject: str
    expected: str | int | None = None
    found: str | int | None = None

    def __str__(self) -> str:
        text = f"{self.kind}: {self.subject}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text


@dataclass(kw_only=True)
class _ObjectsDone:
    """The backup's objects a restore put back, or its verification found intact, and what
    either found wrong."""

    objects: int = 0
    object_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class RestoreReport(_ObjectsDone):
    manifest: Manifest
    database_s: float = 0.0
    objects_s: float = 0.0


@dataclass
class VerifyReport(_ObjectsDone):
    tables: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


async def _entries(manifest: Manifest) -> AsyncIterator[ObjectEntry]:
    for entry in manifest.objects:
        yield entry


async def check_targets_empty(database_url: str, store: ObjectStore) -> None:
    conn = await database.connect(database_url)
    try:
        found = await database.user_objects(conn)
    finally:
        await conn.close()
    if found:
        raise TargetNotEmpty(
            "the target database is not empty (" + ", ".join(found) + ", …): "
            "restore into a new, empty database"
        )
    async for info in store.list(""):
        raise TargetNotEmpty(
            f"the target object store is not empty (it holds {info.key!r}, …): "
            "restore into a new, empty bucket or directory"
        )


async def restore_backup(
    location: BackupLocation,
    database_url: str,
    store: ObjectStore,
    options: RunOptions = RunOptions(),
) -> RestoreReport:
    manifest = await location.read_manifest()
    await check_targets_empty(database_url, store)
    report = RestoreReport(manifest)

    conn = await database.connect(database_url)
    try:
        server = await database.server_version(conn)
    finally:
        await conn.close()
    client = client_for(
        server.major, at_least=manifest.database.client_major, configured=options.pg_bin_dir
    )
    options.progress(f"PostgreSQL {server.text}: pg_restore {client.version} from {client.bin_dir}")

    started = time.perf_counter()
    async with location.file(DUMP_NAME) as archive:
        size, sha256 = await anyio.to_thread.run_sync(file_size_and_sha256, archive)
        if (size, sha256) != (manifest.database.size_bytes, manifest.database.sha256):
            raise CorruptBackup(
                f"{DUMP_NAME} does not match the manifest (sha256 {sha256}, "
                f"expected {manifest.database.sha256}): nothing was restored"
            )
        await database.restore(client, database_url, archive, jobs=options.jobs)
    report.database_s = time.perf_counter() - started
    options.progress(f"database restored in {report.database_s:.1f} s")

    started = time.perf_counter()
    done = Counter()

    async def put(entry: ObjectEntry) -> None:
        try:
            stored = await copy_object(
                location.store,
                location.key(OBJECTS_PREFIX + entry.key),
                store,
                entry.key,
                content_type=entry.content_type,
            )
        except NotFound:
            report.problems.append(Problem("object_missing_in_backup", entry.key))
            return
        if (stored.size_bytes, stored.sha256) != (entry.size_bytes, entry.sha256):
            await store.delete(entry.key)
            report.problems.append(
                Problem("object_hash", entry.key, expected=entry.sha256, found=stored.sha256)
            )
            return
        done.add(stored.size_bytes)

    await for_each(_entries(manifest), put, concurrency=options.concurrency)
    report.objects, report.object_bytes = done.objects, done.bytes
    report.objects_s = time.perf_counter() - started
    options.progress(
        f"objects restored: {done.objects} ({done.bytes} bytes) in {report.objects_s:.1f} s"
    )
    return report


async def verify_restore(
    manifest: Manifest,
    database_url: str,
    store: ObjectStore,
    options: RunOptions = RunOptions(),
) -> VerifyReport:
    """Compare a system with a backup's manifest: every table's row count, every object's
    size and sha256 (read back from the store), and no object the backup does not have."""
    report = VerifyReport()
    conn = await database.connect(database_url)
    try:
        counts = await database.table_counts(conn)
    finally:
        await conn.close()
    expected_tables = manifest.database.tables
    for table, expected in sorted(expected_tables.items()):
        found = counts.get(table)
        if found is None:
            report.problems.append(Problem("table_missing", table, expected=expected))
        elif found != expected:
            report.problems.append(Problem("row_count", table, expected=expected, found=found))
    for table in sorted(set(counts) - set(expected_tables)):
        report.problems.append(Problem("table_unexpected", table, found=counts[table]))
    report.tables = len(counts)
    report.rows = sum(counts.values())

    async def check(entry: ObjectEntry) -> None:
        found = await sha256_of(store, entry.key)
        if found is None:
            report.problems.append(Problem("object_missing", entry.key, expected=entry.sha256))
            return
        size, sha256 = found
        if sha256 != entry.sha256 or size != entry.size_bytes:
            report.problems.append(
                Problem("object_hash", entry.key, expected=entry.sha256, found=sha256)
            )
            return
        report.objects += 1
        report.object_bytes += size

    await for_each(_entries(manifest), check, concurrency=options.concurrency)
    known = {entry.key for entry in manifest.objects}
    async for info in store.list(""):
        if info.key not in known:
            report.problems.append(Problem("object_unexpected", info.key))
    report.problems.sort(key=lambda problem: (problem.kind, problem.subject))
    return report
