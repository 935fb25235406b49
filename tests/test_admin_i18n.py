"""The admin pages in Chinese: what the pages themselves say, audit log included."""

from __future__ import annotations

from tests.admin_helpers import log_in, make_admin, post


def test_audit_log_names_actions_and_things_in_chinese(app, client):
    make_admin(app)
    assert log_in(client).status_code == 302
    post(client, "/admin/cities/new", {"name": "Wuhan", "timezone": "Asia/Shanghai"})
    html = client.get("/admin/audit?lang=zh").get_data(as_text=True)
    assert "<td>新建</td><td>城市 " in html
    assert '<option value="city">城市</option>' in html  # the filter keeps the stored key
    english = client.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "<td>created</td><td>city " in english
    assert "Wuhan" in client.get("/admin/audit?entity=city&lang=zh").get_data(as_text=True)


def test_admin_pages_leave_out_the_search_footnote(app, client):
    make_admin(app)
    log_in(client)
    assert "marks a time on a later day" not in client.get("/admin/").get_data(as_text=True)
    assert "marks a time on a later day" in client.get("/").get_data(as_text=True)


def test_the_cores_refusals_read_in_chinese(app, client, admin):
    """What editing and the city rule refuse was English on the Chinese pages ("the
    destination must come after the origin", "'pek' is the code of ..."): it is translated,
    values kept."""
    client.get("/admin/?lang=zh")  # the language is remembered
    reply = post(client, "/admin/cities/new", {"name": "shh", "code": "", "latitude": "",
                                               "longitude": "", "timezone": "Asia/Shanghai",
                                               "min_connection": ""})
    html = reply.get_data(as_text=True)
    assert reply.status_code in (409, 422) and "“shh”是Shanghai的代码" in html, html
    url = f"/admin/services/{admin['g1']}/variants/{admin['g1_variant']}/trips/new"
    reply = post(client, url, {"service_date": "2026-03-02", "origin": "2", "destination": "1",
                               "actual_departure": "2026-03-02T08:03",
                               "actual_arrival": "2026-03-02T07:00"})
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "终点必须在起点之后" in html and "实际到达早于实际出发" in html
    assert "the destination must come after the origin" not in html
