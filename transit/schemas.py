"""What a timetable edit may carry: the pydantic input models the API and the admin pages share.

No Flask here: ``transit.editing`` takes these models, the REST API validates JSON bodies with
them (and builds its OpenAPI schemas from them), the admin pages validate their forms with
them, so every way in checks the same things. Conventions: stop times are written ``"HH:MM"`` or ``"HH:MM:SS"`` in the
stop city's local time with ``"+1"`` (``"+2"``...) for the days after the service day, or as
whole seconds after the service day's midnight; fares are integer cents; cities in request
bodies are named by their id (a number) or their exact name (a string).

Every refusal is ``transit.words.Words``: the English text for the API, its msgid and values
for the admin pages, which translate it (``babel.cfg`` extracts them). A check of a whole
model that means one of its fields raises ``FieldRefusal``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from transit.calendar_days import CalendarDays, days_between
from transit.calendar_days import describe_calendar as summarize_days
from transit.models import (
    ALL_DAYS,
    MAX_ALIASES,
    Mode,
    local_order_applies,
    time_zone,
    zone_spelling,
)
from transit.timetable.feed import MAX_CENTS, MAX_STOP_SECONDS, currency_codes
from transit.words import Words

MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL; larger numbers name nothing
# The imports' limits (transit.timetable.feed), so that whatever an import wrote can be kept
# by an edit through the API or the admin pages: stop times up to 14 days after the service
# day's midnight, fares up to 2**31 - 1 cents.
MAX_SECONDS = MAX_STOP_SECONDS
MAX_DAYS = MAX_SECONDS // 86400
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^\s*(\d{1,3}):([0-5]\d)(?::([0-5]\d))?\s*(?:\+\s*(\d+))?\s*$")
# A time as typed without its day ("07:05", "24:40:30"): what a form's time field holds.
TIME_TEXT = re.compile(r"^\s*\d{1,3}:[0-5]\d(?::[0-5]\d)?\s*$")


class FieldRefusal(ValueError):
    """A model's check refusing one of its fields: reads ``"field: message"``, from which the
    API names the field (``transit.web.api.problems``); ``field`` and ``words`` (the message,
    to translate) say each part."""

    def __init__(self, field: str, words: Words) -> None:
        super().__init__(f"{field}: {words}")
        self.field = field
        self.words = words

    def __reduce__(self) -> tuple[Any, ...]:
        return (FieldRefusal, (self.field, self.words))


# --- times ---------------------------------------------------------------------------------


def parse_time(value: Any) -> int:
    """Seconds after the service day's midnight from ``"HH:MM[:SS][+N]"`` or whole seconds."""
    if isinstance(value, bool):
        raise ValueError(Words("a time is 'HH:MM', 'HH:MM:SS' (with '+1' for the next day) or "
                               "seconds"))
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        match = _TIME_RE.match(value)
        if not match:
            raise ValueError(Words(
                "%(value)s is not a time: write 'HH:MM' or 'HH:MM:SS', with '+1' for the next day",
                value=repr(value),
            ))
        hours, minutes, secs, days = match.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + int(secs or 0) + int(days or 0) * 86400
    else:
        raise ValueError(Words("a time is 'HH:MM', 'HH:MM:SS' (with '+1' for the next day) or "
                               "seconds"))
    if seconds < 0:
        raise ValueError(Words("a time cannot be negative"))
    if seconds > MAX_SECONDS:
        raise ValueError(Words(
            "a time must fall within %(days)d days of the service day's midnight", days=MAX_DAYS
        ))
    return seconds


def format_time(seconds: int | None) -> str | None:
    """``"HH:MM"`` (``"HH:MM:SS"`` when seconds matter) with ``"+N"`` past midnight."""
    if seconds is None:
        return None
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    return text + (f"+{days}" if days else "")


TimeValue = Annotated[
    int,
    BeforeValidator(parse_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_SECONDS},
                {"type": "string", "pattern": _TIME_RE.pattern, "examples": ["07:05", "01:10+1"]},
            ],
            "description": "'HH:MM[:SS]' local time with '+N' for following days, or seconds",
        },
        mode="validation",
    ),
]


# --- calendars in words ----------------------------------------------------------------------

_DAY_WORDS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def weekday_names(mask: int) -> list[str]:
    """``["mon", ...]`` for a weekday bit mask (bit 0 = Monday)."""
    return [name for bit, name in enumerate(WEEKDAY_NAMES) if mask >> bit & 1]


