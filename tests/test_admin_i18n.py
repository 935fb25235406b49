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
