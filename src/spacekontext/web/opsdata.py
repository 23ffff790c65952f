"""What /app/ops shows, gathered from the app's own telemetry: the Prometheus registry (summed
over every worker in multiprocess mode, as /metrics serves it), the replica router, Redis and
the job queue. Rates and per-interval percentiles are computed by the page from two successive
snapshots; a snapshot holds counters and histogram buckets as they stand."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup, escape
from prometheus_client.parser import text_string_to_metric_families

from spacekontext.jobs.service import job_overview
from spacekontext.observability import metrics
from spacekontext.services import Services

HTTP_REQUESTS = "spacekontext_http_requests"
HTTP_LATENCY = "spacekontext_http_request_duration_seconds"


@dataclass
class RouteStats:
    route: str
    method: str
    count: float = 0.0
    errors: float = 0.0  # 5xx answers
    # Cumulative histogram: upper bound (s) -> observations at or below it.
    buckets: dict[float, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"

    def quantile_ms(self, q: float) -> float | None:
        return bucket_quantile_ms(self.buckets, q)


def bucket_quantile_ms(buckets: dict[float, float], q: float) -> float | None:
    """The q-quantile of a cumulative histogram, interpolated linearly inside its bucket (as
    Prometheus' histogram_quantile does); None without observations."""
    bounds = sorted(buckets)
    if not bounds:
        return None
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return round(lower_bound * 1000, 2)
            span = count - lower_count
            share = (rank - lower_count) / span if span > 0 else 1.0
            return round((lower_bound + (bound - lower_bound) * share) * 1000, 2)
        lower_bound, lower_count = bound, count
    return round(lower_bound * 1000, 2)


@dataclass
class MetricsSnapshot:
    taken_at: float
    routes: list[RouteStats]
    pool: dict[str, dict[str, float]]  # role -> size/in_use/open/waiting/timeouts
    read_routing: dict[str, float]  # target -> reads
    cache: dict[str, float]  # result -> lookups
    slow_statements: float

    @property
    def cache_hit_ratio(self) -> float | None:
        hits, misses = self.cache.get("hit", 0.0), self.cache.get("miss", 0.0)
        return hits / (hits + misses) if hits + misses > 0 else None

    @property
    def replica_read_share(self) -> float | None:
        total = sum(self.read_routing.values())
        return self.read_routing.get("replica", 0.0) / total if total > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "takenAt": self.taken_at,
            "routes": [
                {
                    "key": route.key,
                    "count": route.count,
                    "errors": route.errors,
                    "buckets": [[bound, count] for bound, count in sorted(route.buckets.items())],
                }
                for route in self.routes
            ],
            "pool": self.pool,
            "cacheHitRatio": self.cache_hit_ratio,
            "replicaReadShare": self.replica_read_share,
        }


_POOL_GAUGES = {
    "spacekontext_db_pool_size": "size",
    "spacekontext_db_pool_in_use": "in_use",
    "spacekontext_db_pool_open": "open",
    "spacekontext_db_pool_waiting": "waiting",
    "spacekontext_db_pool_timeouts": "timeouts",
}


def metrics_snapshot(exposition: str | None = None) -> MetricsSnapshot:
    """Parse the exposition text (the process's, or all workers' in multiprocess mode)."""
    if exposition is None:
        exposition = metrics.render()[0].decode()
    routes: dict[tuple[str, str], RouteStats] = {}
    pool: dict[str, dict[str, float]] = defaultdict(dict)
    routing: dict[str, float] = defaultdict(float)
    cache: dict[str, float] = defaultdict(float)
    slow = 0.0

    def route(labels: dict[str, str]) -> RouteStats:
        key = (labels.get("route", "?"), labels.get("method", "?"))
        if key not in routes:
            routes[key] = RouteStats(route=key[0], method=key[1])
        return routes[key]

    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, float(sample.value)
            if name == HTTP_REQUESTS + "_total":
                stats = route(labels)
                stats.count += value
                if labels.get("status", "").startswith("5"):
                    stats.errors += value
            elif name == HTTP_LATENCY + "_bucket":
                stats = route(labels)
                bound = float(labels["le"])
                stats.buckets[bound] = stats.buckets.get(bound, 0.0) + value
            elif family.name in _POOL_GAUGES and name in (family.name, family.name + "_total"):
                pool[labels.get("role", "primary")][_POOL_GAUGES[family.name]] = value
            elif name == "spacekontext_db_read_routing_total":
                routing[labels.get("target", "?")] += value
            elif name == "spacekontext_cache_lookups_total":
                cache[labels.get("result", "?")] += value
            elif name == "spacekontext_db_slow_statements_total":
                slow += value
    ordered = sorted(routes.values(), key=lambda r: (-r.count, r.key))
    return MetricsSnapshot(
        taken_at=time.time(),
        routes=[r for r in ordered if r.count > 0],
        pool=dict(pool),
        read_routing=dict(routing),
        cache=dict(cache),
        slow_statements=slow,
    )


