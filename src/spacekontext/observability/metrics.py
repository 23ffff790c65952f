"""Prometheus metrics, one set per process, defined here so that every package increments the
same objects (the storage backends use `STORAGE_OPERATIONS`; the cache's own counters live in
cache/metrics.py, one name each).

Metric objects are module-level on purpose: prometheus-client registers them once per process.
With several workers (`spacekontext serve --workers N`) the server sets
`PROMETHEUS_MULTIPROC_DIR` before the workers start; each worker then writes its samples to
files in that directory and `/metrics` on any worker reports the sum over all live workers
(gauges declare how they combine: `livesum` for counts such as connections in use, `max` for
lag). Without the variable, the process's own registry is served."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STATEMENT_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)

# --- HTTP ---------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "spacekontext_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "spacekontext_http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)

# --- database -----------------------------------------------------------------------------------
DB_STATEMENT_DURATION = Histogram(
    "spacekontext_db_statement_duration_seconds",
    "Duration of every SQL statement, by server role (primary, replica).",
    ["role"],
    buckets=_STATEMENT_BUCKETS,
)
DB_SLOW_STATEMENTS = Counter(
    "spacekontext_db_slow_statements_total",
    "Statements slower than SLOW_QUERY_MS.",
    ["role"],
)
DB_POOL_SIZE = Gauge(
    "spacekontext_db_pool_size",
    "Configured pool size (steady connections) per role, summed over workers.",
    ["role"],
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "spacekontext_db_pool_in_use",
    "Connections checked out of the pool.",
    ["role"],
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "spacekontext_db_pool_open",
    "Connections open (idle in the pool or in use).",
    ["role"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "spacekontext_db_pool_waiting",
    "Use cases waiting for a pooled connection.",
    ["role"],
    multiprocess_mode="livesum",
)
DB_POOL_TIMEOUTS = Counter(
    "spacekontext_db_pool_timeouts_total",
    "Acquisitions that gave up after DB_POOL_TIMEOUT_S (answered 503).",
    ["role"],
)
DB_REPLICA_LAG = Gauge(
    "spacekontext_db_replica_lag_seconds",
    "Estimated replay lag of each replica (time since the primary passed its replay position).",
    ["replica"],
    multiprocess_mode="max",
)
DB_REPLICA_HEALTHY = Gauge(
    "spacekontext_db_replica_healthy",
    "1 when the replica is reachable and within MAX_REPLICA_LAG_S.",
    ["replica"],
    multiprocess_mode="min",
)
DB_READ_ROUTING = Counter(
    "spacekontext_db_read_routing_total",
    "Where read-only use cases went and why.",
    ["target", "reason"],
)

USER_DIRECTORY_LOOKUPS = Counter(
    "spacekontext_user_directory_lookups_total",
    "Lookups of a caller's user row in the process's own copy (users/directory.py): hit or miss "
    "(misses read the database). Not counted while the copy is off (its listener not listening).",
    ["result"],
)
USER_DIRECTORY_LISTENING = Gauge(
    "spacekontext_user_directory_listening",
    "1 while the process listens for user-row changes and serves user rows from its own copy.",
    multiprocess_mode="min",
)

# --- storage (counted by the backends: storage/base.py `counted`) --------------------------------
# The cache's series (lookups, coalesced misses, errors) are defined next to the code that
# counts them, in cache/metrics.py; they are in the same default registry, so /metrics has them.
STORAGE_OPERATIONS = Counter(
    "spacekontext_storage_operations_total",
    "Object-store operations by backend, operation (put, get, head, delete, delete_prefix, list) "
    "and result (ok, not_found, refused, error, cancelled).",
    ["backend", "operation", "result"],
)


def render() -> tuple[bytes, str]:
    """The exposition text for `/metrics` (summed over workers in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
