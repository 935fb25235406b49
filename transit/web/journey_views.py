"""The route query form and the itinerary cards: parse what the browser sent, shape results.

No Flask here either: the page module hands in the request's arguments and the engine's
result, and renders what comes back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from transit.models import zone_named
from transit.routing.itinerary import WALK
from transit.routing.query import CRITERIA, FIRST_YEAR, LAST_YEAR, MAX_WINDOW_HOURS

TIME_KINDS = ("depart", "arrive_by")
MAX_TRANSFERS = 10  # as the API's max_transfers

# An English msgid and its parameters: the page translates it (pybabel finds the msgids
# through the ``N_`` marker below).
Message = tuple[str, dict[str, Any]]


def N_(msgid: str) -> str:
    """Marks a message for extraction; translated later, where the language is known."""
    return msgid


AMBIGUOUS = N_("Several stations are called “%(name)s”: %(names)s. Choose one.")
DID_YOU_MEAN = N_("No city called “%(name)s”. Did you mean %(names)s?")


@dataclass
class RouteForm:
    """What the query form shows and what the engine is asked, after validation."""

    origin: str = ""
    destination: str = ""
    date: str = ""
    time: str = ""
    time_kind: str = "depart"
    criterion: str = "fastest"
    modes: list[str] = field(default_factory=list)
    min_connection: str = ""
    window_hours: str = ""
    max_transfers: str = ""
    errors: dict[str, Message] = field(default_factory=dict)
    # Parsed values (valid only when ``errors`` is empty).
    when: dt.datetime | None = None
    min_connection_minutes: int | None = None
    window: float | None = None
    transfers_cap: int | None = None

    @property
    def submitted(self) -> bool:
        return bool(self.origin or self.destination)

    def fail(self, field_name: str, msgid: str, /, **params: Any) -> None:
        """Keep the first problem found for a field."""
        self.errors.setdefault(field_name, (msgid, params))

    def query_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``transit.routing.Query``."""
        kwargs: dict[str, Any] = {
            "origin": self.origin,
            "destination": self.destination,
            "depart": self.when if self.time_kind == "depart" else None,
            "arrive_by": self.when if self.time_kind == "arrive_by" else None,
            "criterion": self.criterion,
            "modes": frozenset(self.modes) if self.modes else None,
            "min_connection_minutes": self.min_connection_minutes,
            "max_transfers": self.transfers_cap,
        }
        if self.window is not None:
            kwargs["window_hours"] = self.window
        return kwargs

    def api_args(self) -> dict[str, str]:
        """The same query in the API's parameter names (for links and the JSON twin)."""
        args = {"from": self.origin, "to": self.destination, "criterion": self.criterion}
        if self.when is not None:
            args[self.time_kind] = self.when.isoformat()
        if self.modes:
            args["modes"] = ",".join(self.modes)
        for name, value in (
            ("min_connection", self.min_connection),
            ("window_hours", self.window_hours),
            ("max_transfers", self.max_transfers),
        ):
            if value:
                args[name] = value
        return args


def default_form(modes: Sequence[str]) -> RouteForm:
    """An empty form: every mode, fastest, and no date or time, which means leaving now,
    read on the origin's clock when the query is asked (as the API's default): no clock
    is right for every origin before one is chosen."""
    return RouteForm(modes=list(modes))


