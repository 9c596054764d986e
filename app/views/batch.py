"""Batch actions and mail preferences of the agent workspace.

- ``POST /instruction/procedures/<id>/batch`` — queue an action on the dossiers ticked in
  the table (``services.batch``), then show its job;
- ``GET /instruction/batches/<job id>`` — the job's progress and its per-dossier results
  (the page reloads its progress by script when there is one; without, a link does);
- ``GET|POST /instruction/procedures/<id>/notifications`` — the person's mail preferences
  for the procedure: the daily digest (``services.digest``) and the mails about applicants'
  messages.

Permissions as in the workspace: acting on dossiers needs ``AgentWorkspace`` write; the
preferences and one's own job pages need read. A procedure the person does not see, or a
job they did not ask for, answers 404.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import gettext, ngettext
from flask_login import current_user

from .. import workspace_tasks
from ..extensions import db, limiter
from ..models import JobState, Procedure
from ..services import batch, digest, tables
from .workspace import TEMPLATES, WORKSPACE

BATCH_LIMIT = "30 per hour"
SWEEP_BEAT_ENTRY = "batch-sweep"
DIGEST_BEAT_ENTRY = "daily-digest"
TABLE_INDEXES_BEAT_ENTRY = "table-indexes"
TALLIES_BEAT_ENTRY = "compact-tallies"


def _per_user() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else request.remote_addr


def batch_form(procedure: Procedure) -> dict[str, Any] | None:
    """What the table's batch form needs (template global), or None when the person may
    not act on dossiers."""
    sm = current_app.appbuilder.sm
    if not sm.has_access("can_write", WORKSPACE):
        return None
    return {
        "action": url_for("BatchView.create", procedure_id=procedure.id),
        "actions": batch.available_actions(),
        "key": secrets.token_urlsafe(24),
        "max": batch.MAX_DOSSIERS,
        "jobs": batch.recent_jobs(current_user, procedure, limit=3),
    }


def _procedure(procedure_id: int) -> Procedure:
    procedure = tables.workspace_procedure(current_user, procedure_id)
    if procedure is None:
        abort(404)
    return procedure


class BatchView(BaseView):
    """Queue a batch action, follow its job."""

    route_base = "/instruction"
    class_permission_name = WORKSPACE
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {"create": "write", "show": "read"}
    default_view = "show"

    @expose("/procedures/<int:procedure_id>/batch", methods=["POST"])
    @has_access
    @limiter.limit(BATCH_LIMIT, key_func=_per_user)
    def create(self, procedure_id: int):
        procedure = _procedure(procedure_id)
        form = request.form
        selected = form.getlist("dossiers")
        if form.get("all_on_page"):
            selected = form.getlist("page_dossiers") + selected
        try:
            job = batch.request(
                current_user,
                procedure,
                form.get("action", ""),
                selected,
                motivation=form.get("motivation"),
                body=form.get("body"),
                request_key=form.get("request_key"),
            )
        except batch.BatchError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return redirect(url_for("WorkspaceView.table", procedure_id=procedure.id))
        job_id = job.id
        db.session.commit()
        return redirect(url_for("BatchView.show", job_id=job_id))

    @expose("/batches/<int:job_id>")
    @has_access
    def show(self, job_id: int):
        job = batch.job_for(current_user, job_id)
        if job is None:
            abort(404)
        procedure = db.session.get(Procedure, job.procedure_id)
        running = job.state in (JobState.pending, JobState.running)
        return self.render_template(
            TEMPLATES + "batch_job.html",
            job=job,
            procedure=procedure,
            action=batch.ACTIONS[job.action],
            total=len(job.dossier_ids),
            percent=batch.percent(job),
            succeeded=batch.succeeded_ids(job),
            failed=batch.failed_items(job),
            running=running,
            summary=_summary(job),
        )


def _summary(job) -> str:
    total = len(job.dossier_ids)
    failed = len(job.failures or {})
    if job.state in (JobState.pending, JobState.running):
        return ngettext(
            "%(done)d of %(num)d dossier processed…",
            "%(done)d of %(num)d dossiers processed…",
            total,
            done=job.done,
        )
    if job.state == JobState.failed:
        return gettext(
            "The job stopped before its end: %(ok)d dossiers done, %(failed)d not.",
            ok=total - failed,
            failed=failed,
        )
    return ngettext(
        "Finished: %(ok)d of %(num)d dossier done, %(failed)d failed.",
        "Finished: %(ok)d of %(num)d dossiers done, %(failed)d failed.",
        total,
        ok=total - failed,
        failed=failed,
    )


class NotificationPreferencesView(BaseView):
    """The person's mail preferences for one procedure."""

    route_base = "/instruction"
    class_permission_name = WORKSPACE
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {"preferences": "read"}
    default_view = "preferences"

    @expose("/procedures/<int:procedure_id>/notifications", methods=["GET", "POST"])
    @has_access
    def preferences(self, procedure_id: int):
        procedure = _procedure(procedure_id)
        if request.method == "POST":
            digest.set_preferences(
                current_user,
                procedure,
                daily_digest=bool(request.form.get("daily_digest")),
                on_new_message=bool(request.form.get("on_new_message")),
            )
            db.session.commit()
            flash(gettext("Your mail preferences are saved."), "success")
            return redirect(url_for(".preferences", procedure_id=procedure.id))
        saved = digest.preference(current_user, procedure)
        return self.render_template(
            TEMPLATES + "notifications.html",
            procedure=procedure,
            daily_digest=bool(saved and saved.daily_digest),
            on_new_message=saved.on_new_message if saved else True,
            messaging="plugins.messaging" in current_app.extensions.get("guichet_plugins", []),
        )


def register(appbuilder: AppBuilder) -> None:
    """The views, the table's template global, ``DIGEST_HOUR`` (environment, default 7:
    the local hour from which the day's digests leave) and the beat entries (batch sweep
    every five minutes, digest hourly: each agent gets one a day; the large procedures'
    table indexes hourly, the tab counters' tallies compacted every five minutes)."""
    appbuilder.add_view_no_menu(BatchView)
    appbuilder.add_view_no_menu(NotificationPreferencesView)
    app: Flask = current_app._get_current_object()  # views are registered in its context
    app.jinja_env.globals["batch_form"] = batch_form
    from_env = os.environ.get("DIGEST_HOUR")
    app.config.setdefault("DIGEST_HOUR", int(from_env) if from_env else digest.DIGEST_HOUR)
    schedule = app.extensions["celery"].conf.beat_schedule
    schedule[SWEEP_BEAT_ENTRY] = {"task": workspace_tasks.batch.SWEEP_TASK, "schedule": 300.0}
    schedule[DIGEST_BEAT_ENTRY] = {"task": workspace_tasks.digest.TASK, "schedule": 3600.0}
    schedule[TALLIES_BEAT_ENTRY] = {"task": "guichet.compact_tallies", "schedule": 300.0}
    schedule[TABLE_INDEXES_BEAT_ENTRY] = {
        "task": workspace_tasks.table_indexes.TASK,
        "schedule": 3600.0,
    }
