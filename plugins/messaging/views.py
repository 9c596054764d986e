"""HTTP endpoints of the message thread. They parse, authorise through the services and
render; every rule lives in ``plugins.messaging.services``.

- ``messaging.thread`` — ``/dossiers/<number>/messages``: GET shows the thread and marks it
  read, POST sends a message (a plain multipart form: text, several files, and for agents
  an optional correction request). One address for everyone: the applicant side gets the
  portal's look (``portal/base.html``, USWDS), agents, experts and administrators the back
  office's (``appbuilder/base.html``, Bootstrap 3).
- ``messaging.confirm_delete`` / ``messaging.delete`` — ``…/messages/<id>/delete``: an
  agent deletes their own message, after a confirmation page (no script needed).
- ``messaging.broadcast`` — ``/instruction/procedures/<id>/messages``: a message to every
  applicant with a draft of the procedure, written by a background task whose progress
  the page shows.

Anyone signed in who may not see a thread gets a 404, exactly as for a number that does not
exist; an anonymous visitor is sent to log in (whatever the number, so that nothing is
revealed), because the links in notification mails lead here. Every POST carries the
``csrf_token`` field, checked by Flask-WTF before the view runs, and is rate-limited per
person.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db, limiter
from app.models import Dossier, DossierState, Message, Procedure
from app.workflow import TransitionError, state_label
from plugins.attachments import services as attachments
from plugins.attachments.errors import UploadRefused

from . import blueprint, services
from .rendering import author_name, author_role
from .services import CORRECTION_LABELS, Side

POST_LIMIT = "20 per minute;300 per day"
BROADCAST_LIMIT = "10 per hour"
APPLICANT_TEMPLATE = "messaging/portal_thread.html"
AGENT_TEMPLATE = "messaging/agent_thread.html"


def per_user() -> str:
    """Rate limits count per signed-in person (several people may share one address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"ip:{get_remote_address()}"


def endpoint_url(endpoint: str, **values: Any) -> str | None:
    """The address of another part's page, or None while that part is not installed."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _login(portal: bool) -> Any:
    back = request.full_path.rstrip("?") if request.method == "GET" else request.path
    if portal and "public_forms.login" in current_app.view_functions:
        return redirect(url_for("public_forms.login", next=back))
    sm = current_app.appbuilder.sm
    return redirect(url_for(f"{sm.auth_view.endpoint}.login", next=back))


def _back_office(template: str, **context: Any) -> str:
    """Render a page in the back office's frame (FAB's base template needs these)."""
    appbuilder = current_app.appbuilder
    return render_template(
        template, appbuilder=appbuilder, base_template=appbuilder.base_template, **context
    )


@blueprint.context_processor
def messaging_helpers() -> dict[str, Any]:
    """``has_endpoint`` for the portal's base template (the portal gives it to its own
    pages only)."""
    return {"has_endpoint": lambda name: name in current_app.view_functions}


# ---------------------------------------------------------------------------------------
# The thread


@blueprint.route("/dossiers/<int:number>/messages", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, key_func=per_user, methods=["POST"])
def thread(number: int):
    """Show a dossier's thread, or send a message to it."""
    if not current_user.is_authenticated:
        return _login(portal=True)
    dossier = db.session.get(Dossier, number)
    side = services.relation(current_user, dossier) if dossier is not None else None
    if side is None:
        abort(404)
    form = {"body": "", "correction_reason": ""}
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        form = {
            "body": request.form.get("body", ""),
            "correction_reason": request.form.get("correction_reason", ""),
        }
        try:
            message = _send(dossier, form)
        except services.ThreadNotFound:
            db.session.rollback()
            abort(404)
        except services.WritingClosed as refusal:
            db.session.rollback()
            flash(str(refusal.message), "danger")
            status = refusal.status
        except services.InvalidMessage as invalid:
            db.session.rollback()
            errors = {name: str(text) for name, text in invalid.errors.items()}
            status = invalid.status
        except (StaleDataError, TransitionError):
            db.session.rollback()
            flash(
                gettext(
                    "The dossier changed while you were writing: nothing was sent. Check "
                    "the dossier and send your message again."
                ),
                "danger",
            )
            status = 409
        else:
            db.session.commit()
            flash(
                gettext("Your correction request was sent: the dossier is back with the applicant.")
                if message.correction_reason is not None
                else gettext("Your message was sent."),
                "success",
            )
            return redirect(url_for(".thread", number=number, _anchor=f"message-{message.id}"), 303)
        dossier = db.session.get(Dossier, number)
    return _render_thread(dossier, side, form, errors), status


