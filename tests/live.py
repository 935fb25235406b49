"""Apps for tests that need more than the test client: a fresh one on its own SQLite file,
and one served over real HTTP on 127.0.0.1 from a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


def fresh_app(folder: Path, name: str, **config: Any) -> Flask:
    """An app on ``folder/name.sqlite3`` with its tables made (``config`` adds settings)."""
    from transit import create_app
    from transit.web.extensions import db

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(folder / f"{name}.sqlite3"),
            "TRANSIT_MODEL_DIR": str(folder / "models"),
            "SECRET_KEY": f"{name}-test-key",
            **config,
        }
    )
    with app.app_context():
        db.create_all()
    return app


@contextmanager
def served(app: Flask, name: str = "live-server") -> Iterator[tuple[str, int]]:
    """Serve ``app`` on 127.0.0.1 (a free port) while the block runs: gives (host, port).
    Afterwards the server is stopped and the app's connections are closed."""
    from transit.web.extensions import db

    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown waits for the next poll (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name=name, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
