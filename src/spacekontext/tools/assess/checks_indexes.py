"""Index checks: foreign keys without a covering index, large tables read mostly by sequential
scans, and unused, duplicate (prefix-covered) and invalid indexes."""

from __future__ import annotations

import re
from typing import Any

from spacekontext.db.catalog import quote_always, unindexed_foreign_keys_sync, unique_identifier
from spacekontext.tools.assess.context import Context
from spacekontext.tools.assess.model import Finding, Severity
from spacekontext.tools.assess.statements import statements

CONCERN = "Indexes"


def _taken_names(ctx: Context) -> dict[str, set[str]]:
    rows = ctx.rows(
        """SELECT n.nspname, c.relname FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(s)s)""",
        {"s": ctx.schemas},
    )
    taken: dict[str, set[str]] = {}
    for row in rows:
        taken.setdefault(row["nspname"], set()).add(row["relname"])
    return taken


def unindexed_foreign_keys(ctx: Context) -> list[Finding]:
    check = "indexes.unindexed_fk"
    total = ctx.value(
        """SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
           WHERE c.contype = 'f' AND c.conparentid = 0 AND n.nspname = ANY(%(s)s)""",
        {"s": ctx.schemas},
    )
    missing = unindexed_foreign_keys_sync(ctx.conn, ctx.schemas)
    if not missing:
        return [
            Finding(
                check,
                CONCERN,
                Severity.OK,
                "Every foreign key has an index",
                (f"{total} foreign keys, each led by the columns of a valid, non-partial index.",),
            )
        ]
    taken = _taken_names(ctx)
    findings = []
    for fk in missing:
        names = taken.setdefault(fk.schema, set())
        index_name = fk.index_name(frozenset(names))
        names.add(index_name)
        large = fk.estimated_rows >= ctx.thresholds.large_table_rows
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.CRITICAL if large else Severity.WARNING,
                f"Foreign key {fk.constraint} on {fk.table} has no index",
                (
                    f"{fk.table} ({', '.join(fk.columns)}) references {fk.referenced_table}; "
                    "no valid, non-partial index starts with these columns.",
                    f"~{fk.estimated_rows:,} rows: every delete or key update in "
                    f"{fk.referenced_table}, and every join from it, scans {fk.table}.",
                ),
                (
                    f"CREATE INDEX CONCURRENTLY {quote_always(index_name)} "
                    f"ON {fk.table} ({', '.join(fk.quoted_columns)});",
                ),
                subject=f"{fk.table}.{fk.constraint}",
                data={"table": fk.table, "constraint": fk.constraint, "columns": fk.columns},
            )
        )
    return findings


_WHERE_COLUMN = re.compile(r'(?:WHERE|AND)\s+(?:"?[\w$]+"?\.)?"?([\w$]+)"?\s*=\s*\$\d+', re.I)


def _suggested_column(ctx: Context, schema: str, table: str, columns: set[str]) -> str | None:
    """The column that the heaviest statements reading `table` filter on with equality, as
    recorded by pg_stat_statements (None without it, or when no statement says)."""
    found = statements(ctx)
    if found.rows is None:
        return None
    name = re.escape(table)
    reference = re.compile(
        rf'(?:FROM|JOIN|UPDATE)\s+(?:"?{re.escape(schema)}"?\s*\.\s*)?("{name}"|{name})(?=[\s,);]|$)',
        re.I if table == table.lower() else 0,
    )
    weight: dict[str, float] = {}
    for row in found.rows:
        query = row["query"]
        if not reference.search(query):
            continue
        for column in _WHERE_COLUMN.findall(query):
            if column in columns:
                weight[column] = weight.get(column, 0.0) + float(row["total_exec_time"])
    return max(weight, key=lambda c: weight[c]) if weight else None