def _send(dossier: Dossier, form: dict[str, str]) -> Message:
    """Check the message, store its files, then write it: one transaction, committed by
    the caller (a refused file or message leaves nothing behind, its bytes included)."""
    files = [item for item in request.files.getlist("files") if item.filename]
    reason = form["correction_reason"] or None
    services.check_message(
        dossier, current_user, form["body"], len(files), correction_reason=reason
    )
    ids = []
    if files:
        try:
            target = attachments.authorize_upload(current_user, "message", dossier_id=dossier.id)
            for item in files:
                stored = attachments.store_upload(
                    item.stream, item.filename, item.mimetype, target, current_user
                )
                ids.append(stored.id)
        except UploadRefused as refusal:
            raise services.InvalidMessage({"files": refusal.message}) from None
    return services.post_message(dossier, current_user, form["body"], ids, correction_reason=reason)


def _render_thread(
    dossier: Dossier, side: Side, form: dict[str, str], errors: dict[str, Any]
) -> str:
    seen = services.seen_at(current_user, dossier, side)
    if request.method == "GET":
        services.mark_seen(current_user, dossier, side)
        db.session.commit()
    procedure = dossier.procedure
    writing_problem = services.writing_problem(dossier)
    may_write = side in services.WRITERS and writing_problem is None
    messages = [
        _shown(message, procedure, side, seen, may_write) for message in services.thread(dossier)
    ]
    context = {
        "dossier": dossier,
        "procedure": procedure,
        "side": side.value,
        "messages": messages,
        "form": form,
        "errors": errors,
        "may_write": may_write,
        "writing_problem": writing_problem if side in services.WRITERS else None,
        "may_request_correction": may_write
        and services.can_request_correction(current_user, dossier),
        "correction_labels": CORRECTION_LABELS,
        "pending": services.pending_correction(dossier),
        "max_length": services.MAX_LENGTH,
        "max_files": services.MAX_ATTACHMENTS,
        "state_text": state_label(dossier.state),
        "file_accept": attachments.target_for("message").constraints()["accept"],
        "file_limit": attachments.megabytes(attachments.use_limit("message")),
    }
    if side == Side.applicant:
        context["dossier_url"] = endpoint_url("public_forms.dossier", number=dossier.id)
        context["edit_url"] = (
            endpoint_url("public_forms.edit_dossier", number=dossier.id)
            if dossier.state == DossierState.submitted and not dossier.archived
            else None
        )
        return render_template(APPLICANT_TEMPLATE, **context)
    context["dossier_url"] = endpoint_url("DossierView.show", pk=dossier.id)
    return _back_office(AGENT_TEMPLATE, **context)


def _shown(message: Message, procedure: Procedure, side: Side, seen, may_write: bool) -> dict:
    """What the templates need of one message."""
    mine = message.author_id is not None and message.author_id == current_user.id
    deleted = message.deleted_at is not None
    pending = message.correction_reason is not None and message.correction_resolved_at is None
    return {
        "id": message.id,
        "author": author_name(message, procedure, side, current_user),
        "role": author_role(message),
        "kind": message.author_kind.value,
        "created_at": message.created_at,
        "body": message.body,
        "deleted": deleted,
        "deleted_at": message.deleted_at,
        "files": [] if deleted else [attachments.describe(item) for item in message.attachments],
        "correction": (
            CORRECTION_LABELS[message.correction_reason] if message.correction_reason else None
        ),
        "correction_pending": pending,
        "correction_resolved_at": message.correction_resolved_at,
        "is_new": not mine and not deleted and (seen is None or message.created_at > seen),
        "mine": mine,
        "can_delete": (
            may_write
            and mine
            and not deleted
            and not pending
            and message.author_kind in services.DELETABLE_KINDS
        ),
    }