async def redis_state(services: Services) -> str:
    if services.redis is None:
        return "not configured (in-process cache)"
    try:
        await services.redis.ping()
    except Exception as exc:  # the page reports the outage, it does not fail on it
        return f"unreachable: {type(exc).__name__}"
    return "reachable"


@dataclass(frozen=True, slots=True)
class CapacityStep:
    users: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    error_rate: float


@dataclass(frozen=True, slots=True)
class CapacityResult:
    label: str
    started_at: str
    path: str
    steps: list[CapacityStep]


def latest_capacity(directories: Iterable[Path]) -> CapacityResult | None:
    """The newest `spacekontext loadtest` result (its JSON) in the given directories."""
    candidates = [p for d in directories if d.is_dir() for p in d.glob("*.json")]
    for path in sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            data = orjson.loads(path.read_bytes())
            steps = [
                CapacityStep(
                    users=int(step["users"]),
                    requests_per_s=float(step["requestsPerS"]),
                    p50_ms=float(step["p50Ms"]),
                    p99_ms=float(step["p99Ms"]),
                    error_rate=float(step["errorRate"]),
                )
                for step in data["steps"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a load-test result
        return CapacityResult(
            label=str(data.get("label", path.stem)),
            started_at=str(data.get("startedAt", "")),
            path=path.name,
            steps=steps,
        )
    return None


async def ops_overview(services: Services) -> dict[str, Any]:
    return {
        "snapshot": metrics_snapshot(),
        "replicas": services.db.router.status(),
        "redis": await redis_state(services),
        "jobs": await job_overview(services.db),
    }


def capacity_chart(result: CapacityResult, width: int = 600, height: int = 220) -> Markup:
    """Throughput (bars) and p99 latency (line) per step of simulated users, as SVG."""
    steps = result.steps
    left, right, top, bottom = 48, 48, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    max_rps = max((s.requests_per_s for s in steps), default=1.0) or 1.0
    max_p99 = max((s.p99_ms for s in steps), default=1.0) or 1.0
    slot = plot_w / max(len(steps), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Load test {escape(result.label)}: requests per second and p99 latency '
        'by number of simulated users">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#6b7280"/>',
    ]
    points = []
    for index, step in enumerate(steps):
        bar_h = plot_h * step.requests_per_s / max_rps
        x = left + index * slot + slot * 0.2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{bar_h:.1f}" fill="#93c5fd"/>'
        )
        parts.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{height - 18}" font-size="11" '
            f'text-anchor="middle" fill="#111827">{step.users:,}</text>'
        )
        y = top + plot_h - plot_h * step.p99_ms / max_p99
        points.append(f"{left + index * slot + slot / 2:.1f},{y:.1f}")
    if points:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#b91c1c" stroke-width="2"/>'
        )
    parts += [
        f'<text x="4" y="{top + 10}" font-size="11" fill="#1e3a8a">{max_rps:,.0f} req/s</text>',
        f'<text x="{width - 4}" y="{top + 10}" font-size="11" text-anchor="end" '
        f'fill="#991b1b">p99 {max_p99:,.0f} ms</text>',
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" font-size="11" '
        'text-anchor="middle" fill="#374151">simulated users</text>',
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped text only
