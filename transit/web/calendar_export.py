"""One journey as an iCalendar file (RFC 5545): an event per leg, for a traveller's calendar.

Times are written in UTC, so every calendar shows them on its own clock; each event names
the service, where it leaves from and goes to, and its fare, and says which journey it is
part of (``leg_title``, ``leg_details``: in the reader's language). The UIDs follow from
the legs, so that saving the same journey twice updates the events instead of doubling them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from icalendar import Calendar, Event

from transit.web.i18n import gettext, mode_label, money, ngettext
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


def leg_title(leg: LegCard) -> str:
    """An event's title: the mode, the service and its cities, in the reader's language."""
    if leg.mode == WALK:
        return gettext("Walk: %(origin)s → %(destination)s", origin=leg.origin,
                       destination=leg.destination)
    return gettext("%(mode)s %(service)s: %(origin)s → %(destination)s",
                   mode=mode_label(leg.mode), service=leg.service, origin=leg.origin,
                   destination=leg.destination)


def leg_details(card: ItineraryCard, leg: LegCard) -> str:
    """An event's description: the leg's times and fare, its forecast arrival where there
    is one, and the journey it is part of."""
    fare = (gettext("Free") if leg.is_walk else gettext("No fare information")
            if leg.fare is None else money(leg.fare, leg.currency))
    lines = [
        gettext("%(departure)s %(origin)s → %(arrival)s %(destination)s",
                departure=leg.departure.strftime("%H:%M"), origin=leg.origin,
                arrival=leg.arrival.strftime("%H:%M"), destination=leg.destination),
        gettext("Fare: %(fare)s", fare=fare),
    ]
    if leg.forecast_arrival is not None:
        lines.append(gettext("Forecast arrival: %(time)s",
                             time=leg.forecast_arrival.strftime("%H:%M")))
    first, last = card.legs[0], card.legs[-1]
    lines.append(gettext(
        "Part of the journey %(origin)s → %(destination)s, %(departure)s to %(arrival)s, "
        "%(transfers)s.",
        origin=first.origin, destination=last.destination,
        departure=card.departure.strftime("%Y-%m-%d %H:%M"),
        arrival=card.arrival.strftime("%Y-%m-%d %H:%M"),
        transfers=ngettext("%(num)d transfer", "%(num)d transfers", card.transfers)))
    return "\n".join(lines)
