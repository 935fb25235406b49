"""What the timetable pages show, read from the database in a few set-based queries.

Plain SQLAlchemy on a session (no Flask), so the board and service views can be tested and
timed on their own. Large feeds (the NYC feed has 86k stops and millions of stop times) are
the reason every view here fetches rows in bulk and never walks relationships row by row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

# The calendars in words are the core's (the API says them too); imported here for the views.
from transit.calendar_days import (  # noqa: F401  (re-exported)
    MAX_DESCRIBED_DAYS,
    CalendarDays,
    CalendarSummary,
    describe_calendar,
    running_dates,
)
from transit.calendar_days import finite_range as _finite_range
from transit.clocks import repeated_hour_mark
from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    zone_named,
)
from transit.names import plain

DAY = 86400
# SQLite accepts 32,766 bound parameters; smaller chunks keep every IN list well inside it.
CHUNK = 900


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def load_calendars(
    session: Session, calendar_ids: Iterable[int], only_dates: Iterable[dt.date] | None = None
) -> dict[int, CalendarDays]:
    """Calendars by id with their exceptions (restricted to ``only_dates`` when given)."""
    ids = sorted(set(calendar_ids))
    rows: dict[int, tuple[int, dt.date | None, dt.date | None]] = {}
    added: dict[int, list[dt.date]] = defaultdict(list)
    removed: dict[int, list[dt.date]] = defaultdict(list)
    dates = sorted(set(only_dates)) if only_dates is not None else None
    for chunk in _chunks(ids):
        for cid, weekdays, start, end in session.execute(
            select(Calendar.id, Calendar.weekdays, Calendar.start_date, Calendar.end_date).where(
                Calendar.id.in_(chunk)
            )
        ):
            rows[cid] = (weekdays, start, end)
        stmt = select(CalendarDate.calendar_id, CalendarDate.date, CalendarDate.added).where(
            CalendarDate.calendar_id.in_(chunk)
        )
        if dates is not None:
            stmt = stmt.where(CalendarDate.date.in_(dates))
        for cid, day, is_added in session.execute(stmt.order_by(CalendarDate.date)):
            (added if is_added else removed)[cid].append(day)
    return {
        cid: CalendarDays(w, s, e, tuple(added.get(cid, ())), tuple(removed.get(cid, ())))
        for cid, (w, s, e) in rows.items()
    }


# --- Local times across zones ---------------------------------------------------------------
#
# docs/routing.md, "Time": a stop time t on service date D is the instant "D at 12:00 in the
# stop's city's zone, minus 12 hours, plus t". Pages that turn stop times into instants
# (journey times, boards) follow the same rule as the routing engine.


@lru_cache(maxsize=4096)
def _noon_offsets(zone: str, year: int) -> tuple[int, ...]:
    """The UTC offset of ``zone`` (seconds) at noon of each day of ``year``."""
    tz = zone_named(zone)
    day = dt.date(year, 1, 1)
    one = dt.timedelta(days=1)
    values = []
    while day.year == year:
        offset = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
        values.append(int(offset.total_seconds()) if offset is not None else 0)
        day += one
    return tuple(values)


def noon_offset(zone: str, day: dt.date) -> int:
    """The UTC offset of ``zone`` at noon of ``day``, in seconds."""
    return _noon_offsets(zone, day.year)[day.timetuple().tm_yday - 1]


EPOCH = dt.date(1970, 1, 1)


def service_day_start(day: dt.date, zone: str) -> int:
    """Unix seconds of service date ``day``'s reference midnight in ``zone``: noon minus 12
    hours (``transit.routing.snapshot.service_day_start``)."""
    return (day - EPOCH).days * DAY - noon_offset(zone, day)


# --- City boards --------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    """One departure or arrival at a city on the board's date."""

    time: int  # seconds after midnight of the board's date, local to the city
    service_id: int
    number: str
    mode: str
    operator: str
    service_name: str | None
    headsign: str | None
    timetable_id: int
    other_city_id: int | None  # where it goes (departures) or comes from (arrivals)
    other_city: str | None
    started_days_before: int  # 1: the run left its first stop the day before
    route: str = ""  # the line riders know (GTFS route_short_name), "" where none
    # In the hour the clocks repeat when they go back, the clock time alone is ambiguous:
    # the zone's abbreviation ("EDT", "EST"; "UTC-03" where it has none) tells the two
    # 01:30s apart, and ``after_change`` says which one this is. "" on any other call.
    zone_mark: str = ""
    after_change: bool = False

    @property
    def line(self) -> str:
        """The line to show beside the service number ("" where none, or the same)."""
        return "" if self.route == self.number else self.route


