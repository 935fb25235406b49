"""Transit: national train-and-flight route consultation.

The package root stays free of Flask so that the core (``transit.timetable``,
``transit.routing``, ``transit.forecast``) can be imported on its own; ``create_app``
loads the web layer only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application (see ``transit.web.factory``)."""
    from transit.web.factory import create_app as build

    return build(test_config)
