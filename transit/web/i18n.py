"""Interface language (Chinese or English) and the formatting helpers the pages share.

The language comes from ``?lang=`` (remembered in a cookie), else the cookie, else the
browser's Accept-Language. City and service names are shown as stored, never translated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import flask_babel
from babel.dates import format_date, get_day_names
from babel.lists import format_list
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol
from babel.support import NullTranslations
from flask import Flask, Response, g, has_app_context, request
from flask_babel import Babel, get_locale
from markupsafe import Markup

from transit.calendar_days import CalendarDays, CalendarSummary, describe_calendar
from transit.clocks import wall_clock
from transit.names import latin_name
from transit.words import Words


def translations() -> NullTranslations:
    """The request's catalog. Flask-Babel finds it again on every call (about 10 µs, and a
    page of results asks for hundreds of words), so each request keeps it on ``g``."""
    if not has_app_context():
        return flask_babel.get_translations()
    found: NullTranslations | None = g.get("transit_translations")
    if found is None:
        found = g.transit_translations = flask_babel.get_translations()
    return found


def gettext(string: str, **variables: Any) -> str:
    """``flask_babel.gettext``, on the request's kept catalog."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """``flask_babel.ngettext``, on the request's kept catalog."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"

babel = Babel()


def select_language() -> str:
    """The interface language for this request: ``?lang=``, cookie, then Accept-Language."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    # The default first: "Accept-Language: *" (any) takes the first offered.
    offered = [DEFAULT_LANGUAGE, *(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)]
    return request.accept_languages.best_match(offered, DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


def _remember_language(response: Response) -> Response:
    if response.mimetype == "text/html":
        # A page's language follows the cookie, else Accept-Language: shared caches must
        # not hand one reader's language to another.
        response.vary.update(("Cookie", "Accept-Language"))
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def language() -> str:
    """The current interface language code (``zh`` or ``en``)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def html_lang() -> str:
    return "zh-Hans" if language() == "zh" else "en"


def query_with(**changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    args += [(k, str(v)) for k, v in changes.items() if v is not None]
    return urlencode(args)


def url_with(**changes: Any) -> str:
    """The current URL with some query parameters replaced (None removes one)."""
    query = query_with(**changes)
    return request.path + ("?" + query if query else "")


def translated(message: str) -> str:
    """A message of the core in the reader's language: ``transit.words.Words`` carries the
    msgid and values it was made from; any other text is shown as it is."""
    if isinstance(message, Words):
        return gettext(message.template, **message.values)
    return message


def clock(seconds: int | None) -> str:
    """Seconds after a service day's midnight as HH:MM (HH:MM:SS when seconds matter), wrapped to one day."""
    if seconds is None:
        return ""
    within = seconds % 86400
    hours, rest = divmod(within, 3600)
    minutes, secs = divmod(rest, 60)
    if secs:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours:02d}:{minutes:02d}"


def day_mark(days: int) -> str:
    """The "+1 day" mark for a time that falls ``days`` after the reference day."""
    if days == 0:
        return ""
    if days > 0:
        return ngettext("+%(num)d day", "+%(num)d days", days)
    # Arrive-by searches: a departure on the day before. The plural follows the count.
    return ngettext("−%(num)d day", "−%(num)d days", -days)


def duration(minutes: int | float | None) -> str:
    """A duration in words: "2 h 05 min"."""
    if minutes is None:
        return ""
    total = int(round(minutes))
    hours, mins = divmod(total, 60)
    if hours and mins:
        return gettext("%(h)d h %(m)02d min", h=hours, m=mins)
    if hours:
        return gettext("%(h)d h", h=hours)
    return gettext("%(m)d min", m=mins)


@lru_cache(maxsize=256)
def _currency_format(currency: str, locale: str) -> tuple[str, int, bool]:
    """(symbol, decimals, symbol first) for a currency: Babel's data, read once."""
    sample = format_currency(1, currency, locale=locale)
    symbol = get_currency_symbol(currency, locale=locale)
    # English locales write "CN¥" to tell yuan from yen; on a Chinese network "¥" is clear.
    shown = "¥" if symbol == "CN¥" else symbol
    return shown, get_currency_precision(currency), sample.startswith(symbol)


def money(amount: float | int | None, currency: str = "CNY", whole: bool = False) -> str:
    """An amount in currency units, formatted for the interface language; without a
    currency (a service whose feed has no fares) the bare number, never another
    country's money. ``whole``: a whole amount without its decimals (a chart's scale)."""
    if amount is None:
        return "—"
    if not currency:
        return f"{amount:,.0f}" if whole and amount == int(amount) else f"{amount:,.2f}"
    # Babel's full formatter costs ~0.15 ms a call; result pages show dozens of fares.
    symbol, decimals, first = _currency_format(currency, _babel_locale())
    if whole and amount == int(amount):
        decimals = 0
    number = f"{abs(amount):,.{decimals}f}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{number}" if first else f"{sign}{number}\u00a0{symbol}"


