"""Entry point: ``flask --app app ...`` and ``gunicorn app:app``."""

from transit import create_app

app = create_app()
