"""The engine against the networkx reference on random timetables (hypothesis).

Timetables have parallel services, overnight and multi-day runs, several calendars with
exceptions, cities in four time zones (dates around the 2025 European clock change), zero
connection times, walking transfers (between rides and, from the origin and to the destination,
at either end), zone fares, boarding/alighting restrictions and cities no
service reaches. Every criterion is asked both ways (depart at, arrive by) and the objective
values must agree exactly.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from transit.routing import Query, Snapshot, plan
from transit.routing.reference import Outcome, reference_answer
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    FeedTransfer,
)

ZONES = {  # standard offsets in hours, to keep generated runs forward in absolute time
    "Asia/Shanghai": 8.0,
    "Europe/London": 0.0,
    "America/New_York": -5.0,
    "Asia/Kolkata": 5.5,
}
BASE_DAY = dt.date(2025, 3, 28)  # Friday; London changes its clocks on Sunday 30 March


@st.composite
def feeds(
    draw: st.DrawFn,
    cities: tuple[int, int] = (4, 7),
    services: tuple[int, int] = (2, 12),
    runs: tuple[int, int] = (1, 4),
    lines: bool = False,
) -> Feed:
    """Random timetables; with ``lines``, half the services run like a railway line: every
    run with the same stops, fares and rules and (mostly) the same running times, so that
    their runs rarely overtake (patterns, docs/routing.md)."""
    n_cities = draw(st.integers(*cities))
    feed = Feed(source="hypothesis")
    zone_names = list(ZONES)
    for i in range(n_cities):
        feed.cities[f"c{i}"] = FeedCity(
            name=f"City{i}",
            timezone=draw(st.sampled_from(zone_names)),
            min_connection_seconds=draw(st.sampled_from([None, None, 0, 300, 1800])),
        )
    feed.calendars["daily"] = FeedCalendar()
    feed.calendars["pattern"] = FeedCalendar(
        weekdays=draw(st.integers(1, 127)),
        start_date=BASE_DAY - dt.timedelta(days=draw(st.integers(0, 3))),
        end_date=BASE_DAY + dt.timedelta(days=draw(st.integers(0, 5))),
        added={BASE_DAY + dt.timedelta(days=draw(st.integers(-2, 6)))},
        removed={BASE_DAY + dt.timedelta(days=draw(st.integers(-2, 6)))},
    )
    feed.calendars["once"] = FeedCalendar.single_day(
        BASE_DAY + dt.timedelta(days=draw(st.integers(0, 3)))
    )
    keys = list(feed.cities)
    # The last city is often left without service: an unreachable destination.
    usable = keys[:-1] if draw(st.integers(0, 3)) == 0 else keys
    for s in range(draw(st.integers(*services))):
        service = FeedService(
            number=f"S{s}",
            mode=draw(st.sampled_from(["train", "train", "flight", "bus"])),
        )
        route = draw(st.permutations(usable))[: draw(st.integers(2, 5 if not lines else 8))]
        n_stops = len(route)
        line = lines and draw(st.booleans())
        line_hops = [draw(st.sampled_from([1, 5, 30, 45, 120])) * 60 for _ in route] if line else []
        first_stops: list[FeedStop] = []
        for t in range(draw(st.integers(*runs))):
            offset0 = ZONES[feed.cities[route[0]].timezone]
            clock = draw(st.integers(14 * 60, 38 * 60)) * 60  # first departure, may pass 24:00
            stops = []
            for i, key in enumerate(route):
                zone_shift = int((ZONES[feed.cities[key].timezone] - offset0) * 3600)
                if i > 0:
                    if line and draw(st.integers(0, 4)) > 0:
                        hop = line_hops[i]
                    else:
                        hop = draw(st.sampled_from([1, 5, 30, 45, 120, 300, 900])) * 60
                    if feed.cities[key].timezone != feed.cities[route[i - 1]].timezone:
                        hop += 3600  # clock changes move zones apart by an hour
                    clock += hop
                arrival = None if i == 0 else clock + zone_shift
                if 0 < i < n_stops - 1:
                    clock += draw(st.sampled_from([0, 0, 5, 20])) * 60
                departure = None if i == n_stops - 1 else clock + zone_shift
                stops.append(
                    FeedStop(
                        key,
                        arrival,
                        departure,
                        fare_cents=None if i == 0 else draw(st.sampled_from([None, 0, 50, 120, 400])),
                        boarding=draw(st.sampled_from([True] * 5 + [False])),
                        alighting=draw(st.sampled_from([True] * 5 + [False])),
                    )
                )
            if line and first_stops:  # the first run's fares and rules: one shape
                stops = [
                    replace(stop, fare_cents=model.fare_cents, boarding=model.boarding,
                            alighting=model.alighting)
                    for stop, model in zip(stops, first_stops, strict=True)
                ]
            first_stops = first_stops or stops
            service.timetables.append(
                FeedTimetable(
                    code=str(t),
                    calendar=draw(st.sampled_from(["daily", "daily", "daily", "pattern", "once"])),
                    stops=stops,
                )
            )
        if draw(st.booleans()):
            for _ in range(draw(st.integers(1, 3))):
                i = draw(st.integers(0, n_stops - 2))
                j = draw(st.integers(i + 1, n_stops - 1))
                service.fares[(route[i], route[j])] = draw(st.sampled_from([10, 90, 300, 700]))
        feed.services.append(service)
    for _ in range(draw(st.integers(0, 2))):
        a, b = draw(st.sampled_from(keys)), draw(st.sampled_from(keys))
        if a != b and all((t.from_city, t.to_city) != (a, b) for t in feed.transfers):
            feed.transfers.append(FeedTransfer(a, b, draw(st.sampled_from([0, 120, 900]))))
    return feed


@st.composite
def cases(draw: st.DrawFn, feed_strategy: st.SearchStrategy[Feed] | None = None) -> tuple[
    Feed, dict[str, object]
]:
    feed = draw(feeds() if feed_strategy is None else feed_strategy)
    names = [c.name for c in feed.cities.values()]
    origin = draw(st.sampled_from(names))
    destination = draw(st.sampled_from([n for n in names if n != origin]))
    # Walks at the journey's ends: from the origin to a city where a ride may start, from
    # a city where one may end to the destination, now and then the two a walk apart.
    key = {c.name: k for k, c in feed.cities.items()}
    keys = list(feed.cities)
    for kind in draw(st.lists(st.sampled_from(["first", "last", "alone"]), max_size=3)):
        a = key[origin] if kind != "last" else draw(st.sampled_from(keys))
        b = key[destination] if kind != "first" else draw(st.sampled_from(keys))
        if a != b and all((t.from_city, t.to_city) != (a, b) for t in feed.transfers):
            feed.transfers.append(
                FeedTransfer(a, b, draw(st.sampled_from([0, 60, 120, 900, 3600])))
            )
    when = dt.datetime.combine(
        BASE_DAY + dt.timedelta(days=draw(st.integers(0, 3))), dt.time()
    ) + dt.timedelta(minutes=draw(st.integers(0, 24 * 60 - 1)))
    params: dict[str, object] = {
        "origin": origin,
        "destination": destination,
        "when": when,
        "arrive_by": draw(st.booleans()),
        "window_hours": draw(st.sampled_from([48, 6, 24, 60])),
        "min_connection_minutes": draw(st.sampled_from([None, None, 0, 10])),
        "max_transfers": draw(st.sampled_from([None, None, 0, 1, 2])),
        "modes": draw(st.sampled_from([None, None, frozenset({"train"}), frozenset({"train", "flight"})])),
        "default_mct": draw(st.sampled_from([0, 15])),
    }
    return feed, params


def _query(params: dict[str, object], criterion: str) -> Query:
    when = params["when"]
    assert isinstance(when, dt.datetime)
    return Query(
        origin=str(params["origin"]),
        destination=str(params["destination"]),
        depart=None if params["arrive_by"] else when,
        arrive_by=when if params["arrive_by"] else None,
        criterion=criterion,
        modes=params["modes"],  # type: ignore[arg-type]
        min_connection_minutes=params["min_connection_minutes"],  # type: ignore[arg-type]
        window_hours=float(params["window_hours"]),  # type: ignore[arg-type]
        max_transfers=params["max_transfers"],  # type: ignore[arg-type]
    )


def _check_itinerary(snap: Snapshot, query: Query, it: object) -> None:
    """Every itinerary is a real journey: catchable connections, fares that add up."""
    from transit.routing import Itinerary

    assert isinstance(it, Itinerary)
    assert it.fare_cents == sum(leg.fare_cents for leg in it.legs)
    # Walks only at the ends, each the walk's own time, free; they are no transfer.
    rides = [leg for leg in it.legs if not leg.is_walk]
    walks = [i for i, leg in enumerate(it.legs) if leg.is_walk]
    assert set(walks) <= {0, len(it.legs) - 1}
    for i in walks:
        leg = it.legs[i]
        pairs = snap.walks.get(snap.city_index[leg.origin], ())
        secs = min(s for c, s in pairs if c == snap.city_index[leg.destination])
        assert leg.arrival.timestamp() - leg.departure.timestamp() == secs
        assert leg.fare_cents == 0 and leg.service == ""
    assert it.transfers == max(len(rides) - 1, 0)
    assert len(it.waits) == it.transfers
    assert it.departure == it.legs[0].departure and it.arrival == it.legs[-1].arrival
    assert it.legs[0].origin == query.origin
    assert it.legs[-1].destination == query.destination
    for before, after in zip(it.legs, it.legs[1:], strict=False):
        assert before.destination == after.origin or not (before.is_walk or after.is_walk)
        assert before.is_walk or after.is_walk or before.destination == after.origin or (
            snap.city_index[after.origin]
            in dict(snap.walks.get(snap.city_index[before.destination], ()))
        )
    if query.modes is not None:
        assert all(leg.mode in query.modes for leg in rides)
    if query.max_transfers is not None:
        assert it.transfers <= query.max_transfers
    for before, after in zip(rides, rides[1:], strict=False):
        gap = after.departure.timestamp() - before.arrival.timestamp()
        if after.origin == before.destination:
            city = snap.city_index[before.destination]
            if query.min_connection_minutes is not None:
                need = query.min_connection_minutes * 60
            elif snap.city_mct[city] >= 0:
                need = int(snap.city_mct[city])
            else:
                need = snap.default_min_connection_seconds
        else:
            pairs = dict(snap.walks.get(snap.city_index[before.destination], ()))
            need = pairs[snap.city_index[after.origin]]
        assert gap >= need


def _engine_outcomes(snap: Snapshot, query: Query) -> list[Outcome]:
    result = plan(snap, query)
    for it in result.itineraries:
        _check_itinerary(snap, query, it)
    if not result.itineraries:
        assert result.message
    return [
        Outcome(it.departure_seconds, it.arrival_seconds, it.fare_cents, it.transfers)
        for it in result.itineraries
    ]


def _project(outcomes: list[Outcome], criterion: str, arrive_by: bool) -> object:
    time = (lambda o: o.departure) if arrive_by else (lambda o: o.arrival)
    if criterion == "fastest":
        return [(o.departure, o.arrival, o.transfers, o.fare) for o in outcomes]
    if criterion == "cheapest":
        return [(o.fare, time(o)) for o in outcomes]
    if criterion == "transfers":
        return [(o.transfers, time(o)) for o in outcomes]
    return sorted((time(o), o.fare, o.transfers) for o in outcomes)


def _agree_with_reference(
    snap: Snapshot, params: dict[str, object]
) -> list[tuple[str, object]]:
    """Every criterion's answer, engine against reference: they must be equal. Returns the
    reference's, per criterion."""
    out = []
    for criterion in ("fastest", "cheapest", "transfers", "options"):
        query = _query(params, criterion)
        engine = _project(_engine_outcomes(snap, query), criterion, bool(params["arrive_by"]))
        reference = _project(reference_answer(snap, query), criterion, bool(params["arrive_by"]))
        assert engine == reference, criterion
        out.append((criterion, reference))
    return out


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_engine_agrees_with_reference(case: tuple[Feed, dict[str, object]]) -> None:
    _agree_on_case(case)


