"""QA findings on the traveller pages: the fares of a service page as the route search
charges them (Caltrain's zone prices showed "—" in every stop row), a service without fares,
and mode names in any case on the route page.

Caltrain is imported once for the module; the rest are small networks built per test.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from transit.models import Calendar, City, Service, ServiceFare, Stop, Timetable
from transit.routing.snapshot import Snapshot
from transit.web.extensions import db
from transit.web.i18n import cents

H = 3600
CALTRAIN = "gtfs/caltrain_gtfs_2017-07-24.zip"


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def variant_rows(html: str, timetable_id: int) -> list[dict[str, str]]:
    """Each stop row of a variant's table: its city and the text of its fare cells."""
    start = html.index(f'id="variant-{timetable_id}"')
    section = html[start : html.index("</section>", start)]
    header = re.findall(r'<th scope="col">([^<]*)</th>', section)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", section[section.index("<tbody>") :], re.S):
        city = re.search(r"<a [^>]*>([^<]*)</a>", row)
        assert city
        fares = dict(re.findall(r'<td class="(leg-fare|fare-from-first)">([^<]*)</td>', row))
        rows.append({"city": html_lib.unescape(city.group(1)), "header": "|".join(header), **fares})
    return rows


@pytest.fixture(scope="module")
def caltrain(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """An app whose database holds the Caltrain feed: zone prices, no leg fares."""
    from tests.conftest import SHARED_DATA
    from tests.live import fresh_app
    from transit.timetable.gtfs import parse_gtfs
    from transit.timetable.loader import load_feed

    app = fresh_app(tmp_path_factory.mktemp("caltrain"), "caltrain")
    with app.app_context():
        load_feed(db.session, parse_gtfs(SHARED_DATA / CALTRAIN))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_caltrain_service_page_gives_the_zone_fare_from_the_first_stop(caltrain):
    # QA: every stop's "Leg fare" and "Fare from first stop" was "—" beside a table of
    # zone prices (San Francisco -> Palo Alto US$7.75).
    with caltrain.app_context():
        session = db.session
        sf = session.scalar(select(City.id).where(City.name == "San Francisco Caltrain"))
        palo_alto = session.scalar(select(City.id).where(City.name == "Palo Alto Caltrain"))
        first = (
            select(Stop.timetable_id)
            .where(Stop.sequence == 0, Stop.city_id == sf)
            .intersect(select(Stop.timetable_id).where(Stop.city_id == palo_alto))
        )
        tid = min(session.scalars(first))
        timetable = session.get(Timetable, tid)
        assert timetable is not None
        sid = timetable.service_id
        assert session.scalar(
            select(ServiceFare.fare_cents).where(
                ServiceFare.service_id == sid, ServiceFare.origin_id == sf,
                ServiceFare.destination_id == palo_alto,
            )
        ) == 775
        # What the route search charges from the first stop to each stop.
        snapshot = Snapshot.from_session(session)
        trip = sorted(session.scalars(select(Timetable.id))).index(tid)
        row0 = int(snapshot.trip_first[trip])
        charged = [
            snapshot.ride_fare(trip, row0, row0 + k) for k in range(int(snapshot.trip_len[trip]))
        ]
        names = snapshot.city_names
        stops = [names[int(snapshot.stop_city[row0 + k])] for k in range(len(charged))]
    with caltrain.test_request_context():
        expected = [cents(fare, "USD") for fare in charged]
    html = page(caltrain.test_client(), f"/services/{sid}")
    rows = variant_rows(html, tid)
    assert [row["city"] for row in rows] == stops
    # The first stop has no fare; every other one the zone price from it.
    assert rows[0]["fare-from-first"] == ""
    assert [row["fare-from-first"] for row in rows[1:]] == expected[1:]
    assert next(r for r in rows if r["city"] == "Palo Alto Caltrain")["fare-from-first"] == "US$7.75"
    assert "—" not in "".join(row["fare-from-first"] for row in rows)
    # Zone prices do not add up stop by stop: no leg column, a note pointing to the prices.
    assert "Leg fare" not in rows[0]["header"] and "Fare from first stop" in rows[0]["header"]
    assert not any("leg-fare" in row for row in rows)
    note = re.search(r'<p class="zone-fares-note">(.*?)</p>', html, re.S)
    assert note and 'href="#od-title"' in note.group(1)
    assert 'id="od-title"' in html
    assert re.search(r"<dt>Currency</dt><dd>USD</dd>", html)


def test_leg_and_first_stop_fares_follow_the_engine_where_some_pairs_have_a_price(app, client):
    """Leg fares besides origin-destination prices: each column says what the ride costs."""
    with app.app_context():
        a, b, c, d = (City(name=n) for n in ("Aville", "Bton", "Cford", "Dham"))
        service = Service(number="R1", mode="train", currency="CNY")
        run = Timetable(code="1", calendar=Calendar(name="daily"), service=service)
        run.stops = [
            Stop(sequence=0, city=a, departure=8 * H),
            Stop(sequence=1, city=b, arrival=9 * H, departure=9 * H + 60, fare_cents=30000),
            Stop(sequence=2, city=c, arrival=10 * H, departure=10 * H + 60, fare_cents=10050),
            Stop(sequence=3, city=d, arrival=11 * H, fare_cents=2000),
        ]
        service.fares = [
            ServiceFare(origin=a, destination=c, fare_cents=35000),  # not the sum 401.50
            ServiceFare(origin=c, destination=d, fare_cents=1500),  # not the leg fare 20
        ]
        db.session.add(service)
        db.session.commit()
        sid, tid = service.id, run.id
        snapshot = Snapshot.from_session(db.session)
        charged = [(snapshot.ride_fare(0, k - 1, k), snapshot.ride_fare(0, 0, k)) for k in (1, 2, 3)]
    assert charged == [(30000, 30000), (10050, 35000), (1500, 42050)]
    html = page(client, f"/services/{sid}")
    rows = variant_rows(html, tid)
    assert "Leg fare" in rows[0]["header"]
    assert [(r["leg-fare"], r["fare-from-first"]) for r in rows] == [
        ("", ""),
        ("¥300.00", "¥300.00"),
        ("¥100.50", "¥350.00"),
        ("¥15.00", "¥420.50"),  # A-D has no price: the leg fares added up
    ]
    assert "zone-fares-note" not in html


def test_unknown_leg_fare_stays_unknown_after_it(app, client):
    with app.app_context():
        a, b, c = (City(name=n) for n in ("Aville", "Bton", "Cford"))
        service = Service(number="R2", mode="train", currency="CNY")
        run = Timetable(code="1", calendar=Calendar(name="daily"), service=service)
        run.stops = [
            Stop(sequence=0, city=a, departure=8 * H),
            Stop(sequence=1, city=b, arrival=9 * H, departure=9 * H + 60),
            Stop(sequence=2, city=c, arrival=10 * H, fare_cents=500),
        ]
        db.session.add(service)
        db.session.commit()
        sid, tid = service.id, run.id
    rows = variant_rows(page(client, f"/services/{sid}"), tid)
    assert [(r["leg-fare"], r["fare-from-first"]) for r in rows] == [
        ("", ""), ("—", "—"), ("¥5.00", "—")
    ]


def test_service_without_fares_says_so_instead_of_an_empty_currency(app, client):
    # QA: a service without fares showed an empty "Currency" row, and dashes for fares.
    with app.app_context():
        a, b = City(name="Times Sq"), City(name="Wall St")
        service = Service(number="2", mode="subway", currency="")
        run = Timetable(code="1", calendar=Calendar(name="daily"), service=service)
        run.stops = [
            Stop(sequence=0, city=a, departure=8 * H),
            Stop(sequence=1, city=b, arrival=8 * H + 600),
        ]
        db.session.add(service)
        db.session.commit()
        sid, tid = service.id, run.id
    html = page(client, f"/services/{sid}")
    assert re.search(r'<dt>Fare</dt><dd class="no-fares">No fare information</dd>', html)
    assert "<dt>Currency</dt>" not in html
    rows = variant_rows(html, tid)
    assert "fare" not in rows[0]["header"].lower()
    assert not any("leg-fare" in r or "fare-from-first" in r for r in rows)
    assert "—" not in html[html.index('<table class="stops">') :]


@pytest.fixture
def two_modes(app) -> None:
    with app.app_context():
        a, b = City(name="Aville"), City(name="Bton")
        daily = Calendar(name="daily")
        for number, mode, hour in (("T1", "train", 8), ("F1", "flight", 9)):
            service = Service(number=number, mode=mode, currency="CNY")
            run = Timetable(code="1", calendar=daily, service=service)
            run.stops = [
                Stop(sequence=0, city=a, departure=hour * H),
                Stop(sequence=1, city=b, arrival=hour * H + 1800, fare_cents=1000),
            ]
            db.session.add(service)
        db.session.commit()


@pytest.mark.parametrize("modes", ["modes=Train", "modes=TRAIN", "modes=&modes=Train", "modes=train, FLIGHT"])
def test_route_page_takes_modes_in_any_case(client, two_modes, modes):
    # QA: /routes?...&modes=Train was 400 "Unknown mode: Train." (the API takes any case).
    html = page(client, f"/routes?from=Aville&to=Bton&date=2025-03-03&time=07:00&{modes}")
    assert 'class="field-error"' not in html
    assert re.search(r'value="train" checked', html)
    assert ("FLIGHT" in modes) == bool(re.search(r'value="flight" checked', html))
    assert "T1" in html


@pytest.mark.parametrize("path", ["/cities?mode=TRAIN", "/cities?mode=Train"])
def test_city_pages_take_a_mode_in_any_case_too(app, client, two_modes, path):
    # They answered 400 "Unknown mode: TRAIN." where the route page takes it.
    assert "Aville" in page(client, path)
    with app.app_context():
        from transit.models import City
        from transit.web.extensions import db

        aville = db.session.scalars(select(City).where(City.name == "Aville")).one()
    assert "T1" in page(client, f"/cities/{aville.id}?mode=TRAIN&date=2025-03-03")


def test_a_mode_filter_without_journeys_names_the_mode_in_lower_case(client, two_modes):
    # The train left at 08:00; the flight at 09:00 is within the two hours.
    html = page(client, "/routes?from=Aville&to=Bton&date=2025-03-03&time=08:30&modes=train"
                        "&window_hours=2&lang=en")
    assert "No journey from Aville to Bton uses only train: the mode filter" in html


def test_any_language_means_english(client, two_modes):
    # "Accept-Language: *" took the first language offered, Chinese.
    html = client.get("/cities", headers={"Accept-Language": "*"}).get_data(as_text=True)
    assert '<html lang="en"' in html


def test_route_page_still_refuses_an_unknown_mode(client, two_modes):
    html = page(client, "/routes?from=Aville&to=Bton&modes=Rocket", 400)
    assert "Unknown mode: Rocket." in html
