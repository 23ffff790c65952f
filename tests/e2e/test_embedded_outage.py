"""`kill -9` of the embedded postmaster under light load: `serve` restarts it by itself; meanwhile
every request answers 503 `database_unavailable` with Retry-After (never a 500), and /readyz
says why."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import cli, environment, free_port, pid_alive, postmaster_pid, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sk-out-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_killed_postmaster_is_restarted_and_the_api_recovers(home: Path) -> None:
    # Responses from the database, not the cache; no rate limit in the way of the polling.
    env = environment(
        home, free_port(), CACHE_RESPONSES="false", RATE_LIMIT_ENABLED="false", LOG_JSON="false"
    )
    with contextlib.ExitStack() as stack, serving(env, home / "serve.log") as server:
        token = cli("token", "create", "--email", "kill@example.com", env=env).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        # Closed at the end: a client left open leaks its keep-alive socket, and under
        # filterwarnings=error the ResourceWarning fails whichever later test collects it.
        http = httpx.Client(base_url=server.base, headers=headers, timeout=10)
        stack.callback(http.close)
        project_id = http.post("/api/projects", json={"name": "Kept"}).json()["project"]["id"]

        statuses: Counter[int] = Counter()
        wrong: list[str] = []
        stop = threading.Event()

        def light_load() -> None:
            # Two clients reading and writing while the database dies and comes back.
            with httpx.Client(base_url=server.base, headers=headers, timeout=10) as client:
                while not stop.is_set():
                    for response in (
                        client.get("/api/projects"),
                        client.get(f"/api/projects/{project_id}"),
                        client.post("/api/projects", json={"name": "Load"}),
                    ):
                        statuses[response.status_code] += 1
                        if response.status_code >= 500 and not (
                            response.status_code == 503
                            and response.json()["code"] == "database_unavailable"
                            and "retry-after" in response.headers
                        ):
                            wrong.append(f"{response.status_code} {response.text}")
                    time.sleep(0.05)

        clients = [threading.Thread(target=light_load) for _ in range(2)]
        for thread in clients:
            thread.start()
        try:
            time.sleep(1)
            old_pid = postmaster_pid(home)
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)
            killed_at = time.monotonic()
            reasons = set()
            while True:
                ready = http.get("/readyz")
                # Recovered: ready again on a new postmaster. A backend of the killed one may
                # still answer for a moment right after the kill (it has not noticed yet).
                if ready.status_code == 200:
                    if postmaster_pid(home) not in (None, old_pid):
                        break
                else:
                    assert ready.json()["checks"]["database"].startswith("unreachable: ")
                    reasons.add(ready.json()["checks"]["database"])
                assert time.monotonic() - killed_at < 60, "no recovery within 60 s"
                time.sleep(0.05)
            recovered_s = time.monotonic() - killed_at
            time.sleep(1)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
        assert wrong == [], wrong[:3]
        assert statuses[503] > 0, statuses  # the outage was seen…
        assert statuses[500] == 0, statuses  # …and never as a bug
        new_pid = postmaster_pid(home)
        assert new_pid != old_pid and pid_alive(new_pid)
        assert server.process.poll() is None, "serve itself was not restarted"
        assert "embedded PostgreSQL restarted" in server.output()
        assert http.get(f"/api/projects/{project_id}").status_code == 200
        assert http.post("/api/projects", json={"name": "After"}).status_code == 201
        print(f"recovered {recovered_s:.1f} s after kill -9; {dict(statuses)}; {reasons}")
