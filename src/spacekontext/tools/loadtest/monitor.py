"""What the server side looks like while a step runs: PostgreSQL connections (pg_stat_activity,
sampled every second), buffer cache hits (pg_stat_database), the server's own /metrics (pool
waits, cache hits, when it exports them) and CPU of the server, PostgreSQL and this process."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import psycopg

from spacekontext.tasks import stop_task

_ACTIVITY = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE state = 'active') AS active
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND datname = current_database()
"""
_BUFFERS = "SELECT sum(blks_hit)::float8, sum(blks_read)::float8 FROM pg_stat_database"
_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")

# Series names the scale layer exports (any of them; summed over labels).
_POOL_WAITING_GAUGES = ("spacekontext_db_pool_waiting", "spacekontext_db_pool_waiters")
_POOL_WAIT_COUNTERS = ("spacekontext_db_pool_waits_total", "spacekontext_db_pool_wait_total")
_POOL_TIMEOUT_COUNTERS = ("spacekontext_db_pool_timeouts_total",)
# The cache exports one counter with a `result` label (hit, miss, bypass); a bypass (cache
# unreachable) is served from the database, so it counts as a miss.
_CACHE_HIT_COUNTERS = (
    "spacekontext_cache_hits_total",
    'spacekontext_cache_lookups_total{result="hit"}',
)
_CACHE_MISS_COUNTERS = (
    "spacekontext_cache_misses_total",
    'spacekontext_cache_lookups_total{result="miss"}',
    'spacekontext_cache_lookups_total{result="bypass"}',
)
_RESULT_LABEL_RE = re.compile(r'result="([^"]*)"')


def parse_prometheus(text: str) -> dict[str, float]:
    """Sum every series by metric name (labels dropped), and also by name and `result` label
    (keyed `name{result="hit"}`) for counters that split outcomes by label."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE_RE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        if math.isfinite(value):
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + value
            result = _RESULT_LABEL_RE.search(match.group(2) or "")
            if result:
                key = f'{match.group(1)}{{result="{result.group(1)}"}}'
                totals[key] = totals.get(key, 0.0) + value
    return totals


@dataclass
class StepWindow:
    """Server-side figures over one measurement window."""

    connections: list[int] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    pool_waiting: list[float] = field(default_factory=list)
    buffers_start: tuple[float, float] | None = None
    buffers_end: tuple[float, float] | None = None
    metrics_start: dict[str, float] = field(default_factory=dict)
    metrics_end: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        hit_ratio = None
        if self.buffers_start and self.buffers_end:
            hits = self.buffers_end[0] - self.buffers_start[0]
            reads = self.buffers_end[1] - self.buffers_start[1]
            hit_ratio = round(hits / (hits + reads), 4) if hits + reads > 0 else None
        return {
            "pgConnectionsMax": max(self.connections, default=None),
            "pgConnectionsMean": _mean(self.connections),
            "pgActiveMax": max(self.active, default=None),
            "pgBufferHitRatio": hit_ratio,
            "poolWaitingMax": max(self.pool_waiting, default=None),
            "poolWaits": self._delta(_POOL_WAIT_COUNTERS),
            "poolTimeouts": self._delta(_POOL_TIMEOUT_COUNTERS),
            "cacheHitRatio": self._cache_ratio(),
            "cpuPercent": self.cpu,
        }

    def _delta(self, names: tuple[str, ...]) -> float | None:
        found = None
        for name in names:
            if name in self.metrics_end:
                found = (found or 0.0) + self.metrics_end[name] - self.metrics_start.get(name, 0.0)
        return found

    def _cache_ratio(self) -> float | None:
        hits = self._delta(_CACHE_HIT_COUNTERS)
        misses = self._delta(_CACHE_MISS_COUNTERS)
        if hits is None or misses is None or hits + misses <= 0:
            return None
        return round(hits / (hits + misses), 4)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


class CpuTracker:
    """CPU used per role over a window, in percent of one core. Children are re-listed at every
    sample, so short-lived PostgreSQL backends (one per request in the naive profile) count when
    they live across a sample; shorter ones are missed: that figure is a lower bound."""

    def __init__(self, roots: dict[str, tuple[psutil.Process, bool]]) -> None:
        self._roots = roots
        self._started = time.monotonic()
        self._started_wall = time.time()
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._role: dict[int, str] = {}
        # Process objects by pid, kept between samples (psutil checks a pid was not reused).
        self._known: dict[int, psutil.Process] = {}
        self.sample()

    def sample(self) -> None:
        for role, (root, with_children) in self._roots.items():
            procs = [root]
            if with_children:
                procs += self._descendants(root)
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    used = times.user + times.system
                    born = proc.create_time()
                except psutil.Error:
                    continue
                if proc.pid not in self._first:
                    # Born inside the window: all of its CPU belongs to the window.
                    self._first[proc.pid] = 0.0 if born >= self._started_wall else used
                    self._role[proc.pid] = role
                self._last[proc.pid] = used

    def _descendants(self, root: psutil.Process) -> list[psutil.Process]:
        """The process tree under `root` from the kernel's per-task `children` lists: a few
        small reads, where psutil's `children()` reads the stat file of every process on the
        machine (tens of milliseconds a sample on a busy one, charged to the load generator)."""
        pids = _child_pids(root.pid)
        if pids is None:  # no /proc/<pid>/task/<tid>/children on this kernel
            with contextlib.suppress(psutil.Error):
                children: list[psutil.Process] = root.children(recursive=True)
                return children
            return []
        found: list[psutil.Process] = []
        while pids:
            pid = pids.pop()
            proc = self._known.get(pid)
            if proc is None:
                with contextlib.suppress(psutil.Error):
                    proc = self._known[pid] = psutil.Process(pid)
            if proc is not None:
                found.append(proc)
            pids += _child_pids(pid) or []
        return found

    def percent(self) -> dict[str, float]:
        self.sample()
        elapsed = max(time.monotonic() - self._started, 1e-6)
        totals: dict[str, float] = {}
        for pid, role in self._role.items():
            totals[role] = totals.get(role, 0.0) + self._last[pid] - self._first[pid]
        return {role: round(100 * used / elapsed, 1) for role, used in totals.items()}


def _child_pids(pid: int) -> list[int] | None:
    """Direct children of `pid`, from every one of its threads' `children` file (a child is
    listed under the thread that forked it); None where the kernel has no such file."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    pids: list[int] = []
    for task in tasks:
        try:
            pids += [int(p) for p in (task / "children").read_bytes().split()]
        except FileNotFoundError:
            if not task.exists():
                continue  # the thread ended
            return None
        except OSError:
            continue
    return pids