def _local_clock(zone: str, day: dt.date) -> tuple[int, int, bool]:
    """The instants (Unix seconds) where ``day`` begins and ends on the clocks of ``zone``,
    and whether its clocks run evenly from one to the other (no change that day)."""
    tz = zone_named(zone)
    begin = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    low, high = int(begin.timestamp()), int(end.timestamp())
    even = high - low == DAY and begin.utcoffset() == end.utcoffset()
    return low, high, even


def city_board(
    session: Session,
    city_id: int,
    day: dt.date,
    kind: str = "departures",
    modes: Iterable[str] | None = None,
) -> list[BoardRow]:
    """Departures (or arrivals) at a city whose local time falls on ``day``, in time order.

    A call at time ``t`` of the service day ``s`` happens at the instant "``s`` at noon
    minus 12 hours, plus ``t``" in the city's zone (docs/routing.md, "Time"): the engine's
    rule, so that the board and the route planner show the same run at the same time. On
    days without a clock change that is ``s + t // 86400`` at ``t % 86400``: calls after
    midnight of a service that started the day before belong to this board, and the
    calendar is asked about the service day, not the calendar day of the call. On the days
    the clocks change, the time shown is the local clock time of that instant (a call at
    01:30 on the night the clocks go forward is at 00:30, as "noon minus 12 hours" is then
    23:00 the evening before).
    """
    departures = kind == "departures"
    time_col = Stop.departure if departures else Stop.arrival
    allowed = Stop.boarding if departures else Stop.alighting
    stmt = (
        select(
            Stop.timetable_id,
            time_col,
            Timetable.calendar_id,
            Timetable.headsign,
            Service.id,
            Service.number,
            Service.mode,
            Service.operator,
            Service.name,
            Service.route,
            City.timezone,
        )
        .join(Timetable, Timetable.id == Stop.timetable_id)
        .join(Service, Service.id == Timetable.service_id)
        .join(City, City.id == Stop.city_id)
        .where(Stop.city_id == city_id, time_col.is_not(None), allowed.is_(True))
    )
    mode_list = sorted(set(modes or ()))
    if mode_list:
        stmt = stmt.where(Service.mode.in_(mode_list))
    calls = [
        (tid, seconds, cal_id, headsign, sid, number, mode, operator, name, route, zone)
        for tid, seconds, cal_id, headsign, sid, number, mode, operator, name, route, zone
        in session.execute(stmt)
        if seconds is not None
    ]
    if not calls:
        return []
    zone = calls[0][10] or "UTC"
    low, high, even = _local_clock(zone, day)
    longest = max(row[1] for row in calls) // DAY
    # A call of service day s lands within an hour or two of s + t // 86400 (a clock change
    # moves "noon minus 12 hours" away from midnight): the days either side are asked too.
    candidate_days = [day - dt.timedelta(days=k) for k in range(-1, longest + 2)]
    calendars = load_calendars(session, {row[2] for row in calls}, candidate_days)
    starts = {d: service_day_start(d, zone) for d in candidate_days}

    kept = []
    for tid, seconds, cal_id, headsign, sid, number, mode, operator, name, route, _ in calls:
        calendar = calendars.get(cal_id)
        if calendar is None:
            continue
        before = seconds // DAY
        for shift in (0, -1, 1):
            service_day = day - dt.timedelta(days=before + shift)
            instant = starts[service_day] + seconds
            if not low <= instant < high or not calendar.runs_on(service_day):
                continue
            mark = ("", False)
            if even:
                clock = instant - low
            else:
                local = dt.datetime.fromtimestamp(instant, zone_named(zone))
                clock = local.hour * 3600 + local.minute * 60 + local.second
                mark = repeated_hour_mark(local)
            kept.append((clock, instant, tid, headsign, sid, number, mode, operator, name,
                         service_day, seconds, route, mark))

    ends = terminal_cities(session, [row[2] for row in kept], last=departures)
    # The mark counts from the day the run left its first stop (on that stop's clock), not
    # from its service day: a train that starts at 24:05 leaves on the board's day. Only a
    # call past its service day's midnight, or on a day the clocks change, can have left
    # before the board's day.
    irregular = not even or any(
        noon_offset(zone, d) != noon_offset(zone, day) for d in (day - dt.timedelta(days=1),
                                                                 day + dt.timedelta(days=1))
    )
    first = first_departures(
        session, [row[2] for row in kept if irregular or row[10] >= DAY or row[9] != day]
    )

    def days_before(tid: int, service_day: dt.date) -> int:
        if tid not in first:
            return 0
        leaves, first_zone = first[tid]
        left = dt.datetime.fromtimestamp(
            service_day_start(service_day, first_zone) + leaves, zone_named(first_zone)
        ).date()
        return max(0, (day - left).days)

    rows = [
        BoardRow(
            time=clock,
            service_id=sid,
            number=number,
            mode=mode,
            operator=operator,
            service_name=name,
            headsign=headsign,
            timetable_id=tid,
            other_city_id=ends.get(tid, (None, None))[0],
            other_city=ends.get(tid, (None, None))[1],
            started_days_before=days_before(tid, service_day),
            route=route or "",
            zone_mark=mark[0],
            after_change=mark[1],
        )
        for clock, instant, tid, headsign, sid, number, mode, operator, name, service_day, _,
        route, mark in sorted(kept, key=lambda r: (r[1], r[5], r[2]))
    ]
    return rows


