"""`spacekontext seed`: counts, sizes, derived metadata and reproducibility, on real databases."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

import orjson
import psycopg
import pytest

from spacekontext.cadblocks.service import CadBlockService
from spacekontext.db.engine import Database, create_engine_for
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn
from spacekontext.documents import encode
from spacekontext.floorplans import geometry
from spacekontext.massings import geometry as massing_geometry
from spacekontext.models3d.objects import count_objects
from spacekontext.settings import Settings
from spacekontext.site.geodesy import site_area_m2
from spacekontext.storage.factory import build_object_store
from spacekontext.tools.seed import documents
from spacekontext.tools.seed.objects import store_sink_factory
from spacekontext.tools.seed.writer import (
    SeedConflict,
    SeedPlan,
    expected_rows,
    projects_per_user,
    run_seed,
    seed_email,
)

SMALL = SeedPlan(users=4, projects_per_user=2.5, files_per_project=3, cad_blocks=12, seed=7)


def fresh(create_database: Callable[[], str]) -> str:
    url = create_database()
    upgrade(url)
    return libpq_dsn(url)


def fingerprint(dsn: str) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "users": "SELECT id, email, clerk_id FROM app.users ORDER BY id",
        "projects": "SELECT id, user_id, name FROM app.projects ORDER BY id",
        "floorplans": "SELECT id, content_hash, data_bytes FROM app.floorplans ORDER BY id",
        "models_3d": "SELECT id, content_hash FROM app.models_3d ORDER BY id",
        "massings": "SELECT id, content_hash, volume_m3 FROM app.massings ORDER BY id",
        "files": "SELECT id, sha256, storage_key FROM app.files ORDER BY id",
    }
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in queries.items()}


@pytest.fixture(scope="module")
def seeded(create_database: Callable[[], str]) -> str:
    dsn = fresh(create_database)
    run_seed(dsn, SMALL, objects=None, workers=0)
    return dsn


def test_row_counts_match_the_plan(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        for table, expected in expected_rows(SMALL).items():
            count = conn.execute(f"SELECT count(*) FROM app.{table}").fetchone()
            assert count == (expected,), table
        # Every project has an owner among the seeded users, every file its project's owner.
        orphans = conn.execute(
            "SELECT count(*) FROM app.files f JOIN app.projects p ON p.id = f.project_id"
            " WHERE f.user_id <> p.user_id"
        ).fetchone()
        assert orphans == (0,)


async def test_demo_blocks_belong_to_a_demo_owner_and_stay_out_of_real_libraries(
    create_database: Callable[[], str], settings: Settings
) -> None:
    url = create_database()
    upgrade(url)
    plan = SeedPlan(users=2, projects_per_user=1, files_per_project=1, cad_blocks=5, seed=11)
    run_seed(libpq_dsn(url), plan, objects=None, workers=0)
    with psycopg.connect(libpq_dsn(url)) as conn:
        owners = conn.execute(
            "SELECT DISTINCT b.is_public, u.email FROM app.cad_blocks b"
            " JOIN app.users u ON u.id = b.created_by_user_id"
        ).fetchall()
        someone = conn.execute(
            "SELECT id FROM app.users WHERE email = %s", (seed_email(plan.seed, 0),)
        ).fetchone()
        owner = conn.execute(
            "SELECT id FROM app.users WHERE email = %s", (owners[0][1],)
        ).fetchone()
    assert owners == [(False, f"seed{plan.seed}-demo-blocks@example.com")]
    assert someone is not None and owner is not None
    # The library as the service lists it: none of the demo blocks for a seeded user; all five
    # for the demo owner.
    engine = create_engine_for(url, settings)
    try:
        service = CadBlockService(Database(engine))
        assert await service.list(someone[0]) == []
        assert len(await service.list(owner[0])) == 5
    finally:
        await engine.dispose()


def test_floorplans_are_in_the_size_band_and_metadata_is_derived(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        rows = conn.execute(
            "SELECT data::text, wall_count, opening_count, room_count, furniture_count,"
            " total_area_m2, bbox, data_bytes, content_hash FROM app.floorplans"
        ).fetchall()
    assert rows
    for text, walls, openings, rooms, furniture, area, bbox, size, digest in rows:
        document = orjson.loads(text)
        figures = geometry.derive(document)
        encoded = encode(document, kind="floorplan", max_bytes=10**8)
        assert documents.MIN_FLOORPLAN_BYTES <= size <= documents.MAX_FLOORPLAN_BYTES
        assert (walls, openings, rooms, furniture) == (
            figures.wall_count,
            figures.opening_count,
            figures.room_count,
            figures.furniture_count,
        )
        assert size == encoded.data_bytes
        assert digest == encoded.content_hash
        assert area == pytest.approx(figures.total_area_m2)
        assert bbox == figures.bbox
        assert walls > 0 and rooms > 0 and area > 0


def test_metadata_equals_what_the_services_derive(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        plans = conn.execute(
            "SELECT data::text, wall_count, opening_count, room_count, furniture_count,"
            " total_area_m2, bbox, data_bytes, content_hash FROM app.floorplans"
        ).fetchall()
        massings = conn.execute(
            "SELECT m.massing_data::text, m.volume_m3, m.footprint_m2, m.gross_floor_area_m2,"
            " m.height_m, m.floor_area_ratio, s.site_area_m2, m.content_hash, m.data_bytes"
            " FROM app.massings m JOIN app.site_analyses s USING (project_id)"
        ).fetchall()
        models = conn.execute(
            "SELECT model_data::text, object_count, content_hash FROM app.models_3d"
        ).fetchall()
        sites = conn.execute(
            "SELECT boundary::text, site_area_m2, sun_path FROM app.site_analyses"
        ).fetchall()
        versions = conn.execute(
            "SELECT count(*) FROM app.floorplan_versions v JOIN app.floorplans f"
            " ON f.id = v.floorplan_id AND f.content_hash = v.content_hash AND v.version = 1"
            " JOIN app.projects p ON p.id = f.project_id AND p.user_id = v.created_by_user_id"
        ).fetchone()
    assert versions == (len(plans),)
    for text, *columns in plans:
        document = orjson.loads(text)
        facts = geometry.derive(document)
        encoded = encode(document, kind="floorplan", max_bytes=10**8)
        assert columns == [
            facts.wall_count,
            facts.opening_count,
            facts.room_count,
            facts.furniture_count,
            facts.total_area_m2,
            facts.bbox,
            encoded.data_bytes,
            encoded.content_hash,
        ]
    for text, volume, footprint, gfa, height, far, site_area, digest, size in massings:
        document = orjson.loads(text)
        facts = massing_geometry.derive(document, 3.0)
        assert (volume, footprint, gfa, height) == (
            facts.volume_m3,
            facts.footprint_m2,
            facts.gross_floor_area_m2,
            facts.height_m,
        )
        assert far == facts.floor_area_ratio(site_area)
        encoded = encode(document, kind="massing", max_bytes=10**8)
        assert (size, digest) == (encoded.data_bytes, encoded.content_hash)
    for text, count, digest in models:
        document = orjson.loads(text)
        assert count == count_objects(document) > 0
        assert digest == encode(document, kind="3D model", max_bytes=10**8).content_hash
    for boundary, area, sun_path in sites:
        assert area == site_area_m2(orjson.loads(boundary)) > 0
        assert set(sun_path["seasons"]) == {
            "marchEquinox",
            "juneSolstice",
            "septemberEquinox",
            "decemberSolstice",
        }


def test_wall_graph_is_consistent() -> None:
    rng = documents.rng_for(3, "floorplan", 0)
    plan = documents.floorplan(rng, target_bytes=60_000)
    nodes, edges = plan["nodes"], plan["edges"]
    for edge_id, edge in edges.items():
        start, end = nodes[edge["startNodeId"]], nodes[edge["endNodeId"]]
        assert edge_id in start["connectedEdges"] and edge_id in end["connectedEdges"]
        (ax, ay), (bx, by) = start["position"], end["position"]
        length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
        for opening in edge["openings"]:
            half = opening["width"] / 2
            assert half <= opening["position"] <= length - half
    for node_id, node in nodes.items():
        assert node["connectedEdges"], node_id
        for edge_id in node["connectedEdges"]:
            assert node_id in (edges[edge_id]["startNodeId"], edges[edge_id]["endNodeId"])
    # Shared walls: interior nodes join three or four walls.
    assert max(len(n["connectedEdges"]) for n in nodes.values()) >= 3
    for zone in plan["zones"]:
        assert len(zone["points"]) >= 3


def test_sizes_follow_a_skewed_distribution() -> None:
    sizes = sorted(
        documents.floorplan_target_bytes(documents.rng_for(1, "size", k)) for k in range(2000)
    )
    median, mean = sizes[len(sizes) // 2], sum(sizes) / len(sizes)
    assert sizes[0] >= documents.MIN_FLOORPLAN_BYTES
    assert sizes[-1] <= documents.MAX_FLOORPLAN_BYTES
    assert mean > median * 1.15  # right-skewed: a long tail of large plans
    assert sizes[int(0.99 * len(sizes))] > 4 * sizes[int(0.05 * len(sizes))]


def test_projects_split_exactly_and_unevenly() -> None:
    plan = SeedPlan(users=300, projects_per_user=5)
    counts = projects_per_user(plan)
    assert sum(counts) == 1500
    assert min(counts) >= 1
    assert max(counts) >= 12


def test_same_seed_same_data_in_process_or_in_workers(
    seeded: str, create_database: Callable[[], str]
) -> None:
    again = fresh(create_database)
    # Two worker processes, another chunking of the work: the same rows, byte for byte.
    run_seed(again, SMALL, objects=None, workers=2)
    assert fingerprint(again) == fingerprint(seeded)


def test_another_seed_other_data(seeded: str, create_database: Callable[[], str]) -> None:
    other = fresh(create_database)
    run_seed(other, SeedPlan(**{**_fields(SMALL), "seed": 8}), objects=None, workers=0)
    mine, theirs = fingerprint(seeded), fingerprint(other)
    assert {r[1] for r in mine["floorplans"]}.isdisjoint({r[1] for r in theirs["floorplans"]})


def test_seeding_twice_is_refused_and_reset_replaces(seeded: str) -> None:
    before = fingerprint(seeded)
    with pytest.raises(SeedConflict):
        run_seed(seeded, SMALL, objects=None, workers=0)
    assert fingerprint(seeded) == before
    run_seed(seeded, SMALL, objects=None, workers=0, reset_first=True)
    assert fingerprint(seeded) == before


def _fields(plan: SeedPlan) -> dict[str, object]:
    return {name: getattr(plan, name) for name in plan.__slots__}


def test_file_objects_land_in_the_store_with_their_recorded_hash(
    create_database: Callable[[], str], tmp_path: Path
) -> None:
    dsn = fresh(create_database)
    settings = Settings(env="test", SPACEKONTEXT_HOME=tmp_path)
    plan = SeedPlan(users=2, projects_per_user=1, files_per_project=3, cad_blocks=0, seed=5)
    report = run_seed(dsn, plan, objects=store_sink_factory(settings), workers=0)
    assert report.objects_stored == 6
    store = build_object_store(settings)

    async def check() -> None:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT storage_key, sha256, size_bytes FROM app.files").fetchall()
        assert len(rows) == 6
        for key, digest, size in rows:
            data = await store.get_bytes(key)
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (digest, size)
        await store.aclose()

    asyncio.run(check())
