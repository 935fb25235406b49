"""Changing the timetable by hand: every write the REST API and the admin pages make.

No Flask here. Both ways in validate their input with the models of ``transit.schemas`` and
then call these functions, so a city, a service, a timetable variant or a fare is checked the
same way whichever door it came through. Each operation works in the caller's session: it
flushes (so constraint failures surface here, as ``EditError``), writes an audit entry naming
the user, and leaves the commit to the caller. Writes to timetable tables bump the data
version (``transit.db``), so the next route query sees the change.

Errors are ``EditError``: a kind (``invalid``, ``conflict``, ``not_found``, ``too_large``), a
message in plain words and, where a field is at fault, one ``FieldIssue`` per field, named as
the API names body fields (``stops[2].arrival``, ``timetables[0].code``, ``fares[1].origin``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import zipfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from transit import schemas as s
from transit.db import lock_city_writes, lock_row
from transit.models import (
    ALL_DAYS,
    AuditEntry,
    Calendar,
    CalendarDate,
    City,
    CityNames,
    Service,
    ServiceFare,
    Stop,
    Timetable,
    alias_problems,
    local_order_applies,
    stop_instant,
)
from transit.names import CityLookup
from transit.timetable.loader import CalendarKey, EarlyStop, ZoneClock, rides_from
from transit.words import Words

MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
log = logging.getLogger(__name__)


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldIssue:
    """What is wrong with one field: ``field`` names it as the API's body does."""

    field: str
    message: str