def _agree_on_case(case: tuple[Feed, dict[str, object]]) -> None:
    """Engine and reference agree on the case's query; the answers' sizes go to the
    statistics (--hypothesis-show-statistics)."""
    feed, params = case
    snap = Snapshot.from_feed(feed, int(params["default_mct"]))  # type: ignore[call-overload]
    for criterion, reference in _agree_with_reference(snap, params):
        if criterion == "transfers":
            event(f"transfers: {reference[0][0] if reference else 'none'}")  # type: ignore[index]
        if criterion == "options":
            event(f"options: {len(reference)}")  # type: ignore[arg-type]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_engine_agrees_with_reference_without_fares(
    case: tuple[Feed, dict[str, object]],
) -> None:
    """A network with no fare at all (like many GTFS feeds): the engine takes shortcuts
    there (the cheapest journey is the earliest one), the reference does not."""
    feed, params = case
    for service in feed.services:
        service.fares.clear()
        for timetable in service.timetables:
            for stop in timetable.stops:
                stop.fare_cents = None
    snap = Snapshot.from_feed(feed, int(params["default_mct"]))  # type: ignore[call-overload]
    assert snap.fare_free
    _agree_with_reference(snap, params)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_engine_agrees_with_reference_where_runs_overtake(
    case: tuple[Feed, dict[str, object]],
) -> None:
    """Every timetable of a service takes the first one's fares and boarding and alighting
    rules, so that its runs differ only in their times and often overtake one another, and
    each gets a twin that leaves a minute later and is a minute early everywhere after: the
    engine boards only the first catchable run of runs that never overtake (patterns) and
    must tell the others apart."""
    feed, params = case
    for service in feed.services:
        first = service.timetables[0].stops
        for timetable in list(service.timetables):
            for stop, model in zip(timetable.stops, first, strict=True):
                stop.fare_cents = model.fare_cents
                stop.boarding = model.boarding
                stop.alighting = model.alighting
            stops = timetable.stops
            assert stops[0].departure is not None and stops[1].arrival is not None
            if stops[1].arrival - stops[0].departure < 5 * 60:
                continue
            twin = [
                replace(
                    stop,
                    arrival=None if stop.arrival is None else stop.arrival - 60,
                    departure=None if stop.departure is None else stop.departure - 60,
                )
                for stop in stops
            ]
            twin[0] = replace(stops[0], departure=stops[0].departure + 60)
            service.timetables.append(replace(timetable, code=timetable.code + "x", stops=twin))
    snap = Snapshot.from_feed(feed, int(params["default_mct"]))  # type: ignore[call-overload]
    _agree_with_reference(snap, params)


