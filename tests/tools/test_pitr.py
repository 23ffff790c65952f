"""Point-in-time recovery with pgBackRest, proven by doing it: a PostgreSQL 15 cluster archives
its WAL to a repository, a base backup is taken, rows are written before and after a moment T,
the cluster is lost, and a restore to T brings back exactly the rows written up to T — those
written after the base backup included, which a logical backup would have lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from spacekontext.db.migrate import upgrade
from spacekontext.tools.backup.pitr import PgBackRest
from tests.conftest import require
from tests.db import servers

pytestmark = pytest.mark.slow
STANZA = "app"
BIN = Path(sys.executable).parent / "spacekontext"


def rows(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM app.projects ORDER BY name")]


def add_projects(url: str, user_id: str, names: list[str]) -> datetime:
    """Commits the rows; returns the server's clock just after the commit."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(
                "INSERT INTO app.projects (id, user_id, name, settings, created_at, updated_at)"
                " VALUES (substr(md5(%s), 1, 26), %s, %s, '{}', now(), now())",
                (name, user_id, name),
            )
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]


def test_restore_to_a_point_in_time_brings_back_exactly_what_was_committed_by_then() -> None:
    require(servers.available(), "PostgreSQL 15 server binaries (apt: postgresql-15)")
    require(shutil.which("pgbackrest") is not None, "pgbackrest (apt)")
    base = servers._private_dir("skpitr-")
    try:
        data, restored_data = base / "data", base / "restored"
        repo, config = base / "repo", base / "pgbackrest.conf"
        for path in (repo,):
            path.mkdir()
            shutil.chown(path, "postgres", "postgres")
        port = servers.free_port()
        # The configuration as `spacekontext pitr config` prints it.
        printed = subprocess.run(
            [
                str(BIN), "pitr", "config", "--pg-data", str(data), "--repo", str(repo),
                "--pg-port", str(port), "--pg-socket-dir", str(data), "--archive-timeout", "5",
            ],
            env=os.environ | {"PGBACKREST_STANZA": STANZA, "PGBACKREST_CONFIG": str(config)},
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        backrest_conf, postgresql_conf = printed.split("# postgresql.conf", 1)
        config.write_text(backrest_conf)
        servers._as_postgres(
            str(servers.PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        archiving = dict(
            line.split(" = ", 1) for line in postgresql_conf.splitlines()[1:] if " = " in line
        )
        assert archiving["archive_mode"] == "on" and archiving["archive_timeout"] == "5"
        # Short archive_timeout: on a quiet database the recovery point is at most this old.
        servers._configure(data, port, **archiving)
        cluster = servers.Cluster(data, port)
        cluster.start()
        backrest = PgBackRest(STANZA, config=config, run_as="postgres")
        try:
            backrest.create_stanza()
            backrest.check()
            upgrade(cluster.url)
            with psycopg.connect(cluster.url, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO app.users (id, clerk_id, email, created_at, updated_at)"
                    " VALUES ('u1', 'dev|ann', 'ann@example.com', now(), now())"
                )
            add_projects(cluster.url, "u1", ["a-before-backup"])
            backrest.backup("full")
            # pgBackRest records the backup's stop time in whole seconds and restores to T from
            # the newest backup that stopped before it.
            time.sleep(1.1)
            # After the base backup: only the archived WAL holds these.
            target = add_projects(cluster.url, "u1", ["b-after-backup", "c-after-backup"])
            time.sleep(1.0)  # commits after T carry a later timestamp
            add_projects(cluster.url, "u1", ["d-after-target"])
            assert rows(cluster.url) == [
                "a-before-backup", "b-after-backup", "c-after-backup", "d-after-target",
            ]  # fmt: skip
            backrest.check()  # the last segment is in the repository
            info = backrest.info()
            assert [b.kind for b in info.backups] == ["full"]
            assert info.earliest_recovery_time is not None
            assert info.earliest_recovery_time < target
        finally:
            cluster.stop("immediate")  # the host is lost

        restored_data.mkdir(mode=0o700)
        shutil.chown(restored_data, "postgres", "postgres")
        backrest.restore(restored_data, target_time=target)
        restored = servers.Cluster(restored_data, servers.free_port())
        with (restored_data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {restored.port}\nunix_socket_directories = '{restored_data}'\n"
                "archive_mode = off\n"
            )
        restored.start()
        try:
            # Connections are accepted while the WAL is replayed: wait for the promotion.
            deadline = time.monotonic() + 60
            while restored.sql("SELECT pg_is_in_recovery()") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert restored.sql("SELECT pg_is_in_recovery()") is False
            assert rows(restored.url) == ["a-before-backup", "b-after-backup", "c-after-backup"]
            # Promoted: a writable primary again.
            add_projects(restored.url, "u1", ["e-after-restore"])
        finally:
            restored.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_pitr_restore_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "PG_VERSION").write_text("15")
    result = subprocess.run(
        [str(BIN), "pitr", "restore", str(tmp_path), "--to", "2026-12-06 10:15:00+0000"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "is not empty" in result.stderr


def test_the_restore_target_needs_a_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        PgBackRest(STANZA).restore(Path("/nonexistent"), target_time=datetime(2026, 1, 1))