def sequential_scans(ctx: Context) -> list[Finding]:
    check = "indexes.seq_scans"
    t = ctx.thresholds
    rows = ctx.rows(
        """
        SELECT s.schemaname, s.relname, format('%%I.%%I', s.schemaname, s.relname) AS qualified,
               s.seq_scan, coalesce(s.idx_scan, 0) AS idx_scan, s.n_live_tup, s.seq_tup_read,
               100.0 * coalesce(s.idx_scan, 0) / (s.seq_scan + coalesce(s.idx_scan, 0)) AS pct,
               (SELECT array_agg(a.attname::text) FROM pg_attribute a
                 WHERE a.attrelid = s.relid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
               (SELECT array_agg(i.indkey[0]) FROM pg_index i WHERE i.indrelid = s.relid) AS leads,
               (SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a
                  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                 WHERE i.indrelid = s.relid AND i.indisvalid) AS indexed_leads
        FROM pg_stat_user_tables s
        WHERE s.schemaname = ANY(%(s)s)
          AND s.n_live_tup >= %(rows)s
          AND s.seq_scan >= %(min_seq)s
          AND 100.0 * coalesce(s.idx_scan, 0) / (s.seq_scan + coalesce(s.idx_scan, 0)) < %(pct)s
        ORDER BY s.n_live_tup DESC
        """,
        {
            "s": ctx.schemas,
            "rows": t.large_table_rows,
            "min_seq": t.min_seq_scans,
            "pct": t.min_index_scan_pct,
        },
    )
    if not rows:
        large = ctx.value(
            """SELECT count(*) FROM pg_stat_user_tables
               WHERE schemaname = ANY(%(s)s) AND n_live_tup >= %(rows)s""",
            {"s": ctx.schemas, "rows": t.large_table_rows},
        )
        return [
            Finding(
                check,
                CONCERN,
                Severity.OK,
                "Large tables are read through indexes",
                (
                    f"{large} tables with ≥ {t.large_table_rows:,} rows; none has fewer than "
                    f"{t.min_index_scan_pct:g}% index scans (over ≥ {t.min_seq_scans} scans).",
                ),
            )
        ]
    taken = _taken_names(ctx)
    findings = []
    for row in rows:
        evidence = [
            f"{row['n_live_tup']:,} rows; {row['seq_scan']:,} sequential scans vs "
            f"{row['idx_scan']:,} index scans ({float(row['pct']):.1f}% by index, "
            f"threshold {t.min_index_scan_pct:g}%).",
            f"{row['seq_tup_read']:,} rows read by sequential scans since statistics reset.",
        ]
        indexed = set(row["indexed_leads"] or [])
        column = _suggested_column(
            ctx, row["schemaname"], row["relname"], set(row["columns"] or []) - indexed
        )
        reset = f"SELECT pg_stat_reset_single_table_counters('{row['qualified']}'::regclass);"
        if column:
            names = taken.setdefault(row["schemaname"], set())
            name = unique_identifier(f"ix_{row['relname']}_{column}", frozenset(names))
            names.add(name)
            evidence.append(
                f"pg_stat_statements: the statements reading it filter on {column!r} "
                "with equality, and no index starts with it."
            )
            fix: tuple[str, ...] = (
                f"CREATE INDEX CONCURRENTLY {quote_always(name)} "
                f"ON {row['qualified']} ({quote_always(column)});",
                "-- the ratio is cumulative: start counting again once the index exists",
                reset,
            )
        else:
            fix = (
                "-- EXPLAIN (ANALYZE, BUFFERS) the statements that read this table (see Queries)"
                " and index the columns they filter on; then start counting again:",
                reset,
            )
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.WARNING,
                f"{row['qualified']} is read mostly by sequential scans",
                tuple(evidence),
                fix,
                subject=row["qualified"],
                data={
                    "rows": row["n_live_tup"],
                    "seqScans": row["seq_scan"],
                    "indexScans": row["idx_scan"],
                    "suggestedColumn": column,
                },
            )
        )
    return findings


