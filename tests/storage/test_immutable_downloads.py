"""Downloads through the local backend's signed URLs: an object is written once under its key,
so it is cached for a year (`private, immutable`) with a strong ETag, and a conditional GET
that names it is answered 304 once the signature checks out, without reading the disk or the
database."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.files.test_files_api import JSON, new_project, upload
from tests.storage.conftest import BASE_URL, SAMPLES

Auth = Callable[[str], dict[str, str]]


@pytest.mark.parametrize("store_backend", ["local"])
async def test_signed_downloads_are_immutable_and_revalidate_cheaply(
    api: httpx.AsyncClient, auth: Auth
) -> None:
    ann = auth("ann@example.com")
    project_id = await new_project(api, ann)
    made = (await upload(api, ann, project_id, "a.dxf", SAMPLES["dxf"])).json()["file"]
    url = (await api.get(f"/api/files/{made['id']}", headers=ann | JSON)).json()["url"]
    path = url.removeprefix(BASE_URL)

    first = await api.get(path)
    assert first.status_code == 200 and first.content == SAMPLES["dxf"]
    assert first.headers["cache-control"] == "private, max-age=31536000, immutable"
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")

    again = await api.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert 'desc="0 statements"' in again.headers["server-timing"]
    # The signature is still the credential: a tampered URL gets no 304.
    tampered = path.replace("a.dxf", "b.dxf")
    assert (await api.get(tampered, headers={"If-None-Match": etag})).status_code >= 400
