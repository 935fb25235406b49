"""Local clock times as a reader sees them, where the clocks repeat an hour: no Flask.

When the clocks go back, 01:30 happens twice; a journey from 01:59 (summer time) to 01:00
(winter time) reads as arriving before it left unless each time says which pass it is. The
station boards, the route page's journeys and the command line's text mark such times with
the zone's abbreviation ("01:30 EDT", then "01:30 EST").
"""

from __future__ import annotations

import datetime as dt


def repeated_hour_mark(local: dt.datetime) -> tuple[str, bool]:
    """For a local time in the hour the clocks repeat (they went back), the zone's
    abbreviation at that instant ("EDT" then "EST"; "UTC+10:30" for a zone without a
    lettered one) and whether it is the second pass; ``("", False)`` for any other time."""
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() == local.utcoffset():
        return "", False
    name = local.tzname() or ""
    if not name or not name[0].isalpha():
        offset = local.utcoffset() or dt.timedelta()
        minutes = int(offset.total_seconds()) // 60
        hours, rest = divmod(abs(minutes), 60)
        sign = "+" if minutes >= 0 else "\u2212"
        name = f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")
    return name, bool(local.fold)


def wall_clock(local: dt.datetime) -> str:
    """HH:MM of an aware local time, with the zone's abbreviation in a repeated hour."""
    mark, _ = repeated_hour_mark(local)
    return local.strftime("%H:%M") + (f" {mark}" if mark else "")
