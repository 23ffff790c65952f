"""`spacekontext loadtest`: the loopback guard, the statistics, and a short real run against
`spacekontext serve` started in a subprocess on a freshly seeded database."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from spacekontext.auth.tokens import DevTokens
from spacekontext.cli import cli
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.tools.loadtest.guard import NotLoopback, ensure_loopback
from spacekontext.tools.loadtest.monitor import parse_prometheus
from spacekontext.tools.loadtest.report import write_outputs
from spacekontext.tools.loadtest.runner import (
    LoadTestConfig,
    percentile,
    run_loadtest,
    verdict,
)
from spacekontext.tools.loadtest.scenario import ACTIONS, available_actions
from spacekontext.tools.seed.writer import SeedPlan, run_seed, seed_email
from tests.e2e.serving import free_port, serving


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:8000/", "http://127.3.2.1", "http://[::1]:9000"],
)
def test_loopback_targets_are_accepted(url: str) -> None:
    assert ensure_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000",
        "http://192.168.1.10",
        "http://172.16.0.1",
        "http://8.8.8.8",
        "http://0.0.0.0:8000",
        "http://example.com",
        "http://localhost.example.com",
        "http://[::ffff:10.0.0.1]",
        "ftp://127.0.0.1",
        "http://user:pw@127.0.0.1",
    ],
)
def test_other_targets_are_refused(url: str) -> None:
    with pytest.raises(NotLoopback):
        ensure_loopback(url)
    with pytest.raises(NotLoopback):
        LoadTestConfig(base_url=url)


def test_the_command_refuses_a_remote_target_before_sending_anything(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["loadtest", "--target", "http://10.1.2.3:8000", "--users", "1"],
        env={"SPACEKONTEXT_HOME": str(tmp_path)},
    )
    assert result.exit_code == 2
    assert "refused" in result.output
    assert not (tmp_path / "dev-token-secret").exists()  # it stopped before any set-up


def test_percentiles_and_verdict() -> None:
    values = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1000 ms
    assert percentile(values, 50) == 0.5
    assert percentile(values, 99) == 0.99
    assert percentile([], 50) is None
    holds = {"requests": 10_000, "errorRate": 0.001, "p99Ms": 1000.0}
    assert verdict(holds) == []
    assert verdict({**holds, "errorRate": 0.0011})[0].startswith("errors")
    assert verdict({**holds, "p99Ms": 1000.1})[0].startswith("p99")


def test_actions_missing_from_the_api_are_left_out() -> None:
    openapi = {
        "paths": {
            "/api/projects": {"get": {}, "post": {}},
            "/api/projects/{id}": {"get": {}},
            "/api/floorplans/{floorplan_id}": {"get": {}},
        }
    }
    present, missing = available_actions(openapi)
    assert [a.name for a in present] == ["dashboard", "open_project", "open_floorplan"]
    assert {a.name for a in missing} == {a.name for a in ACTIONS} - {
        "dashboard",
        "open_project",
        "open_floorplan",
    }


def test_prometheus_series_are_summed_by_name() -> None:
    text = (
        "# HELP x\n"
        'spacekontext_cache_hits_total{key="projects"} 3\n'
        'spacekontext_cache_hits_total{key="blocks"} 4.5\n'
        "spacekontext_db_pool_waiting 2\n"
        "broken line\n"
    )
    assert parse_prometheus(text) == {
        "spacekontext_cache_hits_total": 7.5,
        "spacekontext_db_pool_waiting": 2.0,
    }


def test_cache_hit_ratio_reads_the_lookup_counter_split_by_result() -> None:
    from spacekontext.tools.loadtest.monitor import StepWindow

    def exposition(hit: float, miss: float, bypass: float) -> str:
        return (
            f'spacekontext_cache_lookups_total{{backend="redis",result="hit"}} {hit}\n'
            f'spacekontext_cache_lookups_total{{backend="redis",result="miss"}} {miss}\n'
            f'spacekontext_cache_lookups_total{{backend="redis",result="bypass"}} {bypass}\n'
        )

    parsed = parse_prometheus(exposition(10, 5, 0))
    assert parsed['spacekontext_cache_lookups_total{result="hit"}'] == 10.0
    assert parsed["spacekontext_cache_lookups_total"] == 15.0
    window = StepWindow(metrics_start=parsed, metrics_end=parse_prometheus(exposition(40, 10, 5)))
    # 30 hits against 5 misses and 5 bypasses (served from the database) in the window.
    assert window.summary()["cacheHitRatio"] == 0.75


@pytest.fixture(scope="module")
def served(
    create_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """`spacekontext serve` in a subprocess on a database seeded with 5 users."""
    url = create_database()
    upgrade(url)
    run_seed(
        libpq_dsn(url),
        SeedPlan(users=5, projects_per_user=2, files_per_project=1, cad_blocks=5, seed=3),
        objects=None,
        workers=0,
    )
    home = tmp_path_factory.mktemp("loadtest-home")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SPACEKONTEXT_HOME": str(home),
        "LOG_LEVEL": "warning",
        "PORT": str(free_port()),
    }
    with serving(env, home / "serve.log") as server:
        yield server.base, url, home


@pytest.mark.e2e
async def test_a_short_run_measures_every_step(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    base, url, home = served
    tokens = DevTokens.from_data_dir(home)
    config = LoadTestConfig(
        base_url=base,
        steps=(2, 4),
        step_s=2.0,
        ramp_s=0.3,
        think_s=(0.05, 0.2),
        request_timeout_s=10,
        seed=3,
        label="tiny",
    )
    started = time.monotonic()
    result = await run_loadtest(
        config, [tokens.mint(seed_email(3, k)) for k in range(5)], dsn=libpq_dsn(url)
    )
    assert time.monotonic() - started < 30  # bounded: steps + ramps + drain
    assert [s["users"] for s in result["steps"]] == [2, 4]
    for step in result["steps"]:
        assert step["requests"] > 0
        assert step["errors"] == 0, step["statuses"]
        assert step["breaks"] is False
        assert "dashboard" in step["actions"]
        assert step["pgConnectionsMax"] is not None and step["pgConnectionsMax"] >= 1
        assert step["p50Ms"] is not None and step["p50Ms"] <= step["p99Ms"]
    measured = {a["name"] for a in result["actions"]["measured"]}
    missing = {a["name"] for a in result["actions"]["notAvailable"]}
    assert measured | missing == {a.name for a in ACTIONS} and not measured & missing
    paths = write_outputs(result, tmp_path / "tiny")
    assert orjson.loads(paths["json"].read_bytes())["label"] == "tiny"
    assert "| Concurrent users |" in paths["markdown"].read_text()
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
