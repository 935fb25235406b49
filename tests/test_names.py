"""What a traveller types for a city (transit.names): its name, its code, in any case and
full-width or not, or, for a Chinese name, its pinyin; the pages, the API and the command line
all find the same city, and a pinyin several cities share asks which one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.test_pages import build_network, page
from transit.models import City
from transit.names import CityLookup, fold, latin_keys, latin_name, pinyin_keys, plain, squeeze
from transit.routing import Query, Snapshot, UnknownCity, plan
from transit.routing.planner import AmbiguousCity
from transit.timetable.feed import (
    Feed,
    FeedCalendar,
    FeedCity,
    FeedService,
    FeedStop,
    FeedTimetable,
)
from transit.web.extensions import db


def test_folding_reads_full_width_and_any_case() -> None:
    assert plain("\u3000ＰＥＫ ") == "PEK" and fold("Ｐｅｋ") == "pek"
    assert {squeeze(t) for t in ("Xi'an", "xi an", "XI-AN", "Xi’an", "xian")} == {"xian"}


def test_pinyin_of_chinese_names_only() -> None:
    assert pinyin_keys("北京") == ("beijing",)
    assert pinyin_keys("重庆") == ("chongqing",) and pinyin_keys("厦门") == ("xiamen",)
    assert pinyin_keys("吕梁") == ("lvliang", "luliang")  # ü typed as v or u
    assert pinyin_keys("北京南") == ("beijingnan",)
    assert pinyin_keys("Times Sq-42 St") == () and pinyin_keys("") == ()


def test_english_names_of_chinese_cities() -> None:
    assert latin_keys("乌鲁木齐") == ("wulumuqi", "urumqi") and latin_keys("西安") == ("xian",)
    assert latin_name("乌鲁木齐") == "Urumqi" and latin_name("西安") == "Xi'an"
    assert latin_name("北京") == "Beijing" and latin_name("吕梁") == "Lüliang"
    assert latin_name("Times Sq-42 St") == ""
    lookup = CityLookup(["乌鲁木齐", "香港"], [None, None])
    assert [lookup.find(t) for t in ("Urumqi", "wulumuqi", "hong kong", "Hongkong")] == [0, 0, 1, 1]


def test_a_lookup_finds_a_city_by_each_of_its_spellings() -> None:
    names = ["北京", "苏州", "宿州", "Suzhou Industrial Park", "西安", "襄阳"]
    lookup = CityLookup(names, ["BJP", None, None, "SIP", "XIY", None])
    for typed, city in [("北京", 0), ("bjp", 0), ("ＢＪＰ", 0), ("Beijing", 0), ("bei jing", 0),
                        ("Xi'an", 4), ("XIAN", 4), ("sip", 3), ("suzhou industrial park", 3)]:
        assert lookup.find(typed) == city, typed
    assert lookup.find("Suzhou") is None  # 苏州 or 宿州?
    assert lookup.spelt_alike("suzhou") == [1, 2] and lookup.spelt_alike("beijing") == []
    assert lookup.starting_with("xia", 5) == [4, 5]  # xian before xiangyang
    assert lookup.starting_with("", 5) == []
    assert lookup.spellings()["beijing"] == 0 and "suzhou" not in lookup.spellings()


def _feed() -> Feed:
    feed = Feed(source="test")
    for key, name, code in [("b", "北京", "BJP"), ("s", "上海", None), ("sz", "苏州", None),
                            ("sx", "宿州", None)]:
        feed.cities[key] = FeedCity(name=name, code=code, timezone="Asia/Shanghai")
    feed.calendars["daily"] = FeedCalendar()
    feed.services.append(FeedService(number="G1", mode="train", timetables=[FeedTimetable(
        code="1", calendar="daily",
        stops=[FeedStop("b", None, 8 * 3600), FeedStop("sz", 12 * 3600, 12 * 3600 + 120, 400),
               FeedStop("s", 13 * 3600, None, 100)],
    )]))
    return feed


def test_the_router_takes_pinyin_and_asks_where_it_is_shared() -> None:
    snap = Snapshot.from_feed(_feed(), 0)
    day = dt.datetime(2025, 3, 5, 7)
    by_pinyin = plan(snap, Query("Beijing", "shang hai", depart=day)).itineraries
    assert by_pinyin == plan(snap, Query("北京", "上海", depart=day)).itineraries and by_pinyin
    assert by_pinyin[0].legs[0].origin == "北京"  # answers use the stored name
    with pytest.raises(AmbiguousCity) as shared:
        plan(snap, Query("Beijing", "Suzhou", depart=day))
    assert shared.value.candidates == ["苏州", "宿州"]
    with pytest.raises(UnknownCity) as slip:
        plan(snap, Query("Bejing", "上海", depart=day))
    assert slip.value.close == ("北京",)


@pytest.fixture
def network(app) -> dict[str, int]:
    with app.app_context():
        ids = build_network(db.session)
        db.session.add_all([City(name="苏州"), City(name="宿州")])
        db.session.commit()
        return ids


def test_the_route_form_its_suggestions_and_the_api_take_pinyin(client, network) -> None:
    html = page(client, "/routes?from=beijing&to=Shang+Hai&date=2025-03-03&time=06:00&lang=en")
    assert "<title>北京 → 上海" in html and 'class="total-fare"' in html
    assert '<h1>北京 → 上海 <span class="latin-name">Beijing → Shanghai</span></h1>' in html
    assert client.get("/cities/suggest?q=nan").get_json() == ["南京"]
    assert client.get("/cities/suggest?q=bj").get_json() == ["北京"]  # its code BJP
    shared = page(client, "/routes?from=suzhou&to=上海&lang=en", 400)
    assert "Several stations are called “suzhou”: 苏州, 宿州. Choose one." in shared
    slip = page(client, "/routes?from=beijign&to=上海&lang=en", 400)
    assert "Did you mean “北京”?" in slip
    api = client.get("/api/v1/routes?from=Beijing&to=Shanghai&depart=2025-03-03T06:00")
    assert api.status_code == 200 and api.get_json()["itineraries"]
    assert client.get("/api/v1/routes?from=Suzhou&to=Shanghai").status_code == 422
    assert client.get("/api/v1/forecasts?city=Beijing").status_code == 200
    assert client.get("/api/v1/forecasts?city=Suzhou").status_code == 422  # which one?
    listed = client.get("/api/v1/cities?q=jing").get_json()
    assert sorted(c["name"] for c in listed["items"]) == ["北京", "南京"]


def test_the_city_list_finds_and_shows_pinyin(client, network) -> None:
    html = page(client, "/cities?q=jing&lang=en")  # 北京 and 南京, by their pinyin
    assert re.findall(r'<a href="/cities/\d+">([^<]*)</a>', html) == ["北京", "南京"]
    assert '<span class="latin-name">Beijing</span>' in html
    assert "南京" in page(client, "/cities?q=NJH")  # its code, as before
    board = page(client, f"/cities/{network['beijing']}?lang=en")
    assert '<h1>北京 <span class="latin-name">Beijing</span> <span class="muted">BJP</span></h1>' in board
    chinese = page(client, "/cities?q=jing&lang=zh")
    assert "北京" in chinese and "latin-name" not in chinese  # a Chinese reader needs none


def test_the_command_line_takes_pinyin(app, runner, network) -> None:
    out = runner.invoke(args=["route", "Beijing", "Shanghai", "--depart", "2025-03-03T06:00"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("北京 → 上海, fastest, departing 2025-03-03T06:00")
    assert "Z9" in out.output or "MU5101" in out.output


def test_other_names_find_their_city_and_settle_a_shared_pinyin() -> None:
    names = ["苏州", "宿州", "广州", "San Francisco Caltrain"]
    aliases = [["Suzhou"], [], ["Canton", "Kwangchow"], ["SF", "San Francisco"]]
    lookup = CityLookup(names, [None, None, "GZQ", None], aliases)
    for typed, city in [("canton", 2), ("ＣＡＮＴＯＮ", 2), ("kwang chow", 2), ("sf", 3),
                        ("san francisco", 3), ("SanFrancisco", 3), ("Suzhou", 0), ("gzq", 2)]:
        assert lookup.find(typed) == city, typed
    # "Suzhou" is 苏州's other name: no longer a question, though both are spelt so.
    assert lookup.find("su zhou") == 0
    assert lookup.starting_with("can", 5) == [2] and lookup.starting_with("san", 5) == [3]
    assert lookup.containing("francisco") == [3]
    assert lookup.spellings()["canton"] == 2
    # An other name never takes a city's name or code from it.
    clash = CityLookup(["Canton", "广州"], ["CAN", None], [[], ["Canton", "can"]])
    assert clash.find("canton") == 0 and clash.find("CAN") == 0


def test_city_names_keep_other_names_apart() -> None:
    from transit.models import CityNames, alias_problems

    taken = CityNames([("Beijing", "BJP", ["Peking"]), ("Shanghai", None)])
    assert taken.clashes("Wuhan", "WHN", ["Hankow"]) == []
    assert [field for field, _ in taken.clashes("PEKING", None)] == ["name"]
    assert [field for field, _ in taken.clashes("Wuhan", "peking")] == ["code"]
    assert [(field, words) for field, words in taken.clashes("Wuhan", None, ["bjp", "shanghai",
                                                                             "peking", "Hankow"])] == [
        ("aliases", "'bjp' is the code of Beijing (codes are matched in any case)"),
        ("aliases", "'shanghai' is the name of Shanghai (names are matched in any case)"),
        ("aliases", "'peking' is another name of Beijing (other names are matched in any case)"),
    ]
    assert alias_problems("Wuhan", "WHN", ["Hankow", "hankow", "WUHAN", "whn"]) == [
        "'hankow' is given twice", "'WUHAN' is already the city's name",
        "'whn' is already the city's code",
    ]


def test_a_new_city_may_not_take_the_latin_spelling_travellers_use_for_another() -> None:
    from transit.models import CityNames

    stored = [("北京", "PEK", []), ("苏州", None, []), ("宿州", None, []),
              ("乌鲁木齐", None, []), ("San Francisco", "SFO", ["Frisco Bay"])]
    spelt = CityNames(stored, spellings=True)
    assert spelt.clashes("beijing", None) == [("name", "'beijing' is how travellers type 北京 in "
                                                      "Latin letters (they would get this city "
                                                      "instead)")]
    assert [field for field, _ in spelt.clashes("Bei-Jing", None)] == ["name"]
    assert [field for field, _ in spelt.clashes("Wuhan", "Urumqi")] == ["code"]
    assert [field for field, _ in spelt.clashes("Wuhan", None, ["Peking", "Hankow"])] == ["aliases"]
    # Every other name at fault is named, as the other checks name each.
    assert [words.split("'")[1] for _, words in spelt.clashes(
        "Wuhan", None, ["Peking", "Hankow", "Urumqi", "PEK"])] == ["PEK", "Peking", "Urumqi"]
    assert "苏州 / 宿州" in spelt.clashes("Suzhou", None)[0][1]
    assert [field for field, _ in spelt.clashes("Frisco-bay", None)] == ["name"]
    # A city's own pinyin is its own: "Suzhou" settles the spelling 苏州 shares with 宿州.
    assert spelt.clashes(None, None, ["Suzhou"], own="苏州") == []
    assert CityNames([("宿州", None, [])], spellings=True).clashes("苏州", None, ["Suzhou"]) == []
    # The other way round is no clash: travellers typing "Beijing" keep finding 北京, and
    # a city named in Latin letters keeps its name when a Chinese one spelt so joins.
    assert spelt.clashes("武汉", "WUH", ["Hankow"]) == []
    assert CityNames([("Xian", None, [])], spellings=True).clashes("西安", None) == []
    # Without spellings (one feed's own cities): only names, codes and other names.
    assert CityNames(stored).clashes("beijing", None) == []


def test_the_router_takes_other_names_from_a_feed_and_from_the_database(session) -> None:
    from transit.timetable.loader import load_feed

    feed = _feed()
    feed.cities["b"].aliases = ("Peking",)
    feed.cities["sz"].aliases = ("Suzhou",)
    day = dt.datetime(2025, 3, 5, 7)
    expected = plan(Snapshot.from_feed(_feed(), 0), Query("北京", "苏州", depart=day)).itineraries
    assert expected
    load_feed(session, feed)
    session.commit()
    assert session.scalar(select(City.aliases).where(City.name == "北京")) == ["Peking"]
    for snap in (Snapshot.from_feed(feed, 0), Snapshot.from_session(session, 0)):
        assert plan(snap, Query("peking", "Suzhou", depart=day)).itineraries == expected
        with pytest.raises(UnknownCity) as slip:
            plan(snap, Query("Pekin", "上海", depart=day))
        assert slip.value.close == ("北京",)


def test_the_pages_take_and_show_other_names(app, client, network) -> None:
    with app.app_context():
        beijing = db.session.get(City, network["beijing"])
        assert beijing is not None
        beijing.aliases = ["Peking", "<Pei-ching>"]
        suzhou = db.session.scalar(select(City).where(City.name == "苏州"))
        assert suzhou is not None
        suzhou.aliases = ["Suzhou"]
        db.session.commit()
    html = page(client, "/routes?from=peking&to=Shang+Hai&date=2025-03-03&time=06:00&lang=en")
    assert "<title>北京 → 上海" in html and 'class="total-fare"' in html
    assert client.get("/cities/suggest?q=pek").get_json() == ["北京"]
    # 苏州's other name settles the pinyin it shares with 宿州.
    settled = client.get("/routes?from=suzhou&to=上海&lang=en").get_data(as_text=True)
    assert "Several stations" not in settled and "<title>苏州 → 上海" in settled
    board = page(client, f"/cities/{network['beijing']}?lang=en")
    assert '<p class="also-called">Also called: Peking, &lt;Pei-ching&gt;</p>' in board
    assert "也称" in page(client, f"/cities/{network['beijing']}?lang=zh")
    assert "北京" in page(client, "/cities?q=peking&lang=en")
    home = page(client, "/?lang=en")
    assert "BJP · Beijing · Peking · &lt;Pei-ching&gt;" in home


_LETTERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 北京苏州宿州广西安-'",
                   min_size=1, max_size=8).map(str.strip).filter(bool)


def _full_width(text: str) -> str:
    """``text`` as a Chinese keyboard in full-width mode types it."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_LETTERS, st.none() | _LETTERS, st.lists(_LETTERS, max_size=3)),
                max_size=8), st.randoms(use_true_random=False))