def first_departures(session: Session, timetable_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """Each variant's departure from its first stop (seconds after its service day's
    reference midnight) and that stop's time zone: ``{timetable_id: (seconds, zone)}``."""
    ids = sorted(set(timetable_ids))
    found: dict[int, tuple[int, str]] = {}
    for chunk in _chunks(ids):
        firsts = (
            select(Stop.timetable_id.label("tid"), func.min(Stop.sequence).label("seq"))
            .where(Stop.timetable_id.in_(chunk))
            .group_by(Stop.timetable_id)
            .subquery()
        )
        at_first = aliased(Stop)
        stmt = (
            select(at_first.timetable_id, at_first.departure, at_first.arrival, City.timezone)
            .join(firsts, and_(firsts.c.tid == at_first.timetable_id,
                               firsts.c.seq == at_first.sequence))
            .join(City, City.id == at_first.city_id)
        )
        for tid, departure, arrival, zone in session.execute(stmt):
            leaves = departure if departure is not None else arrival
            found[tid] = (leaves or 0, zone or "UTC")
    return found


def terminal_cities(
    session: Session, timetable_ids: Sequence[int], last: bool = True
) -> dict[int, tuple[int, str]]:
    """The last (or first) city of each timetable variant: ``{timetable_id: (city_id, name)}``."""
    ids = sorted(set(timetable_ids))
    result: dict[int, tuple[int, str]] = {}
    edge = func.max(Stop.sequence) if last else func.min(Stop.sequence)
    for chunk in _chunks(ids):
        ends = (
            select(Stop.timetable_id.label("tid"), edge.label("seq"))
            .where(Stop.timetable_id.in_(chunk))
            .group_by(Stop.timetable_id)
            .subquery()
        )
        at_end = aliased(Stop)
        stmt = (
            select(at_end.timetable_id, City.id, City.name)
            .join(ends, and_(ends.c.tid == at_end.timetable_id, ends.c.seq == at_end.sequence))
            .join(City, City.id == at_end.city_id)
        )
        for tid, cid, cname in session.execute(stmt):
            result[tid] = (cid, cname)
    return result


def modes_in_use(session: Session) -> list[str]:
    """The modes of the services in the database, most common first."""
    rows = session.execute(
        select(Service.mode, func.count()).group_by(Service.mode).order_by(func.count().desc())
    ).all()
    return [mode for mode, _ in rows]


def modes_at_city(session: Session, city_id: int) -> list[str]:
    """The modes of the services calling at a city."""
    stmt = (
        select(Service.mode)
        .distinct()
        .join(Timetable, Timetable.service_id == Service.id)
        .join(Stop, Stop.timetable_id == Timetable.id)
        .where(Stop.city_id == city_id)
    )
    return sorted(session.scalars(stmt).all())


# --- City list ----------------------------------------------------------------------------


@dataclass
class CityPage:
    cities: list[City]
    total: int
    page: int
    pages: int


def city_list(
    session: Session,
    search: str = "",
    mode: str | None = None,
    timezone: str | None = None,
    page: int = 1,
    per_page: int = 100,
    also_named: Sequence[str] = (),
) -> CityPage:
    """One page of cities matching a name/code search (or named in ``also_named``: those
    whose pinyin matches it), a mode served and a time zone."""
    stmt: Select = select(City)
    term = plain(search)
    if term:
        like = f"%{term.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(City.name.ilike(like), City.code.ilike(like), City.name.in_(list(also_named)))
        )
    if mode:
        served = (
            select(Stop.id)
            .join(Timetable, Timetable.id == Stop.timetable_id)
            .join(Service, Service.id == Timetable.service_id)
            .where(Stop.city_id == City.id, Service.mode == mode)
        )
        stmt = stmt.where(exists(served))
    if timezone:
        stmt = stmt.where(City.timezone == timezone)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    cities = list(
        session.scalars(stmt.order_by(City.name).offset((page - 1) * per_page).limit(per_page))
    )
    return CityPage(cities, total, page, pages)


