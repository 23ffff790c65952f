"""Large JSON columns (sampled stored sizes, TOAST share), the file-storage backend, and
replication (configured replicas, lag, inactive slots)."""

from __future__ import annotations

from typing import Any

from spacekontext.tools.assess.checks_indexes import _pretty_bytes
from spacekontext.tools.assess.context import Context
from spacekontext.tools.assess.model import Finding, Severity

JSON = "Large JSON columns"
STORAGE = "File storage"
REPLICATION = "Replication"


def json_columns(ctx: Context) -> list[Finding]:
    check = "json.columns"
    t = ctx.thresholds
    tables = ctx.rows(
        """
        SELECT format('%%I.%%I', n.nspname, c.relname) AS qualified,
               greatest(c.reltuples, 0)::float8 AS reltuples,
               array_agg(a.attname::text ORDER BY a.attnum) AS columns,
               array_agg(quote_ident(a.attname) ORDER BY a.attnum) AS quoted,
               array_agg(format_type(a.atttypid, NULL) ORDER BY a.attnum) AS types,
               pg_total_relation_size(c.oid) AS total_bytes,
               CASE WHEN c.reltoastrelid = 0 THEN 0
                    ELSE pg_total_relation_size(c.reltoastrelid) END AS toast_bytes
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname = ANY(%(s)s)
          AND a.attnum > 0 AND NOT a.attisdropped
          AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype, 'bytea'::regtype)
        GROUP BY n.nspname, c.relname, c.oid
        ORDER BY pg_total_relation_size(c.oid) DESC, 1
        """,
        {"s": ctx.schemas},
    )
    summary: list[dict[str, Any]] = []
    findings = []
    for table in tables:
        reltuples = table["reltuples"]
        sample = ""
        if reltuples > t.json_sample_rows:
            pct = max(0.001, min(100.0, 100.0 * t.json_sample_rows / reltuples))
            sample = f" TABLESAMPLE SYSTEM ({pct:.4f}) REPEATABLE (8)"
        parts = ["count(*) AS n"]
        for i, column in enumerate(table["quoted"]):
            parts += [
                f"avg(pg_column_size({column}))::float8 AS avg_{i}",
                f"percentile_cont(0.95) WITHIN GROUP (ORDER BY pg_column_size({column}))"
                f"::float8 AS p95_{i}",
                f"max(pg_column_size({column})) AS max_{i}",
            ]
        # Identifiers were quoted by the server (quote_ident / format %I).
        sizes = ctx.one(
            f"SELECT {', '.join(parts)} FROM {table['qualified']}{sample}"  # noqa: S608
        )
        share = 100.0 * table["toast_bytes"] / table["total_bytes"] if table["total_bytes"] else 0
        for i, column in enumerate(table["columns"]):
            avg = sizes.get(f"avg_{i}")
            p95 = sizes.get(f"p95_{i}")
            entry = {
                "table": table["qualified"],
                "column": column,
                "type": table["types"][i],
                "sampledRows": sizes["n"],
                "avgBytes": round(avg) if avg is not None else None,
                "p95Bytes": round(p95) if p95 is not None else None,
                "maxBytes": sizes.get(f"max_{i}"),
                "toastSharePct": round(share, 1),
                "tableBytes": table["total_bytes"],
            }
            summary.append(entry)
            if p95 is not None and p95 >= t.json_warning_p95_bytes:
                findings.append(
                    Finding(
                        check,
                        JSON,
                        Severity.WARNING,
                        f"{table['qualified']}.{column}: p95 stored size {_pretty_bytes(int(p95))}",
                        (
                            f"{sizes['n']:,} rows sampled: avg {_pretty_bytes(int(avg or 0))}, "
                            f"p95 {_pretty_bytes(int(p95))}, max "
                            f"{_pretty_bytes(int(sizes.get(f'max_{i}') or 0))} (compressed, "
                            "as stored).",
                            f"{share:.0f}% of the table's {_pretty_bytes(table['total_bytes'])} "
                            "is in TOAST: each read of this column decompresses and ships it.",
                        ),
                        (
                            f"-- list queries must not select {column}: extract the fields "
                            "they show into columns (as floorplans do: counts, area, bbox)",
                            "-- documents above ~1 MB belong in object storage, with the key "
                            "in the row",
                        ),
                        subject=f"{table['qualified']}.{column}",
                        data=entry,
                    )
                )
    ctx.cache["json_columns"] = summary
    evidence = tuple(
        f"{e['table']}.{e['column']} ({e['type']}): "
        + (
            f"avg {_pretty_bytes(e['avgBytes'])}, p95 {_pretty_bytes(e['p95Bytes'])}"
            if e["avgBytes"] is not None
            else "no values"
        )
        + f" over {e['sampledRows']:,} sampled rows; TOAST {e['toastSharePct']:g}% of table"
        for e in summary[:12]
    )
    if len(summary) > 12:
        evidence += (f"… and {len(summary) - 12} more columns (see JSON output).",)
    findings.insert(
        0,
        Finding(
            check,
            JSON,
            Severity.OK,
            f"{len(summary)} json/jsonb/bytea columns measured",
            evidence or ("No json, jsonb or bytea columns.",),
            data={"columns": summary},
        ),
    )
    return findings


