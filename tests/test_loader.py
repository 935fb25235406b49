"""The loader: counts, identical re-imports skipped, conflicts refused, dry runs harmless."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transit.db import data_version
from transit.models import (
    Calendar,
    CalendarDate,
    City,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    Transfer,
)
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
    FeedTransfer,
    ImportFailed,
)
from transit.timetable.loader import load_feed

TABLES = (City, Transfer, Service, Calendar, CalendarDate, Timetable, Stop, ServiceFare)


def small_feed() -> Feed:
    feed = Feed(source="test feed")
    feed.cities = {
        "BJ": FeedCity("Beijing", code="BJS", latitude=39.9, longitude=116.4, min_connection_seconds=600),
        "SH": FeedCity("Shanghai", code="SHA"),
        "NJ": FeedCity("Nanjing"),
        "SHH": FeedCity("Shanghai Hongqiao"),
    }
    feed.calendars = {
        "daily": FeedCalendar(),
        "weekdays": FeedCalendar(
            weekdays=0b0011111,
            start_date=dt.date(2024, 1, 1),
            end_date=dt.date(2024, 12, 31),
            added={dt.date(2024, 1, 6)},
            removed={dt.date(2024, 1, 1)},
        ),
    }
    g1 = FeedService(
        number="G1",
        mode="train",
        operator="CR",
        timetables=[
            FeedTimetable(
                "1",
                "daily",
                [
                    FeedStop("BJ", None, 7 * 3600),
                    FeedStop("NJ", 10 * 3600, 10 * 3600 + 120, fare_cents=40000, alighting=False),
                    FeedStop("SH", 12 * 3600, None, fare_cents=15350),
                ],
                headsign="Shanghai",
            ),
            FeedTimetable(
                "2",
                "weekdays",
                [FeedStop("BJ", None, 23 * 3600), FeedStop("SH", 25 * 3600 + 30, None)],
            ),
        ],
        fares={("BJ", "SH"): 55300},
    )
    mu = FeedService(
        number="MU5101",
        mode="flight",
        operator="China Eastern",
        currency="CNY",
        timetables=[
            FeedTimetable("1", "daily", [FeedStop("BJ", None, 8 * 3600), FeedStop("SH", 10 * 3600, None)])
        ],
    )
    feed.services = [g1, mu]
    feed.transfers = [FeedTransfer("SH", "SHH", 1800)]
    return feed


def table_counts(session: Session) -> dict[str, int]:
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES}


def test_load_counts_and_rows(session: Session) -> None:
    before = data_version(session)
    report = load_feed(session, small_feed())
    session.commit()
    assert report.counts == {
        "cities": 4,
        "services": {"flight": 1, "train": 1},
        "timetables": 3,
        "stops": 7,
        "calendars": 2,
        "leg_fares": 2,
        "fares": 1,
        "transfers": 1,
    }
    assert report.skipped == [] and report.conflicts == []
    assert str(report) == (
        "test feed: Added 4 cities, 1 flight, 1 train, 3 timetables, 7 stops, 2 leg fares, "
        "1 origin-destination fare, 1 transfer."
    )
    assert table_counts(session) == {
        "cities": 4, "transfers": 1, "services": 2, "calendars": 2, "calendar_dates": 2,
        "timetables": 3, "stops": 7, "service_fares": 1,
    }
    assert data_version(session) == before + 1

    g1 = session.scalars(select(Service).where(Service.number == "G1")).one()
    assert (g1.operator, g1.mode, g1.route, g1.currency) == ("CR", "train", "", "CNY")
    first = g1.timetables[0]
    assert first.code == "1" and first.headsign == "Shanghai"
    assert [(s.sequence, s.city.name, s.arrival, s.departure, s.fare_cents, s.boarding, s.alighting)
            for s in first.stops] == [
        (0, "Beijing", None, 25200, None, True, True),
        (1, "Nanjing", 36000, 36120, 40000, True, False),
        (2, "Shanghai", 43200, None, 15350, True, True),
    ]
    night = g1.timetables[1]
    assert night.stops[-1].arrival == 90030
    calendar = night.calendar
    assert (calendar.weekdays, calendar.start_date, calendar.end_date) == (
        0b0011111, dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    )
    assert [(e.date, e.added) for e in calendar.exceptions] == [
        (dt.date(2024, 1, 1), False), (dt.date(2024, 1, 6), True)
    ]
    assert calendar.runs_on(dt.date(2024, 1, 6)) and not calendar.runs_on(dt.date(2024, 1, 1))
    fare = session.scalars(select(ServiceFare)).one()
    assert (fare.origin.name, fare.destination.name, fare.fare_cents) == ("Beijing", "Shanghai", 55300)
    transfer = session.scalars(select(Transfer)).one()
    assert (transfer.from_city.name, transfer.to_city.name, transfer.min_seconds) == (
        "Shanghai", "Shanghai Hongqiao", 1800
    )
    beijing = session.scalars(select(City).where(City.name == "Beijing")).one()
    assert (beijing.code, beijing.latitude, beijing.min_connection_seconds) == ("BJS", 39.9, 600)


def test_identical_reimport_is_skipped(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    counts = table_counts(session)
    version = data_version(session)
    report = load_feed(session, small_feed())
    session.commit()
    assert report.counts["timetables"] == 0 and report.counts["cities"] == 0
    assert report.counts["services"] == {}
    assert len(report.skipped) == 5  # three timetables, one fare, one transfer
    assert "Skipped 5 identical" in str(report)
    assert table_counts(session) == counts
    assert data_version(session) == version  # nothing written, nothing for routing to reload


def test_new_variant_of_known_service_is_added(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    feed = small_feed()
    feed.services[1].timetables.append(
        FeedTimetable("2", "weekdays", [FeedStop("SH", None, 3600), FeedStop("BJ", 9000, None)])
    )
    report = load_feed(session, feed)
    session.commit()
    assert report.counts["timetables"] == 1 and report.counts["services"] == {}
    mu = session.scalars(select(Service).where(Service.number == "MU5101")).one()
    assert [t.code for t in mu.timetables] == ["1", "2"]


def test_conflicting_timetable_fails_and_changes_nothing(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    counts = table_counts(session)
    version = data_version(session)
    feed = small_feed()
    feed.services[0].timetables[0].stops[2].arrival = 12 * 3600 + 60  # G1 arrives a minute later
    feed.services[1].fares[("BJ", "SH")] = 100  # a new fare: would be written if not refused
    feed.cities["GZ"] = FeedCity("Guangzhou")
    with pytest.raises(ImportFailed) as failure:
        load_feed(session, feed)
    session.rollback()
    messages = [p.message for p in failure.value.problems]
    assert any("timetable '1' already exists" in m and "G1" in m for m in messages), messages
    assert table_counts(session) == counts
    assert data_version(session) == version


def test_conflicting_fare_and_transfer_are_problems(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    feed = small_feed()
    feed.services[0].fares[("BJ", "SH")] = 60000
    feed.transfers[0].min_seconds = 900
    with pytest.raises(ImportFailed) as failure:
        load_feed(session, feed)
    fields = sorted(p.field or "" for p in failure.value.problems)
    assert fields == ["fare", "transfer"]


def test_dry_run_writes_nothing(session: Session) -> None:
    report = load_feed(session, small_feed(), dry_run=True)
    session.commit()
    assert report.counts["timetables"] == 3 and report.dry_run
    assert str(report).startswith("test feed: Would add 4 cities")
    assert all(n == 0 for n in table_counts(session).values())
    assert data_version(session) == 0


def test_invalid_feed_lists_every_problem(session: Session) -> None:
    feed = small_feed()
    g1 = feed.services[0]
    g1.timetables[0].stops[1].city = "XX"
    g1.timetables[0].stops[2].fare_cents = -5
    g1.timetables[1].calendar = "never"
    g1.timetables[1].stops[1].arrival = 3600  # before the 23:00 departure
    feed.services[1].mode = "rocket"
    feed.cities["BJ"].latitude = 123.0
    with pytest.raises(ImportFailed) as failure:
        load_feed(session, feed)
    text = str(failure.value)
    for needle in ("unknown city 'XX'", "negative fare", "unknown calendar 'never'",
                   "arrives before the previous", "unknown mode 'rocket'", "latitude 123.0"):
        assert needle in text
    assert all(p.file == "test feed" for p in failure.value.problems)
    session.rollback()
    assert all(n == 0 for n in table_counts(session).values())


def test_city_code_taken_by_another_city(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    feed = Feed(source="other")
    feed.cities = {"X": FeedCity("Peking", code="BJS"), "Y": FeedCity("Tianjin")}
    feed.calendars = {"d": FeedCalendar()}
    feed.services = [
        FeedService("C1", "train", timetables=[
            FeedTimetable("1", "d", [FeedStop("X", None, 0), FeedStop("Y", 1800, None)])
        ])
    ]
    with pytest.raises(ImportFailed, match="city 'Peking': code 'BJS' belongs to Beijing;"):
        load_feed(session, feed)
    # Whatever the case: codes are unique as the API and admin forms check them.
    feed.cities["X"].code = "bjs"
    with pytest.raises(ImportFailed, match=r"city 'Peking': code 'bjs' belongs to Beijing \(as 'BJS'\)"):
        load_feed(session, feed)
    feed.cities["X"].code = "TJN"
    feed.cities["Y"].code = "tjn"
    with pytest.raises(ImportFailed, match="city 'Tianjin': code 'tjn' belongs to Peking"):
        load_feed(session, feed)


def test_a_new_city_may_not_be_what_travellers_type_for_another(session: Session) -> None:
    """Travellers name a city by name or code in any case, so a new city's name may not be
    another's code or name in another case, nor its code another's name: in the database
    or in the same file. Every problem is listed, nothing is written."""
    load_feed(session, small_feed())
    session.commit()

    def feed_of(*cities: FeedCity) -> Feed:
        feed = Feed(source="other")
        feed.cities = {str(i): city for i, city in enumerate(cities)}
        feed.calendars = {"d": FeedCalendar()}
        feed.services = [FeedService("C1", "train", timetables=[FeedTimetable("1", "d", [
            FeedStop(str(i), None if i == 0 else 600 * i, 600 * i if i < len(cities) - 1 else None)
            for i in range(len(cities))
        ])])]
        return feed

    def problems(feed: Feed) -> list[str]:
        with pytest.raises(ImportFailed) as failed:
            load_feed(session, feed)
        return [p.message for p in failed.value.problems]

    assert problems(feed_of(
        FeedCity("sha"),  # Shanghai's code
        FeedCity("NANJING"),  # Nanjing in another case
        FeedCity("Hangzhou", code="beijing"),  # Beijing's name
    )) == [
        "city 'sha': 'sha' is the code of Shanghai (codes are matched in any case: travellers "
        "typing it get that city)",
        "city 'NANJING': a city called 'Nanjing' already exists (names are matched in any case)",
        "city 'Hangzhou': code 'beijing' is the name of another city, 'Beijing' (names are "
        "matched in any case)",
    ]
    assert problems(feed_of(
        FeedCity("Suzhou", code="SZ"),
        FeedCity("sz"),  # Suzhou's code, in this file
        FeedCity("suzhou"),  # Suzhou, in this file
    )) == [
        "city 'sz': 'sz' is the code of Suzhou (codes are matched in any case: travellers typing "
        "it get that city)",
        "city 'suzhou': a city called 'Suzhou' already exists (names are matched in any case)",
    ]
    # Nor may it be how travellers type a city there in Latin letters (its pinyin).
    load_feed(session, feed_of(FeedCity("北京南"), FeedCity("上海虹桥")))
    session.commit()
    assert problems(feed_of(FeedCity("Beijing Nan"), FeedCity("Hangzhou")))[0] == (
        "city 'Beijing Nan': 'Beijing Nan' is how travellers type 北京南 in Latin letters (they "
        "would get this city instead)")
    assert session.scalar(select(func.count()).select_from(City)) == 6


def test_existing_city_in_another_time_zone_is_refused(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    feed = small_feed()
    feed.cities["NJ"].timezone = "Europe/Paris"
    with pytest.raises(ImportFailed, match="Nanjing"):
        load_feed(session, feed)


def test_known_city_gets_missing_connection_time(session: Session) -> None:
    load_feed(session, small_feed())
    session.commit()
    feed = small_feed()
    feed.cities["NJ"].min_connection_seconds = 300
    feed.cities["BJ"].min_connection_seconds = 900
    report = load_feed(session, feed)
    session.commit()
    nanjing = session.scalars(select(City).where(City.name == "Nanjing")).one()
    beijing = session.scalars(select(City).where(City.name == "Beijing")).one()
    assert nanjing.min_connection_seconds == 300 and beijing.min_connection_seconds == 600
    assert report.conflicts == ["city 'Beijing': connection time 600 s kept, not 900 s"]


def test_counts_in_plain_words(session: Session) -> None:
    """Never a Python dict nor "1 timetables": the words the reports, the audit log and the
    API's audit text share."""
    from transit.timetable.feed import counts_in_words

    assert counts_in_words({"cities": 1, "services": {"flight": 2, "train": 3}, "timetables": 1,
                            "stops": 2697, "fares": 0}) == (
        "1 city, 2 flights, 3 trains, 1 timetable, 2,697 stops, no origin-destination fares"
    )
    assert counts_in_words({"services": {}, "transfers": 1}) == "no services, 1 transfer"
    assert counts_in_words({"services": {"bus": 1, "ferry": 2, "cable": 1, "other": 2}}) == (
        "1 bus, 2 ferries, 1 cable car, 2 other services"
    )
    assert counts_in_words({"past runs": 1}) == "1 past run"
    load_feed(session, small_feed())
    again = load_feed(session, small_feed(), dry_run=True)
    assert str(again).splitlines() == [
        "test feed: Would add no cities, no services, no timetables, no stops, no leg fares, "
        "no origin-destination fares, no transfers.",
        "Skipped 5 identical items already present.",
    ]


