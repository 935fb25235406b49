"""QA findings on the admin pages: fares with a decimal comma, the services list and a
service's page with many variants, user names that differ only in case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.admin_helpers import PASSWORD, H, log_in, make_admin, post
from transit import auth
from transit.models import AuditEntry, Calendar, City, Service, Stop, Timetable, User
from transit.web.extensions import db

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _new_service(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "number": "Z99", "mode": "train", "operator": "CR", "route": "", "name": "",
        "currency": "CNY", "code": "", "headsign": "", "weekdays": WEEK, "start_date": "",
        "end_date": "", "added": "", "removed": "",
        "stop_city": ["Beijing", "Jinan", "Shanghai"],
        "stop_arrival": ["", "07:10", "09:00"], "stop_arrival_day": ["0", "1", "1"],
        "stop_departure": ["21:00", "07:20", ""], "stop_departure_day": ["0", "1", "0"],
        "stop_fare": ["", "300.50", "20"],
    }
    form.update(changes)
    return form


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html)
    assert found, f"no error beside {field}"
    return found.group(1)


# --- 1. fares with a comma -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["12,50", "1,2,3", "1,25", "12,5000", ",50"])
def test_a_leg_fare_with_a_comma_not_between_thousands_is_refused(app, client, admin, typed):
    reply = post(client, "/admin/services/new", _new_service(stop_fare=["", typed, "20"]))
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert "amount such as 123.50" in _field_error(html, "stops-1-fare_cents")
    assert f'value="{typed}"' in html  # what was typed stays in the form
    with app.app_context():
        assert db.session.scalar(select(Service).where(Service.number == "Z99")) is None


@pytest.mark.parametrize("typed", ["12,50", "1,2,3"])
def test_an_od_fare_with_a_decimal_comma_is_refused(app, client, admin, typed):
    form = _new_service(fare_origin=["Beijing"], fare_destination=["Shanghai"],
                        fare_amount=[typed])
    reply = post(client, "/admin/services/new", form)
    assert reply.status_code == 422
    assert "amount such as 123.50" in _field_error(reply.get_data(as_text=True),
                                                   "fares-0-fare_cents")
    with app.app_context():
        assert db.session.scalar(select(Service).where(Service.number == "Z99")) is None


def test_commas_between_thousands_are_read_as_such(app, client, admin):
    form = _new_service(stop_fare=["", "1,250.50", "12,500"], fare_origin=["Beijing"],
                        fare_destination=["Shanghai"], fare_amount=["1,300.5"])
    reply = post(client, "/admin/services/new", form)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.number == "Z99"))
        assert service is not None
        legs = [stop.fare_cents for stop in service.timetables[0].stops]
        assert legs == [None, 125050, 1250000]
        assert [f.fare_cents for f in service.fares] == [130050]


# --- 2. lists that read what they show --------------------------------------------------------


def _add_variants(app: Any, service_id: int, count: int) -> None:
    """``count`` more variants of the service: Jinan -> Shanghai, 4 stops each."""
    with app.app_context():
        service = db.session.get(Service, service_id)
        cities = {c.name: c for c in db.session.scalars(select(City))}
        for n in range(count):
            timetable = Timetable(code=f"x{n}", calendar=Calendar(name=f"x{n}"), service=service)
            db.session.add(timetable)
            timetable.stops = [
                Stop(sequence=0, city=cities["Jinan"], departure=6 * H + n * 60),
                Stop(sequence=1, city=cities["Beijing"], arrival=7 * H + n * 60,
                     departure=7 * H + n * 60 + 60),
                Stop(sequence=2, city=cities["Jinan"], arrival=8 * H + n * 60,
                     departure=8 * H + n * 60 + 60),
                Stop(sequence=3, city=cities["Shanghai"], arrival=9 * H + n * 60),
            ]
        db.session.commit()


class _Reads(list[str]):
    """The SQL statements run, and how many values were bound to them: a statement that
    reads every variant's stops binds every variant's id (SQLAlchemy's selectin loading)."""

    values = 0


@contextmanager
def _statements(app: Any) -> Iterator[_Reads]:
    seen = _Reads()

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append(statement)
        seen.values += len(parameters or ())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _rows(html: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert body
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def test_the_services_list_shows_each_first_variants_ends_and_the_variant_count(app, client,
                                                                                admin):
    with app.app_context():
        beijing, shanghai = (db.session.scalar(select(City).where(City.name == n))
                             for n in ("Beijing", "Shanghai"))
        # A service whose first variant (by id) runs the other way: its ends are shown.
        back = Service(number="G2", mode="train", operator="CR")
        db.session.add(back)
        for code, calls in (("1", (shanghai, beijing)), ("2", (beijing, shanghai))):
            timetable = Timetable(code=code, calendar=Calendar(name=f"g2-{code}"), service=back)
            db.session.add(timetable)
            timetable.stops = [Stop(sequence=0, city=calls[0], departure=8 * H),
                               Stop(sequence=5, city=calls[1], arrival=12 * H)]
        db.session.add(Service(number="G3", mode="train", operator="CR"))  # no variant
        db.session.commit()
    _add_variants(app, admin["g1"], 3)
    rows = _rows(client.get("/admin/services").get_data(as_text=True))
    assert [row[1:5] for row in rows] == [
        ["CR", "Beijing", "Shanghai", "4"],
        ["CR", "Shanghai", "Beijing", "2"],
        ["CR", "", "", "0"],
    ]


def test_the_services_list_reads_as_much_for_many_variants_as_for_one(app, client, admin):
    with _statements(app) as few:
        assert client.get("/admin/services").status_code == 200
    _add_variants(app, admin["g1"], 60)
    with _statements(app) as many:
        html = client.get("/admin/services").get_data(as_text=True)
    assert _rows(html)[0][1:5] == ["CR", "Beijing", "Shanghai", "61"]
    assert (len(many), many.values) == (len(few), few.values)


def test_a_service_with_many_variants_lists_them_a_page_at_a_time(app, client, admin):
    url = f"/admin/services/{admin['g1']}"
    _add_variants(app, admin["g1"], 60)
    with _statements(app) as full:
        html = client.get(url).get_data(as_text=True)
    assert "61 variants" in html
    assert len(re.findall(r"/variants/\d+/trips/new", html)) == 50
    assert "Page 1 of 2" in html
    assert "Jinan → Beijing → Jinan → Shanghai" in html
    second = client.get(url + "?page=2").get_data(as_text=True)
    assert len(re.findall(r"/variants/\d+/trips/new", second)) == 11
    assert "x59" in second and "x59" not in html
    # Once a page is full, 100 more variants read no more.
    with app.app_context():
        service = db.session.get(Service, admin["g1"])
        more = [Timetable(code=f"y{n}", calendar=Calendar(name=f"y{n}"), service=service)
                for n in range(100)]
        db.session.add_all(more)
        db.session.commit()
    with _statements(app) as fuller:
        assert "161 variants" in client.get(url).get_data(as_text=True)
    assert (len(fuller), fuller.values) == (len(full), full.values)
    # The service form on a later page still saves.
    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "Fast",
            "currency": "CNY"}
    assert post(client, url + "?page=2", form).status_code == 302
    with app.app_context():
        assert db.session.get(Service, admin["g1"]).name == "Fast"


def test_a_variants_pages_read_only_that_variant(app, client, admin):
    variant = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}"
    pages = [variant, variant + "/trips/new", f"/admin/services/{admin['g1']}/variants/new"]
    with _statements(app) as few:
        for page in pages:
            assert client.get(page).status_code == 200
    _add_variants(app, admin["g1"], 30)
    with _statements(app) as many:
        for page in pages:
            assert client.get(page).status_code == 200
    assert (len(many), many.values) == (len(few), few.values)
    # Another service's variant is not found under this one.
    with app.app_context():
        other = Service(number="D1", mode="train", operator="CR")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    assert client.get(f"/admin/services/{other_id}/variants/{admin['g1_variant']}").status_code \
        == 404