# More examples for a longer soak: TRANSIT_LARGER_NETWORK_EXAMPLES=5000 (docs/routing.md).
LARGER_NETWORK_EXAMPLES = int(os.environ.get("TRANSIT_LARGER_NETWORK_EXAMPLES", "40"))


@settings(
    max_examples=LARGER_NETWORK_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases(feeds(cities=(8, 20), services=(4, 24), runs=(1, 8), lines=True)))
def test_engine_agrees_with_reference_on_larger_networks(
    case: tuple[Feed, dict[str, object]],
) -> None:
    """Larger timetables, where many runs of a line follow one another without overtaking
    (the engine boards only the first it can catch of those) and journeys take more rides."""
    _agree_on_case(case)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_options_contain_every_single_criterion_optimum(
    case: tuple[Feed, dict[str, object]],
) -> None:
    """The Pareto set holds the fastest arrival, the lowest fare and the fewest transfers."""
    feed, params = case
    snap = Snapshot.from_feed(feed, int(params["default_mct"]))  # type: ignore[call-overload]
    arrive_by = bool(params["arrive_by"])
    options = _engine_outcomes(snap, _query(params, "options"))
    fastest = _engine_outcomes(snap, _query(params, "fastest"))
    cheapest = _engine_outcomes(snap, _query(params, "cheapest"))
    fewest = _engine_outcomes(snap, _query(params, "transfers"))
    assert bool(options) == bool(fastest) == bool(cheapest) == bool(fewest)
    if not options:
        return
    if arrive_by:
        assert max(o.departure or 0 for o in options) == fastest[0].departure
    else:
        assert min(o.arrival or 0 for o in options) == fastest[0].arrival
    assert min(o.fare for o in options) == cheapest[0].fare
    assert min(o.transfers for o in options) == fewest[0].transfers