def storage(ctx: Context) -> list[Finding]:
    check = "storage.backend"
    app = ctx.app
    processes = app.workers * app.hosts
    if app.storage_backend != "local":
        return [
            Finding(
                check,
                STORAGE,
                Severity.OK,
                f"Files go to object storage ({app.storage_backend})",
                ("Every worker and host reads and writes the same bucket.",),
            )
        ]
    evidence = (
        f"STORAGE_BACKEND=local with {app.workers} workers × {app.hosts} hosts.",
        "A file written on one host is missing on the others; ephemeral or serverless "
        "disks lose it on redeploy.",
    )
    if processes > 1:
        return [
            Finding(
                check,
                STORAGE,
                Severity.CRITICAL,
                "Files on local disk behind more than one process",
                evidence,
                (
                    "STORAGE_BACKEND=s3",
                    "S3_BUCKET=<bucket>",
                    "S3_ENDPOINT_URL=<https://… for R2/MinIO; unset for AWS>",
                    "S3_ACCESS_KEY_ID=<key>",
                    "S3_SECRET_ACCESS_KEY=<secret>",
                ),
                subject="STORAGE_BACKEND",
            )
        ]
    return [
        Finding(
            check,
            STORAGE,
            Severity.OK,
            "Files on local disk, one process",
            (
                evidence[0],
                "Consistent while one process serves; set STORAGE_BACKEND=s3 before adding a "
                "second worker or host.",
            ),
        )
    ]


def replication(ctx: Context) -> list[Finding]:
    check = "replicas.streaming"
    app = ctx.app
    if ctx.in_recovery:
        return [
            Finding(
                check,
                REPLICATION,
                Severity.INFO,
                "This server is a replica",
                ("pg_is_in_recovery() is true: assess the primary for replication figures.",),
            )
        ]
    streams = ctx.rows(
        """SELECT application_name, client_addr::text AS client_addr, state, sync_state,
                  extract(epoch FROM replay_lag)::float8 AS replay_lag_s,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS behind_bytes
           FROM pg_stat_replication ORDER BY application_name"""
    )
    ctx.cache["replicas"] = {"configured": app.read_replicas, "streaming": len(streams)}
    evidence = [f"DATABASE_READ_URLS lists {app.read_replicas} replicas."] + [
        f"{s['application_name'] or s['client_addr']}: {s['state']} ({s['sync_state']}), "
        f"replay lag {s['replay_lag_s'] or 0:.3f} s, {s['behind_bytes'] or 0:,} bytes behind."
        for s in streams
    ]
    findings: list[Finding] = []
    if not streams and not app.read_replicas:
        findings.append(
            Finding(
                check,
                REPLICATION,
                Severity.INFO,
                "Read replicas: not configured",
                (
                    "No standby streams from this server and DATABASE_READ_URLS is empty: "
                    "every read goes to the primary, and there is no failover target.",
                ),
                subject="replicas",
            )
        )
    elif len(streams) < app.read_replicas:
        findings.append(
            Finding(
                check,
                REPLICATION,
                Severity.WARNING,
                f"{app.read_replicas} replicas configured, {len(streams)} streaming",
                tuple(evidence),
                ("-- check the missing replicas' logs and primary_conninfo",),
                subject="replicas",
            )
        )
    lagging = [s for s in streams if (s["replay_lag_s"] or 0) > app.max_replica_lag_s]
    for s in lagging:
        findings.append(
            Finding(
                "replicas.lag",
                REPLICATION,
                Severity.WARNING,
                f"Replica {s['application_name'] or s['client_addr']} lags "
                f"{s['replay_lag_s']:.1f} s",
                (f"MAX_REPLICA_LAG_S = {app.max_replica_lag_s:g}.", *evidence[1:]),
                ("-- look for long queries or I/O saturation on the replica",),
                subject=s["application_name"],
            )
        )
    if streams and not findings:
        findings.append(
            Finding(
                check,
                REPLICATION,
                Severity.OK,
                f"{len(streams)} replicas streaming within {app.max_replica_lag_s:g} s",
                tuple(evidence),
            )
        )
    findings += _inactive_slots(ctx)
    return findings


def _inactive_slots(ctx: Context) -> list[Finding]:
    check = "replicas.slots"
    slots = ctx.rows(
        """SELECT slot_name, slot_type, database, wal_status,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes
           FROM pg_replication_slots WHERE NOT active ORDER BY slot_name"""
    )
    findings = []
    for s in slots:
        literal = "'" + s["slot_name"].replace("'", "''") + "'"
        where = f" (run it in database {s['database']})" if s["database"] else ""
        findings.append(
            Finding(
                check,
                REPLICATION,
                Severity.CRITICAL
                if s["wal_status"] in ("unreserved", "lost")
                else Severity.WARNING,
                f"Replication slot {s['slot_name']} is inactive",
                (
                    f"{s['slot_type']} slot, wal_status {s['wal_status']}: it holds "
                    f"{_pretty_bytes(s['retained_bytes'] or 0)} of WAL on the primary's disk "
                    "and grows until the disk fills.",
                ),
                (
                    f"-- if its consumer is gone for good{where}:",
                    f"SELECT pg_drop_replication_slot({literal});",
                ),
                subject=s["slot_name"],
            )
        )
    return findings