def test_leg_fares_that_add_up_past_what_a_journey_may_cost_are_refused(session: Session) -> None:
    """Each leg fare may be up to 21,474,836.47, but the route search adds a run's fares up
    in 32 bits and refused to load the whole timetable over one that passed it: every route
    query then failed. The import refuses such a run instead, naming it."""
    feed = small_feed()
    stops = feed.services[0].timetables[0].stops
    stops[1].fare_cents = stops[2].fare_cents = 1_500_000_000
    with pytest.raises(ImportFailed, match="its leg fares add up to 30,000,000.00, more than"):
        load_feed(session, feed)
    assert session.scalar(select(func.count()).select_from(City)) == 0


# --- the cities' other names (City.aliases) ------------------------------------------------


def test_other_names_of_new_cities_are_stored(session: Session) -> None:
    feed = small_feed()
    feed.cities["BJ"].aliases = ("Peking", "Pékin")
    feed.cities["NJ"].aliases = ("Nanking",)
    load_feed(session, feed)
    session.commit()
    session.expire_all()
    stored = {name: aliases for name, aliases in session.execute(select(City.name, City.aliases))}
    assert stored == {
        "Beijing": ["Peking", "Pékin"], "Shanghai": [], "Nanjing": ["Nanking"],
        "Shanghai Hongqiao": [],
    }