def weekday_mask(names: list[str]) -> int:
    """The bit mask (bit 0 = Monday) of a list of day names."""
    return sum(1 << WEEKDAY_NAMES.index(name) for name in set(names))


def _days_in_words(mask: int) -> str:
    if mask == ALL_DAYS:
        return "Every day"
    if mask == 0:
        return "No regular days"
    bits = [bit for bit in range(7) if mask >> bit & 1]
    # A run of three or more consecutive days reads better as a range.
    if len(bits) >= 3 and bits == list(range(bits[0], bits[-1] + 1)):
        return f"{_DAY_WORDS[bits[0]]} to {_DAY_WORDS[bits[-1]]}"
    words = [_DAY_WORDS[bit] for bit in bits]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _date_words(day: dt.date) -> str:
    return f"{day.day} {day:%b} {day.year}"


def _dates_words(days: Sequence[dt.date], most: int = 10) -> str:
    shown = ", ".join(_date_words(d) for d in days[:most])
    return shown + (f" and {len(days) - most} more dates" if len(days) > most else "")


def describe_calendar(
    mask: int,
    start: dt.date | None,
    end: dt.date | None,
    added: list[dt.date],
    removed: list[dt.date],
) -> str:
    """Days of operation in plain English, as the service page sums them up
    (``transit.calendar_days.describe_calendar``: the weekdays it really runs on, from its
    first run to its last, and only the dates that break that pattern), e.g. "Mondays to
    Fridays from 1 Mar 2026; not on 1 May 2026". Lists of more than 10 dates end "and N more
    dates" (the calendar's ``added`` and ``removed`` list them all)."""
    summary = summarize_days(CalendarDays(mask, start, end, tuple(added), tuple(removed)))
    if summary.never:
        return "Never runs"
    if summary.single_day:
        assert summary.start_date is not None
        return "Only on " + _date_words(summary.start_date)
    if not summary.weekdays:
        return "Only on " + _dates_words(summary.added)
    text = _days_in_words(summary.weekdays)
    if summary.start_date and summary.end_date:
        text += f" from {_date_words(summary.start_date)} to {_date_words(summary.end_date)}"
    elif summary.start_date:
        text += f" from {_date_words(summary.start_date)}"
    elif summary.end_date:
        text += f" until {_date_words(summary.end_date)}"
    if summary.added:
        text += "; also on " + _dates_words(summary.added)
    if summary.removed:
        text += "; not on " + _dates_words(summary.removed)
    return text


# --- shared pieces ---------------------------------------------------------------------------


def _strip_or_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _check_timezone(value: str) -> str:
    spelt = zone_spelling(value)  # "asia/shanghai" is Asia/Shanghai, stored so
    if spelt is None or time_zone(spelt) is None:
        raise ValueError(Words("%(zone)s is not an IANA time zone such as 'Asia/Shanghai'",
                               zone=repr(value)))
    return spelt


# Line breaks, as a single-line field names them (Unicode's own, and the ASCII ones).
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
# Joiners that scripts such as Persian and the Indic ones need between two letters.
_JOINERS = frozenset("\u200c\u200d")


