"""One journey as an iCalendar file (RFC 5545): an event per leg, for a traveller's calendar.

Times are written in UTC, so every calendar shows them on its own clock; each event names
the service, where it leaves from and goes to, and its fare, and says which journey it is
part of. The UIDs follow from the legs, so that saving the same journey twice updates the
events instead of doubling them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from icalendar import Calendar, Event

from transit.web.journey_views import WALK, ItineraryCard, LegCard

PRODUCT = "-//Transit//Route consultation//EN"


def _leg_key(leg: LegCard) -> str:
    return f"{leg.mode}|{leg.service}|{leg.origin}|{leg.destination}|{leg.departure.isoformat()}"


def _uid(leg: LegCard) -> str:
    return hashlib.sha1(_leg_key(leg).encode()).hexdigest()[:20] + "@transit"


def journey_key(card: ItineraryCard) -> str:
    """A short name of the journey from its legs: a link to its file carries it, so that
    a timetable changed meanwhile cannot put another journey in its place."""
    legs = "/".join(_leg_key(leg) for leg in card.legs)
    return hashlib.sha1(legs.encode()).hexdigest()[:12]


def calendar_file(
    card: ItineraryCard,
    *,
    title: Callable[[LegCard], str],
    details: Callable[[LegCard], str],
    name: str,
    now: dt.datetime,
) -> bytes:
    """The iCalendar file of ``card``'s journey: an event per leg, ``title(leg)`` its
    summary and ``details(leg)`` its description (both in the reader's language); ``name``
    names the calendar (the journey in words); ``now`` (aware) stamps the events."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for leg in card.legs:
        event = Event()
        event.add("uid", _uid(leg))
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", leg.departure.astimezone(dt.UTC))
        event.add("dtend", leg.arrival.astimezone(dt.UTC))
        event.add("summary", title(leg))
        event.add("location", leg.origin)
        event.add("description", details(leg))
        # A walk leaves the traveller free; a ride keeps them busy.
        event.add("transp", "TRANSPARENT" if leg.mode == WALK else "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
