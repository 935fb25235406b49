"""``flask seed-demo``: load the generated demo network."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from transit.db import refresh_statistics
from transit.web.extensions import db


@click.command("seed-demo")
@click.option("--seed", type=int, default=None, help="Generator seed (default TRANSIT_DEMO_SEED).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has cities.")
@with_appcontext
def seed_demo(seed: int | None, if_empty: bool) -> None:
    """Load the demo network (cities, trains, flights, trip history)."""
    from transit.demo import DemoAlreadyLoaded, seed_demo_network
    from transit.timetable.feed import ImportFailed

    seed = current_app.config["TRANSIT_DEMO_SEED"] if seed is None else seed
    session = db.session()  # the request-scoped Session itself, as the core expects
    try:
        report = seed_demo_network(session, seed=seed, only_if_empty=if_empty, progress=True)
    except (DemoAlreadyLoaded, ImportFailed) as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    session.commit()
    refresh_statistics(session)
    click.echo(report)
