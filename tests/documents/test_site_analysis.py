from __future__ import annotations

from datetime import date, datetime

import httpx
import pytest

from spacekontext.site.geodesy import site_area_m2
from spacekontext.site.sunpath import sun_path, timezone_for

Headers = dict[str, str]
ZURICH = (47.3769, 8.5417)


def test_zurich_on_the_june_solstice() -> None:
    zone = timezone_for(*ZURICH)
    assert zone == "Europe/Zurich"
    path = sun_path(*ZURICH, zone, date(2026, 6, 21))
    noon = datetime.fromisoformat(path["solarNoon"])
    assert noon.utcoffset() is not None and noon.utcoffset().total_seconds() == 7200
    assert (noon.hour, noon.minute) in ((13, 27), (13, 28))
    assert path["solarNoonElevationDeg"] == pytest.approx(66.1, abs=0.1)
    sunrise = datetime.fromisoformat(path["sunrise"])
    assert (sunrise.hour, sunrise.minute) in ((5, 28), (5, 29), (5, 30))
    assert path["dayLengthHours"] == pytest.approx(16.0, abs=0.1)
    june = path["seasons"]["juneSolstice"]["hourly"]
    assert len(june) == 24
    # Whole hours miss solar noon by up to half an hour: a little below the noon elevation.
    highest = max(h["elevationDeg"] for h in june)
    assert path["solarNoonElevationDeg"] - 1.0 < highest < path["solarNoonElevationDeg"]
    december = path["seasons"]["decemberSolstice"]["hourly"]
    assert max(h["elevationDeg"] for h in december) == pytest.approx(19.2, abs=1.0)
    march = path["seasons"]["marchEquinox"]
    assert march["date"] == "2026-03-20"
    # Around noon the sun is due south in the northern hemisphere.
    noonish = next(h for h in june if h["time"].startswith("2026-06-21T13:00"))
    assert 150 < noonish["azimuthDeg"] < 200


def test_polar_day_has_no_sunrise() -> None:
    path = sun_path(78.22, 15.65, timezone_for(78.22, 15.65), date(2026, 6, 21))
    assert path["sunrise"] is None and path["sunset"] is None
    assert path["dayLengthHours"] == 24.0


def test_timezone_at_sea_falls_back_to_the_nautical_zone() -> None:
    assert timezone_for(0.0, -150.0) == "Etc/GMT+10"


def test_geodesic_area_of_a_known_plot() -> None:
    # One arc-minute square at 47°N: geodesic area from Karney's algorithm vs the planar
    # estimate on the local radii of curvature (agrees to well under 0.1 % at this size).
    d = 1 / 60
    ring = [[8.5, 47.0], [8.5 + d, 47.0], [8.5 + d, 47.0 + d], [8.5, 47.0 + d], [8.5, 47.0]]
    area = site_area_m2({"type": "Polygon", "coordinates": [ring]})
    assert area == pytest.approx(1853.3 * 1265.5, rel=2e-3)
    # Orientation does not matter; a hole is subtracted.
    reversed_area = site_area_m2({"type": "Polygon", "coordinates": [list(reversed(ring))]})
    assert reversed_area == pytest.approx(area)
    h = d / 4
    hole = [
        [8.5 + h, 47 + h],
        [8.5 + 2 * h, 47 + h],
        [8.5 + 2 * h, 47 + 2 * h],
        [8.5 + h, 47 + 2 * h],
        [8.5 + h, 47 + h],
    ]
    with_hole = site_area_m2(
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring, hole]}}
    )
    assert with_hole == pytest.approx(area * 15 / 16, rel=1e-3)


