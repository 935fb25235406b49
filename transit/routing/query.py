"""What a traveller asks: from where, to where, when, and what "best" means."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches

from transit.models import MODE_VALUES
from transit.names import fold

CRITERIA = ("fastest", "cheapest", "transfers", "options")
MAX_WINDOW_HOURS = 14 * 24
MAX_TRANSFERS = 10  # no journey worth showing changes more often
MAX_MIN_CONNECTION_MINUTES = 24 * 60
# Dates the router answers for: timetables live well inside them, and times far outside
# cannot even be turned into UTC (year 1, year 9999).
FIRST_YEAR, LAST_YEAR = 1900, 2999


class QueryError(ValueError):
    """A query field has a value the router cannot use."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def close_names(text: str, aliases: Mapping[str, str], limit: int = 3) -> tuple[str, ...]:
    """Up to ``limit`` names whose alias (a name or code, ``fold``ed: ``aliases`` maps it to
    the name) is spelt much like ``text`` in any case, best first: what a traveller who
    slipped meant, or left short. A name holding ``text`` as whole words ("Cathedral Pkwy
    (110 St)" for "Cathedral Pkwy" or "110 St"; names starting with it first, then the
    shortest) comes before one spelt alike, where no more than twice ``limit`` names do."""
    typed = fold(text).strip()
    found: list[str] = []
    if len(typed) >= 3:
        words = re.compile(r"(?<!\w)" + re.escape(typed) + r"(?!\w)")
        holding = {name for alias, name in aliases.items() if alias != typed and words.search(alias)}
        if len(holding) <= 2 * limit:
            found += sorted(holding, key=lambda name: (not fold(name).startswith(typed), len(name), name))
    for alias in get_close_matches(typed, aliases, n=4 * limit, cutoff=0.8):
        if aliases[alias] not in found:
            found.append(aliases[alias])
    return tuple(found[:limit])


class UnknownCity(LookupError):
    """No city has this name; ``close`` names the cities whose name or code is spelt much
    like it (a typing slip), best first."""

    def __init__(self, name: str, close: tuple[str, ...] = ()) -> None:
        self.name = name
        self.close = close
        super().__init__(f"unknown city: {name!r}")

    @property
    def did_you_mean(self) -> str:
        """" Did you mean 'A' or 'B'?" to follow a sentence ("" where no city is close)."""
        if not self.close:
            return ""
        names = [repr(name) for name in self.close]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f" Did you mean {listed}?"

    @property
    def words(self) -> str:
        """"no city called 'X'", followed by the close cities where there are some."""
        said = f"no city called {self.name!r}"
        return f"{said}.{self.did_you_mean}" if self.close else said

    def __str__(self) -> str:
        return f"unknown city: {self.name!r}"


@dataclass(frozen=True)
class Query:
    """A journey question (docs/routing.md). Naive datetimes are local to their city."""

    origin: str
    destination: str
    depart: dt.datetime | None = None
    arrive_by: dt.datetime | None = None
    criterion: str = "fastest"
    modes: frozenset[str] | None = None
    min_connection_minutes: int | None = None
    window_hours: float = 48
    max_transfers: int | None = None
    # The earliest departure an arrive-by search may propose (aware; callers pass now), so
    # that a deadline still ahead never yields a journey that has already left. None, or a
    # deadline no later than it, leaves the window alone.
    not_before: dt.datetime | None = None

    def check(self) -> None:
        """Raise ``QueryError`` naming the first field with an unusable value."""
        if not self.origin:
            raise QueryError("origin", "give a city to start from")
        if not self.destination:
            raise QueryError("destination", "give a city to go to")
        if self.origin == self.destination:
            raise QueryError("destination", "the origin and the destination are the same city")
        if self.depart is not None and self.arrive_by is not None:
            raise QueryError("arrive_by", "give a departure time or an arrival deadline, not both")
        if self.not_before is not None and self.not_before.tzinfo is None:
            raise QueryError("not_before", "must carry its UTC offset")
        for name, when in (("depart", self.depart), ("arrive_by", self.arrive_by)):
            if when is not None and not FIRST_YEAR <= when.year <= LAST_YEAR:
                raise QueryError(name, f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}")
        if self.criterion not in CRITERIA:
            raise QueryError(
                "criterion", f"{self.criterion!r} is not one of {', '.join(CRITERIA)}"
            )
        if self.modes is not None:
            if not self.modes:
                raise QueryError("modes", "choose at least one mode")
            unknown = sorted(set(self.modes) - set(MODE_VALUES))
            if unknown:
                raise QueryError(
                    "modes",
                    f"unknown mode {', '.join(unknown)} (known: {', '.join(MODE_VALUES)})",
                )
        if self.min_connection_minutes is not None and not (
            0 <= self.min_connection_minutes <= MAX_MIN_CONNECTION_MINUTES
        ):
            raise QueryError(
                "min_connection_minutes",
                f"must be from 0 to {MAX_MIN_CONNECTION_MINUTES} minutes (a day)",
            )
        if not 0 < self.window_hours <= MAX_WINDOW_HOURS:
            raise QueryError(
                "window_hours", f"must be more than 0 and at most {MAX_WINDOW_HOURS} (14 days)"
            )
        if self.max_transfers is not None and not 0 <= self.max_transfers <= MAX_TRANSFERS:
            raise QueryError("max_transfers", f"must be from 0 to {MAX_TRANSFERS}")