_INDEXES_SQL = """
    SELECT n.nspname AS schema_name, t.relname AS table_name,
           format('%%I.%%I', n.nspname, t.relname) AS qualified_table,
           ic.relname AS index_name, format('%%I.%%I', n.nspname, ic.relname) AS qualified_index,
           i.indrelid, i.indexrelid, i.indkey::int2[] AS keys, i.indclass::oid[] AS opclasses,
           i.indcollation::oid[] AS collations, i.indoption::int2[] AS options,
           i.indnkeyatts, i.indnatts, i.indisunique, i.indisprimary, i.indisvalid,
           i.indexprs IS NOT NULL AS has_exprs, i.indpred IS NOT NULL AS has_pred,
           am.amname, t.relkind AS table_kind, pg_relation_size(i.indexrelid) AS bytes,
           pg_get_indexdef(i.indexrelid) AS definition,
           EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                     AND c.contype IN ('p', 'u', 'x')) AS backs_constraint,
           EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) AS is_partition
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    WHERE n.nspname = ANY(%(s)s)
    ORDER BY 1, 2, 4
"""


def _pretty_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def _covers(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Does index `b` make `a` redundant? Same table, method, and `a`'s key columns (with their
    operator classes, collations and orderings) are a leading prefix of `b`'s."""
    if a["indexrelid"] == b["indexrelid"] or a["indrelid"] != b["indrelid"]:
        return False
    if b["has_exprs"] or b["has_pred"] or not b["indisvalid"] or a["amname"] != b["amname"]:
        return False
    n = a["indnkeyatts"]
    if n > b["indnkeyatts"]:
        return False
    if a["amname"] != "btree" and n != b["indnkeyatts"]:
        return False  # only a b-tree serves queries on a prefix of its columns in order
    return all(a[key][:n] == b[key][:n] for key in ("keys", "opclasses", "collations", "options"))


def duplicate_indexes(ctx: Context) -> list[Finding]:
    check = "indexes.duplicate"
    indexes = ctx.rows(_INDEXES_SQL, {"s": ctx.schemas})
    findings = []
    flagged: set[int] = set()
    for a in indexes:
        if (
            a["indisprimary"]
            or a["backs_constraint"]
            or a["is_partition"]
            or a["has_exprs"]
            or a["has_pred"]
            or not a["indisvalid"]
            or a["indnatts"] != a["indnkeyatts"]  # INCLUDE columns: not a plain prefix
        ):
            continue
        for b in indexes:
            if b["indexrelid"] in flagged or not _covers(a, b):
                continue
            same = a["indnkeyatts"] == b["indnkeyatts"]
            if a["indisunique"] and not (same and b["indisunique"]):
                continue  # a unique index enforces something a wider index does not
            b_required = b["indisunique"] or b["indisprimary"] or b["backs_constraint"]
            if same and not b_required and a["index_name"] < b["index_name"]:
                continue  # of two identical plain indexes, keep the first by name
            flagged.add(a["indexrelid"])
            findings.append(
                Finding(
                    check,
                    CONCERN,
                    Severity.WARNING,
                    f"Index {a['qualified_index']} is covered by {b['index_name']}",
                    (
                        f"{a['definition']}",
                        f"is a prefix of: {b['definition']}",
                        f"{_pretty_bytes(a['bytes'])} written on every insert and update "
                        "for no query the covering index cannot serve.",
                    ),
                    (f"DROP INDEX CONCURRENTLY {a['qualified_index']};",),
                    subject=a["qualified_index"],
                    data={"coveredBy": b["qualified_index"], "bytes": a["bytes"]},
                )
            )
            break
    if not findings:
        return [
            Finding(
                check,
                CONCERN,
                Severity.OK,
                "No duplicate indexes",
                (f"{len(indexes)} indexes; none is a leading prefix of another on its table.",),
            )
        ]
    return findings