# --- 4. user names in any case ---------------------------------------------------------------


def test_a_user_name_differing_only_in_case_is_refused(app, runner):
    first = runner.invoke(args=["users", "create", "qa", "--password-stdin"],
                          input="a long password\n")
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["users", "create", "QA", "--password-stdin"],
                          input="another long password\n")
    assert again.exit_code != 0
    assert "a user called 'qa' already exists" in again.output
    assert "capitals" in again.output
    with app.app_context():
        assert list(db.session.scalars(select(User.username))) == ["qa"]


def test_login_matches_the_name_in_any_case_and_records_the_stored_name(app, client, admin):
    # ``admin`` logged in as "editor": log in again as "EDITOR" on a fresh client.
    other = app.test_client()
    assert log_in(other, "EDITOR").status_code == 302
    assert other.get("/admin/").status_code == 200
    form = {"name": "Nanjing", "code": "NJH", "latitude": "", "longitude": "",
            "timezone": "Asia/Shanghai", "min_connection": ""}
    assert post(other, "/admin/cities/new", form).status_code == 302
    with app.app_context():
        names = set(db.session.scalars(select(AuditEntry.username)))
        assert names == {"editor"}
    assert log_in(app.test_client(), "Editor", "wrong password").status_code == 401


def test_failed_logins_in_other_cases_count_against_one_name(app, client):
    make_admin(app)
    for name in ("editor", "EDITOR", "Editor", "eDitor", "edItor"):
        assert log_in(client, name, "wrong password").status_code == 401
    assert log_in(client, "EDitor", PASSWORD).status_code == 429


def test_names_that_already_differ_only_in_case_are_never_mixed_up(app):
    # Made before the check: each logs in with its own name; neither with a third spelling.
    with app.app_context():
        session = db.session()
        session.add_all([User(username="qa", password_hash=auth.hash_password("first password")),
                         User(username="QA", password_hash=auth.hash_password("second password"))])
        session.commit()
        assert auth.authenticate(session, "qa", "first password").username == "qa"
        assert auth.authenticate(session, "QA", "second password").username == "QA"
        assert auth.authenticate(session, "qa", "second password") is None
        assert auth.authenticate(session, "Qa", "first password") is None
        assert auth.find_user(session, "Qa") is None
