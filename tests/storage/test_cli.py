"""`spacekontext worker` and `spacekontext storage reconcile` as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.ids import new_id

CLI = str(Path(sys.executable).with_name("spacekontext"))


@pytest.fixture
def fresh_env(create_database: Callable[[], str], tmp_path: Path) -> dict[str, str]:
    url = create_database()
    upgrade(url)
    return os.environ | {
        "DATABASE_URL": url,
        "SPACEKONTEXT_HOME": str(tmp_path / "home"),
        "STORAGE_BACKEND": "local",
        "LOG_JSON": "false",
    }


def plant(home: Path, key: str) -> Path:
    path = home / "objects" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 planted")
    return path


@pytest.mark.slow
def test_worker_drains_jobs_queued_while_it_was_not_running(fresh_env: dict[str, str]) -> None:
    home = Path(fresh_env["SPACEKONTEXT_HOME"])
    doomed = [plant(home, f"users/u1/projects/p1/import/{n}.pdf") for n in "ab"]
    kept = plant(home, "users/u1/projects/p2/import/c.pdf")
    job_id = new_id()
    with psycopg.connect(libpq_dsn(fresh_env["DATABASE_URL"]), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO app.jobs (id, kind, payload) VALUES (%s, 'storage.delete_prefix', %s)",
            (job_id, json.dumps({"prefix": "users/u1/projects/p1/"})),
        )
        log = home.parent / "worker.log"
        with log.open("wb") as log_file:
            worker = subprocess.Popen(
                [CLI, "worker"], env=fresh_env, stdout=subprocess.DEVNULL, stderr=log_file
            )
        try:
            status = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and status != "done":
                time.sleep(0.2)
                row = conn.execute(
                    "SELECT status, result FROM app.jobs WHERE id = %s", (job_id,)
                ).fetchone()
                assert row is not None
                status = row[0]
            assert status == "done", log.read_text()
            assert row[1] == {"deleted": 2}
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=20)
    assert not any(path.exists() for path in doomed)
    assert kept.exists()


@pytest.mark.slow
def test_reconcile_reports_then_fixes(fresh_env: dict[str, str]) -> None:
    home = Path(fresh_env["SPACEKONTEXT_HOME"])
    orphan = plant(home, "users/u9/projects/p9/import/orphan.pdf")

    def reconcile(*args: str) -> dict:
        done = subprocess.run(
            [CLI, "storage", "reconcile", "--grace-s", "0", *args],
            env=fresh_env,
            capture_output=True,
            check=True,
            timeout=60,
        )
        return json.loads(done.stdout)

    report = reconcile()
    assert report["orphanObjects"] == ["users/u9/projects/p9/import/orphan.pdf"]
    assert report["fixed"] is False
    assert orphan.exists()
    assert reconcile("--fix")["orphanCount"] == 1
    assert not orphan.exists()
    assert reconcile()["orphanObjects"] == []
