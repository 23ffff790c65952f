"""Database health: cache hit ratio, bloat, vacuum/analyze staleness, transaction-ID
wraparound, sequences near overflow, future partitions and the safety timeouts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from spacekontext.db.catalog import quote_always
from spacekontext.tools.assess.checks_indexes import _pretty_bytes
from spacekontext.tools.assess.context import Context
from spacekontext.tools.assess.model import Finding, Severity

CONCERN = "Database health"


def cache_hit_ratio(ctx: Context) -> list[Finding]:
    check = "health.cache_hit"
    t = ctx.thresholds
    row = ctx.one(
        """SELECT coalesce(sum(heap_blks_hit), 0)::bigint AS hit,
                  coalesce(sum(heap_blks_read), 0)::bigint AS read,
                  (SELECT coalesce(sum(idx_blks_hit), 0) FROM pg_statio_user_indexes)::bigint
                    AS idx_hit,
                  (SELECT coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes)::bigint
                    AS idx_read,
                  current_setting('shared_buffers') AS shared_buffers
           FROM pg_statio_user_tables"""
    )
    total = row["hit"] + row["read"]
    idx_total = row["idx_hit"] + row["idx_read"]
    ratio = 100.0 * row["hit"] / total if total else None
    idx_ratio = 100.0 * row["idx_hit"] / idx_total if idx_total else None
    ctx.cache["cache_hit"] = ratio
    evidence = (
        f"Table blocks: {row['hit']:,} from shared buffers, {row['read']:,} from the OS/disk"
        + (f" → {ratio:.2f}%." if ratio is not None else "."),
        f"Index blocks: {row['idx_hit']:,} hit, {row['idx_read']:,} read"
        + (f" → {idx_ratio:.2f}%." if idx_ratio is not None else "."),
        f"shared_buffers = {row['shared_buffers']}.",
    )
    if total < t.cache_hit_min_blocks:
        return [
            Finding(
                check,
                CONCERN,
                Severity.INFO,
                "Too few reads yet to judge the cache hit ratio",
                (*evidence, f"Fewer than {t.cache_hit_min_blocks:,} block reads recorded."),
            )
        ]
    if ratio is not None and ratio < t.cache_hit_min_pct:
        return [
            Finding(
                check,
                CONCERN,
                Severity.WARNING,
                f"Cache hit ratio {ratio:.2f}% (below {t.cache_hit_min_pct:g}%)",
                (*evidence, "The working set no longer fits in memory: reads go to disk."),
                (
                    "-- give PostgreSQL more memory (a larger instance), then raise:",
                    f"ALTER SYSTEM SET shared_buffers = '{_double(row['shared_buffers'])}';",
                    "-- restart the server for shared_buffers to take effect",
                ),
                subject="shared_buffers",
            )
        ]
    return [Finding(check, CONCERN, Severity.OK, f"Cache hit ratio {ratio:.2f}%", evidence)]


def _double(setting: str) -> str:
    units = {"kB": 1, "MB": 1024, "GB": 1024 * 1024, "TB": 1024 * 1024 * 1024}
    for unit, factor in units.items():
        if setting.endswith(unit):
            kb = int(setting[: -len(unit)]) * factor * 2
            break
    else:
        kb = int(setting) * 8 * 2  # in 8 kB pages
    if kb % (1024 * 1024) == 0:
        return f"{kb // (1024 * 1024)}GB"
    return f"{kb // 1024}MB"


_TABLE_BLOAT_SQL = """
    WITH widths AS (
      SELECT s.schemaname, s.tablename, sum((1 - s.null_frac) * s.avg_width) AS datawidth,
             count(*) AS ncols
      FROM pg_stats s WHERE s.schemaname = ANY(%(s)s) AND NOT s.inherited
      GROUP BY 1, 2)
    SELECT format('%%I.%%I', n.nspname, c.relname) AS qualified, 'table' AS kind,
           c.relpages::bigint AS pages, greatest(c.reltuples, 0)::bigint AS tuples,
           current_setting('block_size')::int AS bs,
           -- tuple header + null bitmap, data aligned to 8, and the line pointer
           ceil(greatest(c.reltuples, 0) * (24 + 8 * ceil(w.ncols / 64.0)
                 + 8 * ceil(w.datawidth / 8.0) + 4)
                / (current_setting('block_size')::int - 24))::bigint AS expected_pages
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN widths w ON w.schemaname = n.nspname AND w.tablename = c.relname
    WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY(%(s)s) AND c.reltuples >= 0
    UNION ALL
    SELECT format('%%I.%%I', n.nspname, ic.relname), 'index', ic.relpages::bigint,
           greatest(ic.reltuples, 0)::bigint, current_setting('block_size')::int,
           -- index tuple header + aligned key + line pointer, leaves 90 %% full, one metapage
           1 + ceil(greatest(ic.reltuples, 0) * (8 + 8 * ceil(k.keywidth / 8.0) + 4)
                    / ((current_setting('block_size')::int - 40) * 0.9))::bigint
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
    CROSS JOIN LATERAL (
      SELECT sum(s.avg_width) AS keywidth, count(s.avg_width) AS known, count(*) AS total
      FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS k(attnum)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname
                          AND s.attname = a.attname AND NOT s.inherited) k
    WHERE n.nspname = ANY(%(s)s) AND i.indexprs IS NULL AND k.known = k.total
      AND ic.reltuples >= 0 AND t.relkind IN ('r', 'm')
