"""The back-office screen of a procedure's own files: its logo and explanatory notice
(``/procedures/<id>/fichiers``), and the upload and removal of the attestation's
signature image, offered on the attestation screen.

It is one of the procedure's parts (``app.views.procedure_parts``): only the procedure's
administrators and the platform admin reach it, anyone else gets a 404. Files go through
the same checks as every upload (type read from the content, size counted while
streaming, virus scan); these uses accept PNG or JPEG images (logo, signature) and PDF
(notice) only.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import db
from app.models import AttachmentUse, Procedure
from app.views.procedure_parts.base import READ, WRITE, ProcedurePartView, procedure_screen

from . import procedure_files, services
from .errors import UploadRefused

SCREEN_USES = (AttachmentUse.logo, AttachmentUse.notice)
USES = {use.value: use for use in services.PROCEDURE_FILE_USES}
ATTESTATION_ENDPOINT = "ProcedureAttestationView.index"

SAVED = {
    AttachmentUse.logo: _l("The logo was saved."),
    AttachmentUse.notice: _l("The notice was saved."),
    AttachmentUse.signature: _l("The signature image was saved."),
}
REMOVED = {
    AttachmentUse.logo: _l("The logo was removed."),
    AttachmentUse.notice: _l("The notice was removed."),
    AttachmentUse.signature: _l("The signature image was removed."),
}


def _use(name: str) -> AttachmentUse:
    use = USES.get(name)
    if use is None:
        abort(404)
    return use


def file_choice(procedure: Procedure, use: AttachmentUse | str) -> dict[str, Any]:
    """What a template needs to show a procedure file and the input that replaces it
    (``procedure_file(procedure, use)`` in templates)."""
    use = AttachmentUse(use)
    attachment = procedure_files.current(procedure, use)
    target = services.target_for(use, procedure=procedure)
    return {
        "use": use.value,
        "file": procedure_files.describe(attachment) if attachment else None,
        "accept": target.constraints()["accept"],
        "formats": ", ".join(sorted(services.TYPE_NAMES[t] for t in target.types or ())),
        "limit": services.megabytes(target.max_size),
        "upload_url": url_for("ProcedureFilesView.upload", procedure_id=procedure.id, use=use),
        "remove_url": url_for("ProcedureFilesView.remove", procedure_id=procedure.id, use=use),
    }


class ProcedureFilesView(ProcedurePartView):
    """``/procedures/<id>/fichiers``: the logo and the notice applicants see."""

    class_permission_name = "ProcedureHub"
    tab = "files"

    def _screen(self, procedure: Procedure, errors: dict[str, str] | None = None, status=200):
        return self.page(
            "attachments/procedure_files.html",
            procedure,
            status,
            choices=[file_choice(procedure, use) for use in SCREEN_USES],
            errors=errors or {},
        )

    def _back(self, procedure: Procedure, use: AttachmentUse):
        if use == AttachmentUse.signature:
            return redirect(url_for(ATTESTATION_ENDPOINT, procedure_id=procedure.id) + "#signature")
        return redirect(url_for(".index", procedure_id=procedure.id) + f"#{use.value}")

    @expose("/<int:procedure_id>/fichiers", methods=["GET"])
    @procedure_screen(READ)
    def index(self, procedure: Procedure):
        return self._screen(procedure)

    @expose("/<int:procedure_id>/fichiers/<use>", methods=["POST"])
    @procedure_screen(WRITE)
    def upload(self, procedure: Procedure, use: str):
        """Store the posted file as the procedure's logo, notice or signature image."""
        chosen = _use(use)
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise UploadRefused(_l("Choose a file to send."))
            procedure_files.replace(
                procedure, chosen, upload.stream, upload.filename, upload.mimetype, current_user
            )
            db.session.commit()
        except UploadRefused as refusal:
            db.session.rollback()
            if chosen == AttachmentUse.signature:
                flash(str(refusal.message), "danger")
                return self._back(procedure, chosen)
            return self._screen(procedure, {chosen.value: str(refusal.message)}, 422)
        flash(str(SAVED[chosen]), "success")
        return self._back(procedure, chosen)

    @expose("/<int:procedure_id>/fichiers/<use>/supprimer", methods=["POST"])
    @procedure_screen(WRITE)
    def remove(self, procedure: Procedure, use: str):
        chosen = _use(use)
        if procedure_files.remove(procedure, chosen):
            db.session.commit()
            flash(str(REMOVED[chosen]), "success")
        else:
            flash(gettext("There was no file to remove."), "info")
        return self._back(procedure, chosen)
