"""The README's "Try it" block, pasted verbatim into a fresh shell at the root of a fresh copy of
the checkout: it installs, serves, waits for the API, mints a token, lists and creates a project,
and stops everything it started."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import require

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def try_it_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "no shell block under 'Try it'"
    return found.group(1)


def fresh_copy(target: Path) -> None:
    """What a clone holds: the tracked files, as they are now; no .venv, no data dir."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def processes_under(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        with_path = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        if str(path) in with_path and proc.pid != os.getpid():
            found.append(proc)
    return found


def test_try_it_block_works_pasted_into_a_fresh_shell() -> None:
    require(port_free(8000), "port 8000 free (the README's block uses it)")
    block = try_it_block()
    base = Path(tempfile.mkdtemp(prefix="sk-readme-"))
    clone = base / "space-kontext"
    clone.mkdir()
    fresh_copy(clone)
    # A fresh shell: none of this test's virtualenv or data dir.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "SPACEKONTEXT_HOME", "DATABASE_URL", "REDIS_URL", "PORT")
    }
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if ".venv" not in part
    )
    try:
        # `set -m`: job control, as in the terminal the block is pasted into (`kill %1`).
        # Output to files: a server left running by a failing block must not hold a pipe.
        out, err = base / "stdout", base / "stderr"
        with out.open("w") as stdout, err.open("w") as stderr:
            code = subprocess.run(
                ["bash", "-c", "set -m -e\n" + block],
                cwd=clone, env=env, stdout=stdout, stderr=stderr, timeout=1500, check=False,
            ).returncode  # fmt: skip
        printed = out.read_text()
        output = printed + err.read_text()
        assert code == 0, output[-4000:]
        assert '{"success":true,"projects":[],"nextCursor":null}' in printed, output[-4000:]
        assert '"name":"Villa"' in printed, output[-4000:]
        assert "==> installing the project" in output  # the install shows what it does
        # Everything the block started stops with `kill %1`: serve and its PostgreSQL.
        deadline = time.monotonic() + 60
        while processes_under(clone) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = processes_under(clone)
        assert left == [], [p.info["cmdline"] for p in left]
        assert (clone / ".spacekontext" / "pgdata" / "PG_VERSION").exists()
    finally:
        for proc in processes_under(clone):
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)
