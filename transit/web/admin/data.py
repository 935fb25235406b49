"""Admin: timetable and trip-history uploads (dry run, then commit or cancel), the CSV-bundle
export, and the audit log.

An uploaded file is kept on the server, in the instance folder under ``uploads/<random id>``,
between its dry run and the administrator's decision (never in the cookie); committing
re-runs the import for real in one transaction, cancelling deletes the file. Uploads left
undecided are removed after a day.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from transit import editing
from transit.db import refresh_statistics
from transit.models import AuditEntry
from transit.timetable.feed import ImportFailed
from transit.web.admin.common import bp, in_reader_words, paginate, user_name
from transit.web.extensions import db
from transit.web.i18n import gettext, language, ngettext

FORMATS = ("gtfs", "zemdalk", "17bugs", "nenieco", "csv")
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
KEEP_SECONDS = 24 * 3600
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _uploads() -> Path:
    configured = current_app.config.get("TRANSIT_UPLOAD_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _prune() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for entry in _uploads().iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)


def _limit() -> int:
    return int(current_app.config.get("TRANSIT_API_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def _count_label(key: str) -> str:
    # Lower case, as the counts of the dashboard.
    labels = {
        "cities": gettext("cities"),
        "services": gettext("services"),
        "timetables": gettext("timetable variants"),
        "stops": gettext("stops"),
        "calendars": gettext("calendars"),
        "leg_fares": gettext("leg fares"),
        "fares": gettext("origin-destination fares"),
        "transfers": gettext("transfers"),
        "past runs": gettext("past runs"),
        "already recorded": gettext("past runs already recorded (left as they are)"),
    }
    return labels.get(key, key)


def _mode_count(mode: str, count: int) -> str:
    """ "3 trains" in the interface language (each mode spelled out for the translators)."""
    phrases = {
        "train": ngettext("%(num)d train", "%(num)d trains", count),
        "flight": ngettext("%(num)d flight", "%(num)d flights", count),
        "bus": ngettext("%(num)d bus", "%(num)d buses", count),
        "coach": ngettext("%(num)d coach", "%(num)d coaches", count),
        "ferry": ngettext("%(num)d ferry", "%(num)d ferries", count),
        "tram": ngettext("%(num)d tram", "%(num)d trams", count),
        "subway": ngettext("%(num)d subway train", "%(num)d subway trains", count),
        "cable": ngettext("%(num)d cable car", "%(num)d cable cars", count),
        "other": ngettext("%(num)d other service", "%(num)d other services", count),
    }
    return phrases.get(mode, f"{count} {mode}")


def count_rows(counts: dict[str, Any]) -> list[tuple[str, str]]:
    """The counts of an import as (label, value) rows in the interface language: "2 flights,
    3 trains" for the services by mode, never a Python dict."""
    rows = []
    for key, value in counts.items():
        if isinstance(value, dict):
            text = ", ".join(_mode_count(mode, int(n)) for mode, n in value.items() if n) or "0"
        else:
            text = f"{int(value):,}"
        rows.append((_count_label(key), text))
    return rows


