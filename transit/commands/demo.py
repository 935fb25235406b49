"""``flask seed-demo``: load the generated demo network."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from transit.web.extensions import db


@click.command("seed-demo")
@click.option("--seed", type=int, default=None, help="Generator seed (default TRANSIT_DEMO_SEED).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has cities.")
@with_appcontext
def seed_demo(seed: int | None, if_empty: bool) -> None:
    """Load the demo network (cities, trains, flights, trip history)."""
    from transit.demo import seed_demo_network

    seed = current_app.config["TRANSIT_DEMO_SEED"] if seed is None else seed
    report = seed_demo_network(db.session, seed=seed, only_if_empty=if_empty, progress=True)
    click.echo(report)