def _character(ch: str) -> str:
    """ "U+200B (ZERO WIDTH SPACE)": a character that cannot be shown, by its code and name."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def text_problem(text: str) -> Words | None:
    """What makes ``text`` unfit for a single-line field (a name, a code, a headsign...), or
    None: a tab or line break, or another control or format character (Unicode categories
    Cc, Cf, Zl, Zp: NUL, zero-width spaces, the bidirectional overrides that reorder what
    follows on screen...). Such names look like others in lists and searches. A zero-width
    joiner or non-joiner between two letters is kept: some scripts write words with them."""
    for index, ch in enumerate(text):
        kind = unicodedata.category(ch)
        if kind not in ("Cc", "Cf", "Zl", "Zp"):
            continue
        if ch == "\x00":
            return Words("text may not contain NUL characters")
        if ch in _BREAKS or kind in ("Zl", "Zp"):
            return Words("may not contain a tab or line break")
        if kind == "Cc":
            return Words("may not contain the control character %(character)s",
                         character=_character(ch))
        if (ch in _JOINERS and 0 < index < len(text) - 1
                and text[index - 1].isalpha() and text[index + 1].isalpha()):
            continue
        return Words("may not contain the invisible character %(character)s",
                     character=_character(ch))
    return None


def _single_line(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


SingleLine = AfterValidator(_single_line)
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
OptionalText = Annotated[
    Annotated[str, StringConstraints(max_length=300), SingleLine] | None,
    BeforeValidator(_strip_or_none),
]
# The calendars.name column holds 200 (PostgreSQL refuses more; SQLite would keep it).
CalendarName = Annotated[
    Annotated[str, StringConstraints(max_length=200), SingleLine] | None,
    BeforeValidator(_strip_or_none),
]
# Operator, route tag: single lines of up to 200 characters, possibly empty.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SingleLine]
_DATE_TEXT = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _date_text(value: Any) -> Any:
    """A date is written YYYY-MM-DD: pydantic would read a number, or text of digits, as
    seconds since 1970 (0 or "0" as 1 Jan 1970), and 20260501 as a date and time."""
    if isinstance(value, dt.date) or (isinstance(value, str) and _DATE_TEXT.match(value)):
        return value
    shown = value if isinstance(value, str) else json.dumps(value)
    raise ValueError(Words("%(date)s is not a date; write one such as 2026-05-01", date=shown))


Date = Annotated[dt.date, BeforeValidator(_date_text)]


def _check_code(value: str) -> str:
    _single_line(value)
    if any(ch.isspace() for ch in value):
        raise ValueError(Words("a code has no spaces (e.g. 'PEK', 'BJP')"))
    return value


CityCode = Annotated[
    Annotated[str, StringConstraints(max_length=32), AfterValidator(_check_code)] | None,
    BeforeValidator(_strip_or_none),
]
TimeZone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_check_timezone),
]
def _check_alias(value: str) -> str:
    if "|" in value:
        # CSV bundles (docs/formats.md) list a city's other names separated by bars.
        raise ValueError(Words("an other name may not contain '|'"))
    return value


Aliases = Annotated[
    list[Annotated[Name, AfterValidator(_check_alias)]],
    Field(max_length=MAX_ALIASES, description="other names travellers type for the city "
          "(\"Canton\", \"SFO\"): each finds it as its name does, in any case"),
]
# Numbers are strict: JSON true or "10" is a mistake, not 1 or 10 (forms convert their text first).
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]
Cents = Annotated[int, Field(strict=True, ge=0, le=MAX_CENTS, description="integer cents")]
ConnectionSeconds = Annotated[int, Field(strict=True, ge=0, le=86400)]
# So are yes/no flags: JSON true or false, not 1, "yes" or "on" (forms convert their boxes).
Flag = Annotated[bool, Field(strict=True)]


def _city_ref(value: Any) -> int | str:
    # One validator instead of a union, so errors name the field and not a union branch.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(Words("a city is its id (a number) or its exact name (a string)"))
    if isinstance(value, str):
        value = value.strip()
        if not value or len(value) > 200:
            raise ValueError(Words("a city name has 1 to 200 characters"))
        if "\x00" in value:
            # Also where no model ran first (editing.review): PostgreSQL cannot even look
            # such a name up.
            raise ValueError(Words("text may not contain NUL characters"))
    elif not 1 <= value <= MAX_ID:
        raise ValueError(Words("a city id is a number from 1 to %(most)d", most=MAX_ID))
    return value


CityRefIn = Annotated[
    int | str,
    PlainValidator(_city_ref),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                {"type": "string", "minLength": 1, "maxLength": 200},
            ],
            "description": "a city's id (number) or exact name (string)",
            "examples": [1, "Beijing"],
        }
    ),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _every_day() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def currency_problem(text: str) -> Words | None:
    """What is wrong with ``text`` as a service's currency, or None: it must be an ISO 4217
    code in capitals (Babel's list, ``transit.timetable.feed.currency_codes``: CNY, EUR, USD,
    historical codes, XXX...). The one rule of the editor, the API and the imports. An empty
    currency ("no fare information", as a feed without fares is imported) is a service's
    only while it has no fares: ``ServiceCurrency``, ``fares_currency_problem``."""
    if text in currency_codes():
        return None
    return Words("%(code)s is not an ISO 4217 currency code (such as CNY, EUR or USD)",
                 code=repr(text))


def _check_currency(value: str) -> str:
    problem = currency_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_check_currency),
    Field(description="ISO 4217 code such as CNY"),
]


def _check_service_currency(value: str) -> str:
    return value if value == "" else _check_currency(value)


# A service's currency: an ISO 4217 code, or empty for "no fare information" (a GTFS feed
# without fares is imported so), which only a service without fares may keep
# (``fares_currency_problem``).
ServiceCurrency = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[A-Z]{3})?$"),
    AfterValidator(_check_service_currency),
    Field(description="ISO 4217 code such as CNY; empty (no fare information) only for a "
                      "service without fares"),
]


def fares_currency_problem(currency: str, has_fares: bool) -> Words | None:
    """What is wrong with a service's ``currency`` given whether it has fares (a leg fare on
    a stop of any variant, or an origin-destination fare), or None: an empty currency means
    "no fare information", as a feed without fares is imported, and is refused once the
    service has prices. The one rule of the admin form and the API (``ServiceCreate`` checks
    it itself; an update is checked against the service's stored fares)."""
    if currency == "" and has_fares:
        return Words("required when the service has fares")
    return None


def fares_without_currency(currency: str, fare_fields: Sequence[str]) -> list[tuple[str, Words]]:
    """The other side of ``fares_currency_problem``: fares given to a service whose currency
    is empty (a variant with leg fares, origin-destination fares) are refused at the first
    of ``fare_fields`` (``stops[1].fare_cents``, ``fares[0].fare_cents``...) until the
    service has its currency; ``[]`` when they may be kept."""
    if currency or not fare_fields:
        return []
    return [(fare_fields[0], Words(
        "the service has no currency: set its currency before giving it fares"))]


def leg_fare_fields(timetable: TimetableCreate) -> list[str]:
    """The fields of a variant's leg fares, as ``fares_without_currency`` names them."""
    return [f"stops[{index}].fare_cents" for index, stop in enumerate(timetable.stops)
            if stop.fare_cents is not None]


def _refuse_nul(data: Any) -> Any:
    """No NUL characters in text: PostgreSQL cannot store them, and no name contains one."""
    if isinstance(data, dict):
        for key, value in data.items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                raise FieldRefusal(str(key), Words("text may not contain NUL characters"))
    return data


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    _no_nul = model_validator(mode="before")(_refuse_nul)


# --- cities ---------------------------------------------------------------------------------


class CityCreate(_In):
    """A new city, station or airport."""

    name: Name
    code: CityCode = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: TimeZone = "Asia/Shanghai"
    min_connection_seconds: ConnectionSeconds | None = Field(
        default=None, description="own minimum connection time; null uses the global default"
    )
    aliases: Aliases = Field(default_factory=list)


class CityUpdate(_In):
    """Fields to change on a city; fields left out keep their value."""

    name: Name | None = None
    code: CityCode = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: TimeZone | None = None
    min_connection_seconds: ConnectionSeconds | None = None
    aliases: Aliases | None = None

    @model_validator(mode="after")
    def _not_null(self) -> CityUpdate:
        for field in ("name", "timezone", "aliases"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(Words("%(field)s cannot be null", field=field))
        return self


# --- calendars ------------------------------------------------------------------------------


class CalendarCreate(_In):
    """Days of operation: weekdays within optional validity dates, plus added/removed dates."""

    name: CalendarName = None
    weekdays: list[Weekday] = Field(default_factory=_every_day)
    start_date: Date | None = None
    end_date: Date | None = None
    added: list[Date] = Field(default_factory=list, max_length=2000)
    removed: list[Date] = Field(default_factory=list, max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> CalendarCreate:
        _check_calendar(self.start_date, self.end_date, self.added, self.removed,
                        weekdays=weekday_mask(list(self.weekdays)))
        return self


def _check_calendar(
    start: dt.date | None,
    end: dt.date | None,
    added: list[dt.date],
    removed: list[dt.date],
    *,
    weekdays: int | None = None,
) -> None:
    """Refuse validity dates the wrong way round, a date both added and removed, or (given
    the ``weekdays`` mask) days with neither a weekday nor an added date, which never run
    (``FieldRefusal`` naming the field at fault)."""
    if start is not None and end is not None and start > end:
        raise FieldRefusal("end_date", Words("the validity ends before it starts (start_date)"))
    both = sorted(set(added) & set(removed))
    if both:
        raise FieldRefusal("removed", Words(
            "a date cannot be both added and removed: %(dates)s",
            dates=", ".join(d.isoformat() for d in both),
        ))
    if weekdays is not None and not weekdays & ALL_DAYS and not added:
        raise FieldRefusal("weekdays", Words(
            "no weekday is ticked and no date is added, so it would never run: tick the days "
            "it runs on, or add its dates"))
    if weekdays is not None and start is not None and end is not None and not added:
        # Ticked days that never fall within the dates (Saturdays from a Tuesday to a
        # Friday), or fall only on removed dates: as sure a "never" as no day ticked.
        gone = set(removed)
        # (any() stops at the first running day: within a week, unless dates are removed)
        if not any(weekdays >> day.weekday() & 1 and day not in gone
                   for day in days_between(start, end)):
            raise FieldRefusal("weekdays", Words(
                "none of the ticked days falls between %(start)s and %(end)s on a date "
                "that is not removed, so it would never run: change the days or the dates",
                start=start.isoformat(), end=end.isoformat()))


class CalendarUpdate(_In):
    """Fields to change on a calendar; fields left out keep their value."""

    name: CalendarName = None
    weekdays: list[Weekday] | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    added: list[Date] | None = Field(default=None, max_length=2000)
    removed: list[Date] | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _not_null(self) -> CalendarUpdate:
        for field in ("weekdays", "added", "removed"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(Words("%(field)s cannot be null (send [] for none)",
                                       field=field))
        return self


# --- timetables and stops -------------------------------------------------------------------


class StopIn(_In):
    """A call at a city. The first stop needs a departure (and has no arrival), the last an
    arrival (and has no departure).

    How the stops fit together (times in order, ends with the times travellers use) is
    checked by ``stop_problems`` once the cities are known, so every problem shows at once.
    """

    city: CityRefIn
    arrival: TimeValue | None = None
    departure: TimeValue | None = None
    fare_cents: Cents | None = Field(
        default=None, description="price of the leg from the previous stop, in cents"
    )
    boarding: Flag = True
    alighting: Flag = True


class TimetableCreate(_In):
    """A timetable variant: its days (an existing calendar or a new one) and its stops."""

    code: Name | None = Field(
        default=None, description="identifies the variant in its service; default 1, 2..."
    )
    headsign: OptionalText = None
    calendar_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)] | None = None
    calendar: CalendarCreate | None = None
    stops: list[StopIn] = Field(min_length=2, max_length=500)

    @model_validator(mode="after")
    def _check(self) -> TimetableCreate:
        if (self.calendar_id is None) == (self.calendar is None):
            raise ValueError(Words(
                "give either calendar_id (an existing calendar) or calendar (a new one)"
            ))
        return self


@dataclass(frozen=True)
class StopTimes:
    """What ``stop_problems`` looks at in a stop; ``readable`` is False when a time or the
    fare could not be read (the stop is then left out of the checks that need them)."""

    arrival: int | None
    departure: int | None
    fare_cents: int | None = None
    place: object = None  # the city, or anything equal for the same city; None when unknown
    readable: bool = True
    zone: str | None = None  # the city's time zone; None when unknown
    boarding: bool = True  # travellers may board here
    alighting: bool = True  # travellers may alight here


def stop_problems(stops: Sequence[StopTimes]) -> list[tuple[str, Words]]:
    """Every problem of a list of stops as ``(field, message)``, fields as ``stops[2]``.

    Local times must never go back from a stop to the next in the same time zone (or
    where a zone is unknown); into another zone they may, as long as the instants do not
    (the caller checks those: ``timetable.loader.ZoneClock``); each stop needs a time; the
    ends need the times travellers use, and only those (no arrival at the first stop, no
    departure from the last: nobody uses them); the first stop has no fare; the leg fares
    add up to at most ``MAX_CENTS``; no city twice in a row; some stop where travellers may
    board comes before one where they may alight (else nobody can ride it).
    """
    problems: list[tuple[str, Words]] = []
    last = len(stops) - 1
    previous: int | None = None
    previous_zone: str | None = None
    total = 0  # leg fares so far: the search adds them up in 32 bits (routing.snapshot)
    for index, stop in enumerate(stops):
        where = f"stops[{index}]"
        if index and stop.place is not None and stop.place == stops[index - 1].place:
            problems.append((f"{where}.city", Words("the same city twice in a row")))
        fare = stop.fare_cents or 0
        if index and 0 < fare <= MAX_CENTS and total <= MAX_CENTS:  # a bad fare has its own
            total += fare
            if total > MAX_CENTS:
                problems.append((f"{where}.fare_cents", Words(
                    "the leg fares add up to more than %(most)s by this stop",
                    most=format(MAX_CENTS / 100, ",.2f"))))
        if not stop.readable:
            previous = None  # nothing to compare the next stop with
            continue
        if stop.arrival is None and stop.departure is None:
            problems.append((where, Words("a stop needs an arrival or a departure time")))
            previous = None
            continue
        if stop.arrival is not None and stop.departure is not None and stop.arrival > stop.departure:
            problems.append((where, Words(
                "arrival %(arrival)s is after departure %(departure)s",
                arrival=format_time(stop.arrival), departure=format_time(stop.departure),
            )))
        if index == 0 and stop.departure is None:
            problems.append((where, Words("the first stop needs a departure time")))
        elif index == 0 and last and stop.arrival is not None:
            problems.append((f"{where}.arrival", Words(
                "the first stop has no arrival: nobody arrives there on this service (leave "
                "it empty)")))
        if index == last and stop.arrival is None:
            problems.append((where, Words("the last stop needs an arrival time")))
        elif index == last and index and stop.departure is not None:
            problems.append((f"{where}.departure", Words(
                "the last stop has no departure: nobody leaves from it on this service (leave "
                "it empty)")))
        if index == 0 and stop.fare_cents:
            problems.append((f"{where}.fare_cents",
                             Words("the first stop has no leg before it, so no fare")))
        arrival = stop.arrival if stop.arrival is not None else stop.departure
        departure = stop.departure if stop.departure is not None else stop.arrival
        assert arrival is not None and departure is not None
        if previous is not None and arrival < previous and local_order_applies(previous_zone, stop.zone):
            problems.append((where, Words(
                "arrival %(arrival)s is before the previous departure %(previous)s (stops out "
                "of order, or a time after midnight not marked as the next day?)",
                arrival=format_time(arrival), previous=format_time(previous),
            )))
        previous = departure
        previous_zone = stop.zone
    boarded = False
    for stop in stops:
        if boarded and stop.alighting:
            break
        boarded = boarded or stop.boarding
    else:
        if last:
            problems.append(("stops", Words(
                "nobody can ride this variant: it needs a stop where travellers may board "
                "followed by one where they may alight")))
    return problems


# --- fares ----------------------------------------------------------------------------------


class FareIn(_In):
    """An origin-destination price of a service, overriding its leg fares."""

    origin: CityRefIn
    destination: CityRefIn
    fare_cents: Cents

    @model_validator(mode="after")
    def _distinct(self) -> FareIn:
        if self.origin == self.destination:
            raise FieldRefusal("destination", Words("origin and destination must be different cities"))
        return self


class FaresReplace(_In):
    """The complete list of origin-destination prices of a service."""

    fares: list[FareIn] = Field(max_length=10000)


# --- services -------------------------------------------------------------------------------


ServiceNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), SingleLine
]


class ServiceCreate(_In):
    """A service with, optionally, its timetable variants and origin-destination fares."""

    number: ServiceNumber
    mode: Mode
    operator: ShortText = ""
    route: ShortText = Field(
        default="", description="tells apart products sharing operator and number"
    )
    name: OptionalText = None
    currency: ServiceCurrency = "CNY"
    timetables: list[TimetableCreate] = Field(default_factory=list, max_length=200)
    fares: list[FareIn] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _currency_for_fares(self) -> ServiceCreate:
        has_fares = bool(self.fares) or any(
            stop.fare_cents is not None for timetable in self.timetables for stop in timetable.stops
        )
        problem = fares_currency_problem(self.currency, has_fares)
        if problem is not None:
            raise FieldRefusal("currency", problem)
        return self


class ServiceUpdate(_In):
    """Fields to change on a service; fields left out keep their value."""

    number: ServiceNumber | None = None
    mode: Mode | None = None
    operator: ShortText | None = None
    route: ShortText | None = None
    name: OptionalText = None
    currency: ServiceCurrency | None = None

    @model_validator(mode="after")
    def _not_null(self) -> ServiceUpdate:
        for field in ("number", "mode", "operator", "route", "currency"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(Words("%(field)s cannot be null", field=field))
        return self


