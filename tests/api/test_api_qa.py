"""What a client integrating with the API hit (the apiqa session): each test failed before its fix.

Real HTTP against the app on 127.0.0.1 (tests/api/conftest.py), a real SQLite file, no mocks.
"""

from __future__ import annotations


def test_a_list_answered_again_keeps_its_link_header(api, network):
    # The second identical request is answered from the worker's kept answers
    # (transit/web/response_cache.py), which dropped the Link header a paging client follows.
    path = "/api/v1/cities?limit=1&offset=1"
    first = api.get(path)
    again = api.get(path)
    assert first.status == again.status == 200
    assert first.body == again.body
    link = first.headers["Link"]
    assert 'rel="next"' in link and 'rel="prev"' in link
    assert again.headers.get("Link") == link
    for path in ("/api/v1/services?limit=1", "/api/v1/calendars?limit=1",
                 f"/api/v1/services/{network.services['T1']}/timetables?limit=1"):
        first, again = api.get(path), api.get(path)
        assert again.headers.get("Link") == first.headers["Link"], path