def invalid_indexes(ctx: Context) -> list[Finding]:
    check = "indexes.invalid"
    rows = [
        row
        for row in ctx.rows(_INDEXES_SQL, {"s": ctx.schemas})
        if not row["indisvalid"] and not row["is_partition"]
    ]
    building = {
        r["index_relid"] for r in ctx.rows("SELECT index_relid FROM pg_stat_progress_create_index")
    }
    findings = []
    for row in rows:
        if row["indexrelid"] in building:
            continue  # CREATE INDEX CONCURRENTLY is still running
        partitioned = row["table_kind"] == "p"
        definition = row["definition"]
        if not partitioned:
            definition = re.sub(
                r"^CREATE (UNIQUE )?INDEX ",
                lambda m: f"CREATE {m.group(1) or ''}INDEX CONCURRENTLY ",
                definition,
            )
        drop = "DROP INDEX " + ("" if partitioned else "CONCURRENTLY ")
        evidence = [
            f"{row['definition']} is marked invalid: a failed or cancelled "
            "CREATE INDEX CONCURRENTLY left it behind.",
            "The planner never uses it, yet every write still maintains it.",
        ]
        if row["indisunique"]:
            evidence.append("It is unique: remove the duplicate keys first, or the rebuild fails.")
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.WARNING,
                f"Index {row['qualified_index']} is invalid",
                tuple(evidence),
                (f"{drop}{row['qualified_index']};", f"{definition};"),
                subject=row["qualified_index"],
            )
        )
    if not findings:
        return [
            Finding(check, CONCERN, Severity.OK, "No invalid indexes", ("All indexes are valid.",))
        ]
    return findings


def unused_indexes(ctx: Context) -> list[Finding]:
    check = "indexes.unused"
    t = ctx.thresholds
    rows = ctx.rows(
        """
        SELECT s.schemaname, s.relname,
               format('%%I.%%I', s.schemaname, s.indexrelname) AS qualified,
               pg_relation_size(s.indexrelid) AS bytes,
               ts.seq_scan + coalesce(ts.idx_scan, 0) AS table_scans,
               pg_get_indexdef(s.indexrelid) AS definition
        FROM pg_stat_user_indexes s
        JOIN pg_index i ON i.indexrelid = s.indexrelid
        JOIN pg_stat_user_tables ts ON ts.relid = s.relid
        WHERE s.schemaname = ANY(%(s)s)
          AND s.idx_scan = 0
          AND NOT i.indisunique AND NOT i.indisprimary AND i.indisvalid
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
          -- an index that covers a foreign key serves the RI checks of rare parent deletes:
          -- dropping it would open the gap the foreign-key check reports
          AND NOT EXISTS (
            SELECT 1 FROM pg_constraint fk
            WHERE fk.contype = 'f' AND fk.conrelid = i.indrelid
              AND (i.indkey::int2[])[0:cardinality(fk.conkey) - 1] @> fk.conkey
              AND (i.indkey::int2[])[0:cardinality(fk.conkey) - 1] <@ fk.conkey)
          AND ts.seq_scan + coalesce(ts.idx_scan, 0) >= %(min)s
        ORDER BY pg_relation_size(s.indexrelid) DESC, 3
        """,
        {"s": ctx.schemas, "min": t.unused_index_min_table_scans},
    )
    replicas = int(ctx.value("SELECT count(*) FROM pg_stat_replication") or 0)
    reset = ctx.value("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
    since = f"since statistics were reset at {reset}" if reset else "since statistics began"
    if not rows:
        return [
            Finding(
                check,
                CONCERN,
                Severity.OK,
                "No unused indexes on busy tables",
                (
                    f"No non-unique index has zero scans {since} on a table scanned ≥ "
                    f"{t.unused_index_min_table_scans:,} times.",
                ),
            )
        ]
    findings = []
    for row in rows:
        evidence = [
            f"{row['definition']}",
            f"0 index scans {since}, while {row['relname']} was scanned "
            f"{row['table_scans']:,} times; {_pretty_bytes(row['bytes'])} kept up to date "
            "on every write.",
        ]
        if replicas or ctx.app.read_replicas:
            evidence.append("Replicas exist: scans there are not counted here; check them first.")
        findings.append(
            Finding(
                check,
                CONCERN,
                Severity.INFO if (replicas or ctx.app.read_replicas) else Severity.WARNING,
                f"Index {row['qualified']} is never used",
                tuple(evidence),
                (f"DROP INDEX CONCURRENTLY {row['qualified']};",),
                subject=row["qualified"],
                data={"bytes": row["bytes"], "tableScans": row["table_scans"]},
            )
        )
    return findings
