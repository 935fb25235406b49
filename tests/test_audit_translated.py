"""The audit log says what changed in its reader's language: each entry keeps the message it
was written from (``AuditEntry.summary_words``) besides its English ``summary``, and the admin
pages say it again through the catalog, names, numbers and counts kept as values. Entries
written before (plain English, no message) are shown as written, and migration 0005 keeps them.

The Chinese page checks fail until the msgids of /tmp/zh-audit.txt are in the compiled catalog
(translations/zh/LC_MESSAGES/messages.mo).
"""

from __future__ import annotations

import html as html_lib
import json
import re

from sqlalchemy import create_engine, select, text

from tests.admin_helpers import PASSWORD, delete_city, log_in, post
from tests.test_admin_pages import _opened, _service_form
from transit import auth, editing
from transit.models import AuditEntry
from transit.web.extensions import db
from transit.words import Words

_CHANGE = re.compile(r"<tr><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td></tr>")


def _changes(client, lang: str, **query: str) -> list[str]:
    """The Change column of the audit log, newest first, as the reader sees it."""
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    page = client.get(f"/admin/audit?lang={lang}{extra}")
    assert page.status_code == 200
    return [html_lib.unescape(c) for c in _CHANGE.findall(page.get_data(as_text=True))]


def _stored(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.summary, e.summary_words) for e in db.session.scalars(
            select(AuditEntry).order_by(AuditEntry.id.desc()))]


def test_changes_made_on_the_chinese_pages_read_in_chinese_and_in_english(app, client, admin):
    client.get("/admin/?lang=zh")  # a Chinese administrator: the language is remembered
    reply = post(client, f"/admin/cities/{admin['jinan']}",
                 {"name": "Jinan", "code": "JNK", "latitude": "", "longitude": "",
                  "timezone": "Asia/Urumqi", "min_connection": "20"})
    assert reply.status_code == 302
    url = f"/admin/services/{admin['g1']}"
    reply = post(client, url, _service_form(operator="China Railway", version=_opened(client, url)))
    assert reply.status_code == 302
    assert delete_city(client, admin["jinan"]).status_code == 302

    chinese = _changes(client, "zh")
    assert chinese[:3] == [
        "删除了城市 Jinan 及车次 列车 G1（China Railway）",
        "修改了 列车 G1（China Railway） 的运营商",
        "修改了 Jinan 的最短换乘时间、时区",
    ], chinese
    english = [
        "deleted city Jinan and services train G1 (China Railway)",
        "changed operator of train G1 (China Railway)",
        "changed minimum connection time, time zone of Jinan",
    ]
    assert _changes(client, "en")[:3] == english
    # The entries keep their English (what the API, exports and older readers see) and the
    # message it was made from, the names and numbers as values.
    stored = _stored(app)[:3]
    assert [summary for summary, _ in stored] == english
    deleted = json.loads(stored[0][1])
    assert deleted["msgid"] == "deleted city %(city)s and services %(services)s"
    assert deleted["values"]["city"] == "Jinan"
    assert deleted["values"]["services"] == {"list": [{
        "msgid": "%(service)s (%(operator)s)",
        "values": {"service": {"msgid": "train %(number)s", "values": {"number": "G1"}},
                   "operator": "China Railway"}}]}


def test_every_entry_reads_in_english_as_its_summary(app, client, admin):
    """The English said again from each kept message is the English stored with it."""
    url = f"/admin/services/{admin['g1']}"
    post(client, url, _service_form(version=_opened(client, url)))  # saved unchanged
    post(client, "/admin/cities/new", {"name": "Wuhan", "code": "", "latitude": "",
                                       "longitude": "", "timezone": "Asia/Shanghai",
                                       "min_connection": ""})
    stored = _stored(app)
    assert [s for s, _ in stored] == ["created city Wuhan", "changed nothing of train G1 (CR)"]
    assert all(words is not None for _, words in stored)
    assert _changes(client, "en") == [s for s, _ in stored]
    assert _changes(client, "zh") == ["新建城市 Wuhan", "列车 G1（CR） 未作修改"]