def _problems(error: ImportFailed) -> list[dict[str, Any]]:
    return [
        {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
        for p in error.problems[:2000]
    ]


def _run(kind: str, folder: Path, meta: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    """Import the kept file (a dry run or for real); the outcome as data for the report page."""
    saved = folder / meta["stored"]
    work = Path(tempfile.mkdtemp(prefix="transit-admin-import-"))
    session = db.session()
    try:
        if kind == "timetable":
            outcome = editing.import_timetable(
                session, saved, work, fmt=meta.get("format") or None,
                encoding=meta.get("encoding") or None, dry_run=dry_run,
            )
            result: dict[str, Any] = {
                "ok": True, "format": outcome.format, "counts": outcome.counts,
                "skipped": outcome.skipped[:200], "conflicts": outcome.conflicts[:200],
                "skipped_total": len(outcome.skipped), "summary": outcome.report,
            }
        else:
            added, known = editing.import_history(
                session, saved, user=user_name(), dry_run=dry_run, source=meta["filename"]
            )
            # A dry run of a file already imported adds nothing: say why.
            counts = {"past runs": added, **({"already recorded": known} if known else {})}
            result = {"ok": True, "counts": counts, "skipped": [], "conflicts": [],
                      "skipped_total": 0, "summary": ""}
        if dry_run:
            session.rollback()
        else:
            if kind == "timetable":
                editing.audit(session, user_name(), "import", "feed", None,
                              editing.import_words(meta["filename"], result["format"],
                                                   result["counts"]))
            session.commit()
            refresh_statistics(session)
        return result
    except ImportFailed as error:
        session.rollback()
        # kind: the page adds its own advice (choose the format) to the core's words.
        return {"ok": False, "problems": _problems(error), "total": len(error.problems),
                "kind": error.kind}
    except editing.EditError as error:
        session.rollback()
        return {"ok": False, "problems": [{"file": meta["filename"], "line": None, "field": None,
                                           "message": in_reader_words(error.message)}],
                "total": 1}
    except (ValueError, LookupError, UnicodeError, OSError) as error:
        session.rollback()
        return {"ok": False, "problems": [{"file": meta["filename"], "line": None, "field": None,
                                           "message": str(error)}], "total": 1}
    except SQLAlchemyError:
        session.rollback()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _receive(kind: str, template: str) -> Response | tuple[str, int]:
    """Keep an uploaded file, dry-run it and show the report (or the form with its error)."""
    fmt = request.form.get("format", "") if kind == "timetable" else ""
    encoding = (request.form.get("encoding") or "").strip()[:40] if kind == "timetable" else ""
    values = {"format": fmt, "encoding": encoding}

    def refuse(message: str, status: int = 422) -> tuple[str, int]:
        return render_template(template, values=values, errors={"file": message},
                               formats=FORMATS), status

    if request.content_length is None:
        return refuse(gettext("The upload did not say how large it is; send it again."), 411)
    if request.content_length > _limit():
        return refuse(gettext("The file is larger than %(mb)d MB.", mb=_limit() // 2**20), 413)
    if fmt and fmt not in FORMATS:
        return refuse(gettext("Choose a format from the list, or leave it to be detected."))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return refuse(gettext("Choose a file to upload."))
    _prune()
    upload_id = secrets.token_hex(16)
    folder = _uploads() / upload_id
    folder.mkdir()
    stored = secure_filename(upload.filename) or "upload"
    upload.save(folder / stored)
    meta: dict[str, Any] = {
        "kind": kind, "filename": upload.filename[:200], "stored": stored, "format": fmt,
        "encoding": encoding, "user": user_name(),
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    meta["report"] = _run(kind, folder, meta, dry_run=True)
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
    return redirect(url_for("admin.upload_report", upload_id=upload_id))


def _kept(upload_id: str) -> tuple[Path, dict[str, Any]]:
    if not _UPLOAD_ID.match(upload_id):
        abort(404)
    folder = _uploads() / upload_id
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        abort(404)
    meta = json.loads(meta_path.read_text())
    if meta.get("user") != user_name():
        abort(404)  # another administrator's upload is theirs to decide
    return folder, meta


@bp.route("/admin/imports", methods=["GET", "POST"])
def imports() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("admin/imports.html", values={}, errors={}, formats=FORMATS)
    return _receive("timetable", "admin/imports.html")


@bp.route("/admin/history", methods=["GET", "POST"])
def history() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("admin/history.html", values={}, errors={}, formats=FORMATS)
    return _receive("history", "admin/history.html")


@bp.get("/admin/uploads/<upload_id>")
def upload_report(upload_id: str) -> str:
    """The dry-run report of a kept upload, with commit and cancel."""
    _folder, meta = _kept(upload_id)
    return render_template("admin/upload_report.html", upload_id=upload_id, meta=meta,
                           report=meta["report"], count_rows=count_rows)


@bp.post("/admin/uploads/<upload_id>/commit")
def upload_commit(upload_id: str) -> Response | str | tuple[str, int]:
    kept, meta = _kept(upload_id)
    # Taken for this request alone (a rename is atomic): a second press of the button, or
    # a second tab, finds no upload (404) instead of importing it again (nothing new, but
    # an audit entry "imported ... no cities, no services" each time).
    folder = kept.with_name(f"{kept.name}.committing")
    try:
        kept.rename(folder)
    except OSError:
        abort(404)
    try:
        result = _run(meta["kind"], folder, meta, dry_run=False)
    except BaseException:
        folder.rename(kept)
        raise
    if not result["ok"]:
        # The database changed since the dry run: show what is wrong now, keep the file.
        folder.rename(kept)
        meta["report"] = result
        (kept / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
        return render_template("admin/upload_report.html", upload_id=upload_id, meta=meta,
                               report=result, count_rows=count_rows), 422
    shutil.rmtree(folder, ignore_errors=True)
    flash(gettext("%(name)s was imported.", name=meta["filename"]), "info")
    return redirect(url_for("admin.imports" if meta["kind"] == "timetable" else "admin.history"))


@bp.post("/admin/uploads/<upload_id>/cancel")
def upload_cancel(upload_id: str) -> Response:
    folder, meta = _kept(upload_id)
    shutil.rmtree(folder, ignore_errors=True)
    flash(gettext("Import of %(name)s cancelled; nothing was written.", name=meta["filename"]),
          "info")
    return redirect(url_for("admin.imports" if meta["kind"] == "timetable" else "admin.history"))


@bp.get("/admin/export")
def export() -> Response:
    """The whole timetable and trip history as a zipped CSV bundle."""
    from transit.timetable.csvbundle import write_bundle

    with tempfile.TemporaryDirectory(prefix="transit-export-") as work:
        folder = Path(work) / "transit-bundle"
        write_bundle(db.session(), folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"transit-bundle/{path.name}")
    buffer.seek(0)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return send_file(buffer, mimetype="application/zip", as_attachment=True,
                     download_name=f"transit-bundle-{stamp}.zip")


@bp.app_template_filter("audit_summary")
def audit_summary(entry: AuditEntry) -> str:
    """What an audit entry says changed, in the reader's language: said again from the
    message it was written from (``AuditEntry.summary_words``). Entries written before the
    messages were kept, or whose message cannot be said, show their text as written."""
    if not entry.summary_words:
        return entry.summary
    try:
        return str(_say(json.loads(entry.summary_words)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return entry.summary


def _say(node: Any) -> Any:
    """One part of a kept message in the reader's language; numbers stay numbers for ``%d``."""
    if not isinstance(node, dict):
        return node
    if "list" in node:
        return ("、" if language() == "zh" else ", ").join(str(_say(item)) for item in node["list"])
    values = {key: _say(value) for key, value in (node.get("values") or {}).items()}
    if "plural" in node:
        return ngettext(node["msgid"], node["plural"], int(node["n"]), **values)
    if not values and "%(" in node["msgid"]:
        raise KeyError("a message without the values it names")
    return gettext(node["msgid"], **values)


def _counts_for_extraction() -> None:  # pragma: no cover - only read by pybabel
    """The counts of ``editing.counts_words`` (an import's audit entry), for the catalog."""
    ngettext("%(num)d city", "%(num)d cities", 1)
    ngettext("%(num)d service", "%(num)d services", 1)
    ngettext("%(num)d timetable", "%(num)d timetables", 1)
    ngettext("%(num)d stop", "%(num)d stops", 1)
    ngettext("%(num)d calendar", "%(num)d calendars", 1)
    ngettext("%(num)d leg fare", "%(num)d leg fares", 1)
    ngettext("%(num)d origin-destination fare", "%(num)d origin-destination fares", 1)
    ngettext("%(num)d transfer", "%(num)d transfers", 1)
    ngettext("%(num)d past run", "%(num)d past runs", 1)


@bp.get("/admin/audit")
def audit_log() -> str:
    who = (request.args.get("user") or "").strip()[:80]
    entity = (request.args.get("entity") or "").strip()[:64]
    statement = select(AuditEntry)
    if who:
        statement = statement.where(AuditEntry.username == who)
    if entity:
        statement = statement.where(AuditEntry.entity == entity)
    listing = paginate(statement.order_by(AuditEntry.id.desc()))
    users = list(db.session.scalars(select(AuditEntry.username).distinct().order_by(AuditEntry.username)))
    entities = list(db.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))
    return render_template("admin/audit.html", listing=listing, who=who, entity=entity,
                           users=users, entities=entities)
