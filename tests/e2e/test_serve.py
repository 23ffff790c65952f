"""`spacekontext serve` as a user runs it: embedded PostgreSQL, real HTTP, clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent / "spacekontext"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and str(data_dir) in " ".join(cmdline):
            found.append(proc)
    return found


@pytest.fixture
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sk-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def environment(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return env | {"SPACEKONTEXT_HOME": str(home), "PORT": str(port), "LOG_LEVEL": "warning"}


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become ready")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_on_embedded_default_and_stop_cleanly(home: Path, stop_signal: int) -> None:
    port = free_port()
    env = environment(home, port)
    base = f"http://127.0.0.1:{port}"
    log = home / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_ready(base, proc)
        token = subprocess.run(
            [str(BIN), "token", "create", "--email", "e2e@example.com"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            assert http.get("/api/projects").json() == {
                "success": True,
                "projects": [],
                "nextCursor": None,
            }
            created = http.post("/api/projects", json={"name": "Farnsworth"})
            assert created.status_code == 201
            project_id = created.json()["project"]["id"]
            assert (
                http.patch(f"/api/projects/{project_id}", json={"description": "Plano"}).status_code
                == 200
            )
            listed = http.get("/api/projects").json()["projects"]
            assert [p["name"] for p in listed] == ["Farnsworth"]
            assert (
                http.get("/api/projects", headers={"Authorization": "Bearer nope"}).status_code
                == 401
            )
            assert http.delete(f"/api/projects/{project_id}").status_code == 200
            assert http.get(f"/api/projects/{project_id}").status_code == 404
            assert httpx.get(f"{base}/docs").status_code == 200
        assert postgres_processes(home / "pgdata"), "the embedded server should be running"
    finally:
        proc.send_signal(stop_signal)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, log.read_text()
    deadline = time.monotonic() + 10
    while postgres_processes(home / "pgdata") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert postgres_processes(home / "pgdata") == [], "stray postgres after shutdown"