def parse_route_form(
    args: Mapping[str, Any],
    getlist: Callable[[str], list[str]],
    *,
    known_modes: Sequence[str],
    find_city: Callable[[str], tuple[str, str] | None],
    now: Callable[[str | None], dt.datetime],
    same_name: Callable[[str], list[str]] | None = None,
    close_cities: Callable[[str], str] | None = None,
) -> RouteForm:
    """Read the query from request arguments; every problem is kept against its field.

    Accepts the API's names (``from``, ``to``, ``depart`` or ``arrive_by`` as ISO 8601,
    ``criterion``, ``modes`` comma-separated or repeated, ``min_connection``,
    ``window_hours``, ``max_transfers``) and the form's ``date``/``time``/``time_kind``.
    ``find_city(text)`` gives a city's stored name and time zone (None when unknown) and
    ``now(zone)`` the current time there; ``same_name(text)`` the cities whose name is
    ``text`` with a stop id appended (two stations of one name), for the message;
    ``close_cities(text)`` the cities spelt much like an unknown ``text``, as a list in
    words ("" where none is), for "Did you mean ...?".
    """
    form = RouteForm(
        origin=str(args.get("from", "")).strip(),
        destination=str(args.get("to", "")).strip(),
        criterion=str(args.get("criterion", "fastest") or "fastest"),
        min_connection=str(args.get("min_connection", "")).strip(),
        window_hours=str(args.get("window_hours", "")).strip(),
        max_transfers=str(args.get("max_transfers", "")).strip(),
    )
    zones: dict[str, str | None] = {"from": None, "to": None}
    for name, text in (("from", form.origin), ("to", form.destination)):
        if not text:
            form.fail(name, N_("Enter a city."))
            continue
        found = find_city(text)
        if found is None:
            candidates = same_name(text) if same_name else []
            if len(candidates) > 1:
                form.fail(name, AMBIGUOUS, name=shorten(text), names=", ".join(candidates))
            elif close := (close_cities(text) if close_cities else ""):
                form.fail(name, DID_YOU_MEAN, name=shorten(text), names=close)
            else:
                form.fail(name, N_("No city called “%(name)s”."), name=shorten(text))
            continue
        if name == "from":
            form.origin, zones[name] = found
        else:
            form.destination, zones[name] = found
    if form.origin and form.origin == form.destination:
        form.fail("to", N_("Origin and destination are the same city."))
    if form.criterion not in CRITERIA:
        form.fail("criterion", N_("Choose fastest, cheapest, fewest transfers or all options."))
        form.criterion = "fastest"

    sent = getlist("modes")
    modes: list[str] = []
    # In any case, as the API and the command line match them (Train, TRAIN: train).
    spelled = {m.lower(): m for m in known_modes}
    for raw in sent:
        modes.extend(spelled.get(m.strip().lower(), m.strip()) for m in str(raw).split(",") if m.strip())
    unknown = [m for m in modes if m not in known_modes]
    if unknown:
        form.fail("modes", N_("Unknown mode: %(modes)s."), modes=", ".join(unknown))
    elif sent and not modes:
        # The form sends an empty value besides the boxes: every box was left unticked.
        form.fail("modes", N_("Tick at least one way to travel."))
    form.modes = [m for m in known_modes if m in modes] if modes or sent else list(known_modes)
    if modes and not form.modes:
        form.modes = list(known_modes)

    _read_time(form, args, zones, now)
    form.min_connection_minutes = _whole(form, "min_connection", form.min_connection, 0, 24 * 60)
    transfers = _whole(form, "max_transfers", form.max_transfers, 0, MAX_TRANSFERS)
    form.transfers_cap = transfers
    if form.window_hours:
        try:
            window = float(form.window_hours)
        except ValueError:
            form.fail("window_hours", N_("Enter a number of hours."))
        else:
            # As the engine and the API: any span above 0 (half an hour is a fine window).
            if not 0 < window <= MAX_WINDOW_HOURS:
                form.fail(
                    "window_hours",
                    N_("Enter a number of hours above 0, at most %(high)d."),
                    high=MAX_WINDOW_HOURS,
                )
            else:
                form.window = window
    return form


