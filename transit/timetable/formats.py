"""Which timetable format a file or folder holds, and the parser that reads it.

Formats (see docs/formats.md): ``gtfs`` (a zip or folder), the three classic course-project
formats ``zemdalk``, ``17bugs`` and ``nenieco`` (folders), and ``csv``, the project's own
CSV bundle (a folder).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from transit.timetable.feed import Feed, ImportFailed, Problem
from transit.timetable.gtfs import parse_gtfs

FORMATS = ("gtfs", "zemdalk", "17bugs", "nenieco", "csv")
CLASSIC_FORMATS = ("zemdalk", "17bugs", "nenieco")
# Text encodings only the classic formats may use; GTFS and the bundle are UTF-8 by definition.
_UTF8 = {"utf-8", "utf8", "utf-8-sig", "utf_8"}


def _fail(path: Path, message: str) -> ImportFailed:
    return ImportFailed([Problem(path.name or str(path), None, None, message)])


def detect_format(path: Path) -> str:
    """The format of ``path``: one of ``FORMATS``; ``ImportFailed`` when it is none of them."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, "no such file or folder")
    if path.is_file():
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = {n.rsplit("/", 1)[-1] for n in archive.namelist()}
            if "stop_times.txt" in names or "stops.txt" in names:
                return "gtfs"
            raise _fail(path, "a zip file without stops.txt or stop_times.txt: not a GTFS feed")
        raise _fail(path, "a single file is none of the timetable formats (give the folder)")
    names = {child.name for child in path.iterdir()}
    if {"stops.txt", "stop_times.txt"} & names:
        return "gtfs"
    from transit.timetable.csvbundle import is_bundle

    if is_bundle(path):
        return "csv"
    from transit.timetable.classic import detect_classic

    classic = detect_classic(path)
    if classic is not None:
        return classic
    raise _fail(
        path,
        "cannot tell the format: expected a GTFS feed, a CSV bundle, or a Zemdalk, 17BuGs or "
        "Nenieco folder (name it with --format)",
    )


def parse_timetable(path: Path, fmt: str | None = None, encoding: str | None = None) -> Feed:
    """Parse ``path`` in format ``fmt`` (detected when None) into a ``Feed``.

    ``encoding`` applies to the classic formats (GBK or UTF-8, guessed when None); GTFS and
    the CSV bundle are UTF-8. Raises ``ImportFailed`` listing every problem.
    """
    path = Path(path)
    fmt = detect_format(path) if fmt is None else fmt.lower()
    if fmt not in FORMATS:
        raise _fail(path, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt in CLASSIC_FORMATS:
        from transit.timetable import classic

        if not path.is_dir():
            raise _fail(path, f"a {fmt} timetable is a folder")
        parser = {"zemdalk": classic.parse_zemdalk, "17bugs": classic.parse_17bugs,
                  "nenieco": classic.parse_nenieco}[fmt]
        return parser(path, encoding)
    if encoding is not None and encoding.lower() not in _UTF8:
        raise _fail(path, f"{fmt} files are UTF-8; --encoding {encoding} applies to classic formats")
    if fmt == "gtfs":
        return parse_gtfs(path)
    from transit.timetable.csvbundle import read_bundle

    return read_bundle(path)
