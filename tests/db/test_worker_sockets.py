"""`spacekontext serve --workers 2` with a listening socket per worker (SO_REUSEPORT, Linux):
the kernel spreads connections over both workers, the supervisor itself takes none, a killed
worker is replaced, SIGTERM stops every process, and a second `serve` on the port is refused
although its workers could have joined the first's sockets. `--shared-socket` keeps the one
socket of uvicorn's supervisor."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.db.servers import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT balances on Linux only"),
]

CONNECTIONS = 40
WELCOME = "Space Kontext API ready"


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _serve_command(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "spacekontext.cli", "serve", "--workers", "2", "--port",
            str(port), *args]  # fmt: skip


def _env(database_url: str, home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SPACEKONTEXT_HOME": str(home),
        "LOG_LEVEL": "warning",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _wait(condition: Callable[[], bool], timeout_s: float, what: str, served: Served) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            code = served.process.returncode
            raise AssertionError(f"serve exited with {code}: {served.output()}")
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}: {served.output()}")


def _workers(served: Served) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(served.process.pid).children()
        if "resource_tracker" not in " ".join(child.cmdline())
    ]


def _on_port(pid: int, port: int, status: str) -> int:
    with contextlib.suppress(psutil.NoSuchProcess):
        return sum(
            1
            for conn in psutil.Process(pid).net_connections(kind="tcp")
            if conn.laddr and conn.laddr.port == port and conn.status == status
        )
    return 0


def _listening_workers(served: Served) -> set[int]:
    return {w.pid for w in _workers(served) if _on_port(w.pid, served.port, psutil.CONN_LISTEN)}


def _answers(served: Served) -> bool:
    try:
        return httpx.get(f"{served.base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def serving(database_url: str, home: Path, *args: str) -> Iterator[Served]:
    port = free_port()
    log = home / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _serve_command(port, *args),
            env=_env(database_url, home),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    served = Served(process, port, f"http://127.0.0.1:{port}", log)
    try:
        # Per-worker sockets: the welcome comes once every worker serves (the API answers as
        # soon as one does). uvicorn's supervisor prints it before its workers start.
        _wait(lambda: WELCOME in served.output(), 90, "the welcome", served)
        _wait(lambda: _answers(served), 90, "the API", served)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _connections_per_worker(served: Served) -> dict[int, int]:
    """Opens CONNECTIONS keep-alive connections, one request on each, and counts them by the
    worker process that accepted them (while they are still open)."""
    clients = [httpx.Client(base_url=served.base) for _ in range(CONNECTIONS)]
    try:
        for client in clients:
            assert client.get("/healthz").status_code == 200
        return {
            worker.pid: _on_port(worker.pid, served.port, psutil.CONN_ESTABLISHED)
            for worker in _workers(served)
        }
    finally:
        for client in clients:
            client.close()


def test_each_worker_accepts_on_its_own_socket(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path) as served:
        assert served.output().count(WELCOME) == 1
        assert len(_listening_workers(served)) == 2
        supervisor = served.process.pid
        # The supervisor holds the port but neither listens nor takes connections.
        assert _on_port(supervisor, served.port, psutil.CONN_LISTEN) == 0

        spread = _connections_per_worker(served)
        assert sum(spread.values()) == CONNECTIONS, spread
        assert len(spread) == 2 and all(spread.values()), spread
        assert _on_port(supervisor, served.port, psutil.CONN_ESTABLISHED) == 0

        # A second `serve` on the port: its workers could bind beside these (SO_REUSEPORT,
        # same user) and would silently split the traffic; it is refused before it starts.
        second = subprocess.run(
            _serve_command(served.port),
            env=_env(database_url, tmp_path / "second"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2, second.stderr
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, second.stderr
        assert f"port {served.port}" in lines[0] and "in use" in lines[0]
        assert f"pid {supervisor}" in lines[0]  # the supervisor to stop, not one of its workers

        # A worker that dies is replaced, and the API answers meanwhile.
        victim, survivor = sorted(spread)
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: not psutil.pid_exists(victim), 20, "the killed worker to go", served)
        for _ in range(10):
            with httpx.Client(base_url=served.base) as client:
                assert client.get("/healthz").status_code == 200
        _wait(
            lambda: len(_listening_workers(served) - {victim}) == 2,
            60,
            "a replacement worker",
            served,
        )
        (replacement,) = _listening_workers(served) - {survivor}
        spread = _connections_per_worker(served)
        assert set(spread) == {survivor, replacement}
        assert sum(spread.values()) == CONNECTIONS and all(spread.values()), spread
        assert "died" in served.output()

        # SIGTERM: the workers finish, the supervisor exits normally, nothing is left behind.
        family = [served.process.pid, *(p.pid for p in psutil.Process(supervisor).children())]
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0, served.output()
        _wait_gone(family)
        assert "Traceback" not in served.output()


def _wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [pid for pid in pids if psutil.pid_exists(pid) and not _zombie(pid)]
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes left running after SIGTERM: {left}")


def _zombie(pid: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    return True


def test_shared_socket_keeps_the_one_listening_socket(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, "--shared-socket") as served:
        # uvicorn's supervisor listens itself and hands that socket to both workers.
        assert _on_port(served.process.pid, served.port, psutil.CONN_LISTEN) == 1
        spread = _connections_per_worker(served)
        assert sum(spread.values()) == CONNECTIONS, spread
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0, served.output()
