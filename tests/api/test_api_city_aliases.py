"""A city's other names (``aliases``) over real HTTP: written and read by the cities API,
checked like names and codes (no other city may be called so, in any case), and taken by the
routes API, the city search and the page suggestions as the city's name is."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from transit.models import City
from transit.web.extensions import db

MONDAY_MORNING = "2026-03-02T07:30:00"


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(City))


def _route(api, origin: str, destination: str):
    query = {"from": origin, "to": destination, "depart": MONDAY_MORNING}
    return api.get("/api/v1/routes?" + urlencode(query))


def test_other_names_are_written_read_and_find_the_city(app, admin, network):
    beijing = network.cities["Beijing"]
    before = _route(admin, "Beijing", "Shanghai")
    assert before.status == 200 and before.json["itineraries"]
    _route(admin, "Peking", "Shanghai").problem(422)

    changed = admin.patch(f"/api/v1/cities/{beijing}", {"aliases": [" Peking ", "Pei-ching"]})
    assert changed.status == 200, changed.body
    assert changed.json["aliases"] == ["Peking", "Pei-ching"]
    assert admin.get(f"/api/v1/cities/{beijing}").json["aliases"] == ["Peking", "Pei-ching"]
    # Every other city has none.
    listed = admin.get("/api/v1/cities").json["items"]
    assert {c["name"]: c["aliases"] for c in listed}["Shanghai"] == []

    # The route answer is the same, under the stored name, whichever name was typed.
    for typed in ("Peking", "PEKING", "ｐｅｋｉｎｇ", "pei-ching"):
        reply = _route(admin, typed, "Shanghai")
        assert reply.status == 200, (typed, reply.body)
        assert reply.json == before.json
    found = admin.get("/api/v1/cities?" + urlencode({"q": "peki"})).json["items"]
    assert [c["name"] for c in found] == ["Beijing"]

    # Taken away, the name finds nothing again.
    assert admin.patch(f"/api/v1/cities/{beijing}", {"aliases": []}).json["aliases"] == []
    _route(admin, "Peking", "Shanghai").problem(422)


def test_a_new_city_with_other_names(app, admin, network):
    created = admin.post("/api/v1/cities", {"name": "Guangzhou", "code": "GZQ",
                                            "aliases": ["Canton", "Kwangchow"]})
    assert created.status == 201, created.body
    assert created.json["aliases"] == ["Canton", "Kwangchow"]
    assert admin.post("/api/v1/cities", {"name": "Wuhan"}).json["aliases"] == []


@pytest.mark.parametrize(
    ("aliases", "words"),
    [
        (["Shanghai"], "'Shanghai' is the name of Shanghai"),
        (["shh"], "'shh' is the code of Shanghai"),
        (["Canton", "canton"], "'canton' is given twice"),
        (["guangzhou"], "'guangzhou' is already the city's name"),
        (["gzq"], "'gzq' is already the city's code"),
    ],
)
def test_other_names_that_name_another_city_or_repeat_are_refused(app, admin, network, aliases,
                                                                   words):
    before = _count(app)
    problem = admin.post("/api/v1/cities", {"name": "Guangzhou", "code": "GZQ",
                                            "aliases": aliases}).problem(
        409 if "Shanghai" in words else 422)
    assert [(e["field"], words in e["message"]) for e in problem["errors"]] == [("aliases", True)]
    assert _count(app) == before


def test_names_and_codes_may_not_take_another_citys_other_name(app, admin, network):
    beijing = network.cities["Beijing"]
    assert admin.patch(f"/api/v1/cities/{beijing}", {"aliases": ["Peking"]}).status == 200
    for body, field in [({"name": "peking"}, "name"), ({"name": "Wuhan", "code": "PEKING"}, "code")]:
        problem = admin.post("/api/v1/cities", body).problem(409)
        assert [e["field"] for e in problem["errors"]] == [field]
        assert "another name of Beijing" in problem["errors"][0]["message"]
    rename = admin.patch(f"/api/v1/cities/{network.cities['Nanjing']}", {"aliases": ["Peking"]})
    assert "another name of Beijing" in rename.problem(409)["errors"][0]["message"]
    # A city's own other name may not become its name while it is still listed...
    own = admin.patch(f"/api/v1/cities/{beijing}", {"name": "Peking"})
    assert "already the city's name" in own.problem(422)["errors"][0]["message"]
    # ...and may, once it is not.
    swap = admin.patch(f"/api/v1/cities/{beijing}", {"name": "Peking", "aliases": ["Beijing"]})
    assert swap.status == 200 and swap.json["aliases"] == ["Beijing"]


@pytest.mark.parametrize(
    "aliases",
    [
        "Peking",  # not a list
        [""],
        ["x" * 201],
        ["Pe\tking"],
        ["Canton|Kwangchow"],  # the bar separates other names in CSV bundles
        [7],
        [f"Name {i}" for i in range(21)],
        None,  # a city always has a list, if an empty one
    ],
)
def test_bad_lists_of_other_names_are_422(app, admin, network, aliases):
    problem = admin.patch(f"/api/v1/cities/{network.cities['Beijing']}",
                          {"aliases": aliases}).problem(422)
    assert {e["field"].split("[")[0] for e in problem["errors"]} == {"aliases"}, problem
    assert admin.get(f"/api/v1/cities/{network.cities['Beijing']}").json["aliases"] == []


def test_the_openapi_document_names_the_field(admin):
    document = admin.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    assert "aliases" in schemas["CityCreate"]["properties"]
    assert "aliases" in schemas["CityOut"]["properties"]


def test_a_city_may_not_take_the_latin_spelling_of_another(app, admin, network):
    # "Beijing" found 北京 by its pinyin; a new city called so (or with that other name)
    # would have taken those travellers without a word.
    chinese = admin.post("/api/v1/cities", {"name": "北京南", "code": "BJN"})
    assert chinese.status == 201, chinese.body
    for body, field in [({"name": "beijingnan"}, "name"), ({"name": "Bei Jing Nan"}, "name"),
                        ({"name": "Wuhan", "aliases": ["Beijing-nan"]}, "aliases")]:
        problem = admin.post("/api/v1/cities", body).problem(409)
        assert [e["field"] for e in problem["errors"]] == [field]
        assert "how travellers type 北京南 in Latin letters" in problem["errors"][0]["message"]
    own = admin.patch(f"/api/v1/cities/{chinese.json['id']}", {"aliases": ["Beijingnan"]})
    assert own.status == 200, own.body
    found = admin.get("/api/v1/routes?from=beijing%20nan&to=Shanghai&depart=2025-03-03T08:00")
    assert "北京南" in found.json["message"]