def money_parts(parts: Sequence[tuple[float, str]]) -> str:
    """Amounts in several currencies, which do not add up: "US$34.90 + ¥527.00"."""
    return " + ".join(money(amount, currency) for amount, currency in parts)


def cents(amount: int | None, currency: str = "CNY") -> str:
    """Integer cents formatted as money."""
    return "—" if amount is None else money(amount / 100, currency)


def long_date(day: dt.date | None) -> str:
    if day is None:
        return ""
    return format_date(day, format="full", locale=_babel_locale())


def short_date(day: dt.date | None) -> str:
    if day is None:
        return ""
    return format_date(day, format="medium", locale=_babel_locale())


def quoted_or_list(names: Sequence[str]) -> str:
    """“A”, “B” or “C” in the interface language ("" for no names)."""
    if not names:
        return ""
    return format_list([f"“{name}”" for name in names], style="or", locale=_babel_locale())


def _babel_locale() -> str:
    return "zh_Hans_CN" if language() == "zh" else "en_GB"


def weekdays_in_words(bits: int) -> str:
    """A weekly pattern (bit 0 = Monday) in words: "Daily", "Mon–Fri", "Mon, Wed, Fri"."""
    if bits & 0b1111111 == 0b1111111:
        return gettext("Daily")
    if bits & 0b1111111 == 0:
        return gettext("No regular days")
    names = get_day_names("abbreviated", locale=_babel_locale())
    days = [d for d in range(7) if bits >> d & 1]
    # Consecutive days read better as a span: Mon–Fri rather than five names.
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(gettext("%(first)s–%(last)s", first=names[run[0]], last=names[run[-1]]))
        else:
            parts.extend(names[d] for d in run)
    return ("、" if language() == "zh" else ", ").join(parts)


MODE_LABELS = {
    "train": "Train",
    "flight": "Flight",
    "bus": "Bus",
    "coach": "Coach",
    "ferry": "Ferry",
    "tram": "Tram",
    "subway": "Subway",
    "cable": "Cable car",
    "other": "Other",
    "walk": "Walk",  # a walk at either end of a journey (transit.routing.itinerary.WALK)
}


def mode_label(mode: str) -> str:
    """A mode's name in the interface language."""
    label = MODE_LABELS.get(mode)
    return gettext(label) if label else mode


def audit_word(word: str) -> str:
    """An audit entry's action or kind of thing in the interface language (the entries
    store them in English; their change descriptions stay as written)."""
    words = {
        "create": gettext("created"),
        "update": gettext("changed"),
        "delete": gettext("deleted"),
        "import": gettext("imported"),
        "city": gettext("city"),
        "calendar": gettext("calendar"),
        "fare": gettext("fare"),
        "fares": gettext("fares"),
        "service": gettext("service"),
        "timetable": gettext("timetable variant"),
        "trip": gettext("past run"),
        "trips": gettext("past runs"),
        "feed": gettext("timetable file"),
    }
    return words.get(word, word)


# Filters rather than Jinja macros: boards and result pages call these hundreds of times.
def mode_badge(mode: str) -> Markup:
    """A coloured badge naming the mode."""
    return Markup('<span class="mode mode-{}">{}</span>').format(mode, mode_label(mode))


def day_badge(days: int) -> Markup:
    """The "+1 day" mark as a small badge; nothing on the reference day."""
    if not days:
        return Markup("")
    return Markup('<span class="day-mark">{}</span>').format(day_mark(days))


def calendar_days(calendar: Any) -> CalendarSummary:
    """A stored calendar's days of operation, described as the service page describes them
    (``transit.calendar_days.describe_calendar``)."""
    dates: dict[bool, list[dt.date]] = {True: [], False: []}
    for exception in calendar.exceptions:
        dates[exception.added].append(exception.date)
    return describe_calendar(CalendarDays(
        calendar.weekdays, calendar.start_date, calendar.end_date,
        tuple(sorted(dates[True])), tuple(sorted(dates[False]))))


def _mode_names_for_extraction() -> None:  # pragma: no cover - only read by pybabel
    gettext("Train")
    gettext("Flight")
    gettext("Bus")
    gettext("Coach")
    gettext("Ferry")
    gettext("Tram")
    gettext("Subway")
    gettext("Cable car")
    gettext("Other")
    gettext("Walk")


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and the template helpers to ``app``."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel.init_app(app, locale_selector=select_language)
    # The templates' _() and ngettext() on the kept catalog too (newstyle, as Flask-Babel's).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
    app.after_request(_remember_language)
    app.jinja_env.globals.update(
        LANGUAGES=LANGUAGES,
        language=language,
        html_lang=html_lang,
        url_with=url_with,
        mode_label=mode_label,
    )
    app.jinja_env.filters.update(
        clock=clock,
        wall_clock=wall_clock,
        calendar_days=calendar_days,
        day_mark=day_mark,
        duration=duration,
        money=money,
        money_parts=money_parts,
        latin_name=latin_name,
        cents=cents,
        long_date=long_date,
        short_date=short_date,
        weekdays_in_words=weekdays_in_words,
        mode_badge=mode_badge,
        day_badge=day_badge,
        audit_word=audit_word,
    )