class EditError(Exception):
    """A change that cannot be made, and why.

    ``kind`` says what sort of refusal it is: ``invalid`` (the input is wrong), ``conflict``
    (it clashes with what the database holds), ``not_found`` or ``too_large``. ``extra``
    carries data a caller may show (the services a city deletion would remove).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        issues: Iterable[FieldIssue] = (),
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.issues = list(issues)
        self.extra = dict(extra or {})


def conflict_words(error: IntegrityError) -> str:
    """What to tell the user when the database refused a change the checks let through: a
    change saved at the same moment (the constraint's own text is for the log, not for them)."""
    log.warning("a write was refused by the database: %s", error.orig)
    return Words("The change clashes with another change saved at the same moment, so nothing "
                 "was changed: look at the data again and repeat the change if it still applies.")


def _flush(session: Session) -> None:
    """Flush; a constraint the checks missed becomes a conflict, not a crash."""
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise EditError("conflict", conflict_words(error)) from None


# --- words -----------------------------------------------------------------------------------


def name_list(items: Sequence[str], limit: int = 10) -> str:
    """``"a, b, c and 4 more"``: a list short enough for a message."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def service_label(service: Service) -> str:
    """How a service is named in messages: ``"train G1 (CR) [Beijing-Shanghai]"``."""
    parts = [service.mode, service.number]
    if service.operator:
        parts.append(f"({service.operator})")
    if service.route:
        parts.append(f"[{service.route}]")
    return " ".join(parts)


# --- audit -----------------------------------------------------------------------------------
#
# An audit entry says what changed as ``Words``: its English is the entry's ``summary`` and the
# message it was made from (``summary_words``) lets the admin pages say it in their reader's
# language. City names, service numbers, codes and counts stay values of the message.


class Counted(Words):
    """A count with its noun: "1 train", "3 trains". The English is singular or plural by the
    count; both forms are kept, so that a page can choose its own language's plural."""

    singular: str
    plural: str
    amount: int

    def __new__(cls, count: int, singular: str, plural: str) -> Counted:
        made = cast(Counted, super().__new__(cls, singular if count == 1 else plural, num=count))
        made.singular, made.plural, made.amount = singular, plural, count
        return made


class Listing(str):
    """Items as one text, ", " between them; each item is kept (``Words`` or a name), so that
    a page can say them in its reader's language and with its own separator."""

    items: tuple[str, ...]

    def __new__(cls, items: Iterable[str]) -> Listing:
        kept = tuple(items)
        made = super().__new__(cls, ", ".join(kept))
        made.items = kept
        return made


def words_json(message: str) -> str | None:
    """A message as ``AuditEntry.summary_words`` keeps it (JSON); None for plain text."""
    if not isinstance(message, Words):
        return None
    return json.dumps(_words_node(message), ensure_ascii=False, separators=(",", ":"))


def _words_node(value: Any) -> Any:
    if isinstance(value, Counted):
        return {"msgid": value.singular, "plural": value.plural, "n": value.amount}
    if isinstance(value, Words):
        return {"msgid": value.template,
                "values": {key: _words_node(v) for key, v in value.values.items()}}
    if isinstance(value, Listing):
        return {"list": [_words_node(item) for item in value.items]}
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def audit(
    session: Session, user: str, action: str, entity: str, entity_id: int | None, summary: str
) -> AuditEntry:
    """Record who changed what (in the caller's transaction). ``summary`` is ``Words``, so
    that the admin pages can show it in their reader's language; plain text is shown as is."""
    entry = AuditEntry(
        username=user,
        action=action,
        entity=entity,
        entity_id=entity_id,
        summary=summary[:2000],
        summary_words=words_json(summary),
        at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    session.add(entry)
    return entry


# The mode and number of a service, as ``service_label`` starts it ("train G1").
_MODE_NUMBER = {
    "train": lambda number: Words("train %(number)s", number=number),
    "flight": lambda number: Words("flight %(number)s", number=number),
    "bus": lambda number: Words("bus %(number)s", number=number),
    "coach": lambda number: Words("coach %(number)s", number=number),
    "ferry": lambda number: Words("ferry %(number)s", number=number),
    "tram": lambda number: Words("tram %(number)s", number=number),
    "subway": lambda number: Words("subway %(number)s", number=number),
    "cable": lambda number: Words("cable %(number)s", number=number),
    "other": lambda number: Words("other %(number)s", number=number),
}

# The fields an edit can change, as the audit log names them.
_FIELD_WORDS = {
    "name": Words("name"),
    "code": Words("code"),
    "latitude": Words("latitude"),
    "longitude": Words("longitude"),
    "timezone": Words("time zone"),
    "min_connection_seconds": Words("minimum connection time"),
    "aliases": Words("other names"),
    "weekdays": Words("weekdays"),
    "start_date": Words("first day"),
    "end_date": Words("last day"),
    "added": Words("added dates"),
    "removed": Words("removed dates"),
    "number": Words("number"),
    "mode": Words("mode"),
    "operator": Words("operator"),
    "route": Words("route"),
    "currency": Words("currency"),
}

# A count of an import by its key (``transit.timetable.feed.COUNT_NOUNS``, ``MODE_NOUNS``):
# the English of ``counts_in_words``. The plural pairs are in the catalog through
# ``transit.web.admin.data``; "no ..." when there are none.
_COUNT_WORDS: dict[str, tuple[str, str, Words]] = {
    "cities": ("%(num)d city", "%(num)d cities", Words("no cities")),
    "services": ("%(num)d service", "%(num)d services", Words("no services")),
    "timetables": ("%(num)d timetable", "%(num)d timetables", Words("no timetables")),
    "stops": ("%(num)d stop", "%(num)d stops", Words("no stops")),
    "calendars": ("%(num)d calendar", "%(num)d calendars", Words("no calendars")),
    "leg_fares": ("%(num)d leg fare", "%(num)d leg fares", Words("no leg fares")),
    "fares": ("%(num)d origin-destination fare", "%(num)d origin-destination fares",
              Words("no origin-destination fares")),
    "transfers": ("%(num)d transfer", "%(num)d transfers", Words("no transfers")),
    "trip_records": ("%(num)d past run", "%(num)d past runs", Words("no past runs")),
    "past runs": ("%(num)d past run", "%(num)d past runs", Words("no past runs")),
}
_MODE_COUNT_WORDS: dict[str, tuple[str, str]] = {
    "train": ("%(num)d train", "%(num)d trains"),
    "flight": ("%(num)d flight", "%(num)d flights"),
    "bus": ("%(num)d bus", "%(num)d buses"),
    "coach": ("%(num)d coach", "%(num)d coaches"),
    "ferry": ("%(num)d ferry", "%(num)d ferries"),
    "tram": ("%(num)d tram", "%(num)d trams"),
    "subway": ("%(num)d subway train", "%(num)d subway trains"),
    "cable": ("%(num)d cable car", "%(num)d cable cars"),
    "other": ("%(num)d other service", "%(num)d other services"),
}


def service_words(service: Service) -> Words:
    """``service_label`` as a message: "train G1 (CR) [Beijing-Shanghai]", the mode in the
    reader's language, number, operator and route as they are."""
    made = _MODE_NUMBER.get(service.mode)
    label = (made(service.number) if made is not None
             else Words("%(mode)s %(number)s", mode=service.mode, number=service.number))
    if service.operator:
        label = Words("%(service)s (%(operator)s)", service=label, operator=service.operator)
    if service.route:
        label = Words("%(service)s [%(route)s]", service=label, route=service.route)
    return label


def fields_words(names: Iterable[str]) -> Listing:
    """The fields an edit changed, as the audit log names them."""
    return Listing(_FIELD_WORDS.get(name, name) for name in names)


def names_words(names: Sequence[str], limit: int = 10) -> str:
    """``name_list`` as a message: "a, b, c and 4 more"."""
    shown = Listing(names[:limit])
    if len(names) > limit:
        return Words("%(names)s and %(count)d more", names=shown, count=len(names) - limit)
    return shown


def counts_words(counts: dict[str, Any]) -> Listing:
    """``transit.timetable.feed.counts_in_words`` as a message: "3 cities, 2 flights, 1
    train, no fares", each count said in the reader's language on a page."""
    parts: list[str] = []

    def count(key: str, n: int, nouns: tuple[str, str] | None, none: Words | None) -> None:
        if nouns is None:  # a key of no known count: its name
            parts.append(Words("%(what)s: %(count)d", count=n, what=key))
        elif n == 0 and none is not None:
            parts.append(none)
        else:
            parts.append(Counted(n, *nouns))

    for key, value in counts.items():
        known = _COUNT_WORDS.get(key)
        nouns, none = (known[:2], known[2]) if known else (None, None)
        if isinstance(value, dict):
            by_mode = [(mode, int(n)) for mode, n in value.items() if n]
            if not by_mode:
                count(key, 0, nouns, none)
            for mode, n in by_mode:
                mode_nouns = _MODE_COUNT_WORDS.get(mode)
                if mode_nouns is None:
                    parts.append(Words("%(mode)s services: %(count)d", count=n, mode=mode))
                else:
                    count(mode, n, mode_nouns, None)
        else:
            count(key, int(value), nouns, none)
    return Listing(parts) if parts else Listing([Words("nothing")])


def _changed_words(changed: Sequence[str], what: str) -> Words:
    """ "changed name, time zone of Beijing", or "changed nothing of Beijing"."""
    if not changed:
        return Words("changed nothing of %(what)s", what=what)
    return Words("changed %(fields)s of %(what)s", fields=fields_words(changed), what=what)


def import_words(filename: str, fmt: str, counts: dict[str, Any]) -> Words:
    """What an audit entry says of a timetable import: "imported a.zip (gtfs): 3 cities, ..."."""
    return Words("imported %(file)s (%(format)s): %(counts)s", file=filename, format=fmt,
                 counts=counts_words(counts))


# --- cities ----------------------------------------------------------------------------------


class CityResolver:
    """Turns city references into cities, collecting every unknown one: an id, or a name
    as travellers type it (exact first; then code, other name or pinyin, in any case:
    ``names.CityLookup``, the route search's rule).

    It also collects the other problems of the same input (``add``), so that a refusal
    lists them all at once.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.issues: list[FieldIssue] = []
        self.unknown = 0  # how many of the issues are unknown cities
        self._cache: dict[int | str, City | None] = {}
        self._lookup: tuple[list[int], CityLookup] | None = None  # read once, when needed

    def __call__(self, ref: int | str, where: str) -> City | None:
        if ref not in self._cache:
            if isinstance(ref, int):
                self._cache[ref] = self.session.get(City, ref)
            else:
                self._cache[ref] = (self.session.scalar(select(City).where(City.name == ref))
                                    or self._typed(ref))
        city = self._cache[ref]
        if city is None:
            if isinstance(ref, int):
                self.add(where, Words("no city with id %(ref)s", ref=repr(ref)))
            elif alike := self._spelt_alike(ref):
                self.add(where, Words("%(ref)s names several cities: %(cities)s; give the name "
                                      "or the id", ref=repr(ref), cities=alike))
                return None  # known cities, too many of them: not "unknown"
            else:
                self.add(where, Words("no city with name %(ref)s", ref=repr(ref)))
            self.unknown += 1
        return city

    def _cities(self) -> tuple[list[int], CityLookup]:
        if self._lookup is None:
            rows = self.session.execute(
                select(City.id, City.name, City.code, City.aliases).order_by(City.id)).all()
            self._lookup = ([row.id for row in rows], CityLookup(
                [row.name for row in rows], [row.code for row in rows],
                [row.aliases or [] for row in rows]))
        return self._lookup

    def _typed(self, text: str) -> City | None:
        """The city ``text`` names as a traveller would type it (PEK, beijing, Canton)."""
        ids, lookup = self._cities()
        found = lookup.find(text)
        return self.session.get(City, ids[found]) if found is not None else None

    def _spelt_alike(self, text: str) -> str:
        ids, lookup = self._cities()
        names = self.session.scalars(select(City.name).where(
            City.id.in_([ids[i] for i in lookup.spelt_alike(text)])).order_by(City.name)).all()
        return name_list(list(names))

    def known(self, ref: int | str) -> City | None:
        """A city already looked up (None when unknown or never asked for)."""
        return self._cache.get(ref)

    def add(self, where: str, message: str) -> None:
        self.issues.append(FieldIssue(where, message))

    def raise_if_any(self) -> None:
        if self.issues:
            raise EditError("invalid", issues_summary(self.issues, self.unknown), self.issues)


def issues_summary(issues: Sequence[FieldIssue], unknown_cities: int = 0) -> str:
    """The message of a refusal: what is wrong, in the issues' own words.

    The issues' messages stay values of their own (``Words`` within ``Words``), so a page
    can say each of them in its reader's language too."""
    words = list(dict.fromkeys(issue.message for issue in issues))
    shown = words[:3]
    problems: str = shown[-1] if shown else ""
    for word in reversed(shown[:-1]):  # "a; b; c", one pair at a time
        problems = Words("%(first)s; %(rest)s", first=word, rest=problems)
    if len(words) > 3:
        problems = Words("%(problems)s and %(count)d more", problems=problems,
                         count=len(words) - 3)
    if unknown_cities == len(issues):
        return Words("Some cities are unknown: %(problems)s.", problems=problems)
    return Words("Some fields are invalid: %(problems)s.", problems=problems)


def check_city_unique(
    session: Session,
    name: str | None,
    code: str | None,
    exclude: int | None = None,
    aliases: Sequence[str] | None = None,
    own: str | None = None,
) -> None:
    """Refuse a name, code or other name that another city's name, code or other name
    already is, in any case, or that travellers type for another city in Latin letters
    (``models.CityNames``: what a traveller types must name one city). ``own``: the
    city's name, when ``name`` is not changing."""
    if name is None and code is None and not aliases:
        return
    lock_city_writes(session)  # until the commit: no one else takes the name meanwhile
    others = CityNames(session.execute(
        select(City.name, City.code, City.aliases).where(City.id != (exclude or 0))
    ), spellings=True)
    issues = [FieldIssue(field, words)
              for field, words in others.clashes(name, code, aliases, own=own)]
    if issues:
        raise EditError("conflict", Words("Names and codes of cities are unique."), issues)


def _check_own_aliases(name: str, code: str | None, aliases: Sequence[str]) -> None:
    """Refuse a list of other names that repeats the city's name, code or itself."""
    issues = [FieldIssue("aliases", words) for words in alias_problems(name, code, aliases)]
    if issues:
        raise EditError("invalid", issues_summary(issues), issues)


def create_city(session: Session, data: s.CityCreate, *, user: str) -> City:
    """Add a city (names, codes and other names unique)."""
    _check_own_aliases(data.name, data.code, data.aliases)
    check_city_unique(session, data.name, data.code, aliases=data.aliases)
    city = City(**data.model_dump())
    session.add(city)
    _flush(session)
    audit(session, user, "create", "city", city.id, Words("created city %(city)s", city=city.name))
    return city


def update_city(session: Session, city: City, data: s.CityUpdate, *, user: str) -> City:
    """Change the fields set in ``data``; the others keep their value."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    changed = sorted(k for k, v in changes.items() if getattr(city, k) != v)
    if {"name", "code", "aliases"} & set(changed):
        _check_own_aliases(changes.get("name", city.name), changes.get("code", city.code),
                           changes.get("aliases", city.aliases))
    check_city_unique(session, changes.get("name"), changes.get("code"), exclude=city.id,
                      aliases=changes.get("aliases") if "aliases" in changed else None,
                      own=city.name)
    for name in changed:  # the others untouched: an unchanged save bumps no data version
        setattr(city, name, changes[name])
    _flush(session)
    if "timezone" in changed:
        # The variants stopping here keep their local times: they must still go forwards.
        calling = select(Stop.timetable_id).where(Stop.city_id == city.id)
        _refuse_runs_going_back(session, Timetable.id.in_(calling), "timezone")
    audit(session, user, "update", "city", city.id, _changed_words(changed, city.name))
    return city


def services_calling_at(session: Session, city_id: int) -> list[Service]:
    """The services with a timetable variant stopping at the city: what deleting it removes."""
    return list(
        session.scalars(
            select(Service)
            .where(
                Service.id.in_(
                    select(Timetable.service_id)
                    .join(Stop, Stop.timetable_id == Timetable.id)
                    .where(Stop.city_id == city_id)
                )
            )
            .order_by(Service.mode, Service.number, Service.id)
        )
    )


def delete_city(
    session: Session,
    city: City,
    *,
    user: str,
    cascade: bool = False,
    shown: Collection[int] | None = None,
) -> list[str]:
    """Delete a city; with ``cascade`` the services calling at it go too (their labels
    returned), with the calendars of their variants that have no name and nothing else uses.

    Without ``cascade`` a city still called at is a conflict naming those services. With
    ``shown``, the ids of the services the person deleting was shown: a conflict unless
    they are still exactly those calling at the city (one saved there since would go
    unseen).
    """
    # Held until the commit: a service saved there meanwhile is either listed (and goes
    # too) or waits and is then refused, never left calling at a deleted city.
    lock_row(session, City, city.id)
    services = services_calling_at(session, city.id)
    labels = [service_label(x) for x in services]
    if shown is not None and set(shown) != {x.id for x in services}:
        raise EditError(
            "conflict",
            Words("The services calling at %(city)s changed since the list was shown, so "
                  "nothing was deleted: look at the list again.", city=city.name),
        )
    if services and not cascade:
        values = {"city": city.name, "count": len(services), "services": name_list(labels)}
        raise EditError(
            "conflict",
            Words("%(city)s is still called at by %(count)d service: %(services)s. Delete or "
                  "change them first, or repeat with cascade=true to delete them too.", **values)
            if len(services) == 1
            else Words("%(city)s is still called at by %(count)d services: %(services)s. Delete "
                       "or change them first, or repeat with cascade=true to delete them too.",
                       **values),
            extra={"services": [{"id": x.id, "label": service_label(x)} for x in services]},
        )
    described = [service_words(x) for x in services]  # for the audit log, before they go
    calendars = {t.calendar_id: t.calendar for x in services for t in x.timetables}
    for service in services:
        session.delete(service)
    _flush(session)
    for calendar in calendars.values():
        _drop_if_unused(session, calendar)
    name, city_id = city.name, city.id
    session.delete(city)
    try:
        session.flush()
    except IntegrityError as error:  # a stop there, saved since the services were listed
        session.rollback()
        log.warning("deleting city %s was refused: %s", city_id, error.orig)
        raise EditError(
            "conflict",
            Words("A service calling at %(city)s was saved while it was being deleted, so "
                  "nothing was deleted: try again.", city=name),
        ) from None
    summary = Words("deleted city %(city)s", city=name)
    if services:
        summary = Words("deleted city %(city)s and services %(services)s", city=name,
                        services=names_words(described, 50))
    audit(session, user, "delete", "city", city_id, summary)
    return labels


# --- calendars -------------------------------------------------------------------------------


def new_calendar(session: Session, data: s.CalendarCreate) -> Calendar:
    """A calendar from its description, added to the session."""
    calendar = Calendar(
        name=data.name,
        weekdays=s.weekday_mask(list(data.weekdays)),
        start_date=data.start_date,
        end_date=data.end_date,
    )
    session.add(calendar)
    calendar.exceptions = [CalendarDate(date=d, added=True) for d in sorted(set(data.added))] + [
        CalendarDate(date=d, added=False) for d in sorted(set(data.removed))
    ]
    return calendar


def _same_days(calendar: Calendar | None, data: s.CalendarCreate) -> bool:
    """Whether ``data`` describes exactly the days of ``calendar`` (its name aside, unless
    ``data`` gives one)."""
    if calendar is None or (data.name is not None and data.name != calendar.name):
        return False
    added = {e.date for e in calendar.exceptions if e.added}
    removed = {e.date for e in calendar.exceptions if not e.added}
    return (
        calendar.weekdays == s.weekday_mask(list(data.weekdays))
        and calendar.start_date == data.start_date
        and calendar.end_date == data.end_date
        and added == set(data.added)
        and removed == set(data.removed)
    )


def create_calendar(session: Session, data: s.CalendarCreate, *, user: str) -> Calendar:
    """Add days of operation that timetable variants can then use."""
    calendar = new_calendar(session, data)
    _flush(session)
    audit(session, user, "create", "calendar", calendar.id,
          Words("created calendar %(calendar)s", calendar=calendar.name or calendar.id))
    return calendar


def _set_exceptions(
    session: Session, calendar: Calendar, added: Iterable[dt.date], removed: Iterable[dt.date]
) -> None:
    calendar.exceptions.clear()
    _flush(session)  # the old rows go first: (calendar, date) is unique
    for day in sorted(set(added)):
        calendar.exceptions.append(CalendarDate(date=day, added=True))
    for day in sorted(set(removed)):
        calendar.exceptions.append(CalendarDate(date=day, added=False))


def update_calendar(
    session: Session, calendar: Calendar, data: s.CalendarUpdate, *, user: str
) -> Calendar:
    """Change the fields set in ``data``; every variant using the calendar changes with it."""
    fields = data.model_fields_set
    before = _days_key(calendar)
    start = data.start_date if "start_date" in fields else calendar.start_date
    end = data.end_date if "end_date" in fields else calendar.end_date
    added = data.added if data.added is not None else [e.date for e in calendar.exceptions if e.added]
    removed = (
        data.removed if data.removed is not None
        else [e.date for e in calendar.exceptions if not e.added]
    )
    # Days that never run are refused when the days change (not when only a name does).
    weekdays = (
        None if data.weekdays is None and data.added is None
        else s.weekday_mask(list(data.weekdays)) if data.weekdays is not None
        else calendar.weekdays
    )
    try:
        s._check_calendar(start, end, added, removed, weekdays=weekdays)
    except s.FieldRefusal as error:
        raise EditError(
            "invalid", Words("The calendar would be inconsistent."),
            [FieldIssue(error.field, error.words)],
        ) from None
    # Only what differs is written: a calendar sent as it is bumps no data version (every
    # client's ETag would go stale, every cached answer would be dropped).
    changed = []
    if "name" in fields and data.name != calendar.name:
        calendar.name = data.name
        changed.append("name")
    if data.weekdays is not None and weekdays != calendar.weekdays:
        calendar.weekdays = s.weekday_mask(list(data.weekdays))
        changed.append("weekdays")
    for name, value in (("start_date", start), ("end_date", end)):
        if getattr(calendar, name) != value:
            setattr(calendar, name, value)
            changed.append(name)
    old_added = {e.date for e in calendar.exceptions if e.added}
    old_removed = {e.date for e in calendar.exceptions if not e.added}
    if set(added) != old_added or set(removed) != old_removed:
        changed += [f for f, new, old in (("added", added, old_added),
                                          ("removed", removed, old_removed))
                    if set(new) != old]
        _set_exceptions(session, calendar, added, removed)
    _flush(session)
    if _days_key(calendar) != before:
        # The variants using it run on other dates now, where clocks may differ otherwise.
        days_field = next((f for f in ("start_date", "end_date", "weekdays", "added", "removed")
                           if f in changed), "weekdays")
        _refuse_runs_going_back(session, Timetable.calendar_id == calendar.id, days_field)
    audit(session, user, "update", "calendar", calendar.id,
          Words("changed %(fields)s", fields=fields_words(sorted(changed))) if changed
          else Words("changed nothing"))
    return calendar


def _calendar_users(session: Session, calendar_id: int) -> list[tuple[Service, str]]:
    return [
        (service, code)
        for service, code in session.execute(
            select(Service, Timetable.code)
            .join(Timetable, Timetable.service_id == Service.id)
            .where(Timetable.calendar_id == calendar_id)
            .order_by(Service.number, Timetable.code)
        )
    ]


def delete_calendar(session: Session, calendar: Calendar, *, user: str) -> None:
    """Delete a calendar no timetable variant uses (a conflict naming them otherwise)."""
    users = _calendar_users(session, calendar.id)
    if users:
        labels = [f"{service_label(service)} variant {code}" for service, code in users]
        raise EditError(
            "conflict",
            Words("Calendar %(id)s is used by %(users)s; give them another calendar first.",
                  id=calendar.id, users=name_list(labels)),
        )
    calendar_id = calendar.id
    session.delete(calendar)
    _flush(session)
    audit(session, user, "delete", "calendar", calendar_id,
          Words("deleted calendar %(calendar)s", calendar=calendar_id))


# --- services and their timetable variants ---------------------------------------------------


def check_service_unique(
    session: Session, operator: str, number: str, route: str, exclude: int | None = None
) -> None:
    """Refuse a second service with the same operator, number and route."""
    other = session.scalar(
        select(Service).where(
            Service.operator == operator,
            Service.number == number,
            Service.route == route,
            Service.id != (exclude or 0),
        )
    )
    if other is not None:
        raise EditError(
            "conflict",
            Words("Service %(service)s already exists (id %(id)s); operator, number and route "
                  "together are unique (set route to tell two products apart).",
                  service=service_label(other), id=other.id),
            [FieldIssue("number", Words("already used by service %(id)s", id=other.id))],
        )


def _next_code(taken: set[str]) -> str:
    number = len(taken) + 1
    while str(number) in taken:
        number += 1
    return str(number)


def variant_codes(session: Session, service: Service) -> set[str]:
    """The codes of a service's timetable variants."""
    return set(session.scalars(select(Timetable.code).where(Timetable.service_id == service.id)))


def _stop_checks(
    resolve: CityResolver, where: str, stops: Sequence[s.StopTimes]
) -> None:
    for field_name, message in s.stop_problems(stops):
        resolve.add(f"{where}{field_name}", message)


# --- runs through several time zones -----------------------------------------------------------


def _days_key(days: Calendar | s.CalendarCreate) -> CalendarKey:
    """What decides the dates a calendar (stored, or as given) runs on."""
    if isinstance(days, Calendar):
        return (
            ALL_DAYS if days.weekdays is None else days.weekdays, days.start_date, days.end_date,
            frozenset(e.date for e in days.exceptions if e.added),
            frozenset(e.date for e in days.exceptions if not e.added),
        )
    return (s.weekday_mask(list(days.weekdays)), days.start_date, days.end_date,
            frozenset(days.added), frozenset(days.removed))


def _clock_words(seconds: int) -> str:
    """A stop time as the message says it: "23:00", "09:00 (+1 day)"."""
    days, rest = divmod(seconds, 86400)
    text = s.format_time(rest) or ""
    if days == 0:
        return text
    if days == 1:
        return Words("%(time)s (+1 day)", time=text)
    return Words("%(time)s (+%(days)d days)", time=text, days=days)


def _duration_words(seconds: int) -> str:
    """ "9 hours", "1 hour 30 minutes", "45 minutes", "20 seconds" (minutes rounded up)."""
    if seconds < 60:
        return Words("1 second") if seconds == 1 else Words("%(count)d seconds", count=seconds)
    hours, minutes = divmod(-(-seconds // 60), 60)
    hour_words = (None if not hours else Words("1 hour") if hours == 1
                  else Words("%(count)d hours", count=hours))
    minute_words = (None if not minutes else Words("1 minute") if minutes == 1
                    else Words("%(count)d minutes", count=minutes))
    if hour_words and minute_words:
        return Words("%(hours)s %(minutes)s", hours=hour_words, minutes=minute_words)
    return hour_words or minute_words or ""


def early_stop_words(early: EarlyStop, city: City, previous: City) -> str:
    """What is wrong with a stop that comes before the previous one once each time is
    read in its own city's zone (the words of ``loader.early_stop_words``)."""
    day = early.day.isoformat()
    if early.days == 1:
        when = Words("on %(day)s", day=day)
    elif early.days == early.running:
        when = Words("on every day it runs, from %(day)s", day=day)
    elif early.days == 2:
        when = Words("on %(day)s and 1 other day", day=day)
    else:
        others = format(early.days - 1, ",")
        when = Words("on %(day)s and %(count)s other days", day=day, count=others)
    return Words(
        "arrives in %(city)s at %(time)s local time, %(gap)s before it leaves %(previous)s at "
        "%(previous_time)s local time (%(when)s): times are local to each city (%(previous)s "
        "in %(previous_zone)s, %(city)s in %(zone)s)",
        city=city.name, time=_clock_words(early.time), gap=_duration_words(early.gap),
        previous=previous.name, previous_time=_clock_words(early.previous_time), when=when,
        previous_zone=previous.timezone, zone=city.timezone,
    )


def _early_stops(
    stops: Sequence[tuple[City, int | None, int | None]],
    days: Calendar | s.CalendarCreate | CalendarKey,
    clock: ZoneClock | None = None,
) -> list[tuple[int, str, str]]:
    """``(index, time, message)`` of each stop of a run (city, arrival, departure as
    stored) that comes, as an instant, before the previous one on a date it runs
    (docs/routing.md, "Time"): ``time`` is ``arrival`` or ``departure``, the one at fault."""
    if len({city.timezone for city, _, _ in stops}) < 2:
        return []
    clock = clock or ZoneClock()
    key = days if isinstance(days, tuple) else _days_key(days)
    found = []
    for early in clock.early_stops([(c.timezone, a, d) for c, a, d in stops], key):
        found.append((early.index, "arrival" if early.uses_arrival else "departure",
                      early_stop_words(early, stops[early.index][0], stops[early.index - 1][0])))
    return found


def _local_steps_back(stops: Sequence[tuple[City, int | None, int | None]]) -> list[tuple[int, str, str]]:
    """``(index, time, message)`` of each stop of a stored run whose local time is earlier
    than the stop before it where both are on one clock (a city moved into the other's zone:
    a westward leg's local times may go back only between two zones)."""
    found: list[tuple[int, str, str]] = []
    previous: tuple[City, int] | None = None
    for index, (city, arrival, departure) in enumerate(stops):
        at = arrival if arrival is not None else departure
        if at is None:
            continue
        if (previous is not None and at < previous[1]
                and local_order_applies(previous[0].timezone, city.timezone)):
            found.append((index, "arrival" if arrival is not None else "departure", Words(
                "arrives in %(city)s at %(time)s local time, before it leaves %(previous)s at "
                "%(previous_time)s local time, and both are in %(zone)s",
                city=city.name, time=_clock_words(at), previous=previous[0].name,
                previous_time=_clock_words(previous[1]), zone=city.timezone)))
        previous = (city, departure if departure is not None else at)
    return found


# At most this many stored variants' problems are listed when a change would break them.
RUNS_LISTED = 5


def _refuse_runs_going_back(session: Session, which: Any, field_name: str) -> None:
    """After a change to a city's zone or to a calendar's days: refuse it (``field_name`` at
    fault) when a stored variant among ``which`` (a condition on ``Timetable``) would now
    arrive somewhere before it left the stop before."""
    clock = ZoneClock()
    found: list[FieldIssue] = []
    timetables = list(session.scalars(select(Timetable).where(which).order_by(Timetable.id)))
    stops: dict[int, list[tuple[int, int | None, int | None]]] = {t.id: [] for t in timetables}
    ids = list(stops)
    for start in range(0, len(ids), 500):
        for row in session.execute(
            select(Stop.timetable_id, Stop.city_id, Stop.arrival, Stop.departure)
            .where(Stop.timetable_id.in_(ids[start:start + 500]))
            .order_by(Stop.timetable_id, Stop.sequence)
        ):
            stops[row.timetable_id].append((row.city_id, row.arrival, row.departure))
    city_ids = {city_id for run in stops.values() for city_id, _, _ in run}
    cities = {c.id: c for c in session.scalars(select(City).where(City.id.in_(city_ids)))}
    for timetable in timetables:
        run = [(cities[c], a, d) for c, a, d in stops[timetable.id]]
        problems = _local_steps_back(run)
        if len({city.timezone for city, _, _ in run}) > 1:
            problems += _early_stops(run, timetable.calendar, clock)
        for index, _, message in sorted(problems, key=lambda problem: problem[0]):
            found.append(FieldIssue(field_name, Words(
                "%(service)s variant %(code)s, stop %(stop)d: %(problem)s",
                service=service_label(timetable.service), code=timetable.code, stop=index + 1,
                problem=message)))
    if len(found) > RUNS_LISTED:
        # A zone change may touch hundreds of variants: a few say what is wrong.
        more = len(found) - RUNS_LISTED
        found = found[:RUNS_LISTED] + [FieldIssue(field_name, Words(
            "and %(count)d more stops of stored variants like these", count=more))]
    if found:
        raise EditError("invalid", issues_summary(found), found)


def _zone_checks(
    resolve: CityResolver,
    where: str,
    stops: Sequence[Any],
    cities: Sequence[City | None],
    days: Calendar | s.CalendarCreate,
) -> None:
    """Refuse a run that goes back in time where it changes time zone, on some date it runs
    (its local times may: a westward leg; within a zone ``stop_problems`` compares them)."""
    known = [city for city in cities if city is not None]
    if len(known) != len(stops):
        return
    last = len(stops) - 1
    runs = [
        (city, stop.arrival if i > 0 else None, stop.departure if i < last else None)
        for i, (stop, city) in enumerate(zip(stops, known, strict=True))
    ]
    for index, part, message in _early_stops(runs, days):
        resolve.add(f"{where}stops[{index}].{part}", message)


def build_timetable(
    session: Session,
    service: Service,
    data: s.TimetableCreate,
    where: str,
    resolve: CityResolver,
    taken_codes: set[str],
    timetable: Timetable | None = None,
) -> Timetable | None:
    """A timetable variant from its description (a new one, or ``timetable`` refilled).

    Problems go to ``resolve`` (None is returned); the caller raises once everything is
    checked, so one refusal lists them all.
    """
    before = len(resolve.issues)
    calendar: Calendar | None = None
    if data.calendar_id is not None:
        calendar = session.get(Calendar, data.calendar_id)
        if calendar is None:
            resolve.add(f"{where}calendar_id", Words("no calendar %(id)s", id=data.calendar_id))
    code = data.code or (timetable.code if timetable is not None else _next_code(taken_codes))
    if code in taken_codes and (timetable is None or code != timetable.code):
        resolve.add(f"{where}code", Words("the service already has a variant %(code)s",
                                          code=repr(code)))
    cities = [resolve(stop.city, f"{where}stops[{i}].city") for i, stop in enumerate(data.stops)]
    _stop_checks(
        resolve,
        where,
        [
            s.StopTimes(stop.arrival, stop.departure, stop.fare_cents, city,
                        zone=city.timezone if city is not None else None,
                        boarding=stop.boarding, alighting=stop.alighting)
            for stop, city in zip(data.stops, cities, strict=True)
        ],
    )
    days = calendar if calendar is not None else data.calendar
    if days is not None:
        # Even beside other problems: ``stop_problems`` compares local times only within a
        # zone, this the instants where the zone changes (each finds what the other cannot).
        _zone_checks(resolve, where, data.stops, cities, days)
    if len(resolve.issues) > before:
        return None
    taken_codes.add(code)
    if calendar is None:
        assert data.calendar is not None
        if timetable is not None and _same_days(timetable.calendar, data.calendar):
            # Days sent unchanged (a form saved as it was opened): keep the calendar, named
            # or shared, rather than a copy of it.
            calendar = timetable.calendar
        else:
            calendar = new_calendar(session, data.calendar)
    if timetable is None:
        timetable = Timetable(service=service, code=code)
        session.add(timetable)
    else:
        timetable.stops.clear()
        _flush(session)  # old stops go first: (timetable, sequence) is unique
        timetable.code = code
    timetable.headsign = data.headsign
    timetable.calendar = calendar
    last = len(data.stops) - 1
    timetable.stops = [
        Stop(
            sequence=i,
            city=city,
            arrival=stop.arrival if i > 0 else None,
            departure=stop.departure if i < last else None,
            fare_cents=stop.fare_cents if i > 0 else None,
            boarding=stop.boarding,
            alighting=stop.alighting,
        )
        for i, (stop, city) in enumerate(zip(data.stops, cities, strict=True))
    ]
    return timetable


def served_city_ids(service: Service) -> set[int]:
    """Ids of every city some variant of the service stops at."""
    return {stop.city.id for timetable in service.timetables for stop in timetable.stops}


def _fare_field(where: str, index: int, end: str = "") -> str:
    # ``where`` is "fares" for a list of fares, "" for one fare on its own.
    base = f"{where}[{index}]" if where else ""
    return f"{base}.{end}" if base and end else base or end or "(fare)"


def _pair_end(where: str, end: str) -> str:
    """The field a problem of the pair goes to: a row of a fares list as a whole, or, for one
    fare on its own (the API's POST), the end a client would change ("origin", not "(fare)")."""
    return "" if where else end


def city_runs(service: Service) -> list[list[int]]:
    """The city ids of each variant of the service, in the order it calls at them."""
    return [[stop.city.id for stop in timetable.stops] for timetable in service.timetables]


def build_fares(
    service: Service,
    fares: Sequence[s.FareIn],
    where: str,
    resolve: CityResolver,
    runs: Sequence[Sequence[int]] | None = None,
) -> list[ServiceFare]:
    """Origin-destination fares, checked: known cities called at by the service, the origin
    before the destination on some variant, no repeats.

    ``runs`` are the city ids of each variant in calling order (by default: its variants
    now, ``city_runs``). Problems go to ``resolve``; the caller raises.
    """
    runs = city_runs(service) if runs is None else runs
    served = {city_id for run in runs for city_id in run}
    seen: set[tuple[int, int]] = set()
    built = []
    for i, fare in enumerate(fares):
        origin = resolve(fare.origin, _fare_field(where, i, "origin"))
        destination = resolve(fare.destination, _fare_field(where, i, "destination"))
        if origin is None or destination is None:
            continue
        if origin is destination:
            resolve.add(_fare_field(where, i, _pair_end(where, "destination")),
                        Words("origin and destination are the same city"))
            continue
        for end, city in (("origin", origin), ("destination", destination)):
            if city.id not in served:
                resolve.add(_fare_field(where, i, end),
                            Words("%(city)s is not a stop of this service", city=city.name))
        if (origin.id in served and destination.id in served
                and not rides_from(runs, origin.id, destination.id)):
            resolve.add(_fare_field(where, i, _pair_end(where, "origin")), Words(
                "%(origin)s comes after %(destination)s on every variant of this service, so "
                "this fare could never be charged", origin=origin.name,
                destination=destination.name))
        if (origin.id, destination.id) in seen:
            resolve.add(
                _fare_field(where, i, _pair_end(where, "origin")),
                Words("a second fare from %(origin)s to %(destination)s", origin=origin.name,
                      destination=destination.name),
            )
        seen.add((origin.id, destination.id))
        # Not attached yet: the caller adds them once the old fares are gone.
        built.append(ServiceFare(origin=origin, destination=destination, fare_cents=fare.fare_cents))
    return built


# --- what the models refused: the rest of the checks, so everything shows at once ------------


def _loose_time(value: Any) -> tuple[int | None, bool]:
    if value is None:
        return None, True
    try:
        return s.parse_time(value), True
    except ValueError:
        return None, False


def _loose_ref(value: Any) -> int | str | None:
    try:
        return s._city_ref(value)
    except ValueError:
        return None


def _review_timetable(session: Session, raw: Any, where: str, resolve: CityResolver) -> None:
    if not isinstance(raw, dict):
        return
    calendar_id = raw.get("calendar_id")
    if (
        isinstance(calendar_id, int)
        and not isinstance(calendar_id, bool)
        and 1 <= calendar_id <= s.MAX_ID
        and session.get(Calendar, calendar_id) is None
    ):
        resolve.add(f"{where}calendar_id", Words("no calendar %(id)s", id=calendar_id))
    stops = raw.get("stops")
    if not isinstance(stops, list) or not 2 <= len(stops) <= 500:
        return
    loose = []
    cities: list[City | None] = []
    for i, stop in enumerate(stops):
        if not isinstance(stop, dict):
            loose.append(s.StopTimes(None, None, readable=False))
            cities.append(None)
            continue
        ref = _loose_ref(stop.get("city"))
        city = resolve(ref, f"{where}stops[{i}].city") if ref is not None else None
        arrival, arrival_read = _loose_time(stop.get("arrival"))
        departure, departure_read = _loose_time(stop.get("departure"))
        fare = stop.get("fare_cents")
        fare = fare if isinstance(fare, int) and not isinstance(fare, bool) else None
        loose.append(s.StopTimes(arrival, departure, fare, city, arrival_read and departure_read,
                                 zone=city.timezone if city is not None else None,
                                 boarding=stop.get("boarding") is not False,
                                 alighting=stop.get("alighting") is not False))
        cities.append(city)
    _stop_checks(resolve, where, loose)
    if all(stop.readable for stop in loose):
        days = _loose_days(session, raw)
        if days is not None:
            _zone_checks(resolve, where, loose, cities, days)


def _loose_days(session: Session, raw: dict[str, Any]) -> Calendar | s.CalendarCreate | None:
    """The days of a timetable the models refused, where they can be read."""
    calendar_id = raw.get("calendar_id")
    if isinstance(calendar_id, int) and not isinstance(calendar_id, bool) and 1 <= calendar_id <= s.MAX_ID:
        return session.get(Calendar, calendar_id)
    if calendar_id is None and isinstance(raw.get("calendar"), dict):
        try:
            return s.CalendarCreate.model_validate(raw["calendar"])
        except ValidationError:
            return None
    return None


def _review_fares(raw: Any, where: str, resolve: CityResolver) -> None:
    if not isinstance(raw, list):
        return
    for i, fare in enumerate(raw):
        if isinstance(fare, dict):
            for end in ("origin", "destination"):
                ref = _loose_ref(fare.get(end))
                if ref is not None:
                    resolve(ref, _fare_field(where, i, end))


def review(session: Session, model: type[Any], raw: Any) -> list[FieldIssue]:
    """What the checks after validation find in input that ``model`` refused: unknown cities
    and calendars, stops out of order, in the parts that can be read.

    Callers add these to the model's own errors, so one answer lists every problem.
    """
    resolve = CityResolver(session)
    if not isinstance(raw, dict):
        return []
    if model is s.ServiceCreate:
        timetables = raw.get("timetables")
        for i, timetable in enumerate(timetables if isinstance(timetables, list) else []):
            _review_timetable(session, timetable, f"timetables[{i}].", resolve)
        _review_fares(raw.get("fares"), "fares", resolve)
    elif model is s.TimetableCreate:
        _review_timetable(session, raw, "", resolve)
    elif model is s.FaresReplace:
        _review_fares(raw.get("fares"), "fares", resolve)
    elif model is s.FareIn:
        _review_fares([raw], "", resolve)
    return resolve.issues


def create_service(session: Session, data: s.ServiceCreate, *, user: str) -> Service:
    """Add a service with its timetable variants and origin-destination fares."""
    check_service_unique(session, data.operator, data.number, data.route)
    service = Service(
        number=data.number,
        mode=data.mode.value,
        operator=data.operator,
        route=data.route,
        name=data.name,
        currency=data.currency,
    )
    session.add(service)
    resolve = CityResolver(session)
    codes: set[str] = set()
    runs: list[list[int]] = []
    for i, timetable in enumerate(data.timetables):
        build_timetable(session, service, timetable, f"timetables[{i}].", resolve, codes)
        # Fares may use the stops of a variant refused above: only its own problems show.
        runs.append([c.id for stop in timetable.stops if (c := resolve.known(stop.city))])
    fares = build_fares(service, data.fares, "fares", resolve, runs)
    resolve.raise_if_any()
    service.fares = fares
    _flush(session)
    audit(session, user, "create", "service", service.id,
          Words("created service %(service)s", service=service_words(service)))
    return service


def update_service(
    session: Session, service: Service, data: s.ServiceUpdate, *, user: str
) -> Service:
    """Change number, mode, operator, route, name or currency (those set in ``data``)."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    if "mode" in changes:
        changes["mode"] = changes["mode"].value
    check_service_unique(
        session,
        changes.get("operator", service.operator),
        changes.get("number", service.number),
        changes.get("route", service.route),
        exclude=service.id,
    )
    changed = sorted(k for k, v in changes.items() if getattr(service, k) != v)
    for name in changed:  # the others untouched: an unchanged save bumps no data version
        setattr(service, name, changes[name])
    _flush(session)
    audit(session, user, "update", "service", service.id, _changed_words(changed, service_words(service)))
    return service


def delete_service(session: Session, service: Service, *, user: str) -> None:
    """Delete a service with its timetable variants, fares and trip history (and the
    calendars of its variants that have no name and nothing else uses)."""
    label, service_id = service_words(service), service.id
    calendars = {t.calendar_id: t.calendar for t in service.timetables}
    session.delete(service)
    _flush(session)
    for calendar in calendars.values():
        _drop_if_unused(session, calendar)
    audit(session, user, "delete", "service", service_id,
          Words("deleted service %(service)s", service=label))


def duplicate_service(
    session: Session, service: Service, *, number: str, route: str, user: str
) -> Service:
    """A copy of ``service`` under another number (or route): variants, stops and fares.

    The copy shares the original's calendars (they are shared by design); editing a
    variant's days from the admin pages gives it a calendar of its own.
    """
    number, route = number.strip(), route.strip()
    issues = []
    if not number:
        issues.append(FieldIssue("number", Words("a service needs a number")))
    elif len(number) > 64:
        issues.append(FieldIssue("number", Words(
            "a service number has at most %(count)d characters", count=64)))
    if len(route) > 200:
        issues.append(FieldIssue("route", Words(
            "a route tag has at most %(count)d characters", count=200)))
    # As every other door refuses them (and PostgreSQL would refuse NUL, with a 500).
    issues += [FieldIssue(name, problem)
               for name, value in (("number", number), ("route", route))
               if (problem := s.text_problem(value)) is not None]
    if issues:
        raise EditError("invalid", Words("The copy needs a number of its own."), issues)
    check_service_unique(session, service.operator, number, route)
    copy = Service(
        number=number,
        mode=service.mode,
        operator=service.operator,
        route=route,
        name=service.name,
        currency=service.currency,
    )
    session.add(copy)
    for timetable in service.timetables:
        copy.timetables.append(
            Timetable(
                code=timetable.code,
                headsign=timetable.headsign,
                calendar=timetable.calendar,
                stops=[
                    Stop(
                        sequence=stop.sequence,
                        city=stop.city,
                        arrival=stop.arrival,
                        departure=stop.departure,
                        fare_cents=stop.fare_cents,
                        boarding=stop.boarding,
                        alighting=stop.alighting,
                    )
                    for stop in timetable.stops
                ],
            )
        )
    copy.fares = [
        ServiceFare(origin=f.origin, destination=f.destination, fare_cents=f.fare_cents)
        for f in service.fares
    ]
    _flush(session)
    audit(session, user, "create", "service", copy.id,
          Words("duplicated %(service)s as %(copy)s", service=service_words(service),
                copy=service_words(copy)))
    return copy


def add_timetable(
    session: Session, service: Service, data: s.TimetableCreate, *, user: str
) -> Timetable:
    """Add a timetable variant to a service (its code unique within the service)."""
    codes = variant_codes(session, service)
    if data.code is not None and data.code in codes:
        raise EditError(
            "conflict",
            Words("Service %(service)s already has a variant %(code)s.",
                  service=service_label(service), code=repr(data.code)),
            [FieldIssue("code", Words("already used in this service"))],
        )
    resolve = CityResolver(session)
    timetable = build_timetable(session, service, data, "", resolve, codes)
    resolve.raise_if_any()
    assert timetable is not None
    _flush(session)
    audit(session, user, "create", "timetable", timetable.id,
          Words("added variant %(code)s to %(service)s", code=timetable.code,
                service=service_words(service)))
    return timetable


def check_fares_still_served(session: Session, service: Service) -> None:
    """Refuse a timetable change that leaves an origin-destination fare without its stops,
    or with its origin after its destination on every variant (never charged: the rule
    ``build_fares`` keeps for fares sent)."""
    session.refresh(service)
    served = served_city_ids(service)
    runs = city_runs(service)
    orphans, backwards = [], []
    for fare in service.fares:
        label = f"{fare.origin.name}-{fare.destination.name}"
        if fare.origin_id not in served or fare.destination_id not in served:
            orphans.append(label)
        elif not rides_from(runs, fare.origin_id, fare.destination_id):
            backwards.append(label)
    said = []
    if orphans:
        said.append(Words("The service would no longer call where its fares %(fares)s apply; "
                          "change or delete those fares first.", fares=name_list(orphans)))
    if backwards:
        said.append(Words("The service would no longer call at the origin before the "
                          "destination of its fares %(fares)s on any variant, so they could "
                          "never be charged; change or delete those fares first.",
                          fares=name_list(backwards)))
    if said:  # both at once, when a change does both
        raise EditError("conflict", said[0] if len(said) == 1
                        else Words("%(first)s %(second)s", first=said[0], second=said[1]))


def _drop_if_unused(session: Session, calendar: Calendar | None) -> None:
    """Delete ``calendar`` when no variant uses it any more, if it has no name (the days
    of one variant, given with it: else edits and deletions leave them piling up). A named
    calendar is kept for the variants to come (``POST /calendars``)."""
    if calendar is None or calendar.name:
        return
    if not _calendar_users(session, calendar.id):
        session.delete(calendar)
        _flush(session)


def timetable_unchanged(session: Session, timetable: Timetable, data: s.TimetableCreate) -> bool:
    """Whether ``data`` describes ``timetable`` exactly as stored: its code (when given),
    headsign, days (the same calendar, or the same days with no other name) and stops
    (cities, times, fares, boarding and alighting)."""
    if data.code is not None and data.code != timetable.code:
        return False
    if data.headsign != timetable.headsign:
        return False
    if data.calendar_id is not None:
        if data.calendar_id != timetable.calendar_id:
            return False
    elif data.calendar is None or not _same_days(timetable.calendar, data.calendar):
        return False
    if len(data.stops) != len(timetable.stops):
        return False
    resolve = CityResolver(session)
    for index, (stop, stored) in enumerate(zip(data.stops, timetable.stops, strict=True)):
        city = resolve(stop.city, f"stops[{index}].city")
        if city is None or (city.id, stop.arrival, stop.departure, stop.fare_cents, stop.boarding,
                            stop.alighting) != (stored.city_id, stored.arrival, stored.departure,
                                                stored.fare_cents, stored.boarding,
                                                stored.alighting):
            return False
    return True


def replace_timetable(
    session: Session,
    timetable: Timetable,
    data: s.TimetableCreate,
    *,
    user: str,
) -> Timetable:
    """Replace a variant's stops, days and headsign (and code, when given).

    Days sent unchanged keep the variant's calendar; new days get a calendar of their own,
    and the old one is deleted when it has no name and nothing else uses it any more. The
    variant sent as it is (``timetable_unchanged``) writes nothing but the audit entry.
    """
    service = timetable.service
    codes = variant_codes(session, service)
    if data.code is not None and data.code != timetable.code and data.code in codes:
        raise EditError(
            "conflict",
            Words("Service %(service)s already has a variant %(code)s.",
                  service=service_label(service), code=repr(data.code)),
            [FieldIssue("code", Words("already used in this service"))],
        )
    if timetable_unchanged(session, timetable, data):
        # Saved as it was opened: nothing to write, the data version stays (no route cache
        # rebuilt); said as an unchanged service save says it.
        audit(session, user, "update", "timetable", timetable.id,
              Words("changed nothing of variant %(code)s of %(service)s", code=timetable.code,
                    service=service_words(service)))
        return timetable
    old_calendar = timetable.calendar
    resolve = CityResolver(session)
    build_timetable(session, service, data, "", resolve, codes, timetable)
    resolve.raise_if_any()
    _flush(session)
    check_fares_still_served(session, service)
    if old_calendar is not timetable.calendar:
        _drop_if_unused(session, old_calendar)
    audit(session, user, "update", "timetable", timetable.id,
          Words("replaced variant %(code)s of %(service)s", code=timetable.code,
                service=service_words(service)))
    return timetable


def delete_timetable(session: Session, timetable: Timetable, *, user: str) -> None:
    """Delete one variant (its calendar too when it has no name and nothing else uses it)."""
    service = timetable.service
    code, timetable_id, calendar = timetable.code, timetable.id, timetable.calendar
    session.delete(timetable)
    _flush(session)
    check_fares_still_served(session, service)
    _drop_if_unused(session, calendar)
    audit(session, user, "delete", "timetable", timetable_id,
          Words("deleted variant %(code)s of %(service)s", code=code,
                service=service_words(service)))


# --- fares -----------------------------------------------------------------------------------


def replace_fares(
    session: Session, service: Service, fares: Sequence[s.FareIn], *, user: str, where: str = "fares"
) -> list[ServiceFare]:
    """Make ``fares`` the service's whole list of origin-destination prices."""
    resolve = CityResolver(session)
    built = build_fares(service, fares, where, resolve)
    resolve.raise_if_any()
    service.fares.clear()
    _flush(session)
    service.fares.extend(built)
    _flush(session)
    audit(session, user, "update", "fares", service.id,
          Words("replaced fares of %(service)s (%(count)d)", service=service_words(service),
                count=len(built)))
    return built


def add_fare(session: Session, service: Service, data: s.FareIn, *, user: str) -> ServiceFare:
    """Add one origin-destination price (a conflict when the pair has one already)."""
    resolve = CityResolver(session)
    built = build_fares(service, [data], "", resolve)
    resolve.raise_if_any()
    (fare,) = built
    existing = next(
        (f for f in service.fares
         if f.origin_id == fare.origin.id and f.destination_id == fare.destination.id),
        None,
    )
    if existing is not None:
        raise EditError(
            "conflict",
            Words("There is already a fare from %(origin)s to %(destination)s (id %(id)s); "
                  "change it with PUT on the fares list.", origin=fare.origin.name,
                  destination=fare.destination.name, id=existing.id),
        )
    service.fares.append(fare)
    _flush(session)
    audit(session, user, "create", "fare", fare.id,
          Words("fare %(origin)s-%(destination)s on %(service)s", origin=fare.origin.name,
                destination=fare.destination.name, service=service_words(service)))
    return fare


def delete_fare(session: Session, fare: ServiceFare, *, user: str) -> None:
    """Remove one origin-destination price."""
    fare_id, service_id = fare.id, fare.service_id
    session.delete(fare)
    _flush(session)
    audit(session, user, "delete", "fare", fare_id,
          Words("deleted fare %(fare)s of service %(service)s", fare=fare_id, service=service_id))


# --- imports ---------------------------------------------------------------------------------


def _safe_extract(archive: zipfile.ZipFile, folder: Path, limit: int) -> None:
    total = 0
    for member in archive.infolist():
        target = (folder / member.filename).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise EditError("invalid", Words("The archive has an unsafe path: %(path)s.",
                                             path=repr(member.filename)))
        total += member.file_size
        if total > limit:
            raise EditError("too_large",
                            Words("The archive unpacks to more than the server accepts."))
    archive.extractall(folder)


def _unpacked_root(folder: Path) -> Path:
    # A zip of a folder holds that folder: look inside it.
    entries = [p for p in folder.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def prepare_upload(
    saved: Path, work: Path, fmt: str | None, *, max_unzipped: int = MAX_UNZIPPED_BYTES
) -> Path:
    """The path to parse for an uploaded file: the file itself (GTFS zip, plain file) or the
    folder a zip of a classic or CSV-bundle folder unpacks to (into ``work``/unpacked).

    Unsafe archive paths and archives unpacking past ``max_unzipped`` bytes are refused.
    """
    from transit.timetable.feed import ImportFailed
    from transit.timetable.formats import detect_format

    if not zipfile.is_zipfile(saved) or fmt == "gtfs":
        return saved
    if fmt is None:
        try:
            if detect_format(saved) == "gtfs":
                return saved
        except (ImportFailed, ValueError, OSError):
            pass  # not GTFS: perhaps a zip of a classic or CSV folder
    folder = work / "unpacked"
    folder.mkdir(exist_ok=True)
    try:
        with zipfile.ZipFile(saved) as archive:
            _safe_extract(archive, folder, max_unzipped)
    except zipfile.BadZipFile as error:
        raise EditError("invalid", Words("The archive cannot be read: %(error)s.",
                                         error=str(error))) from None
    return _unpacked_root(folder)


@dataclass
class ImportOutcome:
    """What an import did (or, on a dry run, would do)."""

    format: str
    counts: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    report: str = ""


def import_timetable(
    session: Session,
    saved: Path,
    work: Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
    progress: bool = False,
) -> ImportOutcome:
    """Parse an uploaded timetable file and load it in the caller's transaction.

    A CSV bundle's trip history (trips.csv) is loaded too, after its timetable, and counted
    as ``past runs``. Raises ``ImportFailed`` listing every problem (file, line, field),
    ``EditError`` for an unreadable archive, and ``ValueError``/``LookupError``/``OSError``
    for files no parser understands. The caller rolls back on a dry run or an error: a dry
    run of a bundle with history writes inside the transaction, since past runs are checked
    against the services they belong to.
    """
    from transit.timetable.csvbundle import HISTORY_FILE
    from transit.timetable.feed import ImportFailed, ProblemList, quantity
    from transit.timetable.formats import detect_format, parse_timetable
    from transit.timetable.history import HistoryTrip, load_history, read_history_csv
    from transit.timetable.loader import load_feed

    path = prepare_upload(saved, work, fmt, max_unzipped=max_unzipped)
    history: list[HistoryTrip] | None = None
    history_problems = ProblemList()
    try:
        chosen = (fmt or detect_format(path)).lower()
        try:
            feed = parse_timetable(path, chosen, encoding)
        except ImportFailed as error:
            failed: ImportFailed | None = error
        else:
            failed = None
            if path != saved and feed.source == path.name:
                # Unpacked under a folder of ours ("unpacked"): the report names the file sent.
                feed.source = saved.name
        trips_file = path / HISTORY_FILE
        if chosen == "csv" and trips_file.is_file():
            # The history's own problems are listed with the timetable's, all at once.
            try:
                history = read_history_csv(trips_file, history_problems)
            except ImportFailed as error:
                history_problems.items.extend(error.problems)
            if failed is not None:
                failed = ImportFailed(failed.problems + history_problems.items, failed.kind)
        if failed is not None:
            raise failed
        try:
            report = load_feed(session, feed, dry_run=dry_run and history is None,
                               progress=progress)
        except ImportFailed as error:
            raise ImportFailed(error.problems + history_problems.items, error.kind) from None
    except ImportFailed as error:
        if path == saved:
            raise
        # A zipped folder is unpacked under a name of ours: what is said of the folder
        # itself is said of the file the user sent.
        raise ImportFailed(
            [
                dataclasses.replace(p, file=saved.name)
                if p.file == path.name and p.line is None else p
                for p in error.problems
            ],
            error.kind,
        ) from None
    report.dry_run = dry_run
    counts = dict(report.counts)
    text = str(report)
    if history is not None or history_problems:
        # Runs that read are looked up in the just-loaded timetable, with the rows' problems.
        history = history or []
        added = load_history(session, history, progress=progress, problems=history_problems)
        counts["past runs"] = added
        skipped = len(history) - added
        text += (f"\n{'Would add' if dry_run else 'Added'} "
                 f"{quantity(added, 'past run', 'past runs')}"
                 + (f" ({skipped:,} already recorded)" if skipped else "")
                 + ".")
    return ImportOutcome(
        format=chosen,
        counts=counts,
        skipped=list(report.skipped),
        conflicts=list(report.conflicts),
        report=text,
    )


# --- trip history ----------------------------------------------------------------------------


def _utc(day: dt.date, seconds: int, zone: str) -> dt.datetime:
    """A stop time of service date ``day`` as naive UTC, by the engine's rule (noon minus
    12 hours), so a recorded run is the run the planner and the boards show."""
    return stop_instant(day, seconds, zone).replace(tzinfo=None)


def _local_to_utc(moment: dt.datetime | None, zone: str) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC).replace(tzinfo=None)


def record_trip(
    session: Session,
    timetable: Timetable,
    service_date: dt.date,
    origin: int,
    destination: int,
    *,
    actual_departure: dt.datetime | None,
    actual_arrival: dt.datetime | None,
    cancelled: bool = False,
    user: str,
    source: str = "admin",
    now: dt.datetime | None = None,
    date_known: bool = True,
) -> int:
    """Record one past run of a timetable variant between two of its stops.

    ``origin``/``destination`` are stop positions (sequence order, origin first);
    ``actual_*`` are naive local times of the origin's and destination's city. Scheduled
    times come from the timetable. The run goes in through ``transit.timetable.history``'s
    loader, so it is checked exactly as an uploaded trip-history CSV is. Returns the number
    of runs added (0 when exactly this run was already recorded). Actual times later than
    ``now`` (naive UTC, the current time when None), give or take the history's clock slack,
    are refused: a run is recorded once it has happened.
    """
    from transit.routing.query import FIRST_YEAR, LAST_YEAR
    from transit.timetable.feed import ImportFailed
    from transit.timetable.history import CLOCK_SLACK, MAX_DELAY, HistoryTrip, load_history

    stops = timetable.stops
    issues = []
    # The years the planner knows; far ones cannot even be turned into UTC everywhere (06:00
    # in Shanghai on 0001-01-01 is in year 0 UTC).
    years = {"first": FIRST_YEAR, "last": LAST_YEAR}
    placeable = FIRST_YEAR <= service_date.year <= LAST_YEAR
    if not placeable:
        issues.append(FieldIssue("service_date", Words(
            "the day must fall in the years %(first)d to %(last)d", **years)))
    elif not timetable.calendar.runs_on(service_date):
        issues.append(FieldIssue("service_date", Words("this variant does not run on that day")))
    for name, moment in (("actual_departure", actual_departure),
                         ("actual_arrival", actual_arrival)):
        if moment is not None and not FIRST_YEAR <= moment.year <= LAST_YEAR:
            issues.append(FieldIssue(name, Words(
                "the time must fall in the years %(first)d to %(last)d", **years)))
            placeable = False
    if not 0 <= origin < len(stops):
        issues.append(FieldIssue("origin", Words("choose a stop of the variant")))
    if not 0 <= destination < len(stops):
        issues.append(FieldIssue("destination", Words("choose a stop of the variant")))
    elif destination <= origin:
        issues.append(FieldIssue("destination", Words("the destination must come after the origin")))
    if cancelled and (actual_departure or actual_arrival):
        issues.append(FieldIssue("cancelled", Words("a cancelled run has no actual times")))
    if not cancelled and actual_departure is None and actual_arrival is None:
        # A run with neither time says nothing, and once recorded it can only be repeated.
        issues.append(FieldIssue("actual_departure", Words(
            "enter when the run really left or arrived (or both), or tick Cancelled")))
    if not (placeable and 0 <= origin < len(stops) and 0 <= destination < len(stops)):
        # Without both stops (or a day in range) the times cannot be placed in their zones.
        raise EditError("invalid", Words("The run cannot be recorded."), issues)
    # Otherwise every problem at once: the times are checked too.
    start, end = stops[origin], stops[destination]
    departs = start.departure if start.departure is not None else start.arrival
    arrives = end.arrival if end.arrival is not None else end.departure
    assert departs is not None and arrives is not None  # a stop has one time at least
    trip = HistoryTrip(
        operator=timetable.service.operator,
        number=timetable.service.number,
        route=timetable.service.route,
        service_date=service_date,
        origin=start.city.name,
        destination=end.city.name,
        scheduled_departure=_utc(service_date, departs, start.city.timezone),
        scheduled_arrival=_utc(service_date, arrives, end.city.timezone),
        actual_departure=_local_to_utc(actual_departure, start.city.timezone),
        actual_arrival=_local_to_utc(actual_arrival, end.city.timezone),
        cancelled=cancelled,
        source=source,
    )
    latest = (now or dt.datetime.now(dt.UTC).replace(tzinfo=None)) + CLOCK_SLACK
    for name, moment in (("actual_departure", trip.actual_departure),
                         ("actual_arrival", trip.actual_arrival)):
        if moment is not None and moment > latest:
            issues.append(FieldIssue(name, Words(
                "the actual departure is in the future: record a run once it has happened")
                if name == "actual_departure" else Words(
                "the actual arrival is in the future: record a run once it has happened")))
    if (
        trip.actual_departure is not None
        and trip.actual_arrival is not None
        and trip.actual_arrival < trip.actual_departure
    ):
        issues.append(FieldIssue("actual_arrival", Words(
            "the actual arrival is before the actual departure")))
    # The trip-history limit (load_history would refuse it too, but in one English line):
    # a time days away from the timetable's is taken for a mistyped date.
    hours = int(MAX_DELAY.total_seconds() // 3600)
    for name, moment, scheduled in (
        ("actual_departure", trip.actual_departure, trip.scheduled_departure),
        ("actual_arrival", trip.actual_arrival, trip.scheduled_arrival),
    ):
        # (A form whose day could not be read passes a stand-in day: nothing to measure from.)
        if date_known and moment is not None and abs(moment - scheduled) > MAX_DELAY:
            issues.append(FieldIssue(name, Words(
                "more than %(hours)d hours from the timetable's time: check the date",
                hours=hours)))
    if issues:
        raise EditError("invalid", Words("The run cannot be recorded."), issues)
    _check_recorded_alike(session, trip, timetable.service_id, start.city, end.city)
    try:
        added = load_history(session, [trip])
    except ImportFailed as error:
        raise EditError("conflict", "; ".join(p.message for p in error.problems)) from None
    # The run as trip.describe() says it: "CR G1 from Beijing at 2024-03-30 00:00 UTC".
    run = {"service": trip.service_label(), "origin": trip.origin,
           "time": f"{trip.scheduled_departure:%Y-%m-%d %H:%M}"}
    audit(session, user, "create", "trip", timetable.service_id,
          Words("recorded %(service)s from %(origin)s at %(time)s UTC (cancelled)", **run)
          if cancelled else Words("recorded %(service)s from %(origin)s at %(time)s UTC", **run))
    return added


def _check_recorded_alike(
    session: Session, trip: Any, service_id: int, origin: City, destination: City
) -> None:
    """A run recorded before with other values is refused beside the fields that differ, in
    words a page can translate (the trip-history loader says it in one English line)."""
    from transit.models import TripRecord
    from transit.timetable.history import _run_values, run_differences

    recorded = session.execute(
        select(TripRecord.service_date, TripRecord.destination_id, TripRecord.scheduled_arrival,
               TripRecord.actual_departure, TripRecord.actual_arrival, TripRecord.cancelled)
        .where(TripRecord.service_id == service_id, TripRecord.origin_id == origin.id,
               TripRecord.scheduled_departure == trip.scheduled_departure)
    ).first()
    if recorded is None or tuple(recorded) == _run_values(trip, destination.id):
        return
    issues = []
    for difference in run_differences(session, trip, tuple(recorded), origin.id, destination.id):
        values = {"recorded": difference.recorded, "given": difference.given}
        if difference.column == "service_date":
            issue = FieldIssue("service_date", Words(
                "recorded on %(recorded)s, not %(given)s", **values))
        elif difference.column == "destination":
            issue = FieldIssue("destination", Words(
                "recorded to %(recorded)s, not %(given)s", **values))
        elif difference.column == "scheduled_arrival":
            issue = FieldIssue("destination", Words(
                "recorded with the timetable's arrival at %(recorded)s, not %(given)s", **values))
        elif difference.column == "cancelled":
            issue = FieldIssue("cancelled", Words("recorded as cancelled")
                               if trip.cancelled is False else Words("recorded as run, not cancelled"))
        elif difference.recorded == "none":
            issue = FieldIssue(difference.column, Words(
                "recorded without this time, not %(given)s", **values))
        elif difference.given == "none":
            issue = FieldIssue(difference.column, Words(
                "recorded as %(recorded)s: give that time", **values))
        else:
            issue = FieldIssue(difference.column, Words(
                "recorded as %(recorded)s, not %(given)s", **values))
        issues.append(issue)
    raise EditError("conflict", Words(
        "This run is already recorded with other values: a recorded run is kept as it is (no "
        "page changes or deletes one), so give the recorded values or leave the run out."),
        issues)


def import_history(
    session: Session, path: Path, *, user: str, dry_run: bool = False, source: str | None = None
) -> tuple[int, int]:
    """Load a trip-history CSV in the caller's transaction; returns the runs added and
    those already recorded (left as they are).

    Raises ``ImportFailed`` listing every problem with its line; the caller rolls back on a
    dry run or an error.
    """
    from transit.timetable.feed import ProblemList
    from transit.timetable.history import load_history, read_history_csv

    # The rows' own problems and the lookups of the rows that read, all in one report.
    problems = ProblemList()
    trips = read_history_csv(path, problems)
    added = load_history(session, trips, problems=problems)
    if not dry_run:
        runs = Counted(added, "%(num)d past run", "%(num)d past runs") if added else Words(
            "no past runs")
        audit(session, user, "import", "trips", None,
              Words("imported %(runs)s from %(source)s", runs=runs, source=source or path.name))
    return added, len(trips) - added
