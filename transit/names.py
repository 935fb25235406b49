"""How what a traveller types is matched to a city: its exact name; else its code, its name or
one of its other names (``City.aliases``: "Canton", "SFO") in any case, with a Chinese keyboard's full-width letters, digits and spaces read as the usual
ones ("ＰＥＫ" is "PEK"); else, for a Chinese name, its pinyin ("Beijing" is 北京) or the
English name it is known by ("Urumqi" is 乌鲁木齐). One rule
for the router, the route form and its suggestions, the API and the command line; the checks
that keep names and codes apart fold them the same way (``models.CityNames``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Chinese cities that English speakers know by a name other than their pinyin, from the
# languages of their regions (Urumqi, not Wulumuqi): one more way to type the city, and the
# name shown beside it.
ENGLISH_NAMES = {
    "乌鲁木齐": "Urumqi",
    "哈尔滨": "Harbin",
    "呼和浩特": "Hohhot",
    "拉萨": "Lhasa",
    "吐鲁番": "Turpan",
    "喀什": "Kashgar",
    "格尔木": "Golmud",
    "齐齐哈尔": "Qiqihar",
    "日喀则": "Shigatse",
    "香港": "Hong Kong",
    "澳门": "Macau",
}
# Older spellings still met (typed, never shown).
FORMER_NAMES = {"北京": "Peking", "广州": "Canton", "南京": "Nanking", "厦门": "Amoy"}
# What travellers put between syllables, or leave out: "Xi'an", "xi an", "Xi-an", "XIAN".
_BETWEEN_SYLLABLES = re.compile(r"[\s'’\-·.]")


def plain(text: str) -> str:
    """Text as typed, in its plain form: full-width letters, digits and spaces as the usual
    ones (NFKC: "ＰＥＫ" is "PEK"), spaces at either end dropped."""
    return unicodedata.normalize("NFKC", text).strip()


def fold(text: str) -> str:
    """A city's name or code, or what a traveller typed for one, for matching: ``plain``,
    in any case."""
    return plain(text).casefold()


def squeeze(text: str) -> str:
    """``fold`` without what separates syllables, nor accents: how pinyin is matched
    ("Ürümqi" is "urumqi", "Lüliang" "luliang")."""
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", fold(text))
                   if not unicodedata.combining(ch))
    return _BETWEEN_SYLLABLES.sub("", bare)


@lru_cache(maxsize=65536)  # names repeat: every snapshot, directory and page asks again
def pinyin_keys(name: str) -> tuple[str, ...]:
    """How a Chinese name is spelt in Latin letters: its pinyin without tones as one word
    ("北京": "beijing"; "吕梁": "lvliang" and "luliang", ü typed as v or u). Empty for a name
    without Chinese characters."""
    if not _HAN.search(name):
        return ()
    from pypinyin import lazy_pinyin  # its dictionaries load only for Chinese names

    word = squeeze("".join(lazy_pinyin(plain(name))))
    return (word, word.replace("v", "u")) if "v" in word else (word,)


def latin_keys(name: str) -> tuple[str, ...]:
    """Every way to type a Chinese name in Latin letters: its pinyin and, where it has one,
    its English name ("乌鲁木齐": "wulumuqi", "urumqi")."""
    others = (ENGLISH_NAMES.get(name), FORMER_NAMES.get(name))
    return pinyin_keys(name) + tuple(squeeze(other) for other in others if other)


@lru_cache(maxsize=65536)
def latin_name(name: str) -> str:
    """A Chinese name as an English reader knows it: its English name, else its pinyin, an
    apostrophe before a syllable that starts with a vowel ("乌鲁木齐": "Urumqi", "西安":
    "Xi'an"); "" for a name without Chinese characters."""
    if name in ENGLISH_NAMES:
        return ENGLISH_NAMES[name]
    if not _HAN.search(name):
        return ""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(plain(name), v_to_u=True)  # ü as written: "Lüliang"
    word = syllables[0] + "".join(("'" if s[:1] in "aeo" else "") + s for s in syllables[1:])
    return word.replace(" ", "").capitalize()


class CityLookup:
    """What each city may be called, for finding the one a traveller means.

    ``names[i]``, ``codes[i]`` and ``aliases[i]`` (its other names, as stored) are city
    i's. A code wins over another city's name in another case (every door refuses such
    pairs now; a database may still hold one), then the first city, then an other name; a
    pinyin spelling names a city only where no other city shares it (and no other name
    says which).
    """

    def __init__(
        self,
        names: Sequence[str],
        codes: Sequence[str | None],
        aliases: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self._exact = {name: i for i, name in enumerate(names)}
        self.typed: dict[str, int] = {}  # folded name, code or other name -> city
        for i, name in enumerate(names):
            self.typed.setdefault(fold(name), i)
        by_code: dict[str, int] = {}
        for i, code in enumerate(codes):
            if code:
                by_code.setdefault(fold(code), i)
        self.typed.update(by_code)
        self.pinyin: dict[str, list[int]] = {}  # pinyin (or other name, squeezed) -> cities
        for i, name in enumerate(names):
            for key in latin_keys(name):
                self._spelt(key, i)
        # Other names also match without their spaces and hyphens ("Pei-ching", "peiching"),
        # before any pinyin: a name the data gives settles a pinyin that cities share.
        self._squeezed: dict[str, int] = {}
        for i, others in enumerate(aliases or ()):
            for alias in others:
                self.typed.setdefault(fold(alias), i)
                self._squeezed.setdefault(squeeze(alias), i)
                self._spelt(squeeze(alias), i)

    def _spelt(self, key: str, city: int) -> None:
        cities = self.pinyin.setdefault(key, [])
        if city not in cities:
            cities.append(city)

    def find(self, text: str) -> int | None:
        """The city ``text`` names, None where none or several do."""
        found = self._exact.get(text)
        if found is None:
            found = self.typed.get(fold(text))
        if found is None:
            found = self._squeezed.get(squeeze(text))
        if found is None:
            cities = self.pinyin.get(squeeze(text), [])
            found = cities[0] if len(cities) == 1 else None
        return found

    def spelt_alike(self, text: str) -> list[int]:
        """The cities that share the pinyin ``text`` (where several do: 苏州 and 宿州 are
        both "Suzhou"), for the traveller to choose from."""
        if squeeze(text) in self._squeezed:
            return []
        cities = self.pinyin.get(squeeze(text), [])
        return cities if len(cities) > 1 else []

    def spellings(self) -> dict[str, int]:
        """Every folded name, code and other name, and every pinyin one city has: for "Did
        you mean"."""
        spelt = {key: cities[0] for key, cities in self.pinyin.items() if len(cities) == 1}
        return {**spelt, **self.typed}

    def containing(self, text: str) -> list[int]:
        """The cities with a Latin spelling or other name that contains ``text`` ("jing":
        北京, 南京)."""
        part = squeeze(text)
        found: set[int] = set()
        if part:
            for key, cities in self.pinyin.items():
                if part in key:
                    found.update(cities)
        return sorted(found)

    def starting_with(self, text: str, limit: int) -> list[int]:
        """Up to ``limit`` cities whose pinyin or other name starts with ``text`` ("bei":
        北京), the shortest spellings first."""
        start = squeeze(text)
        found: list[int] = []
        if start:
            for key in sorted((k for k in self.pinyin if k.startswith(start)), key=lambda k: (len(k), k)):
                found.extend(i for i in self.pinyin[key] if i not in found)
        return found[:limit]