"""


def bloat(ctx: Context) -> list[Finding]:
    check = "health.bloat"
    t = ctx.thresholds
    findings = []
    estimated = ctx.rows(_TABLE_BLOAT_SQL, {"s": ctx.schemas})
    for row in estimated:
        waste = max(row["pages"] - row["expected_pages"], 0) * row["bs"]
        size = row["pages"] * row["bs"]
        pct = 100.0 * waste / size if size else 0.0
        if waste < t.bloat_min_waste_bytes or pct < t.bloat_min_waste_pct:
            continue
        table = row["kind"] == "table"
        fix = (
            (
                "-- rewrites the table under an exclusive lock; pg_repack does it online",
                f"VACUUM (FULL, ANALYZE) {row['qualified']};",
            )
            if table
            else (f"REINDEX INDEX CONCURRENTLY {row['qualified']};",)
        )
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.WARNING,
                f"{row['kind'].capitalize()} {row['qualified']} is {pct:.0f}% bloat",
                (
                    f"{_pretty_bytes(size)} on disk for ~{row['tuples']:,} live rows that "
                    f"need about {_pretty_bytes(row['expected_pages'] * row['bs'])}: "
                    f"~{_pretty_bytes(waste)} wasted (estimate from pg_stats widths).",
                ),
                fix,
                subject=row["qualified"],
                data={"wasteBytes": waste, "sizeBytes": size, "kind": row["kind"]},
            )
        )
    return findings or [
        Finding(
            check,
            CONCERN,
            Severity.OK,
            "No significant bloat",
            (
                f"{len(estimated)} tables and b-tree indexes estimated; none wastes ≥ "
                f"{_pretty_bytes(t.bloat_min_waste_bytes)} and ≥ {t.bloat_min_waste_pct:g}% "
                "of its size. (Tables never analyzed cannot be estimated.)",
            ),
        )
    ]


def vacuum_staleness(ctx: Context) -> list[Finding]:
    check = "health.vacuum"
    factor = ctx.thresholds.stale_factor
    rows = ctx.rows(
        """
        SELECT format('%%I.%%I', s.schemaname, s.relname) AS qualified,
               s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
               greatest(c.reltuples, 0)::float8 AS reltuples,
               extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float8
                 AS vacuum_age_s,
               extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float8
                 AS analyze_age_s,
               coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                         WHERE option_name = 'autovacuum_enabled'), 'on') AS table_autovacuum,
               current_setting('autovacuum') AS autovacuum,
               current_setting('autovacuum_vacuum_threshold')::float8 AS v_thr,
               current_setting('autovacuum_vacuum_scale_factor')::float8 AS v_sf,
               current_setting('autovacuum_analyze_threshold')::float8 AS a_thr,
               current_setting('autovacuum_analyze_scale_factor')::float8 AS a_sf
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = ANY(%(s)s) AND c.relkind IN ('r', 'm')
        ORDER BY s.n_dead_tup DESC
        """,
        {"s": ctx.schemas},
    )
    findings = []
    for r in rows:
        table_off = str(r["table_autovacuum"]).lower() in ("off", "false", "0", "no")
        global_off = r["autovacuum"] != "on"
        vacuum_trigger = r["v_thr"] + r["v_sf"] * r["reltuples"]
        analyze_trigger = r["a_thr"] + r["a_sf"] * r["reltuples"]

        def behind(age_s: float | None) -> bool:
            # autovacuum visits every table within a minute or so when it is on; an hour with
            # nothing done means it is off, starved, or blocked.
            return table_off or global_off or age_s is None or age_s > 3600  # noqa: B023

        needs_vacuum = (
            r["n_dead_tup"] >= 1000
            and r["n_dead_tup"] > factor * vacuum_trigger
            and behind(r["vacuum_age_s"])
        )
        needs_analyze = (
            r["n_mod_since_analyze"] >= 1000
            and r["n_mod_since_analyze"] > factor * analyze_trigger
            and behind(r["analyze_age_s"])
        )
        if not (needs_vacuum or needs_analyze):
            continue
        evidence = [
            f"{r['n_dead_tup']:,} dead rows (autovacuum's trigger: {vacuum_trigger:,.0f}); "
            f"{r['n_mod_since_analyze']:,} rows changed since the last analyze (trigger: "
            f"{analyze_trigger:,.0f}).",
            "Last vacuum: "
            + (_ago(r["vacuum_age_s"]) if r["vacuum_age_s"] is not None else "never")
            + "; last analyze: "
            + (_ago(r["analyze_age_s"]) if r["analyze_age_s"] is not None else "never")
            + ".",
        ]
        fix: list[str] = []
        if table_off:
            evidence.append("autovacuum is disabled on this table.")
            fix.append(f"ALTER TABLE {r['qualified']} RESET (autovacuum_enabled);")
        if global_off:
            evidence.append("autovacuum is off for the whole server.")
            fix += ["ALTER SYSTEM SET autovacuum = on;", "SELECT pg_reload_conf();"]
        fix.append(
            f"VACUUM (ANALYZE) {r['qualified']};" if needs_vacuum else f"ANALYZE {r['qualified']};"
        )
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.WARNING,
                f"{r['qualified']} is overdue for "
                + ("vacuum" if needs_vacuum else "analyze")
                + (" and analyze" if needs_vacuum and needs_analyze else ""),
                tuple(evidence),
                tuple(fix),
                subject=r["qualified"],
                data={
                    "deadRows": r["n_dead_tup"],
                    "modifiedSinceAnalyze": r["n_mod_since_analyze"],
                },
            )
        )
    return findings or [
        Finding(
            check,
            CONCERN,
            Severity.OK,
            "Vacuum and analyze keep up",
            (
                f"{len(rows)} tables; none has dead rows or unanalyzed changes past "
                f"{factor:g}× autovacuum's own trigger without a recent run.",
            ),
        )
    ]


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


# PostgreSQL stops assigning XIDs ~1M short of 2^31 (PgHero's constant).
_XID_STOP = 2_146_483_648


def wraparound(ctx: Context) -> list[Finding]:
    check = "health.xid_wraparound"
    db = ctx.one(
        """SELECT age(datfrozenxid)::bigint AS age,
                  current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max
           FROM pg_database WHERE datname = current_database()"""
    )
    oldest = ctx.rows(
        """SELECT format('%%I.%%I', n.nspname, c.relname) AS qualified,
                  greatest(age(c.relfrozenxid), age(t.relfrozenxid))::bigint AS age
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
           WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY(%(s)s)
           ORDER BY 2 DESC, 1 LIMIT 5""",
        {"s": ctx.schemas},
    )
    left = _XID_STOP - db["age"]
    evidence = (
        f"Oldest unfrozen transaction in this database: {db['age']:,} XIDs old; "
        f"{left:,} left before PostgreSQL stops accepting writes "
        f"({100.0 * db['age'] / _XID_STOP:.2f}% used).",
        f"autovacuum_freeze_max_age = {db['freeze_max']:,}.",
        *(f"{r['qualified']}: {r['age']:,}" for r in oldest[:3]),
    )
    late = [r for r in oldest if r["age"] > 1.25 * db["freeze_max"]]
    if left < ctx.thresholds.xid_critical_left or late:
        targets = late or oldest[:1]
        return [
            Finding(
                check,
                CONCERN,
                Severity.CRITICAL if left < ctx.thresholds.xid_critical_left else Severity.WARNING,
                f"Transaction-ID wraparound: {left:,} XIDs of headroom",
                (*evidence, "Anti-wraparound vacuum is not keeping up."),
                tuple(f"VACUUM (FREEZE, VERBOSE) {r['qualified']};" for r in targets),
                subject="datfrozenxid",
            )
        ]
    return [Finding(check, CONCERN, Severity.OK, f"{left:,} XIDs of wraparound headroom", evidence)]


_COLUMN_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


def sequences(ctx: Context) -> list[Finding]:
    check = "health.sequences"
    t = ctx.thresholds
    rows = ctx.rows(
        """
        SELECT format('%%I.%%I', s.schemaname, s.sequencename) AS qualified,
               s.last_value, s.max_value, s.increment_by, s.data_type::text AS seq_type,
               format('%%I.%%I', tn.nspname, tc.relname) AS table_q,
               quote_ident(a.attname) AS column_q, a.attname AS column_name,
               format_type(a.atttypid, NULL) AS column_type, d.deptype
        FROM pg_sequences s
        JOIN pg_namespace n ON n.nspname = s.schemaname
        JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = n.oid
        LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class tc ON tc.oid = d.refobjid
        LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE s.schemaname = ANY(%(s)s) AND s.increment_by > 0
        ORDER BY 1
        """,
        {"s": ctx.schemas},
    )
    findings = []
    for r in rows:
        if r["last_value"] is None:
            continue
        limit = min(int(r["max_value"]), _COLUMN_MAX.get(r["column_type"] or "", 2**63 - 1))
        pct = 100.0 * int(r["last_value"]) / limit
        if pct < t.sequence_warning_pct:
            continue
        fix = []
        if r["table_q"] and r["column_type"] in ("smallint", "integer"):
            fix.append(f"ALTER TABLE {r['table_q']} ALTER COLUMN {r['column_q']} TYPE bigint;")
        if r["seq_type"] != "bigint" and r["deptype"] != "i":
            fix.append(f"ALTER SEQUENCE {r['qualified']} AS bigint;")
        if not fix:
            fix.append(f"ALTER SEQUENCE {r['qualified']} MAXVALUE 9223372036854775807;")
        feeds = (
            f" feeding {r['table_q']}.{r['column_q']} ({r['column_type']})" if r["table_q"] else ""
        )
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.CRITICAL if pct >= t.sequence_critical_pct else Severity.WARNING,
                f"Sequence {r['qualified']} is {pct:.1f}% used",
                (
                    f"last value {int(r['last_value']):,} of {limit:,}{feeds}; inserts fail "
                    "once it is reached.",
                ),
                tuple(fix),
                subject=r["qualified"],
                data={"lastValue": int(r["last_value"]), "limit": limit, "pct": round(pct, 2)},
            )
        )
    return findings or [
        Finding(
            check,
            CONCERN,
            Severity.OK,
            "No sequence near overflow",
            (
                f"{len(rows)} sequences; all below {t.sequence_warning_pct:g}% of their "
                "column's range.",
            ),
        )
    ]


def _period(width: timedelta) -> tuple[str, timedelta | None]:
    days = width.total_seconds() / 86400
    if 0.99 <= days <= 1.01:
        return "day", timedelta(days=1)
    if 6.99 <= days <= 7.01:
        return "week", timedelta(days=7)
    if 28 <= days <= 31:
        return "month", None
    if 365 <= days <= 366:
        return "year", None
    return "custom", width


def _next_bound(start: datetime, period: str, step: timedelta | None, n: int = 1) -> datetime:
    if period in ("month", "year"):
        months = start.year * 12 + start.month - 1 + n * (12 if period == "year" else 1)
        return start.replace(year=months // 12, month=months % 12 + 1)
    assert step is not None
    return start + n * step


def _literal(value: datetime, key_type: str) -> str:
    if key_type == "date":
        return value.date().isoformat()
    if key_type.startswith("timestamp with"):
        return value.strftime("%Y-%m-%d %H:%M:%S+00")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def partitions(ctx: Context) -> list[Finding]:
    check = "health.partitions"
    rows = ctx.rows(
        """
        SELECT format('%%I.%%I', n.nspname, c.relname) AS parent_q, n.nspname, c.relname,
               format_type(a.atttypid, NULL) AS key_type,
               (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = c.oid) AS partitions,
               (SELECT max(b.upper) FROM pg_inherits h
                  JOIN pg_class ch ON ch.oid = h.inhrelid
                  CROSS JOIN LATERAL (SELECT (regexp_match(pg_get_expr(ch.relpartbound, ch.oid),
                      'TO \\(''([^'']+)''\\)'))[1]::timestamptz AT TIME ZONE 'UTC' AS upper) b
                 WHERE h.inhparent = c.oid) AS max_upper,
               (SELECT b.upper - b.lower FROM pg_inherits h
                  JOIN pg_class ch ON ch.oid = h.inhrelid
                  CROSS JOIN LATERAL (SELECT
                      (regexp_match(pg_get_expr(ch.relpartbound, ch.oid),
                        'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS lower,
                      (regexp_match(pg_get_expr(ch.relpartbound, ch.oid),
                        'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper) b
                 WHERE h.inhparent = c.oid AND b.upper IS NOT NULL
                 ORDER BY b.upper DESC LIMIT 1) AS last_width,
               (SELECT greatest(ch.reltuples, 0)::bigint FROM pg_inherits h
                  JOIN pg_class ch ON ch.oid = h.inhrelid
                 WHERE h.inhparent = c.oid AND pg_get_expr(ch.relpartbound, ch.oid) = 'DEFAULT')
                 AS default_rows,
               now() AT TIME ZONE 'UTC' AS now_utc
        FROM pg_partitioned_table p
        JOIN pg_class c ON c.oid = p.partrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
        WHERE n.nspname = ANY(%(s)s) AND p.partstrat = 'r' AND p.partnatts = 1
          AND format_type(a.atttypid, NULL) IN
              ('date', 'timestamp without time zone', 'timestamp with time zone')
        ORDER BY 1
        """,
        {"s": ctx.schemas},
    )
    findings = []
    ahead = ctx.thresholds.partitions_ahead
    for r in rows:
        if r["max_upper"] is None or r["last_width"] is None:
            continue  # only a default partition: nothing to extend yet
        period, step = _period(r["last_width"])
        now: datetime = r["now_utc"]
        # The end of the current period, on the partitions' own grid of bounds; it and
        # `ahead` more periods must be covered.
        current_end = r["max_upper"]
        while current_end <= now:
            current_end = _next_bound(current_end, period, step)
        while _next_bound(current_end, period, step, -1) > now:
            current_end = _next_bound(current_end, period, step, -1)
        wanted_until = _next_bound(current_end, period, step, ahead)
        if r["max_upper"] >= wanted_until:
            continue
        fix = []
        lower = r["max_upper"]
        while lower < wanted_until:
            upper = _next_bound(lower, period, step)
            suffix = lower.strftime("%Y_%m_%d" if period in ("day", "week", "custom") else "%Y_%m")
            if period == "year":
                suffix = lower.strftime("%Y")
            name = quote_always(f"{r['relname']}_{suffix}"[:63])
            fix.append(
                f"CREATE TABLE {quote_always(r['nspname'])}.{name} PARTITION OF {r['parent_q']} "
                f"FOR VALUES FROM ('{_literal(lower, r['key_type'])}') "
                f"TO ('{_literal(upper, r['key_type'])}');"
            )
            lower = upper
        current_missing = r["max_upper"] <= now
        evidence = [
            f"{r['partitions']} partitions by {period}; the last ends at "
            f"{r['max_upper']:%Y-%m-%d %H:%M} UTC, now is {now:%Y-%m-%d %H:%M} UTC.",
            "Rows for the current period have no partition: they go to the default partition"
            " or fail."
            if current_missing
            else f"Fewer than {ahead} future period(s) exist ahead of the current one.",
        ]
        if r["default_rows"]:
            evidence.append(
                f"~{r['default_rows']:,} rows sit in the default partition; move those of the "
                "new ranges out before creating them."
            )
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.CRITICAL if current_missing else Severity.WARNING,
                f"{r['parent_q']} is missing future partitions",
                tuple(evidence),
                tuple(fix),
                subject=r["parent_q"],
            )
        )
    return findings or [
        Finding(
            check,
            CONCERN,
            Severity.OK,
            "Partitions exist ahead of time",
            (
                f"{len(rows)} tables range-partitioned by time; each covers the current "
                f"period and {ahead} more (tables with only a default partition excepted).",
            ),
        )
    ]


_TIMEOUTS = (
    ("statement_timeout", "app_statement_timeout_ms", "30s"),
    ("idle_in_transaction_session_timeout", "app_idle_in_transaction_timeout_ms", "60s"),
)


def timeouts(ctx: Context) -> list[Finding]:
    check = "settings.timeouts"
    database = ctx.value("SELECT quote_ident(current_database())")
    findings = []
    for name, app_attr, recommended in _TIMEOUTS:
        # reset_val: the value this session started with, i.e. what the server, the database
        # and the role give every new connection (our own SET LOCAL does not change it).
        row: dict[str, Any] = ctx.one(
            "SELECT reset_val, unit FROM pg_settings WHERE name = %(n)s", {"n": name}
        )
        server_value = int(row.get("reset_val") or 0)
        app_value = int(getattr(ctx.app, app_attr))
        shown = f"{server_value} {row.get('unit') or ''}".strip()
        evidence = [f"{name} for new sessions = {shown} (server, database and role defaults)."]
        if ctx.app.is_app_database:
            evidence.append(
                f"The app sets {name} = {app_value} ms on its own connections"
                + (" (DB_STATEMENT_TIMEOUT_MS)." if name == "statement_timeout" else ".")
            )
        if server_value > 0 or (ctx.app.is_app_database and app_value > 0):
            findings.append(
                Finding(
                    check, CONCERN, Severity.OK, f"{name} is set", tuple(evidence), subject=name
                )
            )
            continue
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.WARNING,
                f"{name} is not set",
                (
                    *evidence,
                    "A runaway query or a forgotten transaction can hold connections and locks "
                    "(and block vacuum) indefinitely."
                    if name == "statement_timeout"
                    else "A client that opens a transaction and stalls holds its locks and "
                    "blocks vacuum indefinitely.",
                ),
                (f"ALTER DATABASE {database} SET {name} = '{recommended}';",),
                subject=name,
            )
        )
    return findings


__all__ = [
    "bloat",
    "cache_hit_ratio",
    "partitions",
    "sequences",
    "timeouts",
    "vacuum_staleness",
    "wraparound",
]