def _read_time(
    form: RouteForm,
    args: Mapping[str, Any],
    zones: Mapping[str, str | None],
    now: Callable[[str | None], dt.datetime],
) -> None:
    """The departure time, read in the origin's zone, or the arrival deadline, read in the
    destination's (docs/routing.md, "The query"), as the API and the command line read them."""
    iso_depart = str(args.get("depart", "") or "").strip()
    iso_arrive = str(args.get("arrive_by", "") or "").strip()
    if iso_depart and iso_arrive:
        form.fail("time", N_("Give a departure or an arrival time, not both."))
        return
    if iso_depart or iso_arrive:
        form.time_kind = "depart" if iso_depart else "arrive_by"
    else:
        kind = str(args.get("time_kind", "depart") or "depart")
        if kind not in TIME_KINDS:
            form.fail("time", N_("Choose leave at or arrive by."))
            kind = "depart"
        form.time_kind = kind
    zone_name = zones["from" if form.time_kind == "depart" else "to"]
    zone = zone_named(zone_name)
    if iso_depart or iso_arrive:
        try:
            when = dt.datetime.fromisoformat(iso_depart or iso_arrive)
        except ValueError:
            form.fail("time", N_("Enter the date and time as YYYY-MM-DDTHH:MM."))
            return
        # Naive times are local to the city, as a traveller reads them. The years are
        # checked on the local time the engine gets (an offset can move it into another
        # year, or past what datetime holds).
        try:
            local = when.replace(tzinfo=zone) if when.tzinfo is None else when.astimezone(zone)
        except OverflowError:  # before year 1 or after 9999 there: out of the years too
            local = dt.datetime.min
        if not _in_years(form, "time", local.date()):
            return
        form.when = local
        form.date, form.time = local.date().isoformat(), local.strftime("%H:%M")
        return
    form.date = str(args.get("date", "") or "").strip()
    form.time = str(args.get("time", "") or "").strip()
    if form.time_kind == "arrive_by" and not form.time:
        # Empty means "now" for leaving; arriving by now would only find journeys already made.
        form.fail("time", N_("Give the time you want to arrive by."))
        return
    current = now(zone_name)
    try:
        day = dt.date.fromisoformat(form.date) if form.date else current.date()
    except ValueError:
        form.fail("date", N_("Enter a date as YYYY-MM-DD."))
        return
    if not _in_years(form, "date", day):
        return
    try:
        if form.time:
            clock = dt.time.fromisoformat(form.time)
        elif day == current.date():
            clock = current.time().replace(microsecond=0)
        else:  # another day with no time: from its start, as the API reads a bare date
            clock = dt.time()
    except ValueError:
        form.fail("time", N_("Enter a time as HH:MM."))
        return
    form.when = dt.datetime.combine(day, clock.replace(tzinfo=None), tzinfo=zone)
    if form.date or form.time:
        form.date, form.time = day.isoformat(), form.when.strftime("%H:%M")
    # else both stay empty: "now" again when the form is sent again, at whatever origin.


