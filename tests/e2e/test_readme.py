"""The README's "Try it" block, pasted verbatim into a fresh shell at the root of a fresh copy of
the checkout: it installs, serves, waits for the API, mints a token, lists and creates a project,
and stops everything it started.

Most of its two minutes go to installing a fresh `.venv` (pip, about one core). When the whole
suite runs, the root conftest starts the block as soon as the tests are collected
(`start_in_background`), so that it runs beside the other tests rather than after them; the
test then waits for it and checks what it did. Run alone, the test starts it itself."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
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


TEST_NAME = "test_try_it_block_works_pasted_into_a_fresh_shell"
TIMEOUT_S = 1500


@dataclass
class BlockRun:
    """The block running in a fresh shell, in a fresh copy under `base`."""

    base: Path
    clone: Path
    process: subprocess.Popen[bytes]
    started: float

    def wait(self) -> tuple[int, str, str]:
        """The block's exit code, its stdout, and stdout + stderr."""
        remaining = max(1.0, TIMEOUT_S - (time.monotonic() - self.started))
        code = self.process.wait(timeout=remaining)
        printed = (self.base / "stdout").read_text()
        return code, printed, printed + (self.base / "stderr").read_text()

    def clean_up(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=30)
        for proc in processes_under(self.clone):
            proc.kill()
        shutil.rmtree(self.base, ignore_errors=True)


_background: BlockRun | None = None


def start_block() -> BlockRun:
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
    # `set -m`: job control, as in the terminal the block is pasted into (`kill %1`).
    # Output to files: a server left running by a failing block must not hold a pipe. A
    # session of its own, so that a test run that stops early can stop all of it.
    with (base / "stdout").open("w") as stdout, (base / "stderr").open("w") as stderr:
        process = subprocess.Popen(
            ["bash", "-c", "set -m -e\n" + block],
            cwd=clone, env=env, stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    return BlockRun(base, clone, process, time.monotonic())


def start_in_background() -> None:
    """Called by the root conftest once the whole suite is collected; does nothing when port
    8000 is taken (the test then says so)."""
    global _background
    if _background is None and port_free(8000):
        _background = start_block()


def stop_background() -> None:
    """At the end of the session: a block the test never waited for (a run stopped early)."""
    global _background
    if _background is not None:
        _background.clean_up()
        _background = None


def test_try_it_block_works_pasted_into_a_fresh_shell() -> None:
    global _background
    run, _background = _background, None
    if run is None:
        require(port_free(8000), "port 8000 free (the README's block uses it)")
        run = start_block()
    try:
        code, printed, output = run.wait()
        assert code == 0, output[-4000:]
        assert '{"success":true,"projects":[],"nextCursor":null}' in printed, output[-4000:]
        assert '"name":"Villa"' in printed, output[-4000:]
        assert "==> installing the project" in output  # the install shows what it does
        # Everything the block started stops with `kill %1`: serve and its PostgreSQL.
        deadline = time.monotonic() + 60
        while processes_under(run.clone) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = processes_under(run.clone)
        assert left == [], [p.info["cmdline"] for p in left]
        assert (run.clone / ".spacekontext" / "pgdata" / "PG_VERSION").exists()
    finally:
        run.clean_up()
