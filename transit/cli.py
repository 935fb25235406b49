"""Registers the ``flask`` commands of every concern on the app."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from transit.commands import demo

    app.cli.add_command(demo.seed_demo)
    app.cli.add_command(__import__("transit.commands.users", fromlist=["users"]).users)
    app.cli.add_command(__import__("transit.commands.history", fromlist=["history"]).history)
    app.cli.add_command(__import__("transit.commands.timetable", fromlist=["timetable"]).timetable)
    app.cli.add_command(__import__("transit.commands.forecast", fromlist=["forecast"]).forecast)
    app.cli.add_command(__import__("transit.commands.route", fromlist=["route"]).route)
