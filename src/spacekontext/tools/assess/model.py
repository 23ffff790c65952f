"""What an assessment is made of: findings with a severity, evidence and the exact fix; the
thresholds they are judged by; and the shape of the application that uses the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    OK = "ok"
    # Not a problem and not a pass: "not configured", "not enough history", "could not run".
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def icon(self) -> str:
        return _ICON[self]


_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}
_ICON = {Severity.OK: "✅", Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🔴"}


def worst(severities: list[Severity]) -> Severity:
    return max(severities, key=lambda s: s.rank, default=Severity.OK)


# The concerns of the executive summary, in the order the report lists them.
CONCERNS = (
    "Connection pooling",
    "Indexes",
    "Queries and sessions",
    "Large JSON columns",
    "File storage",
    "Replication",
    "Database health",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of one check. A check that finds nothing wrong still returns one OK finding
    carrying its evidence, so that every section of the report says what was looked at."""

    check: str  # stable id, e.g. "indexes.unindexed_fk"
    concern: str  # one of CONCERNS
    severity: Severity
    title: str
    evidence: tuple[str, ...] = ()
    # Statements (SQL or settings) that, applied in order, clear the finding.
    fix: tuple[str, ...] = ()
    # The object the finding is about (a table, an index, a setting), for machines and tests.
    subject: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "concern": self.concern,
            "severity": self.severity.value,
            "title": self.title,
            "subject": self.subject,
            "evidence": list(self.evidence),
            "fix": list(self.fix),
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where each check turns yellow or red. Defaults follow PgHero, Supabase's splinter lints
    and pg-extras (see docs/assess.md for the source of each)."""

    large_table_rows: int = 10_000  # PgHero missing_indexes
    min_index_scan_pct: float = 95.0  # PgHero missing_indexes
    min_seq_scans: int = 10  # a dump or a one-off count is not an access pattern
    unused_index_min_table_scans: int = 1_000  # the table is busy, yet the index never helped
    slow_query_mean_ms: float = 20.0  # PgHero slow_query_ms
    slow_query_calls: int = 100  # PgHero slow_query_calls
    top_statements: int = 5
    long_running_s: float = 60.0  # PgHero long_running_query_sec
    idle_in_transaction_s: float = 60.0
    blocked_s: float = 5.0  # a lock wait shorter than this is ordinary contention
    json_sample_rows: int = 1_000
    json_warning_p95_bytes: int = 1024 * 1024
    cache_hit_min_pct: float = 99.0  # PgHero cache_hit_rate_threshold
    cache_hit_min_blocks: int = 10_000  # below this, the ratio is noise
    bloat_min_waste_bytes: int = 8 * 1024 * 1024
    bloat_min_waste_pct: float = 50.0
    stale_factor: float = 2.0  # dead rows / changes this many times past autovacuum's trigger
    xid_critical_left: int = 10_000_000  # PgHero transaction_id_danger
    sequence_warning_pct: float = 75.0
    sequence_critical_pct: float = 90.0  # PgHero sequence_danger
    connections_warning_pct: float = 80.0
    partitions_ahead: int = 1  # periods that must exist beyond the current one


@dataclass(frozen=True, slots=True)
class AppShape:
    """The application side of the picture: what will connect and where files go. Derived from
    the settings the command runs with, plus how many processes and hosts serve them."""

    pool_size: int
    max_overflow: int
    workers: int
    hosts: int
    pooler_configured: str  # "none" | "pgbouncer"
    storage_backend: str  # "local" | "s3"
    read_replicas: int
    max_replica_lag_s: float
    cache_backend: str  # "redis" | "memory" | "disabled"
    # statement/idle timeouts the app sets on its own connections (0 = none); they count only
    # when the assessed database is the one the app is configured for.
    app_statement_timeout_ms: int
    app_idle_in_transaction_timeout_ms: int
    is_app_database: bool
    target_users: int = 1_000
    # The driver's own pool of the hot reads (db/driverpool.py), per worker and server.
    read_pool_size: int = 0

    @property
    def connections_per_worker(self) -> int:
        return self.pool_size + self.max_overflow + self.read_pool_size

    @property
    def connection_demand(self) -> int:
        return self.connections_per_worker * self.workers * self.hosts


@dataclass(frozen=True, slots=True)
class ProjectionRow:
    metric: str
    current: str
    safe_limit: str
    breaking_point: str


@dataclass(frozen=True, slots=True)
class Report:
    database: str
    server_version: str
    schemas: tuple[str, ...]
    assessed_at: str
    findings: tuple[Finding, ...]
    projections: tuple[ProjectionRow, ...]
    assumptions: tuple[str, ...]

    def by_concern(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {concern: [] for concern in CONCERNS}
        for finding in self.findings:
            grouped.setdefault(finding.concern, []).append(finding)
        return grouped

    @property
    def severity(self) -> Severity:
        return worst([f.severity for f in self.findings])

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= Severity.WARNING.rank]

    def fails(self, fail_on: str | None) -> bool:
        if fail_on == "critical":
            return self.count(Severity.CRITICAL) > 0
        if fail_on == "warning":
            return bool(self.problems())
        return False
