"""`/metrics` after real work: an upload through each store backend counts its storage
operations, and a repeated project list counts a cache miss then a hit, under one set of
metric names."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from spacekontext.services import Services
from tests.files.test_files_api import new_project, upload
from tests.storage.conftest import SAMPLES

Auth = Callable[[str], dict[str, str]]


async def scrape(api: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_an_upload_and_a_cached_list_show_in_metrics(
    api: httpx.AsyncClient, auth: Auth, app_services: Services, store_backend: str
) -> None:
    ann = auth("metrics@example.com")
    project_id = await new_project(api, ann)
    before = await scrape(api)

    assert (await upload(api, ann, project_id, "plan.dxf", SAMPLES["dxf"])).status_code == 201
    for _ in range(2):
        assert (await api.get("/api/projects", headers=ann)).status_code == 200
    assert await app_services.store.head("users/nobody/nothing.dxf") is None
    after = await scrape(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    storage = "spacekontext_storage_operations_total"
    assert grew(storage, backend=store_backend, operation="put", result="ok") == 1
    assert grew(storage, backend=store_backend, operation="head", result="not_found") == 1
    cache = app_services.cache.backend
    lookups = "spacekontext_cache_lookups_total"
    assert grew(lookups, backend=cache, result="miss") >= 1
    assert grew(lookups, backend=cache, result="hit") >= 1
    # One name per cache series: the removed duplicate is not exported any more.
    assert not any(name.startswith("spacekontext_cache_operations") for name, _ in after)
