"""Documents are stored compressed with lz4 on a server built with it (Debian's PostgreSQL 15
here; the embedded server of the other suites is not): every jsonb column of the app schema
after the migrations, a partition created later, and the values a save writes."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
import psycopg
import pytest
from sqlalchemy import text

from spacekontext.db.partitions import ensure_monthly_partitions
from spacekontext.tools.seed import documents
from tests.db import servers

pytestmark = pytest.mark.slow


def _columns_not_lz4(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname || '.' || a.attname FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p')"
            " AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)"
            " AND a.attnum > 0 AND NOT a.attisdropped"
            " AND a.attcompression <> 'l' ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


async def test_documents_and_later_partitions_are_compressed_with_lz4(
    pg15: servers.Cluster,
    primary_url: str,
    make_app: Callable[..., Any],
    auth: Callable[[str], dict[str, str]],
) -> None:
    assert pg15.sql(
        "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    assert _columns_not_lz4(primary_url) == []

    async with make_app(database_url=primary_url) as (client, services):
        # A partition made after the migration follows its parent (rolled back afterwards).
        async with services.db.engine.connect() as conn:
            transaction = await conn.begin()
            await ensure_monthly_partitions(conn, start=date(2091, 3, 1), months_ahead=0)
            compression = await conn.scalar(
                text(
                    "SELECT attcompression::text FROM pg_attribute WHERE attname = 'data'"
                    " AND attrelid = 'app.floorplan_versions_p2091_03'::regclass"
                )
            )
            await transaction.rollback()
        assert compression == "l"

        headers = auth("lz4@example.com")
        project = await client.post("/api/projects", json={"name": "lz4"}, headers=headers)
        assert project.status_code == 201, project.text
        # Over the 2 KB TOAST threshold, so the value is compressed: in the row and in its
        # history row.
        data = documents.floorplan(random.Random(7), target_bytes=20_000)
        created = await client.post(
            f"/api/projects/{project.json()['project']['id']}/floorplans",
            json={"name": "Ground", "data": data},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        floorplan_id = created.json()["floorplan"]["id"]

    with psycopg.connect(primary_url) as conn:
        methods = conn.execute(
            "SELECT pg_column_compression(f.data), pg_column_compression(v.data),"
            " f.data::text, v.data::text"
            " FROM app.floorplans f JOIN app.floorplan_versions v ON v.floorplan_id = f.id"
            " WHERE f.id = %s",
            (floorplan_id,),
        ).fetchone()
    assert methods is not None
    assert methods[:2] == ("lz4", "lz4")
    # Stored as json (migration 0010): the canonical text the save sent, kept as it is, in the
    # row and in its history row.
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    assert methods[2:] == (canonical, canonical)


def test_documents_and_site_data_are_json_and_the_small_fields_jsonb(primary_url: str) -> None:
    with psycopg.connect(primary_url) as conn:
        types = dict(
            conn.execute(
                "SELECT c.relname || '.' || a.attname, format_type(a.atttypid, NULL)"
                " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
                " AND a.attnum > 0 AND NOT a.attisdropped"
                " AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)"
            ).fetchall()
        )
    assert {column for column, kind in types.items() if kind == "json"} == {
        "floorplans.data",
        "floorplan_versions.data",
        "models_3d.model_data",
        "massings.massing_data",
        *(f"site_analyses.{name}" for name in ("sun_path", "weather", "topography", "context")),
        "site_analyses.analysis_results",
    }
    assert types["massings.analysis"] == types["site_analyses.coordinates"] == "jsonb"
