"""`spacekontext serve --workers 2` for real: two worker processes behind one port, and
/metrics on any of them counts the requests of both (Prometheus multiprocess mode)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from spacekontext.auth.tokens import DevTokens
from tests.db.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REQUESTS = 60


def _requests_counted(metrics_text: str) -> float:
    pattern = (
        r'spacekontext_http_requests_total\{method="GET",route="/api/projects",status="200"\}'
        r" ([0-9.e+]+)"
    )
    found = re.search(pattern, metrics_text)
    return float(found.group(1)) if found else 0.0


def test_two_workers_share_the_port_and_the_metrics(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SPACEKONTEXT_HOME": str(tmp_path),
        "LOG_LEVEL": "info",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "serve.log"
    log_file = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "spacekontext.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {log_path.read_text()}")
            time.sleep(0.2)

        workers = [
            child
            for child in psutil.Process(server.pid).children()
            if "resource_tracker" not in " ".join(child.cmdline())
        ]
        assert len(workers) == 2

        headers = {
            "Authorization": f"Bearer {DevTokens.from_data_dir(tmp_path).mint('w@example.com')}"
        }
        for _ in range(REQUESTS):
            # A new connection per request, so the kernel spreads them over both workers.
            with httpx.Client(base_url=base) as client:
                assert client.get("/api/projects", headers=headers).status_code == 200

        # Each scrape lands on either worker; each reports the sum over both.
        for _ in range(4):
            with httpx.Client(base_url=base) as client:
                assert _requests_counted(client.get("/metrics").text) == REQUESTS
        sample_files = list((tmp_path / "prometheus").glob("counter_*.db"))
        pids = {int(path.stem.split("_")[1]) for path in sample_files}
        assert pids == {worker.pid for worker in workers}

        # The workers log as `serve` does: JSON lines with level and time, INFO included.
        started = [
            entry
            for line in log_path.read_text().splitlines()
            if line.startswith("{")
            and (entry := orjson.loads(line)).get("event") == "Application startup complete."
        ]
        assert len(started) == 2, log_path.read_text()[-3000:]
        assert all(entry["level"] == "info" and entry["timestamp"] for entry in started)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log_file.close()
