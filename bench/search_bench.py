"""Search latency over 1,000,000 projects (10,000 users x 100) and 10,000 CAD blocks, or at
the seed's scale times N (`--seed-scale 10`: 10,000 users x 5 projects, 2,000 blocks).

Creates a scratch database on the server given by --url (default: $DATABASE_URL), migrates it,
fills it with generate_series, then measures:
  1. the API's own search (SearchService: websearch + prefix + trigram, ranked, headlines),
     scoped to one user, p50/p99 over random users and words;
  2. the same question asked of the whole table: GIN (`search @@ tsquery`) vs an ILIKE scan
     (`name ILIKE '%w%' OR description ILIKE '%w%'` with index scans off: the naive approach);
  3. block search (SearchService, types=blocks) over 10,000 blocks.
The scratch database is dropped at the end unless --keep.

    .venv/bin/python bench/search_bench.py --url postgresql://...  [--projects 1000000]
    .venv/bin/python bench/search_bench.py --url postgresql://... --seed-scale 10

The sampled queries: a third whole words, a third typed partly (search-as-you-type), a third
with a typo (two neighbouring letters swapped, or one dropped) or, for words with an accented
form, the other spelling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import time

import psycopg

from spacekontext.db.engine import Database, create_engine_for
from spacekontext.db.migrate import upgrade
from spacekontext.db.urls import libpq_dsn, with_database
from spacekontext.search.service import SearchService
from spacekontext.settings import Settings

WORDS = [
    "villa",
    "loft",
    "kitchen",
    "garden",
    "tower",
    "harbour",
    "studio",
    "school",
    "library",
    "museum",
    "chapel",
    "warehouse",
    "cottage",
    "pavilion",
    "terrace",
    "courtyard",
    "atrium",
    "gallery",
    "clinic",
    "office",
    "bakery",
    "brewery",
    "cinema",
    "theatre",
    "station",
    "market",
    "hotel",
    "hostel",
    "barn",
    "cabin",
    "chalet",
    "bungalow",
    "duplex",
    "penthouse",
    "annex",
    "extension",
    "renovation",
    "conversion",
    "retrofit",
    "facade",
    "roof",
    "basement",
    "attic",
    "staircase",
    "bridge",
    "canopy",
    "greenhouse",
    "workshop",
    "campus",
    "plaza",
    "arcade",
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def fill(dsn: str, projects: int, blocks: int, users: int) -> None:
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    n = len(WORDS)
    with psycopg.connect(dsn, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute(
            "INSERT INTO app.users (id, clerk_id, email) SELECT lpad(i::text, 26, '0'), "
            "'bench|' || i, 'u' || i || '@bench.test' FROM generate_series(1, %s) i",
            (users,),
        )
        conn.execute(
            f"""
            INSERT INTO app.projects (id, user_id, name, description)
            SELECT lpad(i::text, 26, 'p'), lpad((1 + mod(i, {users}))::text, 26, '0'),
                   initcap(({words})[1 + mod(i * 7, {n})]) || ' ' || ({words})[1 + mod(i * 13, {n})]
                     || ' ' || (ARRAY['Zürich','Genève','Köln','São Paulo','Malmö'])[1 + mod(i, 5)]
                     || ' ' || i,
                   'A ' || ({words})[1 + mod(i * 17, {n})] || ' with a ' ||
                   ({words})[1 + mod(i * 19, {n})] || ' near the ' ||
                   ({words})[1 + mod(i * 23, {n})] || ', phase ' || mod(i, 9)
            FROM generate_series(1, %s) i
            """,
            (projects,),
        )
        conn.execute(
            f"""
            INSERT INTO app.cad_blocks (id, slug, name, category, subcategory, tags)
            SELECT lpad(i::text, 26, 'b'), 'block-' || i,
                   initcap(({words})[1 + mod(i * 7, {n})]) || ' block ' || i,
                   (ARRAY['doors','windows','kitchen','bath','furniture','stairs'])[1 + mod(i, 6)],
                   ({words})[1 + mod(i * 11, {n})],
                   ARRAY[({words})[1 + mod(i * 3, {n})], ({words})[1 + mod(i * 5, {n})]]
            FROM generate_series(1, %s) i
            """,
            (blocks,),
        )
        conn.execute("VACUUM ANALYZE")
        print(
            f"filled {users} users, {projects} projects, {blocks} blocks in "
            f"{time.perf_counter() - t0:.1f} s"
        )


def global_compare(dsn: str, samples: int, projects: int) -> dict[str, list[float]]:
    """The same questions asked of the whole table, GIN vs a sequential ILIKE scan: a rare
    term (one project's number in its name, top 20) and a common word (count every match)."""
    out: dict[str, list[float]] = {
        k: [] for k in ("gin_rare", "scan_rare", "gin_common", "scan_common")
    }
    rng = random.Random(7)

    def timed(
        conn: psycopg.Connection, key: str, sql: str, params: tuple[str, ...], scan: bool
    ) -> None:
        with conn.transaction():
            if scan:
                conn.execute("SET LOCAL enable_bitmapscan = off")
                conn.execute("SET LOCAL enable_indexscan = off")
            t = time.perf_counter()
            conn.execute(sql, params).fetchall()
            out[key].append((time.perf_counter() - t) * 1000)

    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(samples):
            rare = str(rng.randint(1, projects))
            common = rng.choice(WORDS)
            timed(
                conn,
                "gin_rare",
                "SELECT id FROM app.projects WHERE search @@ websearch_to_tsquery('english', %s) "
                "ORDER BY ts_rank(search, websearch_to_tsquery('english', %s)) DESC LIMIT 20",
                (rare, rare),
                False,
            )
            timed(
                conn,
                "scan_rare",
                "SELECT id FROM app.projects WHERE name ILIKE %s OR description ILIKE %s LIMIT 20",
                (f"%{rare}%", f"%{rare}%"),
                True,
            )
            timed(
                conn,
                "gin_common",
                "SELECT count(*) FROM app.projects "
                "WHERE search @@ websearch_to_tsquery('english', %s)",
                (common,),
                False,
            )
            timed(
                conn,
                "scan_common",
                "SELECT count(*) FROM app.projects WHERE name ILIKE %s OR description ILIKE %s",
                (f"%{common}%", f"%{common}%"),
                True,
            )
    return out


def typo(word: str, rng: random.Random) -> str:
    """The word as a hurried typist writes it: two neighbours swapped, or a letter dropped."""
    accents = {"zurich": "zürich", "geneve": "genève", "koln": "köln", "malmo": "malmö"}
    if word in accents:
        return accents[word]
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


async def api_search(url: str, users: int, samples: int) -> tuple[list[float], list[float]]:
    settings = Settings(env="test", database_url=url, db_pool_size=2)
    engine = create_engine_for(url, settings)
    service = SearchService(Database(engine))
    rng = random.Random(11)
    own, lib = [], []
    try:
        for i in range(samples + 10):
            user = str(rng.randint(1, users)).rjust(26, "0")
            word = rng.choice([*WORDS, "zurich", "geneve", "koln", "malmo"])
            if i % 3 == 0:
                query = word
            elif i % 3 == 1:
                query = word[: max(3, len(word) - 2)]  # typed partly
            else:
                query = typo(word, rng)
            t = time.perf_counter()
            await service.search(user, query, types=["projects", "files"], limit=20)
            if i >= 10:
                own.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await service.search(user, query, types=["blocks"], limit=20)
            if i >= 10:
                lib.append((time.perf_counter() - t) * 1000)
    finally:
        await engine.dispose()
    return own, lib


def measure(url: str, projects: int, blocks: int, users: int, samples: int) -> None:
    own, lib = asyncio.run(api_search(url, users, samples))
    whole = global_compare(libpq_dsn(url), min(samples, 30), projects)

    def line(label: str, values: list[float]) -> str:
        return (
            f"{label:<58} p50 {statistics.median(values):8.2f} ms   "
            f"p99 {percentile(values, 99):8.2f} ms"
        )

    print(line(f"API search, one user's projects+files ({projects:,} projects)", own))
    print(line(f"API search, blocks ({blocks:,} blocks)", lib))
    print(line("whole table, rare term top 20: GIN", whole["gin_rare"]))
    print(line("whole table, rare term top 20: ILIKE seq scan", whole["scan_rare"]))
    print(line("whole table, common word, count all: GIN", whole["gin_common"]))
    print(line("whole table, common word, count all: ILIKE seq scan", whole["scan_common"]))
    for kind in ("rare", "common"):
        ratio = statistics.median(whole[f"scan_{kind}"]) / statistics.median(whole[f"gin_{kind}"])
        print(f"ILIKE scan / GIN p50 ratio ({kind}): {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--projects", type=int, default=1_000_000)
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--seed-scale",
        type=int,
        help="the seed's default plan times N (1,000 users x 5 projects, 200 blocks)",
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", help="measure a database kept by an earlier --keep run")
    args = parser.parse_args()
    users = max(1, args.projects // 100)
    if args.seed_scale:
        users = 1000 * args.seed_scale
        args.projects, args.blocks = users * 5, 200 * args.seed_scale
    if args.reuse:
        measure(args.reuse, args.projects, args.blocks, users, args.samples)
        return
    if not args.url:
        raise SystemExit("--url or DATABASE_URL is required")
    name = f"sk_bench_search_{secrets.token_hex(3)}"
    admin = libpq_dsn(args.url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(args.url, name)
    try:
        upgrade(url)
        dsn = libpq_dsn(url)
        fill(dsn, args.projects, args.blocks, users)
        measure(url, args.projects, args.blocks, users, args.samples)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
