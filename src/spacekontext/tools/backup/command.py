"""The command-line side of `spacekontext backup` and `spacekontext restore`: reach the
database and the store the settings name, run the core, print what happened.

Exit codes: 0 done (and verified, with --verify); 1 the restore or the verification found
problems (each one is printed), or the database or a store failed meanwhile; 2 refused
before anything was written (not a backup, a target that is not empty, no matching
pg_dump/pg_restore)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import psycopg
from rich.console import Console

from spacekontext.errors import DomainError
from spacekontext.settings import Settings
from spacekontext.storage.base import ObjectStore
from spacekontext.storage.factory import build_object_store
from spacekontext.tools.backup.create import LocationNotEmpty, create_backup
from spacekontext.tools.backup.database import DatabaseToolFailed
from spacekontext.tools.backup.location import BackupLocation
from spacekontext.tools.backup.manifest import NotABackup
from spacekontext.tools.backup.options import RunOptions
from spacekontext.tools.backup.pgclient import NoMatchingClient
from spacekontext.tools.backup.restore import (
    CorruptBackup,
    Problem,
    TargetNotEmpty,
    restore_backup,
    verify_restore,
)

REFUSED = (NotABackup, LocationNotEmpty, TargetNotEmpty, NoMatchingClient, CorruptBackup)
MAX_PROBLEMS_SHOWN = 50


def _gib(size: int) -> str:
    return f"{size / 1024**3:.3f} GiB"


def _print_problems(console: Console, problems: list[Problem]) -> None:
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"[red]  {problem}[/red]", highlight=False, soft_wrap=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"[red]  … and {len(problems) - MAX_PROBLEMS_SHOWN} more[/red]")


def run_backup(console: Console, settings: Settings, database_url: str, target: str) -> int:
    async def run() -> int:
        location = BackupLocation.parse(target, settings, must_exist=False)
        store = build_object_store(settings)
        try:
            manifest = await create_backup(
                database_url,
                store,
                location,
                RunOptions.from_settings(settings, console.print),
            )
        finally:
            await store.aclose()
            await location.aclose()
        console.print(
            f"backup written to {location.description}: "
            f"database {_gib(manifest.database.size_bytes)}, "
            f"{len(manifest.objects)} objects ({_gib(manifest.object_bytes)})"
        )
        return 0

    return _guarded(console, run())


def run_restore(
    console: Console, settings: Settings, database_url: str, source: str, *, verify: bool
) -> int:
    async def run() -> int:
        location = BackupLocation.parse(source, settings, must_exist=True)
        store: ObjectStore = build_object_store(settings)
        options = RunOptions.from_settings(settings, console.print)
        try:
            report = await restore_backup(location, database_url, store, options)
            if report.problems:
                console.print(f"[red]{len(report.problems)} objects were not restored:[/red]")
                _print_problems(console, report.problems)
            if not verify:
                return 1 if report.problems else 0
            checked = await verify_restore(report.manifest, database_url, store, options)
        finally:
            await store.aclose()
            await location.aclose()
        console.print(
            f"verified: {checked.tables} tables ({checked.rows} rows), "
            f"{checked.objects} objects ({_gib(checked.object_bytes)})"
        )
        if checked.problems:
            console.print(f"[red]verification found {len(checked.problems)} problems:[/red]")
            _print_problems(console, checked.problems)
        return 1 if report.problems or checked.problems else 0

    return _guarded(console, run())


def _guarded(console: Console, work: Coroutine[Any, Any, int]) -> int:
    try:
        code: int = asyncio.run(work)
    except REFUSED as exc:
        console.print(f"[red]refused:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    except DatabaseToolFailed as exc:
        console.print(f"[red]failed:[/red] {exc}", highlight=False, soft_wrap=True)
        return 1
    except DomainError as exc:  # a store that is down, a bucket that does not exist
        details = f" ({exc.details})" if exc.details else ""
        console.print(f"[red]failed:[/red] {exc.message}{details}", highlight=False, soft_wrap=True)
        return 1
    except psycopg.OperationalError as exc:
        console.print(
            f"[red]failed:[/red] cannot reach the database: {str(exc).strip()}",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return code