async def test_site_upsert_and_read(
    client: httpx.AsyncClient, ann: Headers, bob: Headers, project: dict
) -> None:
    pid = project["id"]
    ring = [[8.54, 47.37], [8.541, 47.37], [8.541, 47.371], [8.54, 47.371], [8.54, 47.37]]
    body = {
        "projectId": pid,
        "coordinates": {"lat": ZURICH[0], "lng": ZURICH[1]},
        "boundary": {"type": "Polygon", "coordinates": [ring]},
        "scale": 1.5,
        "rotation": 12.0,
        "date": "2026-06-21",
        "weather": {"source": "client"},
    }
    created = await client.post("/api/site-analysis", json=body, headers=ann)
    assert created.status_code == 200, created.text
    site = created.json()["siteAnalysis"]
    assert site["timezone"] == "Europe/Zurich"
    assert site["siteAreaM2"] == pytest.approx(8_400, rel=0.02)
    assert site["rotation"] == 12.0 and site["scale"] == 1.5
    assert site["sunPath"]["solarNoon"].startswith("2026-06-21T13:27")
    assert site["weather"] == {"source": "client"}

    # An update without a boundary keeps the stored boundary and area.
    moved = await client.post(
        "/api/site-analysis",
        json={"projectId": pid, "coordinates": {"lat": 47.0, "lng": 8.0}, "date": "2026-12-21"},
        headers=ann,
    )
    assert moved.status_code == 200
    again = (await client.get(f"/api/site-analysis/{pid}", headers=ann)).json()["siteAnalysis"]
    assert again["id"] == site["id"]
    assert again["latitude"] == 47.0
    assert again["siteAreaM2"] == site["siteAreaM2"]
    assert again["sunPath"]["date"] == "2026-12-21"
    other_day = await client.get(f"/api/site-analysis/{pid}?date=2026-06-21", headers=ann)
    assert other_day.json()["siteAnalysis"]["sunPath"]["date"] == "2026-06-21"

    assert (await client.get(f"/api/site-analysis/{pid}", headers=bob)).status_code == 404
    stolen = await client.post("/api/site-analysis", json=body, headers=bob)
    assert stolen.status_code == 404


async def test_a_site_read_sends_the_stored_data_as_the_save_answered_it(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    # The read sends the site's data as the text PostgreSQL holds (json columns), without a
    # parse and re-encode: byte for byte what the save answered from its model.
    body = {
        "projectId": project["id"],
        "coordinates": {"lat": ZURICH[0], "lng": ZURICH[1]},
        "date": "2026-06-21",
        "weatherData": {"source": "client", "hourly": [{"t": 1, "temp": -3.25e-7}], "ü": "ß"},
        "topography": {"elevations": [[1.5, 2, None]]},
        "analysisResults": {"far": 2.5},
    }
    saved = await client.post("/api/site-analysis", json=body, headers=ann)
    assert saved.status_code == 200, saved.text
    read = await client.get(f"/api/site-analysis/{project['id']}", headers=ann)
    assert read.status_code == 200
    assert read.content == saved.content
    site = read.json()["siteAnalysis"]
    assert site["weatherData"] == site["weather"] == body["weatherData"]
    assert site["sunPathData"] == site["sunPath"] and site["contextData"] is None


async def test_site_defaults_to_today_in_the_site_zone(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    response = await client.post(
        "/api/site-analysis",
        json={"projectId": project["id"], "coordinates": {"lat": 35.68, "lng": 139.69}},
        headers=ann,
    )
    path = response.json()["siteAnalysis"]["sunPath"]
    assert path["timezone"] == "Asia/Tokyo"
    from zoneinfo import ZoneInfo

    assert path["date"] == datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"coordinates": {"lat": 91, "lng": 8}}, "invalid_coordinates"),
        ({"coordinates": {"lat": 47, "lng": -180.5}}, "invalid_coordinates"),
        (
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [[[8, 47], [8.1, 47], [8.1, 47.1], [8, 47.1]]],
                }
            },
            "unclosed_ring",
        ),
        (
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [[[8, 47], [8.1, 95], [8.1, 47.1], [8, 47]]],
                }
            },
            "invalid_coordinates",
        ),
        (
            {
                "boundary": {
                    "type": "Polygon",
                    "coordinates": [[[8, 47], [8.1, 47.1], [8.1, 47], [8, 47.1], [8, 47]]],
                }
            },
            "invalid_boundary",
        ),
        ({"boundary": {"type": "Point", "coordinates": [8, 47]}}, "invalid_boundary"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
    ],
)
async def test_bad_sites_are_400_and_change_nothing(
    client: httpx.AsyncClient, ann: Headers, project: dict, change: dict, code: str
) -> None:
    body = {"projectId": project["id"], "coordinates": {"lat": 47, "lng": 8}} | change
    response = await client.post("/api/site-analysis", json=body, headers=ann)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert (await client.get(f"/api/site-analysis/{project['id']}", headers=ann)).status_code == 404