def shorten(text: str, most: int = 60) -> str:
    """``text`` as a message quotes it: long input cut to ``most`` characters (the field
    itself still shows all of it)."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _in_years(form: RouteForm, name: str, day: dt.date) -> bool:
    """Whether ``day`` lies in the years the engine answers for (else a field error)."""
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return True
    form.fail(name, N_("Enter a date in the years %(low)d to %(high)d."), low=FIRST_YEAR,
              high=LAST_YEAR)
    return False


def _whole(form: RouteForm, name: str, raw: str, low: int, high: int) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        form.fail(name, N_("Enter a whole number."))
        return None
    if not low <= value <= high:
        form.fail(name, N_("Enter a number from %(low)d to %(high)d."), low=low, high=high)
        return None
    return value


# --- Itinerary cards ----------------------------------------------------------------------


@dataclass(frozen=True)
class LegLink:
    """Where a leg's service page is, and the currency its fare is in ("" where the
    service has no fare: its price is unknown; None where not known here)."""

    service_id: int | None = None
    timetable_id: int | None = None
    currency: str | None = None


@dataclass
class LegCard:
    service: str
    service_id: int | None
    timetable_id: int | None
    mode: str
    origin: str
    destination: str
    departure: dt.datetime
    arrival: dt.datetime
    departure_days: int
    arrival_days: int
    fare: float | None
    currency: str
    route: str = ""  # the line riders know (GTFS route_short_name), "" where none
    # The forecast arrival and its 10-90% range, where a forecast is stored for the run,
    # each with its "+1 day" mark as the timetable's times.
    forecast_arrival: dt.datetime | None = None
    forecast_low: dt.datetime | None = None
    forecast_high: dt.datetime | None = None
    forecast_arrival_days: int = 0
    forecast_low_days: int = 0
    forecast_high_days: int = 0

    @property
    def is_walk(self) -> bool:
        """A walk at either end of the journey: free, whatever the rides cost."""
        return self.mode == WALK

    @property
    def line(self) -> str:
        """The line to show beside the service number ("" where none, or the same)."""
        return "" if self.route == self.service else self.route

    @property
    def minutes(self) -> int:
        # Timestamps, not wall clocks: the two ends may be in different time zones.
        return int(self.arrival.timestamp() - self.departure.timestamp()) // 60

    @property
    def forecast_late_minutes(self) -> int | None:
        """Forecast minutes late (negative: early) against the timetable."""
        if self.forecast_arrival is None:
            return None
        return round((self.forecast_arrival.timestamp() - self.arrival.timestamp()) / 60)


@dataclass
class TransferCard:
    city: str
    to_city: str  # differs from ``city`` when the transfer is a walk between stations
    minutes: int
    miss_probability: float | None = None  # from the incoming leg's forecast, 0..1

    @property
    def miss_percent(self) -> int | None:
        """The chance of missing the connection in whole percent (<1 shows as 0)."""
        return None if self.miss_probability is None else round(100 * self.miss_probability)


@dataclass
class ItineraryCard:
    departure: dt.datetime
    arrival: dt.datetime
    departure_days: int
    arrival_days: int
    duration_minutes: int
    fare: float | None  # None where not one known amount (see ``fare_parts``)
    currency: str
    transfers: int
    legs: list[LegCard]
    waits: list[TransferCard]
    # (amount, currency) per currency where the rides' currencies differ: the fare in each,
    # as amounts in different currencies do not add up; empty otherwise.
    fare_parts: list[tuple[float, str]] = field(default_factory=list)
    badges: list[str] = field(default_factory=list)  # "fastest", "cheapest", "transfers"
    # (kind, amount) pairs, kind in "later" or "earlier" (minutes), "dearer", "more_transfers"
    trades: list[tuple[str, float]] = field(default_factory=list)

    @property
    def forecast_arrival(self) -> dt.datetime | None:
        """The forecast of the final arrival (None without a forecast)."""
        return self.legs[-1].forecast_arrival if self.legs else None

    @property
    def forecast_arrival_days(self) -> int:
        """The "+1 day" mark of the forecast final arrival."""
        return self.legs[-1].forecast_arrival_days if self.legs else 0

    @property
    def on_foot(self) -> bool:
        """A journey that is one walk: free."""
        return all(leg.is_walk for leg in self.legs)

    @property
    def has_forecast(self) -> bool:
        return any(leg.forecast_arrival is not None for leg in self.legs)

    def steps(self) -> list[tuple[str, LegCard | TransferCard]]:
        """Legs with the transfer between each pair of rides, in travel order (a walk at
        either end of the journey is a leg of its own, with no transfer beside it)."""
        out: list[tuple[str, LegCard | TransferCard]] = []
        waits = iter(self.waits)
        for i, leg in enumerate(self.legs):
            if i and leg.mode != WALK and self.legs[i - 1].mode != WALK:
                out.append(("transfer", next(waits)))
            out.append(("leg", leg))
        return out


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _in_zone(moment: dt.datetime, city: str, zones: Mapping[str, str] | None) -> dt.datetime:
    """``moment`` in ``city``'s time zone where ``zones`` knows it (the same instant)."""
    zone = zones.get(city) if zones else None
    return moment.astimezone(zone_named(zone)) if zone else moment


