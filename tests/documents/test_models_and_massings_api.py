from __future__ import annotations

import httpx
import pytest

from tests.documents.conftest import make_project

Headers = dict[str, str]
SCENE = {
    "metadata": {"version": 4.6, "type": "Object", "generator": "Object3D.toJSON"},
    "geometries": [{"uuid": "g1", "type": "BoxGeometry", "width": 1}],
    "object": {
        "type": "Scene",
        "children": [{"type": "Mesh"}, {"type": "Group", "children": [{}]}],
    },
}
BLOCKS = {
    "blocks": [
        {
            "id": "a",
            "footprint": [[0, 0], [20, 0], [20, 10], [0, 10]],
            "height": 12,
            "color": "#ccc",
        }
    ],
    "view": {"camera": [1, 2, 3]},
}


async def test_model3d_lifecycle(client: httpx.AsyncClient, ann: Headers, project: dict) -> None:
    pid = project["id"]
    fp = await client.post(f"/api/projects/{pid}/floorplans", json={"name": "GF"}, headers=ann)
    fp_id = fp.json()["floorplan"]["id"]
    created = await client.post(
        f"/api/projects/{pid}/models3d",
        json={"name": "Model", "floorplanId": fp_id, "modelData": SCENE, "settings": {"lod": 2}},
        headers=ann,
    )
    assert created.status_code == 201, created.text
    meta = created.json()["model3d"]
    assert meta["objectCount"] == 4
    assert meta["floorplanId"] == fp_id
    assert meta["settings"] == {"lod": 2}
    url = f"/api/models3d/{meta['id']}"

    got = await client.get(url, headers=ann)
    assert got.headers["etag"] == '"1"'
    assert got.json()["model3d"]["modelData"] == SCENE
    assert (await client.get(url, headers=ann | {"If-None-Match": '"1"'})).status_code == 304

    listing = (await client.get(f"/api/projects/{pid}/models3d", headers=ann)).json()["models3d"]
    assert [m["id"] for m in listing] == [meta["id"]]
    assert "modelData" not in listing[0]

    patched = await client.patch(
        url,
        json={"modelData": {"object": {"children": [{}]}}, "settings": {"lod": None, "q": 1}},
        headers=ann | {"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()["model3d"]
    assert body["version"] == 2
    assert body["objectCount"] == 2
    assert body["settings"] == {"q": 1}
    stale = await client.put(url, json={"modelData": {}}, headers=ann | {"If-Match": '"1"'})
    assert stale.status_code == 412
    unlinked = await client.patch(url, json={"floorplanId": None}, headers=ann)
    assert unlinked.json()["model3d"]["floorplanId"] is None

    same = await client.patch(url, json={"name": "Model"}, headers=ann)
    assert same.json()["changed"] is False
    assert same.json()["model3d"]["version"] == 3

    assert (await client.delete(url, headers=ann | {"If-Match": '"3"'})).status_code == 200
    assert (await client.get(url, headers=ann)).status_code == 404


async def test_model3d_refuses_a_floorplan_of_another_project(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    other = await make_project(client, ann, name="Other")
    fp = await client.post(
        f"/api/projects/{other['id']}/floorplans", json={"name": "x"}, headers=ann
    )
    response = await client.post(
        f"/api/projects/{project['id']}/models3d",
        json={"name": "m", "floorplanId": fp.json()["floorplan"]["id"]},
        headers=ann,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_floorplan"
    bad = await client.post(
        f"/api/projects/{project['id']}/models3d",
        json={"name": "m", "modelData": {"objects": "many"}},
        headers=ann,
    )
    assert bad.status_code == 422
    assert bad.json()["details"]["problems"][0]["path"] == "/objects"
    listing = await client.get(f"/api/projects/{project['id']}/models3d", headers=ann)
    assert listing.json()["models3d"] == []


async def site_of_1000_m2(client: httpx.AsyncClient, ann: Headers, project_id: str) -> float:
    """Give the project a site of about 1000 m² (a ~31.6 m square near the equator); returns
    its computed area."""
    side = 31.6227766 / 111_319.49
    ring = [[0, 0], [side, 0], [side, side], [0, side], [0, 0]]
    site = await client.post(
        "/api/site-analysis",
        json={
            "projectId": project_id,
            "coordinates": {"lat": side / 2, "lng": side / 2},
            "boundary": {"type": "Polygon", "coordinates": [ring]},
            "date": "2026-03-20",
        },
        headers=ann,
    )
    assert site.status_code == 200, site.text
    area: float = site.json()["siteAnalysis"]["siteAreaM2"]
    assert area == pytest.approx(1000, rel=0.01)
    return area


async def test_massing_figures_use_project_height_and_site_area(
    client: httpx.AsyncClient, ann: Headers
) -> None:
    project = await make_project(client, ann, settings={"floorToFloorHeight": 4.0})
    pid = project["id"]
    created = await client.post(
        f"/api/projects/{pid}/massings",
        json={"name": "Study A", "massingData": BLOCKS, "analysis": {"notes": "first"}},
        headers=ann,
    )
    assert created.status_code == 201, created.text
    meta = created.json()["massing"]
    assert meta["volumeM3"] == pytest.approx(2400)
    assert meta["footprintM2"] == pytest.approx(200)
    assert meta["heightM"] == pytest.approx(12)
    assert meta["grossFloorAreaM2"] == pytest.approx(600)  # 3 floors of 4 m
    assert meta["floorAreaRatio"] is None  # no site yet

    area = await site_of_1000_m2(client, ann, pid)

    url = f"/api/massings/{meta['id']}"
    got = (await client.get(url, headers=ann)).json()["massing"]
    assert got["floorAreaRatio"] == round(600 / area, 3)
    assert got["version"] == 2  # the site gave it a ratio: a new representation
    assert got["massingData"] == BLOCKS
    assert got["analysis"] == {"notes": "first"}

    patched = await client.patch(
        url,
        json={
            "massingData": {
                "blocks": [
                    {"id": "a", "footprint": [[0, 0], [10, 0], [10, 10], [0, 10]], "height": 8}
                ]
            }
        },
        headers=ann | {"If-Match": '"2"'},
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()["massing"]
    assert after["version"] == 3
    assert after["grossFloorAreaM2"] == pytest.approx(200)  # 2 floors of 4 m
    assert after["floorAreaRatio"] == round(200 / area, 3)

    analysis = await client.patch(url, json={"analysis": {"shadow": True}}, headers=ann)
    assert analysis.json()["massing"]["version"] == 4
    got = (await client.get(url, headers=ann)).json()["massing"]
    assert got["analysis"] == {"notes": "first", "shadow": True}

    listing = (await client.get(f"/api/projects/{pid}/massings", headers=ann)).json()["massings"]
    assert len(listing) == 1
    assert "massingData" not in listing[0] and "analysis" not in listing[0]

    bad = await client.put(
        url,
        json={
            "massingData": {
                "blocks": [{"footprint": [[0, 0], [1, 1], [1, 0], [0, 1]], "height": 3}]
            }
        },
        headers=ann,
    )
    assert bad.status_code == 422
    assert bad.json()["details"]["problems"][0]["path"] == "/blocks/0/footprint"
    assert (await client.get(url, headers=ann)).json()["massing"]["version"] == 4
    assert (
        await client.put(url, json={"massingData": {}}, headers=ann | {"If-Match": '"3"'})
    ).status_code == 412


async def test_someone_elses_models_and_massings_are_404(
    client: httpx.AsyncClient, ann: Headers, bob: Headers, project: dict
) -> None:
    pid = project["id"]
    model = await client.post(f"/api/projects/{pid}/models3d", json={"name": "m"}, headers=ann)
    massing = await client.post(f"/api/projects/{pid}/massings", json={"name": "m"}, headers=ann)
    for url in (
        f"/api/models3d/{model.json()['model3d']['id']}",
        f"/api/massings/{massing.json()['massing']['id']}",
    ):
        for method in ("GET", "PATCH", "DELETE"):
            body = {"name": "x"} if method == "PATCH" else None
            assert (await client.request(method, url, json=body, headers=bob)).status_code == 404
    for kind in ("models3d", "massings"):
        assert (await client.get(f"/api/projects/{pid}/{kind}", headers=bob)).status_code == 404


async def test_massing_figures_follow_a_change_of_floor_to_floor_height(
    client: httpx.AsyncClient, ann: Headers
) -> None:
    project = await make_project(client, ann, settings={"floorToFloorHeight": 4.0, "u": 1})
    pid = project["id"]
    area = await site_of_1000_m2(client, ann, pid)
    fixed = {
        "blocks": [{"footprint": [[0, 0], [10, 0], [10, 10], [0, 10]], "height": 12, "floors": 2}]
    }
    ids = []
    for name, data in (("by height", BLOCKS), ("fixed floors", fixed)):
        created = await client.post(
            f"/api/projects/{pid}/massings",
            json={"name": name, "massingData": data},
            headers=ann,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["massing"]["id"])

    async def figures(massing_id: str) -> tuple[float, float, int]:
        got = (await client.get(f"/api/massings/{massing_id}", headers=ann)).json()["massing"]
        return got["grossFloorAreaM2"], got["floorAreaRatio"], got["version"]

    assert await figures(ids[0]) == (pytest.approx(600), round(600 / area, 3), 1)

    # Only the setting changes (PATCH of the project): 4 floors of 3 m now fit in 12 m.
    patched = await client.patch(
        f"/api/projects/{pid}", json={"settings": {"floorToFloorHeight": 3.0}}, headers=ann
    )
    assert patched.status_code == 200, patched.text
    # New figures, new version: a client's cached copy (ETag "1") is no longer current.
    assert await figures(ids[0]) == (pytest.approx(800), round(800 / area, 3), 2)
    stale = await client.get(f"/api/massings/{ids[0]}", headers=ann | {"If-None-Match": '"1"'})
    assert stale.status_code == 200
    listing = (await client.get(f"/api/projects/{pid}/massings", headers=ann)).json()
    by_id = {m["id"]: m for m in listing["massings"]}
    assert by_id[ids[0]]["grossFloorAreaM2"] == pytest.approx(800)
    # A block that names its floors does not depend on the height.
    assert by_id[ids[1]]["grossFloorAreaM2"] == pytest.approx(200)

    # Settings without the key: the 3.0 m default, so nothing to change; then 6 m: 2 floors.
    await client.patch(f"/api/projects/{pid}", json={"settings": None}, headers=ann)
    assert await figures(ids[0]) == (pytest.approx(800), round(800 / area, 3), 2)
    await client.patch(
        f"/api/projects/{pid}", json={"settings": {"floorToFloorHeight": 6}}, headers=ann
    )
    assert await figures(ids[0]) == (pytest.approx(400), round(400 / area, 3), 3)
    # The fixed-floors block did not change: same figures, same version.
    assert (await client.get(f"/api/massings/{ids[1]}", headers=ann)).json()["massing"][
        "version"
    ] == 1
    # The next save of the document derives the same figures.
    saved = await client.put(
        f"/api/massings/{ids[0]}", json={"massingData": BLOCKS}, headers=ann | {"If-Match": '"3"'}
    )
    assert saved.json()["changed"] is False
    assert saved.json()["massing"]["grossFloorAreaM2"] == pytest.approx(400)


def decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


async def test_figures_are_rounded_alike_after_a_site_change_and_after_a_save(
    client: httpx.AsyncClient, ann: Headers
) -> None:
    project = await make_project(client, ann, settings={"floorToFloorHeight": 3.1})
    pid = project["id"]
    # A footprint whose area has many decimals: 7.123 x 9.457 m, 4 storeys of 3.1 m.
    blocks = {
        "blocks": [
            {
                "id": "a",
                "footprint": [[0, 0], [7.123, 0], [7.123, 9.457], [0, 9.457]],
                "height": 12.4,
            }
        ]
    }
    created = await client.post(
        f"/api/projects/{pid}/massings", json={"name": "R", "massingData": blocks}, headers=ann
    )
    meta = created.json()["massing"]
    assert meta["footprintM2"] == round(7.123 * 9.457, 2)
    assert meta["grossFloorAreaM2"] == round(4 * 7.123 * 9.457, 2)
    assert decimals(meta["volumeM3"]) <= 2
    area = await site_of_1000_m2(client, ann, pid)
    assert decimals(area) <= 2
    url = f"/api/massings/{meta['id']}"
    after_site = (await client.get(url, headers=ann)).json()["massing"]
    expected = round(meta["grossFloorAreaM2"] / area, 3)
    assert after_site["floorAreaRatio"] == expected
    # A save of the same figures through the massing path gives the same ratio.
    saved = await client.put(
        url, json={"name": "R2", "massingData": blocks}, headers=ann | {"If-Match": '"2"'}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["massing"]["floorAreaRatio"] == expected
