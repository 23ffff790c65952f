"""The console's drawings and figures: the sun-path polar diagram, the site outline, and the
percentiles of the ops page read from Prometheus histogram buckets."""

from __future__ import annotations

import math
import re

import pytest

from spacekontext.web.filters import boundary_svg, file_size
from spacekontext.web.opsdata import bucket_quantile_ms, metrics_snapshot
from spacekontext.web.sunpath import CENTRE, RADIUS, legend, polar_diagram

LATENCY = "spacekontext_http_request_duration_seconds"


def hourly(*points: tuple[float, float]) -> list[dict[str, float]]:
    return [{"azimuthDeg": a, "elevationDeg": e} for a, e in points]


def test_polar_diagram_puts_the_zenith_in_the_centre_and_north_up() -> None:
    track = hourly((90, -5), (90, 1e-9 + 0.001), (180, 89.999), (270, 45), (270, -1))
    svg = str(polar_diagram({"date": "2026-06-21", "seasons": {}}, track))
    assert svg.startswith("<svg") and "Sun path for 2026-06-21" in svg
    # One run of the three points above the horizon; dots at each.
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(lines) == 1
    points = [tuple(map(float, p.split(","))) for p in lines[0].split()]
    east, south_high, west = points
    assert east == pytest.approx((CENTRE + RADIUS, CENTRE), abs=0.1)  # horizon, east
    assert south_high == pytest.approx((CENTRE, CENTRE), abs=0.1)  # near the zenith
    r = RADIUS / 2
    assert west == pytest.approx((CENTRE - r, CENTRE), abs=0.1)  # 45° up in the west
    assert svg.count('r="2.5"') == 3


def test_polar_diagram_splits_a_curve_at_the_horizon_and_escapes_the_date() -> None:
    season = hourly((80, 5), (100, 10), (120, -3), (240, 4), (260, 2))
    svg = str(polar_diagram({"date": "<b>", "seasons": {"juneSolstice": {"hourly": season}}}))
    assert len(re.findall("<polyline", svg)) == 2
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert legend({"seasons": {"juneSolstice": {}, "marchEquinox": {}}}) == [
        ("June solstice", "june"),
        ("Equinoxes", "equinox"),
    ]


def test_boundary_outline_keeps_the_shape_north_up() -> None:
    # A plot twice as long north-south as east-west (in metres, at 51.5° N).
    dx = 50 / (111_320 * math.cos(math.radians(51.5)))
    dy = 100 / 110_540
    ring = [[0, 51.5], [dx, 51.5], [dx, 51.5 + dy], [0, 51.5 + dy], [0, 51.5]]
    svg = str(
        boundary_svg({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}})
    )
    coords = re.search(r'points="([^"]+)"', svg)
    assert coords is not None
    xs, ys = zip(*(map(float, p.split(",")) for p in coords.group(1).split()), strict=True)
    assert (max(ys) - min(ys)) == pytest.approx(2 * (max(xs) - min(xs)), rel=0.01)
    assert "about 100 m across" in svg
    assert boundary_svg({"type": "Point", "coordinates": [0, 0]}) is None
    assert boundary_svg(None) is None


def test_bucket_quantiles_interpolate_like_histogram_quantile() -> None:
    buckets = {0.01: 50.0, 0.1: 90.0, 1.0: 100.0, math.inf: 100.0}
    assert bucket_quantile_ms(buckets, 0.5) == pytest.approx(10.0)
    assert bucket_quantile_ms(buckets, 0.7) == pytest.approx(55.0)
    assert bucket_quantile_ms(buckets, 0.99) == pytest.approx(910.0)
    assert bucket_quantile_ms({0.1: 0.0, math.inf: 0.0}, 0.5) is None
    assert bucket_quantile_ms({0.5: 1.0, math.inf: 3.0}, 0.99) == pytest.approx(500.0)


def test_metrics_snapshot_sums_routes_and_reads_pools() -> None:
    exposition = "\n".join(
        [
            "# TYPE spacekontext_http_requests_total counter",
            'spacekontext_http_requests_total{route="/app",method="GET",status="200"} 3',
            'spacekontext_http_requests_total{route="/app",method="GET",status="503"} 1',
            "# TYPE spacekontext_http_request_duration_seconds histogram",
            f'{LATENCY}_bucket{{route="/app",method="GET",le="0.01"}} 2',
            f'{LATENCY}_bucket{{route="/app",method="GET",le="+Inf"}} 4',
            "# TYPE spacekontext_db_pool_in_use gauge",
            'spacekontext_db_pool_in_use{role="primary"} 2',
            "# TYPE spacekontext_cache_lookups_total counter",
            'spacekontext_cache_lookups_total{backend="memory",result="hit"} 9',
            'spacekontext_cache_lookups_total{backend="memory",result="miss"} 1',
            "",
        ]
    )
    snapshot = metrics_snapshot(exposition)
    (route,) = snapshot.routes
    assert (route.key, route.count, route.errors) == ("GET /app", 4.0, 1.0)
    assert route.quantile_ms(0.5) == pytest.approx(10.0)
    assert snapshot.pool == {"primary": {"in_use": 2.0}}
    assert snapshot.cache_hit_ratio == pytest.approx(0.9)
    assert snapshot.replica_read_share is None


@pytest.mark.parametrize(
    ("size", "text"),
    [(512, "512 bytes"), (256 * 1024, "256 KB"), (int(1.5 * 1024**2), "1.5 MB")],
)
def test_file_sizes_read_as_people_write_them(size: int, text: str) -> None:
    assert file_size(size) == text