def _maybe_when(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _days(moment: dt.datetime | None, reference_day: dt.date) -> int:
    """Days from the query's local date to ``moment``'s own local date (0 without one)."""
    return 0 if moment is None else (moment.date() - reference_day).days


def itinerary_cards(
    result_json: Mapping[str, Any],
    reference_day: dt.date,
    links: Sequence[Sequence[LegLink]] | None = None,
    default_currency: str = "CNY",
    compare: bool = False,
    arrive_by: bool = False,
    zones: Mapping[str, str] | None = None,
) -> list[ItineraryCard]:
    """Cards from the engine's JSON result (``RouteResult.to_json()``), with the forecast
    fields of ``transit.forecast.itinerary.result_json`` where present.

    ``zones`` (city name to time zone) puts each time in its city's zone rather than at a
    bare offset, so that a time in the hour the clocks repeat can say which pass it is.

    ``reference_day`` is the query's local date: "+1 day" marks count from it.
    ``links[i][j]`` gives leg j of itinerary i its service page and currency. With
    ``compare``, each card says what it is best at and what it gives up against the best of
    the others (``arrive_by``: the fastest is the latest departure, as the engine's).
    """
    cards: list[ItineraryCard] = []
    for i, itinerary in enumerate(result_json.get("itineraries", [])):
        found = list(links[i]) if links and i < len(links) else []
        legs = []
        for j, leg in enumerate(itinerary["legs"]):
            link = found[j] if j < len(found) else LegLink()
            # An empty currency: the service has no fare (a GTFS feed without fares), so
            # the leg's price is unknown, not free.
            currency = default_currency if link.currency is None else link.currency
            if leg["mode"] == WALK:  # a walk at either end: free, whatever the rides cost
                currency = currency or default_currency
            departure = _in_zone(_when(leg["departure"]), leg["from"], zones)
            arrival = _in_zone(_when(leg["arrival"]), leg["to"], zones)
            spread = leg.get("forecast_range") or (None, None)
            forecast = _maybe_when(leg.get("forecast_arrival"))
            low, high = _maybe_when(spread[0]), _maybe_when(spread[1])
            legs.append(
                LegCard(
                    service=str(leg["service"]),
                    service_id=link.service_id,
                    timetable_id=link.timetable_id,
                    mode=str(leg["mode"]),
                    origin=str(leg["from"]),
                    destination=str(leg["to"]),
                    departure=departure,
                    arrival=arrival,
                    departure_days=_days(departure, reference_day),
                    arrival_days=_days(arrival, reference_day),
                    fare=leg.get("fare") if currency else None,
                    currency=currency,
                    route=str(leg.get("route") or ""),
                    forecast_arrival=forecast,
                    forecast_low=low,
                    forecast_high=high,
                    forecast_arrival_days=_days(forecast, reference_day),
                    forecast_low_days=_days(low, reference_day),
                    forecast_high_days=_days(high, reference_day),
                )
            )
        connections = list(itinerary.get("connections") or [])
        rides = [leg for leg in legs if leg.mode != WALK]
        waits = [
            TransferCard(
                city=before.destination,
                to_city=after.origin,
                minutes=int(after.departure.timestamp() - before.arrival.timestamp()) // 60,
                miss_probability=(
                    connections[k].get("miss_probability") if k < len(connections) else None
                ),
            )
            for k, (before, after) in enumerate(zip(rides, rides[1:], strict=False))
        ]
        departure = _in_zone(_when(itinerary["departure"]), itinerary["legs"][0]["from"], zones)
        arrival = _in_zone(_when(itinerary["arrival"]), itinerary["legs"][-1]["to"], zones)
        # One ride of unknown price leaves the journey's price unknown; rides in several
        # currencies leave it one amount in each.
        priced = all(leg.fare is not None for leg in rides)
        parts: dict[str, float] = {}
        for leg in rides if priced else ():
            parts[leg.currency] = parts.get(leg.currency, 0.0) + (leg.fare or 0.0)
        currency = next(iter(parts), default_currency)
        cards.append(
            ItineraryCard(
                departure=departure,
                arrival=arrival,
                departure_days=_days(departure, reference_day),
                arrival_days=_days(arrival, reference_day),
                duration_minutes=int(itinerary["duration_minutes"]),
                fare=itinerary.get("fare") if priced and len(parts) <= 1 else None,
                currency=currency,
                transfers=int(itinerary["transfers"]),
                legs=legs,
                waits=waits,
                fare_parts=[(round(amount, 2), c) for c, amount in parts.items()] if len(parts) > 1 else [],
            )
        )
    if compare and len(cards) > 1:
        _compare(cards, arrive_by)
    return cards


# How a traveller may order the journeys of an options answer (the engine gives them by
# arrival); each key keeps the engine's order among equals.
SORTS: dict[str, Callable[[ItineraryCard], tuple[Any, ...]]] = {
    "arrival": lambda c: (c.arrival.timestamp(),),
    "departure": lambda c: (c.departure.timestamp(),),
    "duration": lambda c: (c.duration_minutes,),
    # Fares in different currencies do not compare: each currency's cards together.
    "fare": lambda c: (c.fare is None, c.currency, c.fare or 0.0),
    "transfers": lambda c: (c.transfers,),
}


def card_order(cards: Sequence[ItineraryCard], sort: str | None) -> list[int]:
    """The cards' numbers (from 1, the engine's order) in the order ``sort`` asks for; the
    engine's order for no or an unknown key."""
    numbers = list(range(1, len(cards) + 1))
    key = SORTS.get(sort or "")
    return numbers if key is None else sorted(numbers, key=lambda n: key(cards[n - 1]))


def _fastest(cards: list[ItineraryCard], arrive_by: bool) -> ItineraryCard:
    """The card the fastest search answers, with its tie-breaks (docs/routing.md, "Which
    journey is best"): the earliest arrival, then the latest departure; with "arrive by" the
    latest departure, then the earliest arrival; then fewer transfers, then the lower fare.
    On a full tie the first card (the engine's order) keeps it."""
    def key(card: ItineraryCard) -> tuple[float, float, int, bool, float]:
        arrival, departure = card.arrival.timestamp(), -card.departure.timestamp()
        first, second = (departure, arrival) if arrive_by else (arrival, departure)
        return first, second, card.transfers, card.fare is None, card.fare or 0.0

    return min(cards, key=key)


def _compare(cards: list[ItineraryCard], arrive_by: bool) -> None:
    # "Fastest" is the engine's (docs/routing.md), not the shortest ride: one card, the one
    # the fastest search answers. The others say what they give up against it in time: a
    # later arrival (arrive by: an earlier departure) or, where that ties, the other end.
    # Fares compare only in one currency: where a card's rides or the priced cards differ
    # in currency, no card is called the cheapest, nor dearer than another.
    priced = [c for c in cards if c.fare is not None]
    one_currency = len({c.currency for c in priced}) == 1 and not any(c.fare_parts for c in cards)
    cheapest = min(c.fare for c in priced if c.fare is not None) if one_currency else None
    fewest = min(c.transfers for c in cards)
    fastest = _fastest(cards, arrive_by)
    for card in cards:
        later = card.arrival - fastest.arrival
        earlier = fastest.departure - card.departure
        if card is fastest:
            card.badges.append("fastest")
        else:
            ends = [("earlier", earlier), ("later", later)]
            for kind, behind in ends if arrive_by else ends[::-1]:
                if behind:  # a card as quick at both ends gives up transfers or fare
                    card.trades.append((kind, int(behind.total_seconds()) // 60))
                    break
        if cheapest is not None and card.fare is not None:
            if card.fare <= cheapest:
                card.badges.append("cheapest")
            else:
                card.trades.append(("dearer", round(card.fare - cheapest, 2)))
        if card.transfers == fewest:
            card.badges.append("transfers")
        else:
            card.trades.append(("more_transfers", card.transfers - fewest))