def test_a_run_recorded_on_the_chinese_form_reads_in_chinese(app, client, admin):
    client.get("/admin/?lang=zh")
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    reply = post(client, url, {"service_date": "2026-03-02", "origin": "0", "destination": "2",
                               "actual_departure": "2026-03-02T08:03",
                               "actual_arrival": "2026-03-02T12:45"})
    assert reply.status_code == 302, reply.get_data(as_text=True)
    # Beijing 08:00 is 00:00 UTC; service, city and time are values, as they were written.
    assert _changes(client, "zh") == ["记录了 CR G1 的一次运行：2026-03-02 00:00 UTC 从 Beijing 出发"]
    assert _changes(client, "en") == ["recorded CR G1 from Beijing at 2026-03-02 00:00 UTC"]


def test_an_imports_counts_say_their_plurals_in_each_language(app, client, admin):
    counts = {"cities": 2, "services": {"flight": 1, "train": 3}, "timetables": 1,
              "stops": 1200, "fares": 0}
    with app.app_context():
        editing.audit(db.session(), "editor", "import", "feed", None,
                      editing.import_words("北京.zip", "gtfs", counts))
        editing.audit(db.session(), "editor", "import", "trips", None,
                      Words("imported %(runs)s from %(source)s", source="runs.csv",
                                    runs=editing.Counted(1, "%(num)d past run",
                                                         "%(num)d past runs")))
        db.session.commit()
    english = ["imported 1 past run from runs.csv",
               "imported 北京.zip (gtfs): 2 cities, 1 flight, 3 trains, 1 timetable, "
               "1200 stops, no origin-destination fares"]
    assert [s for s, _ in _stored(app)] == english
    assert _changes(client, "en") == english
    assert _changes(client, "zh") == [
        "导入 runs.csv：1 条历史运行记录",
        "导入了 北京.zip（gtfs）：2 个城市、1 个航班、3 趟列车、1 个时刻表、1200 个停靠站、没有起讫点票价",
    ]


def test_entries_written_before_keep_their_text(app, client, admin):
    """A row of before the messages were kept (plain English), and one whose message cannot
    be read, show their summary as written, in either language."""
    with app.app_context():
        db.session.add_all([
            AuditEntry(username="old", action="update", entity="city", entity_id=1,
                       summary="changed timezone of Beijing"),
            AuditEntry(username="old", action="update", entity="city", entity_id=1,
                       summary="changed code of Beijing", summary_words="{not json"),
            AuditEntry(username="old", action="update", entity="city", entity_id=1,
                       summary="changed name of Beijing",
                       summary_words='{"msgid": "changed %(fields)s of %(what)s", "values": {}}'),
        ])
        db.session.commit()
    for lang in ("zh", "en"):
        assert _changes(client, lang, user="old") == [
            "changed name of Beijing", "changed code of Beijing", "changed timezone of Beijing"]


def test_migration_0005_keeps_the_audit_log(database_url):
    from transit import create_app

    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                        "SECRET_KEY": "x", "WTF_CSRF_ENABLED": True})
    cli = fresh.test_cli_runner()
    result = cli.invoke(args=["db", "upgrade", "0004"])
    assert result.exit_code == 0, result.output
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for summary in ("created city 武汉", "imported flight.zip (gtfs): 2 cities, 1 flight"):
            connection.execute(text(
                "INSERT INTO audit_log (at, username, action, entity, entity_id, summary) "
                "VALUES (CURRENT_TIMESTAMP, 'editor', 'create', 'city', 7, :summary)"),
                {"summary": summary})
    result = cli.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT summary, summary_words FROM audit_log ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("created city 武汉", None), ("imported flight.zip (gtfs): 2 cities, 1 flight", None)]

    with fresh.app_context():
        auth.create_user(db.session(), "editor", PASSWORD)
        db.session.commit()
    client = fresh.test_client()
    assert log_in(client).status_code == 302
    for lang in ("zh", "en"):
        assert _changes(client, lang) == [
            "imported flight.zip (gtfs): 2 cities, 1 flight", "created city 武汉"]

    result = cli.invoke(args=["db", "downgrade", "0004"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2
    engine.dispose()
    with fresh.app_context():
        db.engine.dispose()