def timezones_in_use(session: Session) -> list[str]:
    return list(session.scalars(select(City.timezone).distinct().order_by(City.timezone)))


def usual_timezone(session: Session, fallback: str = "Asia/Shanghai") -> str:
    """The time zone most cities are in: the default for "now" before a city is chosen."""
    row = session.execute(
        select(City.timezone, func.count()).group_by(City.timezone).order_by(func.count().desc())
    ).first()
    return row[0] if row else fallback


def suggest_cities(session: Session, text: str, limit: int = 15) -> list[str]:
    """City names for an origin/destination box: names starting with ``text`` first."""
    term = plain(text).replace("%", "").replace("_", "")
    if not term:
        return []
    starts = list(
        session.scalars(
            select(City.name)
            .where(or_(City.name.ilike(term + "%"), City.code.ilike(term + "%")))
            .order_by(func.length(City.name), City.name)
            .limit(limit)
        )
    )
    if len(starts) < limit:
        more = session.scalars(
            select(City.name)
            .where(City.name.ilike("%" + term + "%"), City.name.not_in(starts))
            .order_by(func.length(City.name), City.name)
            .limit(limit - len(starts))
        )
        starts.extend(more)
    return starts


# --- Service page -------------------------------------------------------------------------


@dataclass
class StopRow:
    sequence: int
    city_id: int
    city: str
    arrival: int | None
    departure: int | None
    # What a ride from the previous stop / from the first stop costs, as the route search
    # charges it (docs/routing.md, "Fares"): the service's origin-destination price for the
    # two cities when it has one, else the leg fares added up (None: one of them unknown).
    leg_fare_cents: int | None
    fare_from_origin_cents: int | None
    boarding: bool
    alighting: bool
    zone: str = "Asia/Shanghai"  # the city's time zone: its times are on that clock

    @property
    def arrival_days(self) -> int:
        return 0 if self.arrival is None else self.arrival // DAY

    @property
    def departure_days(self) -> int:
        return 0 if self.departure is None else self.departure // DAY


@dataclass(frozen=True)
class JourneyPeriod:
    """Consecutive running dates (``start`` to ``end``) on which a run takes ``seconds``."""

    seconds: int
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class JourneyTime:
    """How long a variant takes from its first stop to its last, as an instant minus an
    instant (each stop's time on its own city's clock, docs/routing.md "Time").

    Between two zones that change their clocks on different days (or not at all) it is not
    the same on every date: ``seconds`` is what it takes on most of the dates it runs, and
    ``others`` the periods when it takes another time."""

    seconds: int
    others: tuple[JourneyPeriod, ...] = ()

    @property
    def backwards(self) -> bool:
        """Whether it arrives before it leaves on some date: times written in the wrong
        zone (the imports refuse such runs, older databases may hold them)."""
        return self.seconds < 0 or any(p.seconds < 0 for p in self.others)


