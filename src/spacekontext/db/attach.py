"""Reach the database of a data dir from a second command (seed, loadtest) while `serve` may be
running on it.

`cli.database()` starts the embedded server and stops it on exit; a tool run beside a live
`serve` must neither start a second postmaster on the same data dir nor stop the one the server
is using. So: DATABASE_URL when set; else the embedded server already running in the data dir
(found through its postmaster.pid); else start it for the duration of the command."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from spacekontext.settings import Settings


def running_embedded_uri(pgdata: Path) -> str | None:
    """The libpq URI of the embedded server running in `pgdata`, or None."""
    import psutil

    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir = int(lines[0]), int(lines[3]), lines[4].strip()
    except (OSError, ValueError, IndexError):
        return None
    if not psutil.pid_exists(pid) or not socket_dir:
        return None
    return f"postgresql://postgres:@/postgres?host={quote(socket_dir, safe='/')}&port={port}"


@contextlib.contextmanager
def attached_database(settings: Settings) -> Iterator[tuple[str, bool]]:
    """Yield (database URL, started_here)."""
    if settings.database_url:
        yield settings.database_url, False
        return
    pgdata = settings.data_dir / "pgdata"
    uri = running_embedded_uri(pgdata)
    if uri is not None:
        yield uri, False
        return
    from spacekontext.db.embedded import embedded_database

    with embedded_database(pgdata) as started:
        yield started, True
