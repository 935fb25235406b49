"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from transit.config import load_settings, secret_key_from
from transit.web.extensions import db, migrate
from transit.web.ids import DatabaseIdConverter

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: settings from the environment, overridden by ``test_config``."""
    app = Flask(
        "transit",
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    settings = load_settings(instance)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        TRANSIT_MODEL_DIR=str(settings.model_dir),
        TRANSIT_MIN_CONNECTION_MINUTES=settings.min_connection_minutes,
        TRANSIT_DEMO_SEED=settings.demo_seed,
        TRANSIT_SECURE_COOKIES=settings.secure_cookies,
        TRANSIT_PROXY_HOPS=settings.proxy_hops,
        TRANSIT_API_MAX_UPLOAD_BYTES=settings.max_upload_bytes,
        TRANSIT_ANSWER_CACHE_BYTES=settings.answer_cache_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_from(instance)
    logging.basicConfig(level=settings.log_level)

    app.url_map.converters["int"] = DatabaseIdConverter  # before any route is added
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))

    from transit.cli import register_commands
    from transit.web import admin, api, consistency, i18n, pages, response_cache, security

    i18n.init_app(app)
    security.init_app(app)  # before the blueprints: the API exempts itself from CSRF
    response_cache.init_app(app)  # first: an answer from memory opens no read transaction
    consistency.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(admin.bp)  # /login, /logout, /admin/...
    app.register_blueprint(api.bp)  # /api/v1
    register_commands(app)
    return app
