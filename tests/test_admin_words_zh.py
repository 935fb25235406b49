"""The core's refusals are ``Words``: the same English text for the API and the command
line, and a msgid with its values for the Chinese admin pages (``i18n.translated``).

The unit tests call ``transit.editing`` on a real database and check each refusal's message
and field messages: ``Words`` whose text is exactly the English one. The page tests check
that the admin pages say them through the catalog.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.admin_helpers import post
from transit import editing
from transit import schemas as s
from transit.editing import EditError
from transit.models import Calendar, City, Service, ServiceFare, Stop, Timetable
from transit.words import Words

H = 3600


@pytest.fixture
def corridor(session: Session) -> dict[str, int]:
    """Beijing, Jinan, Shanghai (and Wuhan, called at by nothing); train G1 of CR, variant
    "1" Beijing-Jinan-Shanghai on the named calendar "daily", a fare Beijing-Shanghai."""
    beijing = City(name="Beijing", code="BJP", timezone="Asia/Shanghai")
    jinan = City(name="Jinan", code="JNK", timezone="Asia/Shanghai")
    shanghai = City(name="Shanghai", code="SHH", timezone="Asia/Shanghai")
    wuhan = City(name="Wuhan", code="WHN", timezone="Asia/Shanghai")
    calendar = Calendar(name="daily")
    service = Service(number="G1", mode="train", operator="CR")
    timetable = Timetable(code="1", calendar=calendar, service=service)
    timetable.stops = [
        Stop(sequence=0, city=beijing, departure=8 * H),
        Stop(sequence=1, city=jinan, arrival=9 * H + 1800, departure=9 * H + 1920,
             fare_cents=20000),
        Stop(sequence=2, city=shanghai, arrival=12 * H + 2400, fare_cents=35000),
    ]
    service.fares = [ServiceFare(origin=beijing, destination=shanghai, fare_cents=50000)]
    session.add_all([beijing, jinan, shanghai, wuhan, service])
    session.commit()
    return {"beijing": beijing.id, "jinan": jinan.id, "shanghai": shanghai.id,
            "wuhan": wuhan.id, "calendar": calendar.id, "g1": service.id,
            "g1_variant": timetable.id}


def _words(message: str, english: str) -> Words:
    """``message`` is ``Words`` reading exactly ``english``, its msgid a literal template."""
    assert isinstance(message, Words), f"plain text, not Words: {message!r}"
    assert message == english
    assert (message.template % message.values if message.values else message.template) == english
    return message


def _refused(call, *args, **kwargs) -> EditError:
    with pytest.raises(EditError) as caught:
        call(*args, **kwargs)
    return caught.value


def _variant(*stops: tuple[str, str | None, str | None], **more) -> s.TimetableCreate:
    days = {"calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}
    return s.TimetableCreate.model_validate({
        **({} if "calendar_id" in more else days),
        "stops": [{"city": city, "arrival": arrival, "departure": departure}
                  for city, arrival, departure in stops],
        **more,
    })


# --- refusals, in English and as Words -------------------------------------------------------


def test_deleting_a_city_still_called_at(session, corridor):
    city = session.get(City, corridor["jinan"])
    error = _refused(editing.delete_city, session, city, user="editor")
    words = _words(error.message, "Jinan is still called at by 1 service: train G1 (CR). Delete or "
                   "change them first, or repeat with cascade=true to delete them too.")
    assert words.values == {"city": "Jinan", "count": 1, "services": "train G1 (CR)"}
    session.rollback()
    calendar = session.get(Calendar, corridor["calendar"])
    beijing, jinan = session.get(City, corridor["beijing"]), session.get(City, corridor["jinan"])
    stops = [Stop(sequence=0, city=beijing, departure=8 * H),
             Stop(sequence=1, city=jinan, arrival=10 * H)]
    session.add(Service(number="G3", mode="train", operator="CR",
                        timetables=[Timetable(code="1", calendar=calendar, stops=stops)]))
    session.commit()
    error = _refused(editing.delete_city, session, jinan, user="editor")
    words = _words(error.message, "Jinan is still called at by 2 services: train G1 (CR), train "
                   "G3 (CR). Delete or change them first, or repeat with cascade=true to delete "
                   "them too.")
    assert "%(count)d services" in words.template


def test_a_duplicate_service_number(session, corridor):
    data = s.ServiceCreate.model_validate({"number": "G1", "mode": "train", "operator": "CR"})
    error = _refused(editing.create_service, session, data, user="editor")
    _words(error.message, f"Service train G1 (CR) already exists (id {corridor['g1']}); operator, "
           "number and route together are unique (set route to tell two products apart).")
    [issue] = error.issues
    assert issue.field == "number"
    _words(issue.message, f"already used by service {corridor['g1']}")


def test_a_copy_without_a_number_of_its_own(session, corridor):
    service = session.get(Service, corridor["g1"])
    error = _refused(editing.duplicate_service, session, service, number=" ", route="x" * 201,
                     user="editor")
    _words(error.message, "The copy needs a number of its own.")
    assert [issue.field for issue in error.issues] == ["number", "route"]
    _words(error.issues[0].message, "a service needs a number")
    _words(error.issues[1].message, "a route tag has at most 200 characters")
    error = _refused(editing.duplicate_service, session, service, number="9" * 65, route="a\x00",
                     user="editor")
    assert [issue.field for issue in error.issues] == ["number", "route"]
    _words(error.issues[0].message, "a service number has at most 64 characters")
    _words(error.issues[1].message, "text may not contain NUL characters")
    error = _refused(editing.duplicate_service, session, service, number="G1", route="",
                     user="editor")
    _words(error.message, f"Service train G1 (CR) already exists (id {corridor['g1']}); operator, "
           "number and route together are unique (set route to tell two products apart).")


def test_stops_out_of_order_and_unknown_cities(session, corridor):
    """The summary lists the issues as values of its own, so each can be translated."""
    service = session.get(Service, corridor["g1"])
    data = _variant(("Beijing", None, "10:00"), ("Atlantis", "11:00", "11:05"),
                    ("Shanghai", "09:00", None), code="1")
    error = _refused(editing.add_timetable, session, service, data, user="editor")
    _words(error.message, "Service train G1 (CR) already has a variant '1'.")
    [issue] = error.issues
    assert issue.field == "code"
    _words(issue.message, "already used in this service")

    data = _variant(("Beijing", None, "10:00"), ("Atlantis", "11:00", "11:05"),
                    ("Shanghai", "09:00", None), calendar_id=999)
    error = _refused(editing.add_timetable, session, service, data, user="editor")
    out_of_order = ("arrival 09:00 is before the previous departure 11:05 (stops out of order, "
                    "or a time after midnight not marked as the next day?)")
    summary = _words(error.message, "Some fields are invalid: no calendar 999; no city with name "
                     f"'Atlantis'; {out_of_order}.")
    assert summary.template == "Some fields are invalid: %(problems)s."
    assert isinstance(summary.values["problems"], Words)  # "a; b; c", each its own message
    fields = {issue.field: issue.message for issue in error.issues}
    _words(fields["calendar_id"], "no calendar 999")
    _words(fields["stops[1].city"], "no city with name 'Atlantis'")
    assert fields["stops[2]"] == out_of_order  # said by transit.schemas, not by editing

    data = _variant(("Beijing", None, "10:00"), ("Atlantis", "11:00", "11:05"),
                    ("Lhasa", "12:00", None))
    error = _refused(editing.add_timetable, session, service, data, user="editor")
    _words(error.message, "Some cities are unknown: no city with name 'Atlantis'; no city with "
           "name 'Lhasa'.")


def test_bad_fares(session, corridor):
    service = session.get(Service, corridor["g1"])
    fares = [s.FareIn.model_validate(fare) for fare in (
        # One city by id and by name: the model cannot tell, editing does.
        {"origin": corridor["beijing"], "destination": "Beijing", "fare_cents": 100},
        {"origin": "Wuhan", "destination": "Shanghai", "fare_cents": 100},
        {"origin": "Beijing", "destination": "Jinan", "fare_cents": 100},
        {"origin": "Beijing", "destination": "Jinan", "fare_cents": 200},
        {"origin": 999, "destination": "Jinan", "fare_cents": 200},
    )]
    error = _refused(editing.replace_fares, session, service, fares, user="editor")
    _words(error.message, "Some fields are invalid: origin and destination are the same city; "
           "Wuhan is not a stop of this service; a second fare from Beijing to Jinan and 1 more.")
    fields = {issue.field: issue.message for issue in error.issues}
    assert set(fields) == {"fares[0]", "fares[1].origin", "fares[3]", "fares[4].origin"}
    _words(fields["fares[0]"], "origin and destination are the same city")
    _words(fields["fares[1].origin"], "Wuhan is not a stop of this service")
    _words(fields["fares[3]"], "a second fare from Beijing to Jinan")
    _words(fields["fares[4].origin"], "no city with id 999")

    again = s.FareIn.model_validate({"origin": "Beijing", "destination": "Shanghai",
                                     "fare_cents": 100})
    error = _refused(editing.add_fare, session, service, again, user="editor")
    fare_id = service.fares[0].id
    _words(error.message, f"There is already a fare from Beijing to Shanghai (id {fare_id}); "
           "change it with PUT on the fares list.")


def test_a_change_leaving_a_fare_without_its_stops(session, corridor):
    timetable = session.get(Timetable, corridor["g1_variant"])
    error = _refused(editing.delete_timetable, session, timetable, user="editor")
    _words(error.message, "The service would no longer call where its fares Beijing-Shanghai "
           "apply; change or delete those fares first.")


def test_a_change_turning_a_fare_against_every_variant(session, corridor):
    # Reversed, the only variant calls at Shanghai first: the Beijing-Shanghai fare could
    # never be charged, which a fare sent so is refused for.
    timetable = session.get(Timetable, corridor["g1_variant"])
    reversed_ = _variant(("Shanghai", None, "08:00"), ("Jinan", "10:00", "10:05"),
                         ("Beijing", "12:00", None))
    error = _refused(editing.replace_timetable, session, timetable, reversed_, user="editor")
    _words(error.message, "The service would no longer call at the origin before the "
           "destination of its fares Beijing-Shanghai on any variant, so they could never be "
           "charged; change or delete those fares first.")
    session.rollback()
    # A second variant the right way round keeps the fare chargeable: then it may turn.
    editing.add_timetable(session, session.get(Service, corridor["g1"]),
                          _variant(("Beijing", None, "14:00"), ("Shanghai", "18:00", None)),
                          user="editor")
    timetable = session.get(Timetable, corridor["g1_variant"])
    editing.replace_timetable(session, timetable, reversed_, user="editor")


def test_a_change_dropping_one_fare_and_turning_another_names_both(session, corridor):
    jinan = session.get(City, corridor["jinan"])
    service = session.get(Service, corridor["g1"])
    service.fares.append(ServiceFare(origin=jinan, destination=session.get(City, corridor["shanghai"]),
                                     fare_cents=100))
    session.commit()
    timetable = session.get(Timetable, corridor["g1_variant"])
    # Shanghai to Beijing: Jinan is gone, and Beijing-Shanghai runs the wrong way.
    turned = _variant(("Shanghai", None, "08:00"), ("Beijing", "12:00", None))
    error = _refused(editing.replace_timetable, session, timetable, turned, user="editor")
    assert error.message == (
        "The service would no longer call where its fares Jinan-Shanghai apply; change or "
        "delete those fares first. The service would no longer call at the origin before the "
        "destination of its fares Beijing-Shanghai on any variant, so they could never be "
        "charged; change or delete those fares first.")


def test_calendars(session, corridor):
    calendar = session.get(Calendar, corridor["calendar"])
    error = _refused(editing.delete_calendar, session, calendar, user="editor")
    _words(error.message, f"Calendar {corridor['calendar']} is used by train G1 (CR) variant 1; "
           "give them another calendar first.")
    change = s.CalendarUpdate.model_validate({"start_date": "2026-05-01"})
    calendar.end_date = dt.date(2026, 4, 1)
    error = _refused(editing.update_calendar, session, calendar, change, user="editor")
    _words(error.message, "The calendar would be inconsistent.")


def test_archives_and_clashes(tmp_path: Path):
    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as archive:
        archive.writestr("../evil.txt", "x")
    (tmp_path / "work").mkdir()
    error = _refused(editing.prepare_upload, unsafe, tmp_path / "work", "csv")
    _words(error.message, "The archive has an unsafe path: '../evil.txt'.")
    large = tmp_path / "large.zip"
    with zipfile.ZipFile(large, "w") as archive:
        archive.writestr("TrainTable.txt", "x" * 100)
    (tmp_path / "work2").mkdir()
    error = _refused(editing.prepare_upload, large, tmp_path / "work2", "csv", max_unzipped=10)
    assert error.kind == "too_large"
    _words(error.message, "The archive unpacks to more than the server accepts.")
    clash = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
    _words(editing.conflict_words(clash), "The change clashes with another change saved at the "
           "same moment, so nothing was changed: look at the data again and repeat the change "
           "if it still applies.")


# --- the admin pages say them through the catalog --------------------------------------------


def test_a_summary_says_its_issues_in_the_readers_language_too(app):
    """Values that are Words themselves (the issues a summary lists) are translated as well;
    these two msgids are in the catalog already."""
    from transit.web.admin.common import in_reader_words

    summary = editing.issues_summary([
        editing.FieldIssue("origin", Words("choose a stop of the variant")),
        editing.FieldIssue("destination", Words("the destination must come after the origin")),
    ])
    with app.test_request_context("/admin/?lang=zh"):
        shown = in_reader_words(summary)
    assert "请选择该版本的一个停靠站" in shown and "终点必须在起点之后" in shown
    assert "choose a stop" not in shown
    with app.test_request_context("/admin/?lang=en"):
        assert in_reader_words(summary) == summary
    assert in_reader_words("plain words") == "plain words"


@pytest.mark.parametrize("where", ["city", "variant", "upload"])
def test_flashed_and_reported_refusals_go_through_the_catalog(app, client, admin, monkeypatch,
                                                              where):
    """The refusals a page flashes (deleting a city or a variant) or reports (an upload) were
    shown as the English text; a msgid already in the catalog shows they are translated."""
    said = Words("this variant does not run on that day")

    def refused(*args, **kwargs):
        raise EditError("conflict", said)

    client.get("/admin/?lang=zh")
    if where == "city":
        monkeypatch.setattr(editing, "delete_city", refused)
        reply = post(client, f"/admin/cities/{admin['jinan']}/delete", {})
    elif where == "variant":
        monkeypatch.setattr(editing, "delete_timetable", refused)
        url = f"/admin/services/{admin['g1']}"
        reply = post(client, f"{url}/variants/{admin['g1_variant']}/delete", {}, form_url=url)
    else:
        monkeypatch.setattr(editing, "import_timetable", refused)
        reply = post(client, "/admin/imports", {"file": (io.BytesIO(b"x"), "feed.zip")},
                     content_type="multipart/form-data")
    assert reply.status_code == 302
    page = client.get(reply.location).get_data(as_text=True)
    assert "该版本在那一天不运行" in page and str(said) not in page


def test_chinese_admin_page_shows_refusal_in_chinese(client, admin):
    """Fails until the msgids of /tmp/words_zh.txt are in the compiled catalog
    (translations/zh/LC_MESSAGES/messages.mo)."""
    client.get("/admin/?lang=zh")
    url = f"/admin/services/{admin['g1']}"
    reply = post(client, f"{url}/duplicate", {"number": "G1", "route": ""}, form_url=url)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert f"车次 train G1 (CR) 已存在（id {admin['g1']}）" in html, html
    assert f"已被车次 {admin['g1']} 使用" in html
    assert "already exists" not in html

    form = {"number": "G1", "mode": "train", "operator": "CR", "route": "", "name": "",
            "currency": "CNY", "fare_origin": ["Beijing", "Beijing", "Jinan"],
            "fare_destination": ["Shanghai", "Shanghai", "Atlantis"],
            "fare_amount": ["100", "200", "50"]}
    reply = post(client, url, form)
    html = reply.get_data(as_text=True).replace("&#39;", "'")
    assert reply.status_code == 422
    assert "有些字段无效：从Beijing到Shanghai的票价重复；没有名为 'Atlantis' 的城市。" in html, html
    assert "Some fields are invalid" not in html and "a second fare" not in html


def test_a_zone_change_breaking_many_variants_lists_a_few(session):
    """Moving a city into another zone may break hundreds of stored variants: the refusal
    listed every one (21,000 characters, said three times on the admin page)."""
    tokyo = City(name="Tokyo", code="TYO", timezone="Asia/Tokyo")
    shanghai = City(name="Shanghai", code="SHA", timezone="Asia/Shanghai")
    daily = Calendar(name="daily")
    for number in range(8):
        service = Service(number=f"T{number}", mode="flight")
        # 10:00 in Tokyo to 09:30 in Shanghai: half an hour, until Shanghai is on Tokyo's clock.
        Timetable(code="1", calendar=daily, service=service, stops=[
            Stop(sequence=0, city=tokyo, departure=10 * H + number * 60),
            Stop(sequence=1, city=shanghai, arrival=9 * H + 1800 + number * 60)])
        session.add(service)
    session.commit()
    error = _refused(editing.update_city, session, shanghai,
                     s.CityUpdate(timezone="Asia/Tokyo"), user="editor")
    assert [issue.field for issue in error.issues] == ["timezone"] * 6
    assert "T0 variant 1, stop 2" in error.issues[0].message
    _words(error.issues[-1].message, "and 3 more stops of stored variants like these")
