"""Exports of the agent tables (``services.exports``).

- ``POST /instruction/procedures/<id>/export`` — export the table as the agent sees it
  (saved columns and filters, tab, sort and search of the address the form carries), in
  the chosen format; then the exports page;
- ``GET /instruction/exports/`` — the person's exports with their progress and, while it
  lasts (a day), the download link; it refreshes its progress by script
  (``static/guichet/exports.js``), without script a link reloads it;
- ``GET /instruction/exports/status`` — the same progress as JSON, for that script;
- ``GET /instruction/exports/<job id>/download`` — the file, to the person who asked only.

Permissions: ``AgentWorkspace`` read (exporting is reading). A procedure the person does
not see, or an export someone else asked for, answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import gettext
from flask_login import current_user

from .. import exports_tasks
from ..extensions import db, limiter
from ..models import JobState, Procedure
from ..services import exports, tables
from ..services.exports import ExportError
from .workspace import TEMPLATES, WORKSPACE, _requested

EXPORT_LIMIT = "20 per hour"
CLEANUP_BEAT_ENTRY = "exports-cleanup"
HOUR = 3600.0


def _per_user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else request.remote_addr


def export_formats() -> list[tuple[str, str]]:
    """The formats of the table's export menu (template global)."""
    return [(key.value, str(label)) for key, label in exports.FORMAT_LABELS.items()]


def _job_rows(jobs) -> list[dict[str, Any]]:
    procedures = {
        procedure.id: procedure
        for procedure in db.session.query(Procedure).filter(
            Procedure.id.in_({job.procedure_id for job in jobs})
        )
    }
    return [
        {
            "job": job,
            "procedure": procedures.get(job.procedure_id),
            "format": str(exports.FORMAT_LABELS[job.format]),
            **exports.progress(job),
        }
        for job in jobs
    ]


class ExportView(BaseView):
    """Ask for an export, follow it, download it."""

    route_base = "/instruction"
    class_permission_name = WORKSPACE
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {
        "create": "read",
        "index": "read",
        "status": "read",
        "download": "read",
    }
    default_view = "index"

    @expose("/procedures/<int:procedure_id>/export", methods=["POST"])
    @has_access
    @limiter.limit(EXPORT_LIMIT, key_func=_per_user, methods=["POST"])
    def create(self, procedure_id: int):
        procedure = tables.workspace_procedure(current_user, procedure_id)
        if procedure is None:
            abort(404)
        columns = tables.catalogue(procedure, current_user)
        saved = tables.restore(current_user, procedure.id, columns)
        query = _requested(saved, request.form).replace(cursor=None)
        try:
            job = exports.start_export(
                current_user, procedure.id, query, request.form.get("format", "")
            )
        except ExportError as error:
            db.session.rollback()
            if error.status == 404:
                abort(404)
            flash(str(error.message), "danger")
            return redirect(url_for("WorkspaceView.table", procedure_id=procedure.id))
        db.session.commit()
        flash(
            gettext("Your export is being prepared: it will be here to download for a day."),
            "info",
        )
        return redirect(url_for(".index", _anchor=f"export-{job.id}"))

    @expose("/exports/")
    @has_access
    def index(self):
        jobs = exports.user_jobs(current_user)
        running = any(job.state in (JobState.pending, JobState.running) for job in jobs)
        return self.render_template(
            TEMPLATES + "exports.html",
            jobs=_job_rows(jobs),
            running=running,
            lifetime_hours=int(exports.LIFETIME.total_seconds() // 3600),
        )

    @expose("/exports/status")
    @has_access
    def status(self):
        jobs = exports.user_jobs(current_user)
        response = jsonify({"jobs": [exports.progress(job) for job in jobs]})
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/exports/<int:job_id>/download")
    @has_access
    def download(self, job_id: int):
        from plugins.attachments import names
        from plugins.attachments.storage import StorageError, get_storage
        from plugins.attachments.views import protect

        try:
            attachment = exports.file_for_download(current_user, job_id)
        except ExportError:
            abort(404)
        try:
            stream = get_storage().open(attachment.storage_key)
        except StorageError:
            abort(404)

        def chunks():
            with stream:
                while chunk := stream.read(64 * 1024):
                    yield chunk

        response = Response(chunks(), mimetype=attachment.sniffed_type, direct_passthrough=True)
        response.content_length = attachment.size
        response.headers["Content-Disposition"] = names.content_disposition(
            attachment.original_name
        )
        return protect(response)


def register(appbuilder: AppBuilder) -> None:
    """The view, the export menu's template global, and the hourly cleanup."""
    appbuilder.add_view_no_menu(ExportView)
    app: Flask = current_app._get_current_object()  # views are registered in its context
    app.jinja_env.globals["export_formats"] = export_formats
    app.extensions["celery"].conf.beat_schedule[CLEANUP_BEAT_ENTRY] = {
        "task": exports_tasks.cleanup_exports.name,
        "schedule": HOUR,
    }
