"""Schemathesis over the whole API, as a client sees it: `spacekontext serve` in a subprocess
(embedded PostgreSQL, real HTTP), authenticated with a dev token, every operation of the
OpenAPI document, every check that judges the server against its document.

Used by tests/http/test_fuzz.py (short, in `make test`) and by `make fuzz` (long):

    python -m tests.http.fuzzing --max-examples 200 --max-time 900
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.serving import cli, environment, free_port, serving

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


@contextmanager
def served_api() -> Iterator[tuple[str, str]]:
    """(base URL, bearer token) of a fresh `spacekontext serve` on a free port."""
    home = Path(tempfile.mkdtemp(prefix="sk-fuzz-"))
    env = environment(
        home, free_port(), RATE_LIMIT_ENABLED="false", CLERK_WEBHOOK_SECRET=WEBHOOK_SECRET
    )
    try:
        with serving(env, home / "serve.log") as server:
            created = cli("token", "create", "--email", "fuzz@example.com", env=env)
            assert created.returncode == 0, created.stdout + created.stderr
            yield server.base, created.stdout.strip().splitlines()[-1]
    finally:
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
