"""Which timetable format a file or folder holds, and the parser that reads it.

Formats (see docs/formats.md): ``gtfs`` (a zip or folder), the three classic course-project
formats ``zemdalk``, ``17bugs`` and ``nenieco`` (folders), and ``csv``, the project's own
CSV bundle (a folder).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from transit.timetable.feed import DAMAGED_ZIP, Feed, ImportFailed, Problem, damaged_zip
from transit.timetable.gtfs import parse_gtfs

FORMATS = ("gtfs", "zemdalk", "17bugs", "nenieco", "csv")
CLASSIC_FORMATS = ("zemdalk", "17bugs", "nenieco")
# Text encodings only the classic formats may use; GTFS and the bundle are UTF-8 by definition.
_UTF8 = {"utf-8", "utf8", "utf-8-sig", "utf_8"}


# The words say what is wrong and what is accepted, never how to say it on one door (a
# command-line option, a form field): each door adds that from ``ImportFailed.kind``.
NOT_A_TIMETABLE = (
    "this file is none of the timetable formats Transit reads: a GTFS feed, a CSV bundle, or a "
    "Zemdalk, 17BuGs or Nenieco timetable (GTFS comes as a zip; the others as a folder of "
    "files, zipped to be uploaded)"
)
UNKNOWN_FORMAT = (
    "cannot tell the format: this holds neither a GTFS feed, a CSV bundle, nor a Zemdalk, "
    "17BuGs or Nenieco timetable by its file names; the format must be chosen, and it is "
    "then checked as one"
)


TRIP_HISTORY = (
    "this is a trip-history CSV (past runs of services, docs/history-format.md), not a "
    "timetable: it is imported as trip history"
)


def _is_trip_history(path: Path) -> bool:
    """True when the file's first line is a trip-history CSV header."""
    from transit.timetable.history import REQUIRED_COLUMNS

    try:
        with open(path, "rb") as handle:
            first = handle.read(4096).split(b"\n", 1)[0].decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return False
    header = {column.strip().strip('"') for column in first.strip().split(",")}
    return set(REQUIRED_COLUMNS) <= header


def _fail(path: Path, message: str, kind: str = "problems") -> ImportFailed:
    return ImportFailed([Problem(path.name or str(path), None, None, message)], kind)


def detect_format(path: Path) -> str:
    """The format of ``path``: one of ``FORMATS``; ``ImportFailed`` when it is none of them."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, "no such file or folder", "not_found")
    if path.is_file():
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = {n.rsplit("/", 1)[-1] for n in archive.namelist()}
            if "stop_times.txt" in names or "stops.txt" in names:
                return "gtfs"
            raise _fail(path, "this zip holds no stops.txt or stop_times.txt, so it is not a GTFS "
                        "feed; the other formats are read from their folder", "not_a_timetable")
        if damaged_zip(path):
            raise _fail(path, DAMAGED_ZIP)  # the words say what to do
        if _is_trip_history(path):
            raise _fail(path, TRIP_HISTORY, "trip_history")
        raise _fail(path, NOT_A_TIMETABLE, "not_a_timetable")
    names = {child.name for child in path.iterdir()}
    if not names:
        raise _fail(path, "this holds no files: there is no timetable in it", "not_a_timetable")
    if {"stops.txt", "stop_times.txt"} & names:
        return "gtfs"
    from transit.timetable.csvbundle import is_bundle

    if is_bundle(path):
        return "csv"
    from transit.timetable.classic import detect_classic

    classic = detect_classic(path)
    if classic is not None:
        return classic
    raise _fail(path, UNKNOWN_FORMAT, "unknown_format")


def parse_timetable(path: Path, fmt: str | None = None, encoding: str | None = None) -> Feed:
    """Parse ``path`` in format ``fmt`` (detected when None) into a ``Feed``.

    ``encoding`` applies to the classic formats (GBK or UTF-8, guessed when None); GTFS and
    the CSV bundle are UTF-8. Raises ``ImportFailed`` listing every problem.
    """
    path = Path(path)
    fmt = detect_format(path) if fmt is None else fmt.lower()
    if fmt not in FORMATS:
        raise _fail(path, f"unknown format {fmt!r}: the formats are {', '.join(FORMATS)}",
                    "wrong_options")
    if fmt in CLASSIC_FORMATS:
        from transit.timetable import classic

        if not path.is_dir():
            raise _fail(path, f"a {fmt} timetable is a folder of files, not a single file",
                        "wrong_options")
        parser = {"zemdalk": classic.parse_zemdalk, "17bugs": classic.parse_17bugs,
                  "nenieco": classic.parse_nenieco}[fmt]
        return parser(path, encoding)
    if encoding is not None and encoding.lower() not in _UTF8:
        raise _fail(path, f"{fmt} files are UTF-8: a text encoding ({encoding}) applies only to "
                    "the Zemdalk, 17BuGs and Nenieco formats", "wrong_options")
    if fmt == "gtfs":
        return parse_gtfs(path)
    from transit.timetable.csvbundle import read_bundle

    return read_bundle(path)
