"""The timetable database: SQLAlchemy 2.0 typed models on a plain declarative base.

The base has no Flask in it, so importers, the routing snapshot and the forecasts can work
on an ordinary ``sqlalchemy.orm.Session``; the web layer binds the same metadata through
Flask-SQLAlchemy.

Conventions (see docs/data-model.md):
- Stop times are seconds after midnight of the service day, in the local time of the stop's
  city. They may pass 86,400 (24:00) for overnight and multi-day runs.
- Fares are integer cents (hundredths of the service's currency): sums stay exact.
- Trip-history timestamps are naive UTC datetimes; local times are derived with the city's zone.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import zoneinfo
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from transit.names import fold, latin_keys, squeeze
from transit.words import Words

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ALL_DAYS = 0b1111111  # bit 0 = Monday ... bit 6 = Sunday


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Mode(enum.StrEnum):
    """How a service travels. GTFS route types map onto these."""

    TRAIN = "train"
    FLIGHT = "flight"
    BUS = "bus"
    COACH = "coach"
    FERRY = "ferry"
    TRAM = "tram"
    SUBWAY = "subway"
    CABLE = "cable"
    OTHER = "other"


MODE_VALUES = tuple(m.value for m in Mode)


@functools.cache
def _zone_names() -> frozenset[str]:
    # The database's own zones, less those that are no place ("Factory", "localtime").
    return frozenset(zoneinfo.available_timezones() - {"Factory", "localtime"})


@functools.lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in _zone_names()}


def zone_spelling(typed: str) -> str | None:
    """The IANA name of the zone ``typed`` names in any case ("asia/shanghai" is
    "Asia/Shanghai"), or None: what is stored is always the database's own spelling."""
    return _zones_by_folded_name().get(typed.strip().casefold())


def time_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called ``name``, or None when there is none. Every check of a
    zone someone typed goes through here: only the zone database's names pass, so neither
    a folder of it ("Europe", where ``ZoneInfo`` raises an OSError) nor one of its other
    files ("posixrules") is taken for a zone."""
    if name not in _zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def local_order_applies(zone: str | None, next_zone: str | None) -> bool:
    """Whether a stop in ``next_zone`` may not have an earlier local time than the stop
    before it, in ``zone``: when both are in one zone, or a zone is unknown. Between two
    known zones only the instants count (``timetable.loader.ZoneClock``): a short westward
    leg, Madrid 10:00 to Lisbon 09:20, arrives at an earlier local time than it left."""
    if not zone or not next_zone or zone == next_zone:
        return True
    return time_zone(zone) is None or time_zone(next_zone) is None


def stop_instant(day: dt.date, seconds: int, zone: str) -> dt.datetime:
    """The instant (aware, UTC) of a stop time ``seconds`` on service date ``day`` in
    ``zone``: noon of that day on the zone's clock, minus 12 hours, plus the seconds. This is
    GTFS's rule, which the routing engine follows (``routing.snapshot.service_day_start``);
    it differs from "local midnight plus the time" only on a night the clocks change, where
    it keeps each run as long as its timetable says (a 01:30 call on the spring night is at
    00:30 on the clock still running, an hour before the jump)."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone_named(zone))
    # Through UTC first: arithmetic on an aware local datetime keeps the wall clock.
    return noon.astimezone(dt.UTC) + dt.timedelta(seconds=seconds - 12 * 3600)


def zone_named(name: str | None) -> dt.tzinfo:
    """The IANA time zone ``name``; UTC when it is empty or unknown (a page must not fail
    on a city's bad zone)."""
    return time_zone(name or "UTC") or dt.UTC


