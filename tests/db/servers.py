"""Real PostgreSQL 15 clusters (primary, streaming replica) and PgBouncer on loopback, started
for the tests on free ports, as the `postgres` OS user (both refuse to run as root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return (PG_BIN / "pg_basebackup").exists() and Path(PGBOUNCER).exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)


def _private_dir(prefix: str) -> Path:
    # Short path under /tmp (socket path limit) that the postgres user owns.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


@dataclass
class Cluster:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "30",
            "-l", str(self.data_dir / "server.log"), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-w", "-m", mode, "stop",
            check=False,
        )  # fmt: skip

    def sql(self, query: str) -> object:
        with psycopg.connect(self.url, autocommit=True) as c:
            row = c.execute(query).fetchone()  # type: ignore[arg-type]
            return None if row is None else row[0]

    @contextlib.contextmanager
    def replay_paused(self) -> Iterator[None]:
        """On a standby: replay nothing until the block ends (a lag held still)."""
        self.sql("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            self.sql("SELECT pg_wal_replay_resume()")


def _configure(data_dir: Path, port: int, **extra: object) -> None:
    lines = {
        "port": port,
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{data_dir}'",
        "max_connections": 60,
        "wal_level": "replica",
        "max_wal_senders": 5,
        "max_replication_slots": 5,
        "hot_standby": "on",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        **extra,
    }
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        for key, value in lines.items():
            conf.write(f"{key} = {value}\n")


@contextlib.contextmanager
def primary_cluster(**conf: object) -> Iterator[Cluster]:
    base = _private_dir("skp-")
    data = base / "data"
    try:
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        cluster = Cluster(data, free_port())
        _configure(data, cluster.port, **conf)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def replica_of(primary: Cluster) -> Iterator[Cluster]:
    base = _private_dir("skr-")
    data = base / "data"
    slot = f"replica_{primary.port}_{os.getpid()}"
    try:
        _as_postgres(
            str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast", "-C",
            "-S", slot,
        )  # fmt: skip
        cluster = Cluster(data, free_port())
        # The copied configuration is the primary's (a standby needs max_connections and
        # friends at least as high); only the address changes.
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {cluster.port}\nunix_socket_directories = '{data}'\n")
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")
            with contextlib.suppress(psycopg.Error):
                primary.sql(f"SELECT pg_drop_replication_slot('{slot}')")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Bouncer:
    port: int
    admin_dir: Path

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def show(self, what: str) -> list[dict[str, object]]:
        """`SHOW POOLS` and friends on the admin console."""
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/pgbouncer", autocommit=True
        ) as conn:
            cursor = conn.execute(f"SHOW {what}")  # type: ignore[arg-type]
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@contextlib.contextmanager
def pgbouncer(
    target: Cluster, *, server_pool: int, max_clients: int = 2000, pool_mode: str = "transaction"
) -> Iterator[Bouncer]:
    """PgBouncer (transaction mode unless told) with at most `server_pool` server connections
    per database."""
    base = _private_dir("skb-")
    port = free_port()
    ini = base / "pgbouncer.ini"
    (base / "userlist.txt").write_text('"postgres" ""\n')
    ini.write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={target.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir = {base}\n"
        f"auth_type = trust\nauth_file = {base / 'userlist.txt'}\n"
        "admin_users = postgres\n"
        f"pool_mode = {pool_mode}\n"
        f"default_pool_size = {server_pool}\nmax_db_connections = {server_pool}\n"
        "min_pool_size = 0\nreserve_pool_size = 0\n"
        f"max_client_conn = {max_clients}\n"
        f"pidfile = {base / 'pgbouncer.pid'}\nlogfile = {base / 'pgbouncer.log'}\n"
    )
    if os.geteuid() == 0:
        for path in base.iterdir():
            shutil.chown(path, "postgres", "postgres")
    _as_postgres("sh", "-c", f"ulimit -n {max_clients + 200}; exec {PGBOUNCER} -d {ini}")
    pid_file = base / "pgbouncer.pid"
    try:
        deadline = time.monotonic() + 10
        while True:
            # Both: the daemon writes its pid file only once it runs, and a port that answers
            # may (rarely) be another program's that took it between free_port() and here.
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    if pid_file.exists() and pid_file.read_text().strip():
                        break
                    raise OSError("no pid file yet")
            except OSError:
                if time.monotonic() > deadline:
                    log = (base / "pgbouncer.log").read_text(errors="replace")
                    raise RuntimeError(f"pgbouncer did not start:\n{log}") from None
                time.sleep(0.05)
        yield Bouncer(port, base)
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 15)
        time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)