def journey_time(
    departure: int,
    departure_zone: str,
    arrival: int,
    arrival_zone: str,
    calendar: CalendarDays,
    today: dt.date,
) -> JourneyTime:
    """The journey time of a run leaving at ``departure`` (on its first city's clock) and
    arriving at ``arrival`` (on its last city's), over the dates its calendar runs on: all of
    them for a calendar with an end, else the year from ``today``."""
    local = arrival - departure
    if departure_zone == arrival_zone:
        return JourneyTime(local)
    span = _finite_range(calendar)
    if span is not None:
        dates = running_dates(calendar, *span)
    else:
        low = today
        if calendar.start_date is not None and calendar.start_date > low:
            low = calendar.start_date
        if calendar.end_date is not None and calendar.end_date < low:
            low = calendar.end_date - dt.timedelta(days=364)
        dates = running_dates(calendar, low, low + dt.timedelta(days=364))
    if not dates:
        dates = [today]
    periods: list[JourneyPeriod] = []
    days: Counter[int] = Counter()
    for day in dates:
        # (start_a(D) + arrival) - (start_d(D) + departure), start_z(D) = D - offset_z(noon D)
        seconds = local + noon_offset(departure_zone, day) - noon_offset(arrival_zone, day)
        days[seconds] += 1
        if periods and periods[-1].seconds == seconds:
            periods[-1] = JourneyPeriod(seconds, periods[-1].start, day)
        else:
            periods.append(JourneyPeriod(seconds, day, day))
    usual = min(days, key=lambda value: (-days[value], value))
    return JourneyTime(usual, tuple(p for p in periods if p.seconds != usual))


@dataclass
class VariantView:
    id: int
    code: str
    headsign: str | None
    calendar: CalendarDays
    calendar_name: str | None
    stops: list[StopRow] = field(default_factory=list)
    journey: JourneyTime | None = None  # None: no departure at the first stop or no arrival
    days: CalendarSummary | None = None  # the calendar as the page describes it

    @property
    def travel_seconds(self) -> int | None:
        """The journey time on most dates it runs (see ``journey``)."""
        return None if self.journey is None else self.journey.seconds

    @property
    def crosses_zones(self) -> bool:
        """Whether its stops are in more than one time zone (their clocks differ)."""
        return len({stop.zone for stop in self.stops}) > 1


@dataclass
class OdFare:
    origin_id: int
    origin: str
    destination_id: int
    destination: str
    fare_cents: int


@dataclass
class ServiceView:
    service: Service
    variant_count: int
    variants: list[VariantView]
    page: int
    pages: int
    od_fares: list[OdFare]
    od_fare_count: int
    # Whether some stop of the service has a leg fare (the price from the previous stop).
    leg_fares: bool = True

    @property
    def priced(self) -> bool:
        """Whether the service has any fare: a zone (origin-destination) price or a leg fare."""
        return self.leg_fares or self.od_fare_count > 0

    @property
    def zone_priced(self) -> bool:
        """Whether its fares are only origin-destination (zone) prices, which do not add up
        stop by stop: a column of fares from the previous stop would invite adding them."""
        return self.od_fare_count > 0 and not self.leg_fares


def _ride_fares(stops: list[StopRow], od: dict[tuple[int, int], int]) -> None:
    """Turn a variant's stored leg fares (each stop's price from the previous one, in
    ``leg_fare_cents``) into what the route search charges (``Snapshot.ride_fare``) for a
    ride from the previous stop and from the first stop: the origin-destination price of the
    two cities when the service has one, else the leg fares of the stops after the boarding
    one up to the alighting one added up, unknown when one of them is."""
    total = 0  # known leg fares from the first stop
    unknown = 0  # unknown leg fares from the first stop
    for k, stop in enumerate(stops):
        if k == 0:
            stop.leg_fare_cents = stop.fare_from_origin_cents = None
            continue
        fare = stop.leg_fare_cents
        if fare is None:
            unknown += 1
        else:
            total += fare
        first, previous = stops[0].city_id, stops[k - 1].city_id
        summed = None if unknown else total
        stop.fare_from_origin_cents = od.get((first, stop.city_id), summed)
        stop.leg_fare_cents = od.get((previous, stop.city_id), fare)


