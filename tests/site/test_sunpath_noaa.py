"""Sun positions for any date against NOAA's solar calculator.

The reference is NOAA's published algorithm (the equations of its Solar Calculator spreadsheet,
after Meeus, "Astronomical Algorithms"), implemented here on its own, independently of pvlib,
whose SPA computes the positions under test. NOAA's elevation is corrected for refraction with
its own formula; both agree within 0.1° above the horizon. Near and below the horizon the
refraction models part (NOAA says its figures there are uncertain), so the comparison starts
at 1° of elevation; azimuths are compared at every position."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from spacekontext.site.sunpath import sun_path

SITES = {
    "Zurich": (47.3769, 8.5417, "Europe/Zurich"),
    "Sydney": (-33.8688, 151.2093, "Australia/Sydney"),
    "Tromso": (69.6492, 18.9553, "Europe/Oslo"),
}
DATES = (date(2026, 2, 14), date(2026, 8, 3), date(2026, 11, 5))


def noaa_position(moment: datetime, latitude: float, longitude: float) -> tuple[float, float]:
    """(azimuth, refraction-corrected elevation) in degrees, NOAA's spreadsheet step by step."""
    rad, deg = math.radians, math.degrees
    julian_day = moment.timestamp() / 86400 + 2440587.5
    t = (julian_day - 2451545) / 36525  # Julian century
    mean_long = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360
    mean_anom = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    ecc = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    centre = (
        math.sin(rad(mean_anom)) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(rad(2 * mean_anom)) * (0.019993 - 0.000101 * t)
        + math.sin(rad(3 * mean_anom)) * 0.000289
    )
    true_long = mean_long + centre
    omega = 125.04 - 1934.136 * t
    apparent_long = true_long - 0.00569 - 0.00478 * math.sin(rad(omega))
    mean_obliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obliquity = mean_obliquity + 0.00256 * math.cos(rad(omega))
    declination = deg(math.asin(math.sin(rad(obliquity)) * math.sin(rad(apparent_long))))
    y = math.tan(rad(obliquity / 2)) ** 2
    equation_of_time = 4 * deg(
        y * math.sin(2 * rad(mean_long))
        - 2 * ecc * math.sin(rad(mean_anom))
        + 4 * ecc * y * math.sin(rad(mean_anom)) * math.cos(2 * rad(mean_long))
        - 0.5 * y * y * math.sin(4 * rad(mean_long))
        - 1.25 * ecc * ecc * math.sin(2 * rad(mean_anom))
    )
    utc = moment.astimezone(ZoneInfo("UTC"))
    minutes = utc.hour * 60 + utc.minute + utc.second / 60
    true_solar_time = (minutes + equation_of_time + 4 * longitude) % 1440
    # The spreadsheet's IF(tst/4 < 0, tst/4 + 180, tst/4 - 180); tst is never negative here.
    hour_angle = true_solar_time / 4 - 180
    cos_zenith = math.sin(rad(latitude)) * math.sin(rad(declination)) + math.cos(
        rad(latitude)
    ) * math.cos(rad(declination)) * math.cos(rad(hour_angle))
    zenith = deg(math.acos(max(-1.0, min(1.0, cos_zenith))))
    elevation = 90 - zenith
    if elevation > 85:
        refraction = 0.0
    elif elevation > 5:
        te = math.tan(rad(elevation))
        refraction = 58.1 / te - 0.07 / te**3 + 0.000086 / te**5
    elif elevation > -0.575:
        e = elevation
        refraction = 1735 + e * (-518.2 + e * (103.4 + e * (-12.79 + e * 0.711)))
    else:
        refraction = -20.772 / math.tan(rad(elevation))
    elevation += refraction / 3600
    cos_az = (math.sin(rad(latitude)) * math.cos(rad(zenith)) - math.sin(rad(declination))) / (
        math.cos(rad(latitude)) * math.sin(rad(zenith))
    )
    angle = deg(math.acos(max(-1.0, min(1.0, cos_az))))
    azimuth = (angle + 180) % 360 if hour_angle > 0 else (540 - angle) % 360
    return azimuth, elevation


