"""What the web layer keeps per version of the timetable: read once, read again only when the
data changed (``transit.db.data_version``). The city directory that the route form, the
suggestions, the city list and the API match what travellers type against lives here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import select

from transit.db import data_version
from transit.models import City
from transit.names import CityLookup
from transit.web.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class CityDirectory:
    """Every city's name, zone, place, code and other names, for the route form (one read
    per data version)."""

    names: list[str]
    zones: list[str]
    lookup: CityLookup  # what a traveller may type for each (transit.names)
    places: dict[str, tuple[float, float]]
    codes: list[str | None]
    aliases: list[list[str]]  # each city's other names, as stored


# Per database: (data version, what was read then).
_per_version: dict[tuple[str, str], tuple[int, Any]] = {}
_per_version_lock = threading.Lock()


def once_per_data_version(name: str, read: Callable[[], T]) -> T:
    """``read()``, done again only when the timetable changed."""
    key = (str(db.engine.url), name)
    version = data_version(db.session())
    held = _per_version.get(key)
    if held is not None and held[0] == version:
        return cast(T, held[1])
    value = read()
    with _per_version_lock:
        _per_version[key] = (version, value)
    return value


def city_directory() -> CityDirectory:
    return once_per_data_version("cities", _read_city_directory)


def _read_city_directory() -> CityDirectory:
    names: list[str] = []
    zones: list[str] = []
    codes: list[str | None] = []
    aliases: list[list[str]] = []
    places: dict[str, tuple[float, float]] = {}
    rows = db.session.execute(
        select(City.name, City.timezone, City.code, City.latitude, City.longitude, City.aliases)
        .order_by(City.id)
    )
    for name, zone, code, lat, lon, others in rows:
        names.append(name)
        zones.append(zone)
        codes.append(code)
        aliases.append(others or [])
        if lat is not None and lon is not None:
            places[name] = (lat, lon)
    return CityDirectory(names, zones, CityLookup(names, codes, aliases), places, codes, aliases)