# The tables whose ids the API and the pages show: on SQLite an id is never given again once
# its row is deleted (AUTOINCREMENT; PostgreSQL's sequences never do), so that a link, a
# bookmark or an audit entry naming one never leads to another row (migration 0007).
NEVER_REUSED_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class CityNames:
    """The names, codes and other names of cities, to find what a new one would clash with.

    Travellers name a city by its name, its code or one of its other names (aliases), in
    any case (``routing.Snapshot.find_city``), so what they type must name one city: no
    name, code or alias may equal another city's name, code or alias, whatever the case.

    With ``spellings``, also no Latin spelling that finds a city already there: its pinyin,
    its English name (``names.latin_keys``: "Beijing", "Peking" for 北京) or one of its other
    names without spaces and hyphens. A city typed so would take those travellers from the
    city they find now. A city's own pinyin is its own to use ("Suzhou" as another name of
    苏州 settles the pinyin it shares with 宿州). The check does not apply the other way
    round: a Chinese city may join whose pinyin is another city's name, since travellers
    typing that name keep finding the city they find now.
    """

    def __init__(self, cities: Iterable[tuple[Any, ...]] = (), *, spellings: bool = False) -> None:
        self._names: dict[str, str] = {}  # folded name -> name
        self._codes: dict[str, tuple[str, str]] = {}  # folded code -> (name, code)
        self._aliases: dict[str, tuple[str, str]] = {}  # folded alias -> (name, alias)
        # Latin spelling (squeezed) -> the names of the cities it finds; None: not checked.
        self._spelt: dict[str, list[str]] | None = {} if spellings else None
        for name, code, *aliases in cities:
            self.add(name, code, aliases[0] if aliases else ())

    def add(self, name: str, code: str | None, aliases: Iterable[str] | None = ()) -> None:
        self._names.setdefault(fold(name), name)
        if code:
            self._codes.setdefault(fold(code), (name, code))
        for alias in aliases or ():
            self._aliases.setdefault(fold(alias), (name, alias))
        if self._spelt is not None:
            for key in (*latin_keys(name), *(squeeze(alias) for alias in aliases or ())):
                owners = self._spelt.setdefault(key, [])
                if name not in owners:
                    owners.append(name)

    def _spelt_as(self, text: str, own: str | None) -> Words | None:
        """Which cities travellers find by typing ``text`` in Latin letters, unless the city
        called ``own`` is one of them; None if none."""
        key = squeeze(text)
        owners = self._spelt.get(key) if self._spelt is not None else None
        if not owners or (own is not None and key in latin_keys(own)):
            return None
        return Words("'%(text)s' is how travellers type %(owners)s in Latin letters (they "
                     "would get this city instead)", text=text, owners=" / ".join(owners))

    def _taken(self, text: str) -> Words | None:
        """Whose name, code or alias ``text`` already is, in any case; None if no one's."""
        key = fold(text)
        if key in self._names:
            return Words("'%(text)s' is the name of %(owner)s (names are matched in any case)",
                         text=text, owner=self._names[key])
        if key in self._codes:
            return Words("'%(text)s' is the code of %(owner)s (codes are matched in any case)",
                         text=text, owner=self._codes[key][0])
        if key in self._aliases:
            return Words("'%(text)s' is another name of %(owner)s (other names are matched in "
                         "any case)", text=text, owner=self._aliases[key][0])
        return None

    def clashes(
        self,
        name: str | None,
        code: str | None,
        aliases: Iterable[str] | None = None,
        own: str | None = None,
    ) -> list[tuple[str, str]]:
        """Why a city called ``name`` with ``code`` (and other names ``aliases``) may not
        join, as (field, words) pairs; empty when it may. ``own``: the city's name when
        ``name`` is not given (a change of its code or other names alone)."""
        found = self._clashes(name, code, aliases)
        own = name or own
        flagged = {field for field, _ in found}
        for field, text in (("name", name), ("code", code)):
            spelt = self._spelt_as(text, own) if text and field not in flagged else None
            if spelt is not None:
                found.append((field, spelt))
        for alias in aliases or ():
            spelt = self._spelt_as(alias, own) if self._taken(alias) is None else None
            if spelt is not None:
                found.append(("aliases", spelt))
        return found

    def _clashes(
        self, name: str | None, code: str | None, aliases: Iterable[str] | None
    ) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        if name:
            other = self._names.get(fold(name))
            owner = self._codes.get(fold(name))
            alias_of = self._aliases.get(fold(name))
            if other is not None:
                found.append(("name", Words(
                    "a city called '%(other)s' already exists", other=other) if other == name
                    else Words("a city called '%(other)s' already exists (names are matched "
                               "in any case)", other=other)))
            elif owner is not None:
                found.append(("name", Words(
                    "'%(name)s' is the code of %(owner)s (codes are matched in any case: "
                    "travellers typing it get that city)", name=name, owner=owner[0])))
            elif alias_of is not None:
                found.append(("name", Words(
                    "'%(name)s' is another name of %(owner)s (travellers typing it get that "
                    "city)", name=name, owner=alias_of[0])))
        if code:
            owner = self._codes.get(fold(code))
            other = self._names.get(fold(code))
            alias_of = self._aliases.get(fold(code))
            if owner is not None:
                found.append(("code", Words(
                    "code '%(code)s' belongs to %(owner)s; codes are unique whatever their case",
                    code=code, owner=owner[0]) if owner[1] == code
                    else Words("code '%(code)s' belongs to %(owner)s (as '%(spelt)s'); codes are "
                               "unique whatever their case", code=code, owner=owner[0],
                               spelt=owner[1])))
            elif other is not None and other != name:
                found.append(("code", Words(
                    "code '%(code)s' is the name of another city, '%(other)s' (names are "
                    "matched in any case)", code=code, other=other)))
            elif alias_of is not None:
                found.append(("code", Words(
                    "code '%(code)s' is another name of %(owner)s (travellers typing it get "
                    "that city)", code=code, owner=alias_of[0])))
        for alias in aliases or ():
            taken = self._taken(alias)
            if taken is not None:
                found.append(("aliases", taken))
        return found


