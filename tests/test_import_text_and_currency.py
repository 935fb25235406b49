"""The GTFS and CSV bundle imports held to the rules of the admin's forms: a fare's currency
is an ISO 4217 code, one for the whole GTFS feed; the names they store carry no control or
invisible characters (transit.schemas.text_problem)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.test_gtfs import BASE, CALTRAIN, NYC, SEATTLE, write_feed
from tests.test_import_qa_fixes import BUNDLE, _bundle
from transit import schemas as s
from transit.models import City, Service, ServiceFare, Timetable, stop_instant
from transit.schemas import text_problem
from transit.timetable.csvbundle import read_bundle
from transit.timetable.feed import Feed, FeedCalendar, ImportFailed
from transit.timetable.gtfs import parse_gtfs
from transit.timetable.loader import load_feed


def _refusal(folder: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as failure:
        parse_gtfs(folder)
    return failure.value


def _places(error: ImportFailed) -> list[tuple[str, int | None, str | None]]:
    return [(p.file, p.line, p.field) for p in error.problems]


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- 1. GTFS fares: an ISO 4217 currency, one for the feed ------------------------------------


def _fares(*rows: str) -> dict[str, str]:
    return {**BASE, "fare_attributes.txt": "fare_id,price,currency_type,payment_method,transfers\n"
            + "".join(f"{row}\n" for row in rows)}


@pytest.mark.parametrize("code", ["XYZ", "C1Y", "EURO", "$"])
def test_a_fare_currency_that_is_no_iso_code_is_refused_at_its_line(tmp_path: Path, code: str) -> None:
    """Any three letters were taken (XYZ), and the service then stored a currency its form
    refuses to save unchanged: the rule of the form, the API and the CSV bundle."""
    error = _refusal(write_feed(tmp_path / "feed", _fares("F1,12.50,CHF,0,", f"F2,99,{code},0,")))
    assert _places(error) == [("fare_attributes.txt", 3, "currency_type")]
    assert error.problems[0].message == (
        f"{code!r} is not an ISO 4217 currency code (such as CNY, EUR or USD)")


def test_an_empty_fare_currency_is_required(tmp_path: Path) -> None:
    error = _refusal(write_feed(tmp_path / "feed", _fares("F1,12.50,,0,", "F2,99,CHF,0,")))
    assert _places(error) == [("fare_attributes.txt", 2, "currency_type")]
    assert error.problems[0].message == "a value is required"


def test_a_currency_in_small_letters_is_that_currency(tmp_path: Path) -> None:
    feed = parse_gtfs(write_feed(tmp_path / "feed", _fares("F1,12.50,chf,0,", "F2,99,Chf,0,")))
    assert {service.currency for service in feed.services} == {"CHF"}


def test_fares_in_two_currencies_are_refused_and_nothing_is_written(
    session: Session, tmp_path: Path
) -> None:
    """A feed whose fares mix USD and EUR got the first currency sorted (EUR) for every
    service, and 12.50 USD read as 12.50 EUR: refused where the second currency begins,
    naming both; nothing is written."""
    folder = write_feed(tmp_path / "feed", _fares("F1,12.50,USD,0,", "F2,99,USD,0,", "F3,5,EUR,0,",
                                                  "F4,7,GBP,0,"))
    error = _refusal(folder)
    assert _places(error) == [("fare_attributes.txt", 4, "currency_type")]
    assert error.problems[0].message == (
        "the fares of this feed are in 3 currencies (USD, EUR, GBP): EUR here, USD from line 2; "
        "one feed's fares must share one currency, as each service is priced in one currency "
        "and prices are not converted")
    assert (_count(session, Service), _count(session, City), _count(session, ServiceFare)) == (0, 0, 0)


def test_fares_in_one_currency_are_read_in_it(session: Session, tmp_path: Path) -> None:
    feed = parse_gtfs(write_feed(tmp_path / "feed", _fares("F1,12.50,USD,0,", "F2,99,USD,0,")))
    load_feed(session, feed)
    session.commit()
    assert set(session.scalars(select(Service.currency))) == {"USD"}
    assert sorted(session.scalars(select(ServiceFare.fare_cents))) == [1250, 9900]


# --- 2. names an import stores are names the admin's forms save unchanged ---------------------


def _replace(files: dict[str, str], **changes: tuple[str, str]) -> dict[str, str]:
    """``files`` with, in each named file (dots as underscores), one text replaced."""
    out = dict(files)
    for key, (old, new) in changes.items():
        name = key.replace("_txt", ".txt").replace("_csv", ".csv")
        assert old in out[name], (name, old)
        out[name] = out[name].replace(old, new)
    return out


def test_gtfs_names_with_control_or_invisible_characters_are_refused_in_one_pass(
    session: Session, tmp_path: Path
) -> None:
    """A station, operator, route, service number, headsign, trip id or calendar name with a
    tab, a bell, a zero-width space or a right-to-left override was stored as read, and the
    admin then refused to save the service or city unchanged ("may not contain..."). Each is
    refused where the feed writes it; nothing is written."""
    files = _replace(
        BASE,
        agency_txt=("Alpine Rail", "Alpine\tRail"),
        stops_txt=("ZH,Zurich HB,", "ZH,Zurich\u200bHB,"),
        routes_txt=("InterCity", "Inter\u2028City"),
        trips_txt=("R1,WK,T1,IC 5,Basel", "R1,WK,T1,IC\x075,Basel\u202e"),
        calendar_dates_txt=("HOL,20240801,1", "H\u200bOL,20240801,1"),
    )
    files["trips.txt"] = files["trips.txt"].replace("R1,HOL,T2", "R1,H\u200bOL,T2\u2060")
    files["stop_times.txt"] = files["stop_times.txt"].replace("T2,", "T2\u2060,")
    error = _refusal(write_feed(tmp_path / "feed", files))
    assert sorted(str(p) for p in error.problems) == sorted([
        "agency.txt, line 2, field agency_name: 'Alpine\\tRail' may not contain a tab or line break",
        "stops.txt, line 2, field stop_name: 'Zurich\\u200bHB' may not contain the invisible "
        "character U+200B (ZERO WIDTH SPACE)",
        "routes.txt, line 2, field route_long_name: 'Inter\\u2028City' may not contain a tab or "
        "line break",
        "trips.txt, line 2, field trip_short_name: 'IC\\x075' may not contain the control "
        "character U+0007",
        "trips.txt, line 2, field trip_headsign: 'Basel\\u202e' may not contain the invisible "
        "character U+202E (RIGHT-TO-LEFT OVERRIDE)",
        "trips.txt, line 3, field trip_id: 'T2\\u2060' may not contain the invisible character "
        "U+2060 (WORD JOINER)",
        "calendar_dates.txt, line 3, field service_id: 'H\\u200bOL' may not contain the invisible "
        "character U+200B (ZERO WIDTH SPACE)",
    ])
    assert (_count(session, Service), _count(session, City)) == (0, 0)


def test_gtfs_route_and_stop_ids_are_checked_where_they_become_names(tmp_path: Path) -> None:
    """A route without names is called by its id; a station whose name another station
    shares gets its stop id appended: then the id is a name too."""
    files = _replace(
        BASE,
        routes_txt=("R2,A,,Channel Express,102", "R\t2,A,,,102"),
        trips_txt=("R2,WK,T3,,London", "R\t2,WK,T3,,London"),
        stops_txt=("LO,London St Pancras,51.53,-0.12,0,", "L\u200bO,Zurich HB,51.53,-0.12,1,"),
    )
    files["stop_times.txt"] = files["stop_times.txt"].replace(",LO,", ",L\u200bO,")
    error = _refusal(write_feed(tmp_path / "feed", files))
    assert [str(p) for p in error.problems] == [
        "routes.txt, line 3, field route_id: 'R\\t2' may not contain a tab or line break",
        "stops.txt, line 7, field stop_id: 'L\\u200bO' may not contain the invisible character "
        "U+200B (ZERO WIDTH SPACE)",
    ]


def test_gtfs_names_the_import_does_not_store_are_not_judged(tmp_path: Path) -> None:
    """A stop no trip calls at becomes no city: its name is not refused. A non-breaking space
    (a space, Zs) and a zero-width joiner between two letters are text, as the forms have it."""
    files = _replace(
        BASE,
        stops_txt=("LO,London St Pancras,", "LO,London\u00a0St Pancras,"),
        trips_txt=("R1,WK,T1,IC 5,Basel", "R1,WK,T1,IC 5,Bas\u200del"),
    )
    files["stops.txt"] += "XX,Nowhere\u200b,47.0,8.0,0,,,\n"
    feed = parse_gtfs(write_feed(tmp_path / "feed", files))
    assert "London\u00a0St Pancras" in {city.name for city in feed.cities.values()}
    assert feed.services[0].timetables[0].headsign == "Bas\u200del"
    assert text_problem("London\u00a0St Pancras") is None and text_problem("Bas\u200del") is None


@pytest.mark.slow
@pytest.mark.parametrize("name", [CALTRAIN, NYC, SEATTLE])
def test_the_real_feeds_have_no_name_the_forms_refuse(shared_data: Path, name: str) -> None:
    feed = parse_gtfs(shared_data / name)
    texts = [city.name for city in feed.cities.values()]
    for service in feed.services:
        texts += [service.number, service.operator, service.route, service.name or ""]
        texts += [t.code for t in service.timetables] + [t.headsign or "" for t in service.timetables]
    texts += [calendar.name or "" for calendar in feed.calendars.values()]
    assert [text for text in texts if text_problem(text) is not None] == []


def test_bundle_names_with_control_or_invisible_characters_are_refused_in_one_pass(
    session: Session, tmp_path: Path
) -> None:
    """The CSV bundle's cities, calendars, services and variants, as GTFS's: each refused at
    its line and column, once (the files that refer to it by that name are not refused
    again); nothing is written."""
    bundle = _bundle(tmp_path / "b", **_replace(
        BUNDLE,
        cities_csv=("name,timezone\n北京,", "name,code,timezone\n北京\u200b,BJ\u00ad,"),
        calendars_csv=("calendar,weekdays\nd,", "calendar,name,weekdays\nd,daily\x1b,"),
        services_csv=(",QAX2,,train,,CNY", "Rail\u2029,QAX2,,train,Fast\ttrain,CNY"),
        timetables_csv=(",QAX2,,a,d,", "Rail\u2029,QAX2,,a\u200e,d,上海\u202e"),
        stops_csv=(",QAX2,,a,0,北京,", "Rail\u2029,QAX2,,a\u200e,0,北京\u200b,"),
    ))
    (bundle / "cities.csv").write_text(
        (bundle / "cities.csv").read_text(encoding="utf-8").replace(
            "上海,Asia", "上海,,Asia").replace("广州,Asia", "广州,,Asia"), encoding="utf-8")
    (bundle / "calendars.csv").write_text("calendar,name,weekdays\nd,daily\x1b,1111111\n", encoding="utf-8")
    stops = (bundle / "stops.csv").read_text(encoding="utf-8")
    (bundle / "stops.csv").write_text(stops.replace(",QAX2,,a,1,", "Rail\u2029,QAX2,,a\u200e,1,"),
                                      encoding="utf-8")
    with pytest.raises(ImportFailed) as failure:
        read_bundle(bundle)
    assert [str(p) for p in failure.value.problems] == [
        "cities.csv, line 2, field name: '北京\\u200b' may not contain the invisible character "
        "U+200B (ZERO WIDTH SPACE)",
        "cities.csv, line 2, field code: 'BJ\\xad' may not contain the invisible character "
        "U+00AD (SOFT HYPHEN)",
        "calendars.csv, line 2, field name: 'daily\\x1b' may not contain the control character "
        "U+001B",
        "services.csv, line 2, field operator: 'Rail\\u2029' may not contain a tab or line break",
        "services.csv, line 2, field name: 'Fast\\ttrain' may not contain a tab or line break",
        "timetables.csv, line 2, field code: 'a\\u200e' may not contain the invisible character "
        "U+200E (LEFT-TO-RIGHT MARK)",
        "timetables.csv, line 2, field headsign: '上海\\u202e' may not contain the invisible "
        "character U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ]
    assert _count(session, Service) == 0


def test_bundle_names_the_forms_take_are_taken(session: Session, tmp_path: Path) -> None:
    """A non-breaking space, a zero-width joiner between letters: stored, and the forms'
    models take them unchanged."""
    bundle = _bundle(tmp_path / "b", **_replace(
        BUNDLE, services_csv=(",QAX2,,train,,CNY", ",QAX2,,train,Fast\u00a0train,CNY"),
        timetables_csv=(",QAX2,,a,d,", ",QAX2,,a,d,Bas\u200del")))
    load_feed(session, read_bundle(bundle))
    session.commit()
    service = session.scalars(select(Service)).one()
    assert (service.name, service.timetables[0].headsign) == ("Fast\u00a0train", "Bas\u200del")
    assert s.ServiceUpdate(name=service.name).name == "Fast\u00a0train"


# --- 3. GTFS times before midnight in a stop's own zone ---------------------------------------

# An agency in New York with a line in Chicago, an hour behind: 00:10 and 00:40 in the
# agency's zone are 23:10 and 23:40 of the day before at the Chicago stops. The calendar runs
# every day from 1 March to 30 November 2024, across both nights the clocks change
# (10 March, 3 November), less 4 July.
WEST = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Lakeshore,http://a,America/New_York\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,stop_timezone\n"
        "UN,Union Station,41.8787,-87.6403,America/Chicago\n"
        "OG,Ogilvie,41.8831,-87.6404,America/Chicago\n"
        "EV,Evanston,42.0411,-87.6812,America/Chicago\n"
        "NY,Penn Station,40.7506,-73.9935,\n"
    ),
    "routes.txt": "route_id,agency_id,route_short_name,route_type\nR,A,Owl,2\n",
    "trips.txt": "route_id,service_id,trip_id\nR,ALL,owl\nR,ALL,day\nR,ALL,east\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "owl,00:10:00,00:10:00,UN,1\n"
        "owl,00:40:00,00:40:00,EV,2\n"
        "day,12:00:00,12:00:00,OG,1\n"
        "day,12:30:00,12:30:00,EV,2\n"
        "east,00:30:00,00:30:00,EV,1\n"
        "east,18:00:00,18:00:00,NY,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "ALL,1,1,1,1,1,1,1,20240301,20241130\n"
    ),
    "calendar_dates.txt": "service_id,date,exception_type\nALL,20240704,2\n",
}


def _runs(feed: Feed, code: str) -> set[tuple[dt.datetime, ...]]:
    """The instants of the calls of each run of the feed's timetables coded ``code`` or
    ``code`` and a date, by the product's rule (transit.models.stop_instant)."""
    runs: set[tuple[dt.datetime, ...]] = set()
    for service in feed.services:
        for timetable in service.timetables:
            if timetable.code.split(" ")[0] != code:
                continue
            calendar = feed.calendars[timetable.calendar]
            day = dt.date(2024, 1, 1)
            while day <= dt.date(2024, 12, 31):
                if calendar.runs_on(day):
                    run = tuple(
                        stop_instant(day, time, feed.cities[stop.city].timezone)
                        for stop in timetable.stops
                        for time in (stop.arrival, stop.departure) if time is not None)
                    assert run not in runs, (code, day)
                    runs.add(run)
                day += dt.timedelta(days=1)
    return runs