def angle_between(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_the_reference_agrees_with_what_is_known_of_the_sun() -> None:
    # At the June solstice the declination is the obliquity (23.44°): the highest sun of the
    # day at 40° N stands 90 - 40 + 23.44 = 73.44° high (refraction there adds < 0.01°), due
    # south, at about 12:00 local mean solar time (105° W: 19:00 UTC, give or take the
    # equation of time, -1.7 min that day).
    start = datetime(2026, 6, 21, 18, 0, tzinfo=ZoneInfo("UTC"))
    samples = [(*noaa_position(start + timedelta(minutes=m), 40.0, -105.0), m) for m in range(120)]
    azimuth, elevation, minute = max(samples, key=lambda s: s[1])
    assert elevation == pytest.approx(73.44, abs=0.02)
    assert azimuth == pytest.approx(180, abs=1)
    assert 60 <= minute <= 63  # 19:00-19:03 UTC
    # At the equinox on the equator the sun runs along the celestial equator: due west all
    # afternoon. At 17:00 UTC on the meridian 0 the sun is 7.5 min behind the clock (the
    # equation of time): 4 h 52.5 min past noon, 73.1° from the zenith.
    azimuth, elevation = noaa_position(datetime(2026, 3, 20, 17, 0, tzinfo=ZoneInfo("UTC")), 0, 0)
    assert azimuth == pytest.approx(270, abs=0.5)
    assert elevation == pytest.approx(90 - (75 - 7.5 / 4), abs=0.3)


@pytest.mark.parametrize("site", sorted(SITES))
@pytest.mark.parametrize("day", DATES, ids=str)
def test_hourly_positions_within_a_tenth_of_a_degree_of_noaa(site: str, day: date) -> None:
    latitude, longitude, zone = SITES[site]
    path = sun_path(latitude, longitude, zone, day)
    positions = path["day"]["positions"]
    assert path["day"]["intervalMinutes"] == 60
    assert len(positions) == 24
    compared = 0
    for position in positions:
        moment = datetime.fromisoformat(position["time"])
        assert moment.date() == day  # local times of the requested date
        azimuth, elevation = noaa_position(moment, latitude, longitude)
        assert angle_between(position["azimuthDeg"], azimuth) <= 0.1, position
        if elevation >= 1:
            assert position["elevationDeg"] == pytest.approx(elevation, abs=0.1), position
            compared += 1
    if not path["polarNight"]:
        assert compared >= 3


def test_ten_minute_positions_on_request() -> None:
    latitude, longitude, zone = SITES["Zurich"]
    path = sun_path(latitude, longitude, zone, date(2026, 8, 3), interval_minutes=10)
    positions = path["day"]["positions"]
    assert path["day"]["intervalMinutes"] == 10
    assert len(positions) == 144
    assert positions[1]["time"] == "2026-08-03T00:10:00+02:00"
    for position in positions[::7]:
        azimuth, elevation = noaa_position(
            datetime.fromisoformat(position["time"]), latitude, longitude
        )
        assert angle_between(position["azimuthDeg"], azimuth) <= 0.1
        if elevation >= 1:
            assert position["elevationDeg"] == pytest.approx(elevation, abs=0.1)
    # The solstices and equinoxes stay beside the requested date.
    assert path["seasons"]["juneSolstice"]["date"] == "2026-06-21"
    assert len(path["seasons"]["juneSolstice"]["hourly"]) == 24


def test_a_daylight_saving_day_has_23_hours_of_real_instants() -> None:
    latitude, longitude, zone = SITES["Zurich"]
    positions = sun_path(latitude, longitude, zone, date(2026, 3, 29))["day"]["positions"]
    assert len(positions) == 23
    assert positions[2]["time"] == "2026-03-29T03:00:00+02:00"


def test_polar_day_and_polar_night_have_a_flag_and_no_sunrise() -> None:
    latitude, longitude, zone = SITES["Tromso"]
    summer = sun_path(latitude, longitude, zone, date(2026, 6, 21))
    assert summer["polarDay"] is True and summer["polarNight"] is False
    assert summer["sunrise"] is None and summer["sunset"] is None
    assert summer["dayLengthHours"] == 24
    assert min(p["elevationDeg"] for p in summer["day"]["positions"]) > 0
    winter = sun_path(latitude, longitude, zone, date(2026, 12, 21))
    assert winter["polarNight"] is True and winter["polarDay"] is False
    assert winter["sunrise"] is None and winter["sunset"] is None
    assert winter["dayLengthHours"] == 0
    assert max(p["elevationDeg"] for p in winter["day"]["positions"]) < 0
    ordinary = sun_path(latitude, longitude, zone, date(2026, 2, 14))
    assert ordinary["polarDay"] is False and ordinary["polarNight"] is False
    assert ordinary["sunrise"] is not None