def test_an_other_name_that_is_an_existing_citys_name_is_refused(session: Session) -> None:
    """Travellers typing it would get the stored city: the import is refused, naming the
    field, and writes nothing."""
    load_feed(session, small_feed())
    session.commit()
    before = table_counts(session)
    feed = Feed(source="other")
    feed.cities = {
        "X": FeedCity("Tianjin", aliases=("Tientsin", "NANJING")),
        "Y": FeedCity("Hangzhou", aliases=("sha", "Hangchow")),
    }
    feed.calendars = {"d": FeedCalendar()}
    feed.services = [
        FeedService("C1", "train", timetables=[
            FeedTimetable("1", "d", [FeedStop("X", None, 0), FeedStop("Y", 1800, None)])
        ])
    ]
    with pytest.raises(ImportFailed) as failed:
        load_feed(session, feed)
    assert [(p.field, p.message) for p in failed.value.problems] == [
        ("city aliases", "city 'Tianjin': 'NANJING' is the name of Nanjing (names are matched in "
                         "any case)"),
        ("city aliases", "city 'Hangzhou': 'sha' is the code of Shanghai (codes are matched in any "
                         "case)"),
    ]
    session.rollback()
    assert table_counts(session) == before
    # And once stored, an other name is taken as a name is.
    feed.cities["X"].aliases = ("Tientsin",)
    feed.cities["Y"].aliases = ()
    load_feed(session, feed)
    session.commit()
    again = Feed(source="third")
    again.cities = {"Z": FeedCity("Tientsin West", code="tientsin"), "Y": FeedCity("Hangzhou")}
    again.calendars = {"d": FeedCalendar()}
    again.services = [FeedService("C2", "train", timetables=[
        FeedTimetable("1", "d", [FeedStop("Z", None, 0), FeedStop("Y", 1800, None)])
    ])]
    with pytest.raises(ImportFailed) as failed:
        load_feed(session, again)
    assert [(p.field, p.message) for p in failed.value.problems] == [
        ("city code", "city 'Tientsin West': code 'tientsin' is another name of Tianjin "
                      "(travellers typing it get that city)"),
    ]