MAX_ALIASES = 20  # other names a city may have


def alias_problems(name: str, code: str | None, aliases: Iterable[str]) -> list[Words]:
    """What is wrong with a city's own list of other names: one that is its name or code,
    or that the list gives twice (in any case)."""
    problems: list[Words] = []
    own = {fold(name): "name"} | ({fold(code): "code"} if code else {})
    seen: set[str] = set()
    for alias in aliases:
        key = fold(alias)
        if own.get(key) == "name":
            problems.append(Words("'%(alias)s' is already the city's name", alias=alias))
        elif own.get(key) == "code":
            problems.append(Words("'%(alias)s' is already the city's code", alias=alias))
        elif key in seen:
            problems.append(Words("'%(alias)s' is given twice", alias=alias))
        seen.add(key)
    return problems


class City(Base):
    """A city, station or airport: a place where journeys start, end or change."""

    __tablename__ = "cities"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude"
        ),
        CheckConstraint(
            "min_connection_seconds IS NULL OR min_connection_seconds >= 0", name="min_connection"
        ),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # None: use the global default (TRANSIT_MIN_CONNECTION_MINUTES).
    min_connection_seconds: Mapped[int | None] = mapped_column(Integer)
    # Other names travellers type for it ("Canton", "SFO", "Penn Station"), as a JSON list:
    # they find the city as its name does, and no other city may be called so (CityNames).
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")

    stops: Mapped[list[Stop]] = relationship(back_populates="city", passive_deletes="all")

    @property
    def zone(self) -> dt.tzinfo:
        """Its clock: every time at the city is local to it."""
        return zone_named(self.timezone)

    def __repr__(self) -> str:
        return f"<City {self.name}>"


