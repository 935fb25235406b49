"""Public pages: cities, departure boards, services."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from transit.models import City
from transit.web.extensions import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    cities = db.session.scalars(select(City).order_by(City.name)).all()
    return render_template("cities.html", cities=cities)