def test_whatever_the_checks_let_in_names_one_city(cities, rnd) -> None:
    """The checks that every door runs (models.CityNames, alias_problems) and the lookup
    agree: once a city is let in, each of its names, codes and other names, in any case or
    full-width, finds that city and no other."""
    from transit.models import CityNames, alias_problems

    taken = CityNames()
    kept: list[tuple[str, str | None, list[str]]] = []
    for name, code, aliases in cities:
        if taken.clashes(name, code, aliases) or alias_problems(name, code, aliases):
            continue
        taken.add(name, code, aliases)
        kept.append((name, code, aliases))
    lookup = CityLookup([n for n, _, _ in kept], [c for _, c, _ in kept], [a for _, _, a in kept])
    for i, (name, code, aliases) in enumerate(kept):
        for typed in [name, *([code] if code else []), *aliases]:
            variant = rnd.choice([typed, typed.upper(), typed.lower(), _full_width(typed)])
            assert lookup.find(variant) == i, (variant, kept)


def test_accents_typed_on_a_latin_name_still_find_the_city() -> None:
    # "Ürümqi" and "Běijīng" (with the tone marks pinyin is taught with) said "No city called".
    lookup = CityLookup(["乌鲁木齐", "吕梁", "北京"], [None, None, "PEK"])
    assert [lookup.find(text) for text in ("Ürümqi", "Lüliang", "Běijīng", "lvliang")] == [0, 1, 2, 1]
