"""Schemathesis over the whole API, as a client sees it: `spacekontext serve` in a subprocess
(embedded PostgreSQL, real HTTP), authenticated with a dev token, every operation of the
OpenAPI document, every check that judges the server against its document.

Used by tests/http/test_fuzz.py (short, in `make test`) and by `make fuzz` (long):

    python -m tests.http.fuzzing --max-examples 200 --max-time 900
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# Every check that compares the server with its document. Left out: `positive_data_acceptance`,
# which expects any schema-valid request to succeed; the API checks more than a schema can say
# (a cursor it did not write, a document that is not a floorplan, a file kind it does not
# take) and answers those with documented 4xx.
EXCLUDED_CHECKS = "positive_data_acceptance"
CONFIG = Path(__file__).with_name("schemathesis.toml")


@dataclass(frozen=True)
class FuzzResult:
    returncode: int
    operations: int
    cases: int
    failures: int
    output: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_api() -> Iterator[tuple[str, str]]:
    """(base URL, bearer token) of a fresh `spacekontext serve` on a free port."""
    home = Path(tempfile.mkdtemp(prefix="sk-fuzz-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "SPACEKONTEXT_HOME": str(home),
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
        "CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    base = f"http://127.0.0.1:{port}"
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "spacekontext"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not become ready")
            time.sleep(0.2)
        token = (
            subprocess.run(
                [str(BIN / "spacekontext"), "token", "create", "--email", "fuzz@example.com"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        yield base, token
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def run_schemathesis(
    base: str,
    token: str,
    *,
    max_examples: int,
    max_time_s: int,
    phases: str = "examples,coverage,fuzzing",
    seed: int | None = None,
) -> FuzzResult:
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        str(max_examples),
        "--max-time",
        str(max_time_s),
        "--phases",
        phases,
        # One worker: schemathesis' generator threads trip over CPython 3.11's AST parser.
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    # Its own cache directory lands in the working directory: a temporary one.
    with tempfile.TemporaryDirectory(prefix="sk-schemathesis-") as workdir:
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=workdir)
    output = done.stdout + done.stderr
    return FuzzResult(
        returncode=done.returncode,
        operations=_figure(r"Tested:\s+(\d+)", output),
        cases=_figure(r"(\d+) generated", output),
        failures=_figure(r"found (\d+) unique failure", output),
        output=output,
    )


def _figure(pattern: str, output: str) -> int:
    found = re.search(pattern, output)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--max-time", type=int, default=900)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    started = time.monotonic()
    with served_api() as (base, token):
        result = run_schemathesis(
            base,
            token,
            max_examples=args.max_examples,
            max_time_s=args.max_time,
            phases=args.phases,
            seed=args.seed,
        )
    print(result.output)
    print(
        f"fuzz: {result.operations} operations, {result.cases} cases, "
        f"{result.failures} failures in {time.monotonic() - started:.0f} s "
        f"(max examples {args.max_examples}, max time {args.max_time} s, {args.phases})"
    )
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
