"""``flask timetable ...``: import timetables (GTFS, classic formats, CSV bundle), export, stats."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from transit.db import refresh_statistics
from transit.models import MODE_VALUES, City, Service, Stop, Timetable, TripRecord
from transit.timetable.feed import ImportFailed, quantity
from transit.timetable.formats import FORMATS
from transit.web.extensions import db


@click.group("timetable")
def timetable() -> None:
    """Timetables: import them from files, export them, count what is loaded."""


def _fail(error: ImportFailed) -> None:
    """Undo everything and exit non-zero, listing every problem."""
    db.session.rollback()
    click.echo(f"Nothing was imported: {quantity(len(error.problems), 'problem', 'problems')} "
               "found.", err=True)
    for problem in error.problems:
        click.echo(f"  {problem}", err=True)
    if error.kind == "unknown_format":
        click.echo("Name the format with --format (gtfs, zemdalk, 17bugs, nenieco or csv).",
                   err=True)
    elif error.kind == "trip_history":
        click.echo("Import it with: flask --app app history import FILE.csv", err=True)
    elif error.kind == "not_a_timetable":
        click.echo("Give a GTFS zip or folder, or the folder of a classic or CSV timetable "
                   "(or a zip of that folder).", err=True)
    raise SystemExit(1)


@timetable.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS, case_sensitive=False), default=None,
              help="The file's format (detected when left out).")
@click.option("--encoding", default=None,
              help="Text encoding of classic files, e.g. gbk or utf-8 (guessed when left out).")
@click.option("--dry-run", is_flag=True, help="Check everything and report counts; write nothing.")
@with_appcontext
def import_timetable(path: Path, fmt: str | None, encoding: str | None, dry_run: bool) -> None:
    """Import the timetable at PATH (a GTFS zip or folder, a classic folder, a CSV bundle
    folder or zip, as /admin/export downloads it).

    All or nothing: on any problem nothing is written and every problem is listed.
    """
    from transit import editing

    started = time.perf_counter()
    session = db.session()
    click.echo(f"Reading {path} ...", err=True)
    # The same path as the admin page and the API: a zipped folder is unpacked and
    # detected, and a bundle's trips.csv is loaded in the same transaction.
    with tempfile.TemporaryDirectory(prefix="transit-import-") as work:
        try:
            outcome = editing.import_timetable(
                session, path, Path(work), fmt=fmt.lower() if fmt else None, encoding=encoding,
                dry_run=dry_run, progress=True,
            )
        except ImportFailed as error:
            _fail(error)
            return
        except editing.EditError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
    click.echo(outcome.report)
    if dry_run:
        session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    session.commit()
    refresh_statistics(session)
    click.echo(f"Imported ({outcome.format}) in {time.perf_counter() - started:.1f} s.")


@timetable.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv"], case_sensitive=False), default="csv",
              show_default=True, help="Export format: the CSV bundle (docs/formats.md).")
@with_appcontext
def export_timetable(folder: Path, fmt: str) -> None:
    """Write the whole timetable and trip history into FOLDER as a CSV bundle."""
    from transit.timetable.csvbundle import write_bundle

    created = not folder.exists()
    try:
        if not created and any(folder.iterdir()):
            raise click.UsageError(f"{folder} is not empty: choose a new or empty folder.")
        written = write_bundle(db.session(), folder)
    except OSError as error:  # no such parent, not a folder, no permission, disk full
        if created:
            shutil.rmtree(folder, ignore_errors=True)  # no half-written bundle left behind
        raise click.ClickException(
            f"cannot write to {folder}: {error.strerror or error}. Nothing was exported."
        ) from None
    click.echo(f"Wrote {folder}: " + ", ".join(f"{name} {rows} rows" for name, rows in written.items()))


def timetable_stats(session: Session) -> dict[str, Any]:
    """Counts of what the database holds (the shape of ``timetable stats --json``)."""

    def count(model: type) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    modes = dict.fromkeys(MODE_VALUES, 0)
    for mode, n in session.execute(select(Service.mode, func.count()).group_by(Service.mode)):
        modes[mode] = n
    return {
        "cities": count(City),
        "services": modes,
        "timetables": count(Timetable),
        "stops": count(Stop),
        "trip_records": count(TripRecord),
    }


@timetable.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_appcontext
def stats(as_json: bool) -> None:
    """Count cities, services by mode, timetables, stops and past trips."""
    counts = timetable_stats(db.session())
    if as_json:
        click.echo(json.dumps(counts))
        return
    services = counts["services"]
    click.echo(f"cities:       {counts['cities']}")
    click.echo("services:     " + (", ".join(f"{n} {m}" for m, n in services.items() if n) or "none"))
    click.echo(f"timetables:   {counts['timetables']}")
    click.echo(f"stops:        {counts['stops']}")
    click.echo(f"trip records: {counts['trip_records']}")
