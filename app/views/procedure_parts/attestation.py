"""The attestation template of a procedure: on or off, title, text, footer, PDF preview.

The signature image is stored by the attachments plugin (the core does not call plugins):
its upload form, on this page, posts to the plugin's ``ProcedureFilesView``, and the PDF
draws it through the image source the plugin registers (``attestations.set_image_source``).
"""

from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext

from ...models import Procedure
from ...services import attestations, template_tags
from ...services.attestations import AttestationError
from .base import READ, WRITE, ProcedurePartView, commit, procedure_screen
from .previews import chosen_dossier, recent_numbers


class ProcedureAttestationView(ProcedurePartView):
    """``/procedures/<id>/attestation``: the PDF issued when a dossier is accepted."""

    class_permission_name = "ProcedureAttestation"
    tab = "attestation"

    def _form(self, procedure: Procedure, text: dict, status: int = 200, errors=None):
        return self.page(
            "guichet/procedures/attestation.html",
            procedure,
            status,
            text=text,
            errors=errors or {},
            tags=template_tags.available_tags(procedure, template_tags.ATTESTATION),
            recent=recent_numbers(procedure),
        )

    @staticmethod
    def _typed() -> dict:
        form = request.form
        return {
            "enabled": form.get("enabled") == "y",
            "title": form.get("title", ""),
            "body": form.get("body", "").replace("\r\n", "\n"),
            "footer": form.get("footer", "").replace("\r\n", "\n"),
            "dossier": form.get("dossier", ""),
        }

    @expose("/<int:procedure_id>/attestation", methods=["GET"])
    @procedure_screen(READ)
    def index(self, procedure: Procedure):
        current = attestations.current(procedure)
        text = {
            "enabled": current.enabled,
            "title": current.title,
            "body": current.body,
            "footer": current.footer,
            "dossier": "",
        }
        return self._form(procedure, text)

    @expose("/<int:procedure_id>/attestation", methods=["POST"])
    @procedure_screen(WRITE)
    def save(self, procedure: Procedure):
        text = self._typed()
        try:
            attestations.save(
                procedure, text["enabled"], text["title"], text["body"], text["footer"]
            )
        except AttestationError as error:
            return self._form(procedure, text, 422, error.errors)
        commit()
        if text["enabled"]:
            flash(gettext("The attestation is saved and issued on acceptance."), "success")
        else:
            flash(gettext("The attestation is saved; it is not issued yet."), "success")
        return redirect(url_for(".index", procedure_id=procedure.id))

    @expose("/<int:procedure_id>/attestation/preview", methods=["POST"])
    @procedure_screen(WRITE)
    def preview(self, procedure: Procedure):
        """The PDF of the texts as typed (not saved), for a sample or a real dossier."""
        text = self._typed()
        errors = attestations.problems(procedure, text["title"], text["body"], text["footer"])
        dossier, dossier_error = chosen_dossier(procedure, text["dossier"])
        if dossier_error:
            errors["dossier"] = dossier_error
        if errors:
            return self._form(procedure, text, 422, errors)
        pdf = attestations.render_pdf_texts(
            procedure, text["title"], text["body"], text["footer"], dossier
        )
        response = make_response(pdf)
        response.headers["Content-Type"] = "application/pdf"
        response.headers["Content-Disposition"] = 'inline; filename="attestation-apercu.pdf"'
        response.headers["Cache-Control"] = "no-store"
        return response
