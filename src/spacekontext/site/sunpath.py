"""Sun path of a site with pvlib (NREL's Solar Position Algorithm).

For a date in the site's time zone: sunrise, sunset and solar noon (transit) with the sun's
elevation at noon and the day length, and the sun's azimuth and apparent elevation (refraction
included) through that day, every hour or, on request, every 10, 15 or 30 minutes (`day`). Beside
it, for the year of that date, the positions at every whole hour of the two solstices and the two
equinoxes. Those four days are taken as 20 March, 21 June, 22 September and 21 December: the
astronomical dates move by at most a day, which changes the sun's position by far less than a
degree. Names are by month so they read the same in both hemispheres.

Polar day and polar night have no sunrise or sunset: those are null, `polarDay` or `polarNight`
is true, and the day length is 24 or 0 hours. Times are local, with their UTC offset; a day
with a daylight-saving change has 23 or 25 hours of positions (each a real instant)."""

from __future__ import annotations

import functools
import math
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pvlib

from spacekontext.errors import Invalid

KEY_DAYS = (
    ("marchEquinox", 3, 20),
    ("juneSolstice", 6, 21),
    ("septemberEquinox", 9, 22),
    ("decemberSolstice", 12, 21),
)


# pandas' nanosecond timestamps, which pvlib computes with, reach from 1677-09-21 to
# 2262-04-11: whole years inside that, so the year's four key days fit in any time zone.
FIRST_DAY = date(1678, 1, 1)
LAST_DAY = date(2261, 12, 31)


def check_day(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(
            f"sun paths are computed for dates from {FIRST_DAY} to {LAST_DAY}",
            code="date_out_of_range",
            details={"field": "date", "min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat()},
        )


@functools.cache
def _finder() -> Any:
    # Loading the boundary data takes ~0.2 s: once per process, on first use.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def timezone_for(latitude: float, longitude: float) -> str:
    """The IANA time zone at the coordinates (timezonefinder's offline boundary data); at sea
    or where the data has no zone, the nautical zone of the longitude."""
    name = _finder().timezone_at(lat=latitude, lng=longitude)
    if isinstance(name, str) and is_timezone(name):
        return name
    offset = round(longitude / 15)
    # POSIX sign convention: Etc/GMT-1 is one hour AHEAD of UTC.
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    stamp: pd.Timestamp = value
    text: str = stamp.floor("s").isoformat()
    return text


def _round(value: float) -> float:
    return round(float(value), 3)


INTERVALS_MINUTES = (10, 15, 30, 60)


def _positions(latitude: float, longitude: float, stamps: pd.DatetimeIndex) -> list[dict[str, Any]]:
    positions = pvlib.solarposition.get_solarposition(stamps, latitude, longitude)
    return [
        {
            "time": _iso(stamp),
            "azimuthDeg": _round(azimuth),
            "elevationDeg": _round(elevation),
        }
        for stamp, azimuth, elevation in zip(
            positions.index, positions["azimuth"], positions["apparent_elevation"], strict=True
        )
    ]


def _day_instants(timezone: str, day: date, interval_minutes: int) -> pd.DatetimeIndex:
    """Every `interval_minutes` from local midnight to the next, as real instants (a
    daylight-saving day is 23 or 25 hours long)."""
    start = pd.Timestamp(day.isoformat()).tz_localize(
        timezone, nonexistent="shift_forward", ambiguous=False
    )
    end = pd.Timestamp((day + timedelta(days=1)).isoformat()).tz_localize(
        timezone, nonexistent="shift_forward", ambiguous=False
    )
    return pd.date_range(start, end, freq=f"{interval_minutes}min", inclusive="left")


def sun_path(
    latitude: float, longitude: float, timezone: str, day: date, interval_minutes: int = 60
) -> dict[str, Any]:
    if interval_minutes not in INTERVALS_MINUTES:
        raise ValueError(f"interval_minutes must be one of {INTERVALS_MINUTES}")
    check_day(day)
    midnight = pd.DatetimeIndex([pd.Timestamp(day.isoformat()).tz_localize(timezone)])
    times = pvlib.solarposition.sun_rise_set_transit_spa(midnight, latitude, longitude).iloc[0]
    transit = times["transit"]
    at_noon = pvlib.solarposition.get_solarposition(
        pd.DatetimeIndex([transit]), latitude, longitude
    ).iloc[0]
    noon_elevation = float(at_noon["apparent_elevation"])
    sunrise, sunset = times["sunrise"], times["sunset"]
    polar = pd.isna(sunrise) or pd.isna(sunset)
    if polar:
        sunrise = sunset = None
        day_length = 24.0 if noon_elevation > 0 else 0.0
    else:
        day_length = (sunset - sunrise).total_seconds() / 3600

    hours = pd.DatetimeIndex(
        [
            pd.Timestamp(year=day.year, month=month, day=dom, hour=hour).tz_localize(
                timezone, nonexistent="shift_forward", ambiguous=False
            )
            for _, month, dom in KEY_DAYS
            for hour in range(24)
        ]
    )
    positions = _positions(latitude, longitude, hours)
    seasons: dict[str, Any] = {}
    for index, (name, month, dom) in enumerate(KEY_DAYS):
        seasons[name] = {
            "date": date(day.year, month, dom).isoformat(),
            "hourly": positions[index * 24 : (index + 1) * 24],
        }
    return {
        "date": day.isoformat(),
        "timezone": timezone,
        "sunrise": _iso(sunrise),
        "sunset": _iso(sunset),
        "solarNoon": _iso(transit),
        "solarNoonElevationDeg": _round(noon_elevation),
        "dayLengthHours": _round(day_length) if math.isfinite(day_length) else None,
        "polarDay": bool(polar and noon_elevation > 0),
        "polarNight": bool(polar and noon_elevation <= 0),
        "day": {
            "date": day.isoformat(),
            "intervalMinutes": interval_minutes,
            "positions": day_track(latitude, longitude, timezone, day, interval_minutes),
        },
        "seasons": seasons,
    }


def day_track(
    latitude: float, longitude: float, timezone: str, day: date, interval_minutes: int = 60
) -> list[dict[str, Any]]:
    """The sun's position through one day (local time) every `interval_minutes`, in the shape
    of a season's `hourly` list."""
    return _positions(latitude, longitude, _day_instants(timezone, day, interval_minutes))