async def test_the_web_clients_site_save_and_load(
    client: httpx.AsyncClient, ann: Headers, bob: Headers, project: dict
) -> None:
    """SiteAnalysisService.save as the client sends it: the centre, boundary and areas inside
    `coordinates`, a FeatureCollection as the boundary; load reads them back."""
    pid = project["id"]
    ring = [[8.54, 47.37], [8.541, 47.37], [8.541, 47.371], [8.54, 47.371], [8.54, 47.37]]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    body = {
        "projectId": pid,
        "coordinates": {
            "center": {"lat": 47.3705, "lng": 8.5405},
            "boundary": polygon,
            "areaSqFeet": 90_000.0,
            "areaSqMeters": 8_361.27,
            "scale": None,
            "rotation": 0,
        },
        "boundary": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": polygon}],
        },
    }
    saved = await client.post("/api/site-analysis", json=body, headers=ann)
    assert saved.status_code == 200, saved.text
    loaded = await client.get(f"/api/site-analysis/{pid}", headers=ann)
    site = loaded.json()["siteAnalysis"]
    for key in ("sunPathData", "weatherData", "topographyData", "contextData", "analysisResults"):
        assert key in site
    assert site["sunPathData"] == site["sunPath"] and site["sunPathData"]["sunrise"]
    coordinates = site["coordinates"]
    assert coordinates["center"] == {"lat": 47.3705, "lng": 8.5405}
    assert (coordinates["lat"], coordinates["lng"]) == (47.3705, 8.5405)
    assert coordinates["areaSqFeet"] == 90_000.0 and coordinates["areaSqMeters"] == 8_361.27
    assert coordinates["boundary"] == polygon
    assert site["boundary"]["type"] == "FeatureCollection"
    assert site["siteAreaM2"] == pytest.approx(8_400, rel=0.02)
    assert site["rotation"] == 0

    # Our own shape reads back with the client's keys too (the derived area).
    ours = await client.post(
        "/api/site-analysis",
        json={"projectId": pid, "coordinates": {"lat": 47.0, "lng": 8.0}},
        headers=ann,
    )
    coordinates = ours.json()["siteAnalysis"]["coordinates"]
    assert coordinates["center"] == {"lat": 47.0, "lng": 8.0}
    assert coordinates["areaSqMeters"] == pytest.approx(8_400, rel=0.02)
    assert coordinates["areaSqFeet"] == pytest.approx(8_400 * 10.7639, rel=0.02)

    bad = await client.post(
        "/api/site-analysis", json={"projectId": pid, "coordinates": {}}, headers=ann
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "Invalid site analysis data"
    # Someone else's project: 404, as a missing one.
    stolen = await client.post("/api/site-analysis", json=body, headers=bob)
    assert stolen.status_code == 404
    assert (await client.get(f"/api/site-analysis/{pid}", headers=bob)).status_code == 404


async def test_sun_path_of_any_date_every_ten_minutes_on_request(
    client: httpx.AsyncClient, ann: Headers, project: dict
) -> None:
    pid = project["id"]
    body = {"projectId": pid, "coordinates": {"lat": ZURICH[0], "lng": ZURICH[1]}}
    body["date"] = "2026-04-02"
    created = (await client.post("/api/site-analysis", json=body, headers=ann)).json()
    stored = created["siteAnalysis"]["sunPath"]
    assert stored["day"]["date"] == "2026-04-02"
    assert stored["day"]["intervalMinutes"] == 60
    assert len(stored["day"]["positions"]) == 24
    assert stored["polarDay"] is False and stored["polarNight"] is False

    fine = await client.get(f"/api/site-analysis/{pid}?date=2026-10-13&interval=10", headers=ann)
    assert fine.status_code == 200, fine.text
    path = fine.json()["siteAnalysis"]["sunPath"]
    assert path["day"]["date"] == "2026-10-13"
    assert path["day"]["intervalMinutes"] == 10
    assert len(path["day"]["positions"]) == 144
    assert path["day"]["positions"][0]["time"] == "2026-10-13T00:00:00+02:00"
    assert set(path["seasons"]) == {
        "marchEquinox",
        "juneSolstice",
        "septemberEquinox",
        "decemberSolstice",
    }
    # The interval alone: the stored date, finer.
    same_day = await client.get(f"/api/site-analysis/{pid}?interval=30", headers=ann)
    assert same_day.json()["siteAnalysis"]["sunPath"]["day"]["date"] == "2026-04-02"
    assert len(same_day.json()["siteAnalysis"]["sunPath"]["day"]["positions"]) == 48
    refused = await client.get(f"/api/site-analysis/{pid}?interval=7", headers=ann)
    assert refused.status_code in (400, 422)
    assert refused.json()["success"] is False