class Transfer(Base):
    """A walking transfer between two different cities/stations (GTFS transfers.txt)."""

    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("from_city_id", "to_city_id"),
        CheckConstraint("min_seconds >= 0", name="min_seconds"),
        CheckConstraint("from_city_id <> to_city_id", name="distinct_cities"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    to_city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    min_seconds: Mapped[int] = mapped_column(Integer)

    from_city: Mapped[City] = relationship(foreign_keys=[from_city_id])
    to_city: Mapped[City] = relationship(foreign_keys=[to_city_id])


class Service(Base):
    """A service as travellers know it: a number, an operator and a mode.

    One number may run several timetable variants (days, seasons, GTFS trips). ``route``
    tells apart services that share operator and number but are different products (a
    flight number flown on two city pairs); it is empty for most services.
    """

    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("operator", "number", "route"),
        CheckConstraint(
            "mode IN (" + ", ".join(f"'{m}'" for m in MODE_VALUES) + ")", name="mode"
        ),
        Index("ix_services_number", "number"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(200), default="")
    route: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str | None] = mapped_column(String(300))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")

    timetables: Mapped[list[Timetable]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Timetable.id",
    )
    fares: Mapped[list[ServiceFare]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Service {self.mode} {self.number}>"


class Calendar(Base):
    """Days of operation: a weekly pattern within validity dates, plus added/removed dates.

    A single-date service is a calendar whose start and end are that date. Calendars are
    shared by the timetables that run on the same days (as GTFS service_ids are).
    """

    __tablename__ = "calendars"
    __table_args__ = (
        CheckConstraint("weekdays >= 0 AND weekdays <= 127", name="weekdays"),
        CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR start_date <= end_date", name="date_order"
        ),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    weekdays: Mapped[int] = mapped_column(Integer, default=ALL_DAYS)
    start_date: Mapped[dt.date | None] = mapped_column(Date)  # None: since ever
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # None: until further notice

    exceptions: Mapped[list[CalendarDate]] = relationship(
        back_populates="calendar",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CalendarDate.date",
    )

    def runs_on(self, day: dt.date) -> bool:
        """True when a service on this calendar has a service day starting on ``day``."""
        for exception in self.exceptions:
            if exception.date == day:
                return exception.added
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day > self.end_date:
            return False
        return bool(self.weekdays >> day.weekday() & 1)


class CalendarDate(Base):
    """A date added to (``added``) or removed from a calendar's pattern."""

    __tablename__ = "calendar_dates"
    __table_args__ = (UniqueConstraint("calendar_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    added: Mapped[bool] = mapped_column(Boolean)

    calendar: Mapped[Calendar] = relationship(back_populates="exceptions")


class Timetable(Base):
    """One timetable variant of a service (a GTFS trip): its calendar and its stops."""

    __tablename__ = "timetables"
    __table_args__ = (UniqueConstraint("service_id", "code"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    # Identifies the variant within its service (GTFS trip_id; "1", "2"... otherwise).
    code: Mapped[str] = mapped_column(String(200))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="RESTRICT"))
    headsign: Mapped[str | None] = mapped_column(String(300))

    service: Mapped[Service] = relationship(back_populates="timetables")
    calendar: Mapped[Calendar] = relationship()
    stops: Mapped[list[Stop]] = relationship(
        back_populates="timetable",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Stop.sequence",
    )

    __mapper_args__ = {"confirm_deleted_rows": False}


class Stop(Base):
    """A call of a timetable variant at a city, in travel order.

    ``arrival``/``departure`` are seconds after the service day's midnight, local to the
    stop's city; the first stop has no arrival and the last no departure. ``fare_cents`` is
    the price of the leg from the previous stop to this one (additive fares).
    """

    __tablename__ = "stops"
    __table_args__ = (
        UniqueConstraint("timetable_id", "sequence"),
        CheckConstraint("sequence >= 0", name="sequence"),
        CheckConstraint("arrival IS NULL OR arrival >= 0", name="arrival"),
        CheckConstraint("departure IS NULL OR departure >= 0", name="departure"),
        CheckConstraint(
            "arrival IS NULL OR departure IS NULL OR arrival <= departure", name="dwell"
        ),
        CheckConstraint("arrival IS NOT NULL OR departure IS NOT NULL", name="has_time"),
        CheckConstraint("fare_cents IS NULL OR fare_cents >= 0", name="fare"),
        Index("ix_stops_city_id", "city_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timetable_id: Mapped[int] = mapped_column(ForeignKey("timetables.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    # RESTRICT: a city cannot vanish from under a timetable; delete its services first.
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="RESTRICT"))
    arrival: Mapped[int | None] = mapped_column(Integer)
    departure: Mapped[int | None] = mapped_column(Integer)
    fare_cents: Mapped[int | None] = mapped_column(Integer)
    boarding: Mapped[bool] = mapped_column(Boolean, default=True)
    alighting: Mapped[bool] = mapped_column(Boolean, default=True)

    timetable: Mapped[Timetable] = relationship(back_populates="stops")
    city: Mapped[City] = relationship(back_populates="stops")


class ServiceFare(Base):
    """An origin-destination price (zone fare) that overrides the additive leg fares."""

    __tablename__ = "service_fares"
    __table_args__ = (
        UniqueConstraint("service_id", "origin_id", "destination_id"),
        CheckConstraint("fare_cents >= 0", name="fare"),
        CheckConstraint("origin_id <> destination_id", name="distinct_cities"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    origin_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    fare_cents: Mapped[int] = mapped_column(Integer)

    service: Mapped[Service] = relationship(back_populates="fares")
    origin: Mapped[City] = relationship(foreign_keys=[origin_id])
    destination: Mapped[City] = relationship(foreign_keys=[destination_id])


class TripRecord(Base):
    """One past run of a service between two cities, as it really happened.

    Times are naive UTC. ``actual_*`` is None where unknown (and always for cancelled runs
    that never left).
    """

    __tablename__ = "trip_records"
    __table_args__ = (
        UniqueConstraint("service_id", "origin_id", "scheduled_departure"),
        CheckConstraint("scheduled_arrival >= scheduled_departure", name="scheduled_order"),
        Index("ix_trip_records_service_date", "service_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    service_date: Mapped[dt.date] = mapped_column(Date)
    origin_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    scheduled_departure: Mapped[dt.datetime] = mapped_column(DateTime)
    scheduled_arrival: Mapped[dt.datetime] = mapped_column(DateTime)
    actual_departure: Mapped[dt.datetime | None] = mapped_column(DateTime)
    actual_arrival: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(64), default="")

    service: Mapped[Service] = relationship()
    origin: Mapped[City] = relationship(foreign_keys=[origin_id])
    destination: Mapped[City] = relationship(foreign_keys=[destination_id])
    stops: Mapped[list[TripRecordStop]] = relationship(
        back_populates="trip",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TripRecordStop.sequence",
    )


class TripRecordStop(Base):
    """Actual times of a past run at an intermediate stop, where they are known."""

    __tablename__ = "trip_record_stops"
    __table_args__ = (UniqueConstraint("trip_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip_records.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    scheduled_arrival: Mapped[dt.datetime | None] = mapped_column(DateTime)
    scheduled_departure: Mapped[dt.datetime | None] = mapped_column(DateTime)
    actual_arrival: Mapped[dt.datetime | None] = mapped_column(DateTime)
    actual_departure: Mapped[dt.datetime | None] = mapped_column(DateTime)

    trip: Mapped[TripRecord] = relationship(back_populates="stops")
    city: Mapped[City] = relationship()


class User(Base):
    """An administrator. Only a salted hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditEntry(Base):
    """Who changed what, and when.

    ``summary`` is the description in English. ``summary_words`` is the same description as
    the message it was made from, so that the admin pages can say it in their reader's
    language: JSON of ``{"msgid": ..., "values": {...}}``, a value being text, a number, such
    a message itself, ``{"msgid": ..., "plural": ..., "n": ...}`` for a count, or
    ``{"list": [...]}``. Rows written before it (migration 0005) have none and are shown as
    written.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_words: Mapped[str | None] = mapped_column(Text)


class DataVersion(Base):
    """A single row of two counters: timetable changes, and changes to anything public.

    ``version`` goes up with every timetable change: routing snapshots (one per worker
    process) compare it to know when to rebuild. ``content_version`` goes up with every
    change that anyone may read without logging in (timetables, trip history, forecasts):
    cached public answers compare it (``transit/web/response_cache.py``).
    """

    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    content_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    content_changed_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())


class ContentChange(Base):
    """What one content version changed: ``service:ID``, ``city:ID`` or ``all``.

    Written in the transaction that bumps ``DataVersion.content_version``; a worker holding
    answers of an older version drops only those that depend on what changed
    (``transit/web/response_cache.py``). Rows of old versions are removed as new ones come.
    """

    __tablename__ = "content_changes"
    __table_args__ = (Index("ix_content_changes_version", "content_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_version: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(40))


class ServiceForecast(Base):
    """A forecast for one run of a service: travel time and arrival delay, with a range.

    Minutes; p10/p50/p90 are the model's 10%, 50% and 90% quantiles. ``scheduled_*`` are
    naive UTC like the trip history.
    """

    __tablename__ = "service_forecasts"
    __table_args__ = (
        UniqueConstraint("service_id", "origin_id", "scheduled_departure"),
        CheckConstraint("travel_p10 <= travel_p50 AND travel_p50 <= travel_p90", name="travel_order"),
        CheckConstraint("delay_p10 <= delay_p50 AND delay_p50 <= delay_p90", name="delay_order"),
        Index("ix_service_forecasts_date", "service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    service_date: Mapped[dt.date] = mapped_column(Date)
    origin_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    scheduled_departure: Mapped[dt.datetime] = mapped_column(DateTime)
    scheduled_arrival: Mapped[dt.datetime] = mapped_column(DateTime)
    travel_p10: Mapped[float] = mapped_column(Float)
    travel_p50: Mapped[float] = mapped_column(Float)
    travel_p90: Mapped[float] = mapped_column(Float)
    delay_p10: Mapped[float] = mapped_column(Float)
    delay_p50: Mapped[float] = mapped_column(Float)
    delay_p90: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    service: Mapped[Service] = relationship()
    origin: Mapped[City] = relationship(foreign_keys=[origin_id])
    destination: Mapped[City] = relationship(foreign_keys=[destination_id])


class AdminSession(Base):
    """An administrator logged in from one browser. The cookie holds a random token and the
    table its SHA-256: logging out deletes the row, so a copy of the cookie opens nothing."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginAttempt(Base):
    """A login attempt, kept to limit repeated failures per user name and address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_lookup", "username", "remote_addr", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(80))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)
