"""Benchmark of the design-document endpoints (issue 3).

1 project x 10 floorplans of ~200 KB each, against a real PostgreSQL (DATABASE_URL, or an
embedded server in a temporary directory), through the ASGI app in process (no sockets, so the
figures are the app + database, not the network):

- the floorplan list vs fetching the 10 full documents: bytes and latency;
- the latency of saving (PUT) a 200 KB floorplan, derivation and history included;
- a one-wall change sent as a merge patch (PATCH) vs as a full PUT.

Run: .venv/bin/python bench/documents_bench.py [--iterations 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from spacekontext.app import create_app
from spacekontext.auth.tokens import DevTokens
from spacekontext.db.engine import Database
from spacekontext.db.migrate import upgrade
from spacekontext.documents import encode
from spacekontext.floorplans.geometry import derive
from spacekontext.services import build_services
from spacekontext.settings import Settings


def floorplan(cells: int = 19, seed: int = 0) -> dict[str, Any]:
    """A grid of `cells` x `cells` rooms: walls with doors and windows, a zone and a piece of
    furniture per room (~200 KB at 19 x 19)."""
    step = 4.0
    nodes: dict[str, Any] = {}
    edges: dict[str, Any] = {}
    for i in range(cells + 1):
        for j in range(cells + 1):
            nodes[f"n{i}_{j}"] = {"position": [i * step, j * step], "connectedEdges": []}

    def wall(a: str, b: str, k: int) -> None:
        edge_id = f"e{len(edges)}"
        openings = []
        if k % 3 == 0:
            openings.append({"type": "door", "position": 1.0, "width": 0.9, "swing": "left"})
        if k % 4 == 1:
            openings.append({"type": "window", "position": 2.6, "width": 1.2, "sillHeight": 0.9})
        edges[edge_id] = {
            "startNodeId": a,
            "endNodeId": b,
            "thickness": 0.2,
            "height": 2.7,
            "openings": openings,
            "material": "brick",
        }
        nodes[a]["connectedEdges"].append(edge_id)
        nodes[b]["connectedEdges"].append(edge_id)

    k = seed
    for i in range(cells + 1):
        for j in range(cells + 1):
            if i < cells:
                wall(f"n{i}_{j}", f"n{i + 1}_{j}", k)
                k += 1
            if j < cells:
                wall(f"n{i}_{j}", f"n{i}_{j + 1}", k)
                k += 1
    zones = []
    furniture = []
    for i in range(cells):
        for j in range(cells):
            x, y = i * step, j * step
            zones.append(
                {
                    "id": f"z{i}_{j}",
                    "points": [[x, y], [x + step, y], [x + step, y + step], [x, y + step]],
                    "label": f"Room {i}.{j}",
                }
            )
            furniture.append(
                {
                    "position": [x + 1, y + 1],
                    "rotation": 0,
                    "width": 1.6,
                    "depth": 0.8,
                    "height": 0.75,
                    "type": "table",
                }
            )
    return {"nodes": nodes, "edges": edges, "zones": zones, "furniture": furniture}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def timed(
    runs: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[list[float], int]:
    times, size = [], 0
    for i in range(runs):
        start = time.perf_counter()
        response = await call(i)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 300, response.text
        size = len(response.content)
    return times, size


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {percentile(values, 99):.1f}"


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    from spacekontext.db.embedded import attached

    base = Path(tempfile.mkdtemp(prefix="skbench-"))
    try:
        with attached(base, "bench") as uri:
            yield uri
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def run(url: str, iterations: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="skbench-home-"))
    # Rate limits off: the benchmark measures the documents path, not the limiter.
    settings = Settings(
        env="test", SPACEKONTEXT_HOME=home, database_url=url, rate_limit_enabled=False
    )
    services = build_services(settings, Database.from_settings(settings))
    app = create_app(settings, services=services)
    token = DevTokens.from_data_dir(settings.data_dir).mint(f"bench-{secrets.token_hex(3)}@x.io")
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        project = await client.post("/api/projects", json={"name": "bench"}, headers=headers)
        pid = project.json()["project"]["id"]
        ids = []
        for n in range(10):
            doc = floorplan(seed=n)
            created = await client.post(
                f"/api/projects/{pid}/floorplans",
                json={"name": f"L{n}", "level": n, "data": doc},
                headers=headers,
            )
            ids.append(created.json()["floorplan"]["id"])
        doc_bytes = len(orjson.dumps(floorplan()))

        # Warm up connections and caches.
        for _ in range(5):
            await client.get(f"/api/projects/{pid}/floorplans", headers=headers)
            await client.get(f"/api/floorplans/{ids[0]}", headers=headers)

        list_times, list_bytes = await timed(
            iterations, lambda _: client.get(f"/api/projects/{pid}/floorplans", headers=headers)
        )

        async def all_documents(_: int) -> httpx.Response:
            total = 0
            for fp in ids:
                response = await client.get(f"/api/floorplans/{fp}", headers=headers)
                total += len(response.content)
            all_documents.total = total  # type: ignore[attr-defined]
            return response

        full_times, _ = await timed(max(10, iterations // 5), all_documents)
        full_bytes = all_documents.total  # type: ignore[attr-defined]
        one_times, one_bytes = await timed(
            iterations, lambda _: client.get(f"/api/floorplans/{ids[0]}", headers=headers)
        )

        target = f"/api/floorplans/{ids[1]}"
        base = floorplan(seed=1)

        def changed_doc(i: int) -> dict[str, Any]:
            doc = base
            doc["edges"]["e7"]["thickness"] = 0.2 + (i + 1) * 1e-4
            return doc

        put_body_bytes = len(orjson.dumps({"data": changed_doc(0)}))
        put_times, _ = await timed(
            iterations, lambda i: client.put(target, json={"data": changed_doc(i)}, headers=headers)
        )
        patch_body = {"data": {"edges": {"e7": {"thickness": 0.3}}}}
        patch_body_bytes = len(orjson.dumps(patch_body))

        def one_wall_patch(i: int) -> Awaitable[httpx.Response]:
            body = {"data": {"edges": {"e7": {"thickness": 0.3 + (i + 1) * 1e-4}}}}
            return client.patch(target, json=body, headers=headers)

        patch_times, _ = await timed(iterations, one_wall_patch)

        derive_times = []
        for _ in range(iterations):
            start = time.perf_counter()
            encode(base, kind="floorplan", max_bytes=settings.max_document_bytes)
            derive(base)
            derive_times.append((time.perf_counter() - start) * 1000)

        await client.delete(f"/api/projects/{pid}", headers=headers)
    await services.aclose()
    await services.db.dispose()
    shutil.rmtree(home, ignore_errors=True)

    print(f"document size: {doc_bytes / 1024:.0f} KiB (compact JSON); iterations: {iterations}")
    print()
    print("| measure | bytes | latency ms p50 / p99 |")
    print("|---|---:|---:|")
    print(f"| list of 10 floorplans (metadata) | {list_bytes:,} | {ms(list_times)} |")
    print(f"| the 10 full documents (10 GETs) | {full_bytes:,} | {ms(full_times)} |")
    print(f"| one full document (GET) | {one_bytes:,} | {ms(one_times)} |")
    put_row = f"| save 200 KB floorplan (PUT, one wall changed) | {put_body_bytes:,} sent"
    print(f"{put_row} | {ms(put_times)} |")
    print(f"| same change as merge patch (PATCH) | {patch_body_bytes:,} sent | {ms(patch_times)} |")
    print(f"| validation + derivation alone (in process) | - | {ms(derive_times)} |")
    print()
    print(
        f"list vs full documents: {list_bytes / full_bytes:.2%} of the bytes "
        f"({1 - list_bytes / full_bytes:.2%} cut), "
        f"{statistics.median(list_times) / statistics.median(full_times):.2%} of the time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    iterations = max(10, min(args.iterations, 10_000))
    with database_url() as url:
        upgrade(url)
        asyncio.run(run(url, iterations))


if __name__ == "__main__":
    main()