# ---------------------------------------------------------------------------------------
# Deleting one's message


def _own_message_or_404(number: int, message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None or message.dossier_id != number:
        abort(404)
    return message


@blueprint.get("/dossiers/<int:number>/messages/<int:message_id>/delete")
def confirm_delete(number: int, message_id: int):
    """Ask before deleting (a page rather than a script's dialog)."""
    if not current_user.is_authenticated:
        return _login(portal=False)
    message = _own_message_or_404(number, message_id)
    dossier = db.session.get(Dossier, number)
    side = services.relation(current_user, dossier)
    if (
        side not in (Side.agent, Side.expert)
        or message.author_id != current_user.id
        or message.deleted_at is not None
        or message.author_kind not in services.DELETABLE_KINDS
    ):
        abort(404)
    return _back_office(
        "messaging/confirm_delete.html",
        dossier=dossier,
        message=message,
        files=[attachments.describe(item) for item in message.attachments],
    )


@blueprint.post("/dossiers/<int:number>/messages/<int:message_id>/delete")
@limiter.limit(POST_LIMIT, key_func=per_user)
def delete(number: int, message_id: int):
    """Delete one's own message: its text gives way to a note, its files are removed."""
    if not current_user.is_authenticated:
        return _login(portal=False)
    message = _own_message_or_404(number, message_id)
    try:
        services.delete_message(message, current_user)
    except services.ThreadNotFound:
        db.session.rollback()
        abort(404)
    except services.WritingClosed as refusal:
        db.session.rollback()
        flash(str(refusal.message), "danger")
    else:
        db.session.commit()
        flash(gettext("Your message was deleted."), "success")
    return redirect(url_for(".thread", number=number, _anchor=f"message-{message_id}"), 303)


# ---------------------------------------------------------------------------------------
# A message to every draft's applicant


@blueprint.route("/instruction/procedures/<int:procedure_id>/messages", methods=["GET", "POST"])
@limiter.limit(BROADCAST_LIMIT, key_func=per_user, methods=["POST"])
def broadcast(procedure_id: int):
    """Write to the applicants of every draft (before closing the procedure, say)."""
    if not current_user.is_authenticated:
        return _login(portal=False)
    procedure = db.session.get(Procedure, procedure_id)
    if procedure is None or not services.can_broadcast(current_user, procedure):
        abort(404)
    body, errors, status = "", {}, 200
    if request.method == "POST":
        body = request.form.get("body", "")
        try:
            job = services.broadcast_to_drafts(procedure, current_user, body)
        except services.InvalidMessage as invalid:
            db.session.rollback()
            errors = {name: str(text) for name, text in invalid.errors.items()}
            status = invalid.status
        else:
            total = len(job.dossier_ids)
            db.session.commit()
            flash(
                ngettext(
                    "Your message is being written on %(num)d draft; its applicant will be "
                    "notified by email.",
                    "Your message is being written on %(num)d drafts; their applicants will "
                    "be notified by email.",
                    total,
                ),
                "success",
            )
            return redirect(url_for(".broadcast", procedure_id=procedure.id), 303)
    drafts = services.draft_count(procedure)
    jobs = [
        {
            "created_at": job.created_at,
            "total": len(job.dossier_ids or []),
            "done": job.done,
            "state": job.state.value,
            "body": (job.params or {}).get("body", ""),
            "skipped": len(job.failures or {}),
        }
        for job in services.broadcast_jobs(procedure)
    ]
    html = _back_office(
        "messaging/broadcast.html",
        procedure=procedure,
        drafts=drafts,
        jobs=jobs,
        body=body,
        errors=errors,
        max_length=services.MAX_LENGTH,
        procedure_url=endpoint_url("ProcedureView.show", pk=procedure.id),
    )
    return html, status
