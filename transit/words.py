"""Messages in plain English that the pages can show in the reader's language.

The core (editing, models) has no Flask and no catalog: it says what is wrong in English.
A message made with ``Words`` is that English text, so the API, the command line and the
logs use it as any string, and it also keeps the msgid and the values it was made from,
so that a page can translate it (``transit.web.i18n.translated``). ``babel.cfg`` extracts
the msgids from ``Words(...)`` calls.
"""

from __future__ import annotations

from typing import Any


class Words(str):
    """``template % values``, remembering both."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> Words:
        made = super().__new__(cls, template % values if values else template)
        made.template = template
        made.values = values
        return made