def _gtfs_runs(code: str) -> set[tuple[dt.datetime, ...]]:
    """The same instants by GTFS's rule, from stop_times.txt in the agency's zone."""
    times = [row.split(",") for row in WEST["stop_times.txt"].splitlines()[1:]]
    seconds = [sum(int(part) * unit for part, unit in zip(row[1].split(":"), (3600, 60, 1), strict=True))
               for row in times if row[0] == code]
    runs = set()
    day = dt.date(2024, 3, 1)
    while day <= dt.date(2024, 11, 30):
        if day != dt.date(2024, 7, 4):
            runs.add(tuple(stop_instant(day, t, "America/New_York") for t in seconds))
        day += dt.timedelta(days=1)
    return runs


def test_a_trip_before_midnight_in_a_stop_zone_west_of_the_agency_keeps_its_instants(
    session: Session, tmp_path: Path
) -> None:
    """00:10 in New York is 23:10 the day before in Chicago: converted, the stop times were
    negative (-0:50) and the import refused the feed ("negative departure time"). The trip
    now runs on the service day before, its times a day later (23:10 of that day): every
    call keeps its instant on every date, the nights the clocks change
    included (those dates get a variant of their own, as the day before them is 23 or 25
    hours long); the trips that were not negative are left as they were."""
    feed = parse_gtfs(write_feed(tmp_path / "west", WEST))
    timetables = [t for service in feed.services for t in service.timetables]
    owl = {t.code: t for t in timetables if t.code.startswith("owl")}
    assert sorted(owl) == ["owl", "owl 2024-03-10", "owl 2024-11-03"]
    assert [(s.departure, s.arrival) for s in owl["owl"].stops] == [
        (23 * 3600 + 600, None), (None, 23 * 3600 + 2400)]
    assert [s.departure or s.arrival for s in owl["owl 2024-03-10"].stops] == [
        22 * 3600 + 600, 22 * 3600 + 2400]  # the day before 10 March is 23 hours long
    assert [s.departure or s.arrival for s in owl["owl 2024-11-03"].stops] == [
        24 * 3600 + 600, 24 * 3600 + 2400]  # the day before 3 November is 25 hours long
    everyday = feed.calendars[owl["owl"].calendar]
    assert (everyday.start_date, everyday.end_date, everyday.weekdays) == (
        dt.date(2024, 2, 29), dt.date(2024, 11, 29), 0b1111111)
    assert everyday.removed == {dt.date(2024, 7, 3), dt.date(2024, 3, 9), dt.date(2024, 11, 2)}
    assert feed.calendars[owl["owl 2024-03-10"].calendar].added == {dt.date(2024, 3, 9)}
    for code in ("owl", "day", "east"):
        assert _runs(feed, code) == _gtfs_runs(code), code
    day = next(t for t in timetables if t.code == "day")
    assert day.calendar == "ALL" and day.stops[0].departure == 11 * 3600

    report = load_feed(session, feed)
    session.commit()
    assert report.counts["timetables"] == 7
    assert _count(session, Timetable) == 7
    # The same feed again: the same variants on the same calendars, nothing new.
    assert load_feed(session, parse_gtfs(tmp_path / "west")).counts["timetables"] == 0