def test_other_names_are_checked_within_the_feed(session: Session) -> None:
    feed = small_feed()
    feed.cities["BJ"].aliases = ("Peking", "beijing", "peking", "x" * 201)
    feed.cities["NJ"].aliases = ("PEKING", "")
    feed.cities["SHH"].aliases = tuple(f"H{n}" for n in range(21))
    with pytest.raises(ImportFailed) as failed:
        load_feed(session, feed)
    assert [(p.field, p.message) for p in failed.value.problems] == [
        ("city aliases", f"other name {'x' * 40!r}... is longer than 200 characters"),
        ("city aliases", "city 'Beijing': 'beijing' is already the city's name"),
        ("city aliases", "city 'Beijing': 'peking' is given twice"),
        ("city aliases", "city 'Nanjing': one of its other names is empty"),
        ("city aliases", "city 'Nanjing': 'PEKING' is another name of Beijing (other names are "
                         "matched in any case)"),
        ("city aliases", "city 'Shanghai Hongqiao': 21 other names, a city has at most 20"),
    ]
    assert session.scalar(select(func.count()).select_from(City)) == 0


def test_a_known_city_keeps_its_other_names(session: Session) -> None:
    """As it keeps its code: the feed's other names for a city already stored are not
    written, and differing ones are listed among the differences kept."""
    feed = small_feed()
    feed.cities["BJ"].aliases = ("Peking",)
    load_feed(session, feed)
    session.commit()
    feed = small_feed()
    feed.cities["BJ"].aliases = ("Pékin", "Peking")
    feed.cities["SH"].aliases = ("Zaisangsa",)
    report = load_feed(session, feed)
    session.commit()
    assert report.conflicts == ["city 'Beijing': other names 'Peking' kept, not 'Pékin', 'Peking'"]
    session.expire_all()
    stored = {name: aliases for name, aliases in session.execute(select(City.name, City.aliases))}
    assert stored["Beijing"] == ["Peking"] and stored["Shanghai"] == []
    again = small_feed()
    again.cities["BJ"].aliases = ("Peking",)
    assert load_feed(session, again).conflicts == []