def service_view(
    session: Session,
    service_id: int,
    page: int = 1,
    per_page: int = 20,
    od_fare_limit: int = 500,
    today: dt.date | None = None,
) -> ServiceView | None:
    """A service with one page of its timetable variants, their stops and its fares.

    ``today`` (default: the date today) is where the journey time of a variant whose
    calendar has no end is read from: the year that follows."""
    service = session.get(Service, service_id)
    if service is None:
        return None
    count = session.scalar(
        select(func.count()).select_from(Timetable).where(Timetable.service_id == service_id)
    ) or 0
    pages = max(1, math.ceil(count / per_page))
    page = min(max(page, 1), pages)
    variant_rows = session.execute(
        select(Timetable.id, Timetable.code, Timetable.headsign, Timetable.calendar_id, Calendar.name)
        .join(Calendar, Calendar.id == Timetable.calendar_id)
        .where(Timetable.service_id == service_id)
        .order_by(Timetable.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    calendars = load_calendars(session, [row[3] for row in variant_rows])
    variants = {
        tid: VariantView(tid, code, headsign, calendars[cal_id], cal_name)
        for tid, code, headsign, cal_id, cal_name in variant_rows
    }
    if variants:
        stop_rows = session.execute(
            select(
                Stop.timetable_id,
                Stop.sequence,
                City.id,
                City.name,
                Stop.arrival,
                Stop.departure,
                Stop.fare_cents,
                Stop.boarding,
                Stop.alighting,
                City.timezone,
            )
            .join(City, City.id == Stop.city_id)
            .where(Stop.timetable_id.in_(list(variants)))
            .order_by(Stop.timetable_id, Stop.sequence)
        )
        for tid, seq, cid, cname, arr, dep, fare, board, alight, zone in stop_rows:
            variants[tid].stops.append(
                StopRow(seq, cid, cname, arr, dep, fare, None, board, alight, zone or "UTC")
            )
    od_count = session.scalar(
        select(func.count()).select_from(ServiceFare).where(ServiceFare.service_id == service_id)
    ) or 0
    # The origin-destination prices between the cities of this page's variants.
    cities = {stop.city_id for variant in variants.values() for stop in variant.stops}
    od: dict[tuple[int, int], int] = {}
    if od_count and cities:
        od = {
            (origin_id, destination_id): cents
            for origin_id, destination_id, cents in session.execute(
                select(ServiceFare.origin_id, ServiceFare.destination_id, ServiceFare.fare_cents)
                .where(
                    ServiceFare.service_id == service_id,
                    ServiceFare.origin_id.in_(sorted(cities)),
                    ServiceFare.destination_id.in_(sorted(cities)),
                )
            )
        }
    for variant in variants.values():
        _ride_fares(variant.stops, od)
    leg_fares = session.scalar(
        select(Stop.id)
        .join(Timetable, Timetable.id == Stop.timetable_id)
        .where(Timetable.service_id == service_id, Stop.fare_cents.is_not(None))
        .limit(1)
    ) is not None
    day = today or dt.date.today()
    for variant in variants.values():
        variant.days = describe_calendar(variant.calendar)
        if variant.stops:
            first, last = variant.stops[0], variant.stops[-1]
            if first.departure is not None and last.arrival is not None:
                variant.journey = journey_time(
                    first.departure, first.zone, last.arrival, last.zone, variant.calendar, day
                )
    origin = aliased(City)
    destination = aliased(City)
    od_fares = [
        OdFare(oid, oname, did, dname, cents)
        for oid, oname, did, dname, cents in session.execute(
            select(origin.id, origin.name, destination.id, destination.name, ServiceFare.fare_cents)
            .join(origin, origin.id == ServiceFare.origin_id)
            .join(destination, destination.id == ServiceFare.destination_id)
            .where(ServiceFare.service_id == service_id)
            .order_by(origin.name, destination.name)
            .limit(od_fare_limit)
        )
    ]
    return ServiceView(
        service=service,
        variant_count=count,
        variants=list(variants.values()),
        page=page,
        pages=pages,
        od_fares=od_fares,
        od_fare_count=od_count,
        leg_fares=leg_fares,
    )


# --- Journey map --------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    name: str
    x: float
    y: float
    # Where its name is written: the text's anchor point and side ("start": to the right).
    label_x: float = 0.0
    label_y: float = 0.0
    anchor: str = "start"


LABEL_HEIGHT = 11.0  # px: the map's font size (static/css/site.css, .map-city text)


def _label_width(name: str) -> float:
    """About how wide a name is drawn: CJK characters are square, Latin ones narrower."""
    return sum(LABEL_HEIGHT if ord(ch) > 0x2E80 else LABEL_HEIGHT * 0.6 for ch in name)


def _place_labels(points: list[MapPoint], width: int, height: int) -> list[MapPoint]:
    """Each name beside its dot, on the first side (above right, below right, above left,
    below left) where it overlaps no name already placed and no dot, and stays on the map;
    the first side when none does. Nearby cities (南宁, 柳州, 广州) wrote over one another."""
    boxes: list[tuple[float, float, float, float]] = []
    dots = [(p.x - 4, p.y - 4, p.x + 4, p.y + 4) for p in points]

    def clear(box: tuple[float, float, float, float], own: int) -> bool:
        x1, y1, x2, y2 = box
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            return False
        others = boxes + [d for i, d in enumerate(dots) if i != own]
        return all(x2 <= a1 or x1 >= a2 or y2 <= b1 or y1 >= b2 for a1, b1, a2, b2 in others)

    placed = []
    for i, p in enumerate(points):
        w = _label_width(p.name)
        sides = [
            (p.x + 6, p.y - 6, "start", (p.x + 6, p.y - 6 - LABEL_HEIGHT, p.x + 6 + w, p.y - 6)),
            (p.x + 6, p.y + 6 + LABEL_HEIGHT, "start",
             (p.x + 6, p.y + 6, p.x + 6 + w, p.y + 6 + LABEL_HEIGHT)),
            (p.x - 6, p.y - 6, "end", (p.x - 6 - w, p.y - 6 - LABEL_HEIGHT, p.x - 6, p.y - 6)),
            (p.x - 6, p.y + 6 + LABEL_HEIGHT, "end",
             (p.x - 6 - w, p.y + 6, p.x - 6, p.y + 6 + LABEL_HEIGHT)),
        ]
        x, y, anchor, box = next((side for side in sides if clear(side[3], i)), sides[0])
        boxes.append(box)
        placed.append(MapPoint(p.name, p.x, p.y, round(x, 1), round(y, 1), anchor))
    return placed


@dataclass(frozen=True)
class MapLeg:
    x1: float
    y1: float
    x2: float
    y2: float
    mode: str
    label: str


@dataclass
class JourneyMap:
    width: int
    height: int
    points: list[MapPoint]
    legs: list[MapLeg]


def journey_map(
    places: dict[str, tuple[float, float]],
    legs: Sequence[tuple[str, str, str, str]],
    width: int = 360,
    height: int = 240,
    margin: float = 28.0,
) -> JourneyMap | None:
    """Place cities by latitude/longitude on an SVG and draw each leg as a segment.

    ``places`` maps city names to (latitude, longitude); ``legs`` are (from, to, mode,
    label). An equirectangular projection scaled by cos(mean latitude) keeps shapes right
    for a country-sized area; the whole journey is fitted into the box. None when a city of
    the journey has no coordinates.
    """
    names = []
    for origin, dest, _mode, _label in legs:
        for name in (origin, dest):
            if name not in places:
                return None
            if name not in names:
                names.append(name)
    if not names:
        return None
    lats = [places[n][0] for n in names]
    lons = [places[n][1] for n in names]
    squash = math.cos(math.radians(sum(lats) / len(lats)))
    xs = [lon * squash for lon in lons]
    ys = [-lat for lat in lats]
    span_x = max(xs) - min(xs)
    span_y = max(ys) - min(ys)
    usable_w = width - 2 * margin
    usable_h = height - 2 * margin
    scale = min(
        usable_w / span_x if span_x > 0 else math.inf,
        usable_h / span_y if span_y > 0 else math.inf,
    )
    if math.isinf(scale):
        scale = 1.0
    off_x = margin + (usable_w - span_x * scale) / 2
    off_y = margin + (usable_h - span_y * scale) / 2

    def place(name: str) -> tuple[float, float]:
        lat, lon = places[name]
        return (
            round(off_x + (lon * squash - min(xs)) * scale, 1),
            round(off_y + (-lat - min(ys)) * scale, 1),
        )

    points = _place_labels([MapPoint(n, *place(n)) for n in names], width, height)
    drawn = [
        MapLeg(*place(origin), *place(dest), mode, label) for origin, dest, mode, label in legs
    ]
    return JourneyMap(width, height, points, drawn)
