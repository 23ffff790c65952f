"""Running the real `spacekontext` command in subprocesses, as a user does."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "spacekontext"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(home: Path, port: int | None = None, **extra: str) -> dict[str, str]:
    """The caller's environment without any database or Redis of its own, on `home`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DATABASE_READ_URLS", "TEST_DATABASE_URL")
    }
    env |= {"SPACEKONTEXT_HOME": str(home), "LOG_LEVEL": "warning", **extra}
    if port is not None:
        env["PORT"] = str(port)
    return env


def cli(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def postmaster_pid(home: Path) -> int | None:
    try:
        return int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        # A zombie (killed, not yet reaped) is not alive.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not become ready:\n{log.read_text()}")


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path, *args: str) -> Iterator[Serving]:
    """`spacekontext serve` in a subprocess, ready; stopped with SIGTERM at the end (exit 0)."""
    base = f"http://127.0.0.1:{env['PORT']}"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(BIN), "serve", *args], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(base, proc, log)
        yield Serving(proc, base, log)
    finally:
        stop(proc)
    assert proc.returncode == 0, log.read_text()


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
