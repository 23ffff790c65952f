"""Every command beside a running `serve` shares its embedded PostgreSQL: none starts a second
postmaster, none stops the one the others use, and the last one out stops it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import (
    BIN,
    cli,
    environment,
    free_port,
    pid_alive,
    postmaster_pid,
    serving,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def home() -> Iterator[Path]:
    # Short: the server's Unix socket lives in the data dir (108-byte limit).
    path = Path(tempfile.mkdtemp(prefix="sk-sh-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def api_answers(base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    listed = httpx.get(f"{base}/api/projects", headers=headers, timeout=10)
    assert listed.status_code == 200, listed.text
    created = httpx.post(f"{base}/api/projects", headers=headers, json={"name": "A"}, timeout=10)
    assert created.status_code == 201, created.text


def test_every_database_command_beside_serve_leaves_its_database_alone(home: Path) -> None:
    env = environment(home, free_port())
    with serving(env, home / "serve.log") as server:
        pid = postmaster_pid(home)
        assert pid_alive(pid)
        # serve says where its data is, how to reach its database, and how to begin.
        started = server.output()
        assert f"data dir: {home} (from SPACEKONTEXT_HOME)" in started
        assert f"embedded PostgreSQL: postgresql://postgres@/postgres?host={home}" in started
        assert f"API ready on {server.base}" in started
        assert "token create --email you@example.com" in started
        token = cli("token", "create", "--email", "side@example.com", env=env).stdout.strip()
        api_answers(server.base, token)
        commands = [
            ("library", "seed"),
            ("assess", "--format", "json"),
            ("migrate",),
            ("partitions", "ensure"),
            ("storage", "reconcile"),
            ("seed", "--users", "3", "--workers", "1", "--no-objects", "--cad-blocks", "2"),
            ("indexes", "status"),
        ]
        for command in commands:
            done = cli(*command, env=env)
            assert done.returncode == 0, f"{command}: {done.stderr}"
            assert "starting embedded PostgreSQL" not in done.stderr, command
            assert postmaster_pid(home) == pid, f"{command} replaced the postmaster"
            api_answers(server.base, token)
        # A worker for a few seconds, stopped as a user would.
        worker_log = home / "worker.log"
        with worker_log.open("wb") as sink:
            worker = subprocess.Popen([str(BIN), "worker"], env=env, stderr=sink)
        wait_until(lambda: "polling" in worker_log.read_text(), 120, "the worker to poll")
        time.sleep(3)
        stop(worker)
        assert worker.returncode == 0, worker_log.read_text()
        assert postmaster_pid(home) == pid
        api_answers(server.base, token)
        status = cli("status", "--json", env=env)
        assert f'"pid": {pid}' in status.stdout
        assert server.base in status.stdout
    # serve was the last one attached: the database stops with it.
    wait_until(lambda: not pid_alive(pid), 30, "the postmaster to stop after serve")


def test_serve_started_beside_a_worker_does_not_take_its_database(home: Path) -> None:
    env = environment(home, free_port())
    worker_log = home / "worker.log"
    with worker_log.open("wb") as sink:
        worker = subprocess.Popen([str(BIN), "worker"], env=env, stderr=sink)
    try:
        wait_until(lambda: "polling" in worker_log.read_text(), 120, "the worker to poll")
        pid = postmaster_pid(home)
        with serving(env, home / "serve.log") as server:
            assert postmaster_pid(home) == pid
            assert "starting embedded PostgreSQL" not in server.output()
        # serve left; the worker still has its database.
        time.sleep(1)
        assert pid_alive(pid) and postmaster_pid(home) == pid
        assert worker.poll() is None
        # And the other way round: serve outlives a worker that started the database.
        with serving(env, home / "serve2.log") as server:
            token = cli("token", "create", "--email", "w@example.com", env=env).stdout.strip()
            stop(worker)
            assert worker.returncode == 0
            time.sleep(1)
            assert postmaster_pid(home) == pid and pid_alive(pid)
            api_answers(server.base, token)
    finally:
        if worker.poll() is None:
            stop(worker)
    wait_until(lambda: not pid_alive(pid), 30, "the postmaster to stop after the last command")


def test_a_command_alone_starts_and_stops_its_database(home: Path) -> None:
    env = environment(home)
    done = cli("migrate", env=env)
    assert done.returncode == 0, done.stderr
    assert "starting embedded PostgreSQL" in done.stderr
    assert "stopping embedded PostgreSQL" in done.stderr
    assert not pid_alive(postmaster_pid(home))
    assert list((home / "run" / "attached").iterdir()) == []
