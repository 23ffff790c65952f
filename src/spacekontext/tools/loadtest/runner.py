"""Ramp simulated users through steps and measure each step.

Sessions started for one step keep running into the next (users arrive, they do not restart),
and each step adds the missing ones, spread over `ramp_s`. Only requests *started* inside a
step's measurement window count for it; after the last step every session finishes the request
it is in (bounded by the request timeout) so that slow requests are counted, not dropped.
Everything is bounded: per step, in total (`max_total_s`), and the run stops after the first
step that breaks unless told otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import orjson

from spacekontext.tools.loadtest.client import UserConnection
from spacekontext.tools.loadtest.guard import ensure_loopback
from spacekontext.tools.loadtest.monitor import Monitor, StepWindow
from spacekontext.tools.loadtest.scenario import Action, Sample, Session, available_actions

# A step breaks at the first of: more than 0.1% errors, or a p99 above one second.
MAX_ERROR_RATE = 0.001
MAX_P99_S = 1.0
MAX_USERS = 20_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoadTestConfig:
    base_url: str
    steps: tuple[int, ...] = (100, 250, 500, 1000, 2000)
    step_s: float = 60.0
    ramp_s: float = 10.0
    think_s: tuple[float, float] = (1.0, 3.0)
    request_timeout_s: float = 30.0
    seed: int = 1
    stop_after_break: bool = True
    max_total_s: float = 3600.0
    label: str = "run"

    def __post_init__(self) -> None:
        ensure_loopback(self.base_url)
        if not self.steps or any(n < 1 or n > MAX_USERS for n in self.steps):
            raise ValueError(f"steps must be between 1 and {MAX_USERS} users")
        if list(self.steps) != sorted(self.steps):
            raise ValueError("steps must be increasing")
        if self.step_s <= 0 or self.ramp_s < 0 or self.request_timeout_s <= 0:
            raise ValueError("durations must be positive")
        if not 0 <= self.think_s[0] <= self.think_s[1]:
            raise ValueError("think time must be a range MIN <= MAX")


@dataclass
class _Recorder:
    samples: list[Sample] = field(default_factory=list)

    def __call__(self, sample: Sample) -> None:
        self.samples.append(sample)


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def summarize_samples(samples: list[Sample], duration_s: float) -> dict[str, Any]:
    latencies = sorted(s.latency_s for s in samples)
    errors = sum(1 for s in samples if not s.ok)
    by_action: dict[str, list[Sample]] = {}
    for sample in samples:
        by_action.setdefault(sample.action, []).append(sample)
    actions = {}
    for name, group in sorted(by_action.items()):
        ordered = sorted(s.latency_s for s in group)
        actions[name] = {
            "requests": len(group),
            "errors": sum(1 for s in group if not s.ok),
            "p50Ms": _ms(percentile(ordered, 50)),
            "p95Ms": _ms(percentile(ordered, 95)),
            "p99Ms": _ms(percentile(ordered, 99)),
            "maxMs": _ms(ordered[-1]),
        }
    statuses = Counter(str(s.status) for s in samples)
    return {
        "requests": len(samples),
        "requestsPerS": round(len(samples) / duration_s, 1) if duration_s > 0 else None,
        "errors": errors,
        "errorRate": round(errors / len(samples), 5) if samples else None,
        "p50Ms": _ms(percentile(latencies, 50)),
        "p95Ms": _ms(percentile(latencies, 95)),
        "p99Ms": _ms(percentile(latencies, 99)),
        "maxMs": _ms(latencies[-1] if latencies else None),
        "statuses": dict(sorted(statuses.items())),
        "actions": actions,
    }


def verdict(step: dict[str, Any]) -> list[str]:
    """Why a step breaks (empty: it holds)."""
    reasons = []
    if not step["requests"]:
        reasons.append("no request completed")
        return reasons
    if step["errorRate"] > MAX_ERROR_RATE:
        reasons.append(f"errors {step['errorRate'] * 100:.2f}% > {MAX_ERROR_RATE * 100:.1f}%")
    if step["p99Ms"] is not None and step["p99Ms"] > MAX_P99_S * 1000:
        reasons.append(f"p99 {step['p99Ms']:.0f} ms > {MAX_P99_S * 1000:.0f} ms")
    return reasons


def run_on_fast_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the load test on uvloop when it is installed (it comes with the server's uvicorn):
    its event loop spends less CPU per socket event than asyncio's, CPU the server is measured
    without."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a build without uvicorn's extras
        return asyncio.run(main)
    return uvloop.run(main)


def _raise_fd_limit() -> None:
    # One socket per in-flight request: thousands of users need more than the usual 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    del soft


async def run_loadtest(
    config: LoadTestConfig,
    tokens: list[str],
    *,
    dsn: str | None,
    progress: Callable[[str], None] | None = None,
    server_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    base_url = ensure_loopback(config.base_url)
    if not tokens:
        raise ValueError("no user tokens: seed the database first")
    say = progress or (lambda _msg: None)
    _raise_fd_limit()
    deadline = time.monotonic() + config.max_total_s
    recorder = _Recorder()
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=config.request_timeout_s)
    started_at = datetime.now(UTC)
    steps: list[dict[str, Any]] = []
    # (monotonic start, monotonic end, wall-clock start, server figures) per measured step.
    windows: list[tuple[float, float, float, StepWindow]] = []
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, json_serialize=lambda v: orjson.dumps(v).decode()
    ) as http:
        async with http.get(base_url + "/openapi.json") as response:
            response.raise_for_status()
            openapi = orjson.loads(await response.read())
        actions, missing = available_actions(openapi)
        if not actions:
            raise ValueError("the server routes none of the load test's actions")
        say(
            "actions: "
            + ", ".join(a.name for a in actions)
            + (f"; not available: {', '.join(a.name for a in missing)}" if missing else "")
        )
        target = urlsplit(base_url)
        port = target.port or 80
        host = (target.hostname or "127.0.0.1").strip("[]")
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []

        async def user(index: int, delay: float) -> None:
            await asyncio.sleep(delay)
            rng = random.Random(f"{config.seed}:session:{index}")  # noqa: S311 - not secrets
            session = Session(
                UserConnection(host, port, config.request_timeout_s),
                target.netloc,
                tokens[index % len(tokens)],
                actions,
                recorder,
                rng=rng,
                think_s=config.think_s,
            )
            await session.run(stop)

        async with Monitor(dsn, http, base_url, port) as monitor:
            for users in config.steps:
                if time.monotonic() + config.ramp_s + config.step_s > deadline:
                    say(f"stopping before {users} users: the run's time limit is reached")
                    break
                spread = random.Random(f"{config.seed}:ramp:{users}")  # noqa: S311
                for index in range(len(tasks), users):
                    tasks.append(asyncio.create_task(user(index, spread.uniform(0, config.ramp_s))))
                say(f"{users} users: ramping for {config.ramp_s:.0f} s")
                # Let the new users arrive and open their dashboards before measuring.
                await asyncio.sleep(config.ramp_s + config.think_s[0])
                await monitor.start_window()
                window_start = time.monotonic()
                wall_start = time.time()
                await asyncio.sleep(config.step_s)
                window_end = time.monotonic()
                server = await monitor.end_window()
                windows.append((window_start, window_end, wall_start, server))
                step = _step(users, recorder.samples, window_start, window_end, wall_start, server)
                steps.append(step)
                say(_one_line(step))
                if step["breaks"] and config.stop_after_break:
                    say(f"{users} users break the limits: stopping")
                    break
            stop.set()
            # Sessions finish the request they are in (bounded by the request timeout) or the
            # think time they are in.
            _done, pending = await asyncio.wait(
                tasks,
                timeout=config.request_timeout_s + config.think_s[1] + 1 if tasks else None,
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    # Final figures include requests that completed after their window closed.
    final_steps = [
        _step(step["users"], recorder.samples, start, end, wall, server)
        for step, (start, end, wall, server) in zip(steps, windows, strict=True)
    ]
    return {
        "label": config.label,
        "target": base_url,
        "startedAt": started_at.isoformat(timespec="seconds"),
        "config": {
            "steps": list(config.steps),
            "stepSeconds": config.step_s,
            "rampSeconds": config.ramp_s,
            "thinkSeconds": list(config.think_s),
            "requestTimeoutSeconds": config.request_timeout_s,
            "seed": config.seed,
            "userTokens": len(tokens),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "loadAverage": [round(v, 2) for v in os.getloadavg()],
        },
        "server": server_info or {},
        "actions": {
            "measured": [_describe(a) for a in actions],
            "notAvailable": [_describe(a) for a in missing],
        },
        "criteria": {"maxErrorRate": MAX_ERROR_RATE, "maxP99Ms": MAX_P99_S * 1000},
        "steps": final_steps,
    }


def _describe(action: Action) -> dict[str, Any]:
    return {
        "name": action.name,
        "request": f"{action.method.upper()} {action.route}",
        "weight": action.weight,
        "what": action.description,
    }


def _step(
    users: int,
    samples: list[Sample],
    start: float,
    end: float,
    wall_start: float,
    server: StepWindow,
) -> dict[str, Any]:
    inside = [s for s in samples if start <= s.started < end]
    step = {
        "users": users,
        # Wall-clock window (Unix seconds): lets figures sampled outside this process (other
        # servers, PgBouncer) be matched to the step.
        "windowStartUnix": round(wall_start, 3),
        "windowEndUnix": round(wall_start + end - start, 3),
        "durationS": round(end - start, 1),
        **summarize_samples(inside, end - start),
    }
    step.update(server.summary())
    # CPU time per request (ms): what each process spends on one request of this mix, a figure
    # that holds when neighbours on a shared machine take some of the cores.
    cpu = step.get("cpuPercent") or {}
    step["cpuMsPerRequest"] = {
        role: round(cpu[role] / 100 * (end - start) * 1000 / len(inside), 2)
        for role in ("server", "postgres", "loadtest")
        if role in cpu and inside
    }
    reasons = verdict(step)
    step["breaks"] = bool(reasons)
    step["breakReasons"] = reasons
    return step


def _one_line(step: dict[str, Any]) -> str:
    rate = step["errorRate"]
    return (
        f"{step['users']} users: {step['requestsPerS']} req/s, p50 {step['p50Ms']} ms, "
        f"p99 {step['p99Ms']} ms, errors {rate * 100 if rate is not None else 0:.2f}%, "
        f"pg connections max {step['pgConnectionsMax']}"
        + (f"  BREAKS: {'; '.join(step['breakReasons'])}" if step["breaks"] else "")
    )
