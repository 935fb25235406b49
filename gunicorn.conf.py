"""gunicorn settings for ``make serve`` and ``benchmarks/load.py``: ``gunicorn -c gunicorn.conf.py``.

Threaded workers (``gthread``): while one request of a worker waits on the database or on a
snapshot build, its other threads go on answering, and connections are kept alive between
requests. The worker count comes from ``--workers`` (``make serve`` passes ``WORKERS``, else
``WEB_CONCURRENCY``, else 2); threads per worker from ``TRANSIT_THREADS``.
"""

import os
import shutil
from pathlib import Path
from typing import Any

worker_class = "gthread"
# Python runs one thread of a process at a time: a few threads cover the waits on the
# database, more only queue behind each other.
threads = int(os.environ.get("TRANSIT_THREADS", "2"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
keepalive = 5
# Which X-Forwarded-* headers to believe is the app's choice (TRANSIT_PROXY_HOPS, ProxyFix in
# transit/web/security.py): gunicorn's own default believes X-Forwarded-Proto from
# 127.0.0.1, which made a plain-HTTP request claiming "https" get HSTS and Secure cookies.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = ""
# A gthread worker accepts every connection it is offered, and a kept-alive connection stays
# with the worker that took it: left alone, one worker can end up holding most clients while
# the other idles. Capped, a worker keeps at most this many connections open (minus one per
# thread kept alive), answers further ones and closes them, and their next connection goes to
# a worker with room.
worker_connections = int(os.environ.get("TRANSIT_WORKER_CONNECTIONS", "25"))
# Workers of one server share the routing snapshot of each data version through this folder
# (transit/routing/cache.py): one builds it, the others load it.
_snapshots = Path(
    os.environ.get("TRANSIT_SNAPSHOT_DIR")
    or Path(__file__).resolve().parent / "instance" / "snapshots" / f"server-{os.getpid()}"
)
os.environ["TRANSIT_SNAPSHOT_DIR"] = str(_snapshots)


def on_exit(server: object) -> None:
    """Remove this server's snapshot files."""
    if _snapshots.name.startswith("server-"):
        shutil.rmtree(_snapshots, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    """Take the routing snapshot before answering, so that no early request waits for it."""
    app = worker.wsgi
    try:
        with app.app_context():
            from transit.routing.cache import snapshot_for
            from transit.web.extensions import db

            minutes = int(app.config.get("TRANSIT_MIN_CONNECTION_MINUTES", 15))
            try:
                snapshot_for(db.session(), minutes)
            finally:
                db.session.remove()
    except Exception:  # an unmigrated database: requests will say so, the worker still serves
        worker.log.exception("routing snapshot not taken at start")
    else:
        worker.log.info("Worker %s ready: routing snapshot taken", worker.pid)
