"""HTTP endpoints: upload, authorised download, removal before submission, dossier ZIP.

Uploads come two ways. The portal's script sends each file as the raw request body
(``POST /attachments/upload?use=…&dossier=…&field=…``, name in ``X-File-Name``,
CSRF token in ``X-CSRFToken``) and gets JSON back: the body streams straight to storage
and a refused file is refused from its first bytes. Without script, a plain multipart
form posts to the same address (``file`` inputs, ``csrf_token``, ``next``) and is
redirected back with flashed messages; Werkzeug spools such bodies to a temporary file,
so memory stays bounded either way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import unquote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from app.extensions import db
from app.models import AttachmentUse, Dossier
from app.services import audit

from . import names, services, zipping
from .errors import UploadRefused
from .sniffing import INLINE_TYPES
from .storage import StorageError, get_storage

log = logging.getLogger(__name__)

blueprint = Blueprint(
    "attachments", __name__, url_prefix="/attachments", template_folder="templates"
)

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
DOWNLOAD_CHUNK = 64 * 1024

ATTACHMENT_CSP = "default-src 'none'; sandbox"
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
# Browsers refuse to run their PDF viewer in a sandboxed document: no ``sandbox`` here.
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"


def _check_csrf() -> None:
    """Refuse a state-changing request without a valid CSRF token (when CSRF is on)."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    if token is None and request.mimetype in FORM_TYPES:
        token = request.form.get("csrf_token")
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise UploadRefused(
            _l("Your session has expired: reload the page and try again."), status=400
        ) from error


def _integer(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _wants_json() -> bool:
    if request.mimetype != "multipart/form-data":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def _back() -> Response:
    """Back to the page that posted the form (a local path only: no open redirect)."""
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    return redirect(target)


def _refusal(refusal: UploadRefused) -> Response:
    if _wants_json():
        message = str(refusal.message)
        return jsonify({"error": message, "files": [], "errors": [message]}), refusal.status
    flash(str(refusal.message), "danger")
    return _back()


@blueprint.post("/upload")
def upload():
    """Store one file (raw body) or the files of a form; answer JSON or redirect back."""
    try:
        _check_csrf()
        params = request.form if request.mimetype in FORM_TYPES else request.args
        target = services.authorize_upload(
            current_user,
            params.get("use", ""),
            dossier_id=_integer(params.get("dossier")),
            field_stable_id=params.get("field"),
            procedure_id=_integer(params.get("procedure")),
        )
        uploads = _incoming_files(target)
    except UploadRefused as refusal:
        db.session.rollback()
        return _refusal(refusal)
    stored, errors, status = [], [], 201
    for stream, filename, declared_type in uploads:
        try:
            attachment = services.store_upload(
                stream, filename, declared_type, target, current_user
            )
            db.session.commit()
            stored.append(services.describe(attachment))
        except UploadRefused as refusal:
            db.session.rollback()
            errors.append(str(refusal.message))
            status = refusal.status
    if _wants_json():
        answer = {"files": stored, "errors": errors}
        if not stored:
            answer["error"] = errors[0]
        return jsonify(answer), 201 if stored else status
    for item in stored:
        flash(str(_l("“%(name)s” was added.", name=item["name"])), "success")
    for message in errors:
        flash(message, "danger")
    return _back()


def _incoming_files(target: services.UploadTarget) -> list[tuple[BinaryIO, str, str | None]]:
    """(stream, name, declared type) of each file the request carries."""
    if request.mimetype == "multipart/form-data":
        files = [item for item in request.files.getlist("file") if item.filename]
        if not files:
            raise UploadRefused(_l("Choose a file to send."))
        return [(item.stream, item.filename, item.mimetype) for item in files]
    if request.mimetype in FORM_TYPES:
        raise UploadRefused(_l("Choose a file to send."))
    if request.content_length is not None and request.content_length > target.max_size:
        raise UploadRefused(
            _l(
                "The file is too large: files sent here are limited to %(limit)s.",
                limit=services.megabytes(target.max_size),
            ),
            status=413,
        )
    filename = unquote(request.headers.get("X-File-Name", ""))
    return [(request.stream, filename, request.content_type)]


@blueprint.get("/<int:attachment_id>")
def download(attachment_id: int):
    """Serve a file to whoever may see it; everyone else gets the same 404 as a missing one."""
    try:
        attachment = services.get_for_download(current_user, attachment_id)
    except UploadRefused as refusal:
        if refusal.status == 404:
            abort(404)
        return Response(str(refusal.message), refusal.status, mimetype="text/plain")
    try:
        stream = get_storage().open(attachment.storage_key)
    except StorageError:
        log.exception("Stored object missing for attachment %s", attachment.id)
        abort(404)
    if attachment.use not in (AttachmentUse.logo, AttachmentUse.notice):  # public files
        audit.record_access(
            audit.Action.ATTACHMENT_DOWNLOADED,
            "attachment",
            attachment.id,
            dossier_id=services.dossier_of(attachment),
            procedure_id=attachment.procedure_id,
            data={"use": attachment.use},
        )
    inline = request.args.get("inline") == "1" and attachment.sniffed_type in INLINE_TYPES
    response = Response(_chunks(stream), mimetype=attachment.sniffed_type, direct_passthrough=True)
    response.content_length = attachment.size
    response.headers["Content-Disposition"] = names.content_disposition(
        attachment.original_name, inline=inline
    )
    if not inline:
        csp = ATTACHMENT_CSP
    elif attachment.sniffed_type == "application/pdf":
        csp = PDF_CSP
    else:
        csp = IMAGE_CSP
    response.headers["Content-Security-Policy"] = csp
    protect(response)
    return response


def protect(response: Response) -> Response:
    """Headers every served file carries: no type guessing, no caching, no referrer."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers.setdefault("Content-Security-Policy", ATTACHMENT_CSP)
    return response


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(DOWNLOAD_CHUNK):
            yield chunk


@blueprint.post("/<int:attachment_id>/remove")
@blueprint.delete("/<int:attachment_id>")
def remove(attachment_id: int):
    """Remove a file its uploader has not submitted yet."""
    try:
        _check_csrf()
        services.remove_upload(current_user, attachment_id)
        db.session.commit()
    except UploadRefused as refusal:
        db.session.rollback()
        return _refusal(refusal)
    if _wants_json() or request.method == "DELETE":
        return jsonify({"removed": attachment_id})
    flash(str(_l("The file was removed.")), "success")
    return _back()


@blueprint.get("/dossier/<int:dossier_id>.zip")
def dossier_zip(dossier_id: int):
    """Every file of a dossier and a PDF of its answers, streamed, for those who instruct it."""
    if not services.sees_dossier_as(current_user, dossier_id, services.STAFF):
        abort(404)
    dossier = db.session.get(Dossier, dossier_id)
    audit.record_access(
        audit.Action.DOSSIER_ARCHIVE_DOWNLOADED, "dossier", dossier.id, dossier_id=dossier.id
    )
    archive = zipping.dossier_archive(dossier)
    response = Response(archive, mimetype="application/zip", direct_passthrough=True)
    response.content_length = len(archive)
    response.headers["Content-Disposition"] = names.content_disposition(
        zipping.archive_name(dossier)
    )
    return protect(response)
