"""Ids in URLs: what ``<int:...>`` accepts, and the id asked for when no row can have it."""

from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter

from transit.schemas import MAX_ID


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every URL: ASCII digits only ("²" is no id), and a number larger
    than any id a row can have becomes an UnknownId: 0, which names no row (ids start at
    1), remembering the id as asked for the API's message, so that
    the view answers its own 404 (the API's in JSON) rather than an error in the database
    (an OverflowError on SQLite: a 500). Refusing it here instead would make the router
    answer 405 to some methods."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_ID else UnknownId(value)


class UnknownId(int):
    """0 (no row), remembering the id as asked, for the message that says there is none."""

    asked: str

    def __new__(cls, asked: str) -> UnknownId:
        made = super().__new__(cls, 0)
        made.asked = asked.lstrip("0") or "0"
        return made


_WHOLE = re.compile(r"[0-9]{1,9}")


def whole_number(raw: str) -> int | None:
    """A number sent in a form or a query string: ASCII digits only (``str.isdigit`` takes
    "²", which ``int`` refuses), short enough for any id or page."""
    return int(raw) if _WHOLE.fullmatch(raw) else None