def find_processes(port: int, backend_pid: int | None) -> dict[str, tuple[psutil.Process, bool]]:
    """Role -> (root process, count its children too): the server (whatever listens on the
    port, with its worker processes), the PostgreSQL server we are connected to (its postmaster
    and backends; not the other servers on a shared machine) and this process."""
    found: dict[str, tuple[psutil.Process, bool]] = {"loadtest": (psutil.Process(), False)}
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        connections = []
    listeners = {
        conn.pid
        for conn in connections
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid
    }
    # With several workers every worker listens (on a socket of its own, or with uvicorn's
    # supervisor on the one socket that the supervisor holds too): the root is the listener
    # whose parent does not listen, climbed to the supervisor that started it.
    for pid in sorted(listeners):
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.ppid() not in listeners:
                found["server"] = (_supervisor_of(proc), True)
                break
    if backend_pid is not None:
        with contextlib.suppress(psutil.Error):
            found["postgres"] = (psutil.Process(psutil.Process(backend_pid).ppid()), True)
    return found


def _supervisor_of(proc: psutil.Process) -> psutil.Process:
    """psutil reports a socket shared by several processes once, often under one worker: climb
    from a spawned worker (`multiprocessing.spawn`) to the supervisor that started it."""
    with contextlib.suppress(psutil.Error):
        while "multiprocessing" in " ".join(proc.cmdline()):
            parent = proc.parent()
            if parent is None:
                break
            proc = parent
    return proc


class Monitor:
    def __init__(
        self, dsn: str | None, http: aiohttp.ClientSession, base_url: str, port: int
    ) -> None:
        self._dsn = dsn
        self._http = http
        self._base = base_url
        self._port = port
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._roots: dict[str, tuple[psutil.Process, bool]] = {}
        self._cpu: CpuTracker | None = None
        self.window: StepWindow | None = None
        self.has_metrics = False

    async def __aenter__(self) -> Monitor:
        backend_pid = None
        if self._dsn:
            self._conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, application_name="spacekontext-loadtest"
            )
            row = await (await self._conn.execute("SELECT pg_backend_pid()")).fetchone()
            backend_pid = int(row[0]) if row else None
        self._roots = find_processes(self._port, backend_pid)
        self._task = asyncio.create_task(self._sample_forever())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop_task(self._task)
        if self._conn:
            await self._conn.close()

    async def start_window(self) -> None:
        window = StepWindow()
        window.buffers_start = await self._buffers()
        window.metrics_start = await self._metrics()
        self._cpu = CpuTracker(self._roots)
        psutil.cpu_percent(None)
        self.window = window

    async def end_window(self) -> StepWindow:
        window = self.window or StepWindow()
        self.window = None
        window.buffers_end = await self._buffers()
        window.metrics_end = await self._metrics()
        window.cpu = {"system": psutil.cpu_percent(None)}
        if self._cpu is not None:
            window.cpu.update(self._cpu.percent())
            self._cpu = None
        return window

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            window = self.window
            if window is None:
                continue
            if self._cpu is not None:
                self._cpu.sample()
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    row = await (await self._conn.execute(_ACTIVITY)).fetchone()
                    if row:
                        window.connections.append(int(row[0]))
                        window.active.append(int(row[1]))
            if self.has_metrics:
                metrics = await self._metrics()
                waiting = [metrics[n] for n in _POOL_WAITING_GAUGES if n in metrics]
                if waiting:
                    window.pool_waiting.append(sum(waiting))

    async def _buffers(self) -> tuple[float, float] | None:
        if self._conn is None:
            return None
        try:
            row = await (await self._conn.execute(_BUFFERS)).fetchone()
        except psycopg.Error:
            return None
        return (float(row[0] or 0), float(row[1] or 0)) if row else None

    async def _metrics(self) -> dict[str, float]:
        try:
            async with self._http.get(
                self._base + "/metrics", timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                if response.status != 200:
                    return {}
                parsed = parse_prometheus(await response.text())
        except (aiohttp.ClientError, TimeoutError, OSError, UnicodeDecodeError):
            return {}
        self.has_metrics = self.has_metrics or bool(parsed)
        return parsed