def test_the_calendar_a_day_earlier_moves_each_weekday_back() -> None:
    """A Monday run's day before is a Sunday: the weekly pattern moves with the dates."""
    from transit.timetable.gtfs import _calendar_day_earlier

    weekdays = FeedCalendar(0b0000001 | 0b0010000, dt.date(2024, 7, 1), dt.date(2024, 7, 31),
                            added={dt.date(2024, 7, 6)}, removed={dt.date(2024, 7, 15)}, name="MoFr")
    moved = _calendar_day_earlier(weekdays)
    assert (moved.weekdays, moved.start_date, moved.end_date, moved.name) == (
        0b1001000, dt.date(2024, 6, 30), dt.date(2024, 7, 30), "MoFr, a day earlier")
    day = dt.date(2024, 6, 1)
    while day < dt.date(2024, 9, 1):
        assert moved.runs_on(day) == weekdays.runs_on(day + dt.timedelta(days=1)), day
        day += dt.timedelta(days=1)


# --- a priced service needs its currency (the service form's rule) ---------------------------


@pytest.mark.parametrize("fares", [None, ",QAX2,,北京,上海,450"])
def test_a_bundle_service_with_fares_and_no_currency_is_refused(
    tmp_path: Path, fares: str | None
) -> None:
    """An empty currency means "no fare information": with a leg fare in stops.csv or an
    origin-destination fare, the services.csv line is refused at its currency."""
    files = {
        "cities.csv": "name,timezone\n北京,Asia/Shanghai\n上海,Asia/Shanghai\n",
        "calendars.csv": "calendar,weekdays\nd,1111111\n",
        "services.csv": "operator,number,route,mode,name,currency\n,QAX2,,train,,\n",
        "timetables.csv": "operator,number,route,code,calendar,headsign\n,QAX2,,a,d,\n",
        "stops.csv": ("operator,number,route,code,sequence,city,arrival,departure,fare\n"
                      ",QAX2,,a,0,北京,,08:00:00,\n"
                      f",QAX2,,a,1,上海,13:00:00,,{'' if fares else '500'}\n"),
    }
    if fares:
        files["fares.csv"] = "operator,number,route,origin,destination,fare\n" + fares + "\n"
    folder = tmp_path / "b"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed) as error:
        read_bundle(folder)
    assert [(p.file, p.line, p.field) for p in error.value.problems] == [
        ("services.csv", 2, "currency")]
    assert "a currency is required when the service has fares" in error.value.problems[0].message
    # Without any price the same service is taken, with no currency.
    (folder / "stops.csv").write_text(files["stops.csv"].replace(",500\n", ",\n"), encoding="utf-8")
    (folder / "fares.csv").unlink(missing_ok=True)
    assert read_bundle(folder).services[0].currency == ""
