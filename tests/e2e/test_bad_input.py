"""A data dir or a port that cannot be used: one line naming the cause and the fix, exit code 2,
and nothing half-started left running."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.e2e.serving import BIN, cli, environment, free_port, pid_alive, postmaster_pid

pytestmark = pytest.mark.e2e

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts, another user)")


@pytest.fixture
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sk-bad-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def postgres_of(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(home) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def nothing_running(home: Path) -> None:
    assert postgres_of(home) == []
    attached = home / "run" / "attached"
    assert not attached.exists() or list(attached.iterdir()) == []


def test_port_in_use(home: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = cli("serve", env=environment(home, port))
    line = one_line_error(done, f"port {port}", "in use", "--port")
    assert f"pid {os.getpid()}" in line  # who holds it
    # Refused before anything started: no database, not even a data dir of it.
    assert not (home / "pgdata").exists()
    nothing_running(home)


def test_stale_postmaster_pid(home: Path) -> None:
    env = environment(home)
    assert cli("migrate", env=env).returncode == 0  # a data dir, its server stopped again
    pid_file = home / "pgdata" / "postmaster.pid"
    assert not pid_file.exists()
    # The file a crash leaves, whose pid now belongs to some other program.
    other = subprocess.Popen(["sleep", "60"])
    try:
        pid_file.write_text(f"{other.pid}\n{home / 'pgdata'}\n0\n5432\n{home / 'pgdata'}\n\n")
        done = cli("migrate", env=env)
        one_line_error(done, "stale", str(pid_file), "'sleep'", "remove that file")
        nothing_running(home)
        assert pid_alive(other.pid), "the other program must be left alone"
    finally:
        other.kill()
        other.wait()
    # A pid file whose process is gone is PostgreSQL's ordinary crash case: it just starts.
    pid_file.write_text(f"{other.pid}\n{home / 'pgdata'}\n0\n5432\n{home / 'pgdata'}\n\n")
    done = cli("migrate", env=env)
    assert done.returncode == 0, done.stderr
    nothing_running(home)


@as_root
def test_read_only_data_dir(home: Path) -> None:
    """The data dir on a read-only filesystem (a private mount namespace, so nothing leaks)."""
    env = environment(home, free_port())
    for command in ("migrate", "serve"):
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             'mount -t tmpfs -o ro,size=1m tmpfs "$SPACEKONTEXT_HOME" && exec "$0" "$1"',
             str(BIN), command],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        one_line_error(done, "read-only", "SPACEKONTEXT_HOME")
    nothing_running(home)
    assert postmaster_pid(home) is None


@as_root
def test_data_dir_of_another_user(home: Path) -> None:
    """A data dir that the `postgres` user owns, used by root (as with `sudo`): refused, since
    files root wrote there would lock its owner out."""
    data = home / "data"
    data.mkdir(mode=0o755)
    shutil.chown(data, "postgres", "postgres")
    env = environment(data, free_port())
    for command in ("migrate", "serve"):
        done = cli(command, env=env)
        one_line_error(done, str(data), "belongs to user postgres", "SPACEKONTEXT_HOME")
    assert list(data.iterdir()) == []
    nothing_running(home)
