"""The mail templates of a procedure: one per event, default text or the administrator's,
with tags, a preview and a reset to the default."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext

from ...models import MailEvent, Procedure
from ...services import mail_templates, template_tags
from ...services.mail_templates import TemplateError
from .base import READ, WRITE, ProcedurePartView, commit, procedure_screen
from .previews import chosen_dossier, recent_numbers


def _event(name: str) -> MailEvent:
    try:
        return MailEvent(name)
    except ValueError:
        abort(404)


class ProcedureMailsView(ProcedurePartView):
    """``/procedures/<id>/mails``: the mails sent to applicants, event by event."""

    class_permission_name = "ProcedureMails"
    tab = "mails"

    @expose("/<int:procedure_id>/mails", methods=["GET"])
    @procedure_screen(READ)
    def index(self, procedure: Procedure):
        customised = mail_templates.customised_events(procedure)
        events = [
            {
                "event": event,
                "label": label,
                "help": mail_templates.EVENT_HELP[event],
                "subject": mail_templates.current(procedure, event).subject,
                "is_default": event not in customised,
            }
            for event, label in mail_templates.EVENT_LABELS.items()
        ]
        return self.page("guichet/procedures/mail_templates.html", procedure, events=events)

    def _edit_page(self, procedure, event, subject, body, status=200, **context):
        return self.page(
            "guichet/procedures/mail_template_edit.html",
            procedure,
            status,
            event=event,
            label=mail_templates.EVENT_LABELS[event],
            help=mail_templates.EVENT_HELP[event],
            subject=subject,
            body=body,
            is_default=event not in mail_templates.customised_events(procedure),
            tags=template_tags.available_tags(procedure, event.value),
            recent=recent_numbers(procedure),
            errors=context.pop("errors", {}),
            **context,
        )

    @expose("/<int:procedure_id>/mails/<event_name>", methods=["GET"])
    @procedure_screen(READ)
    def edit(self, procedure: Procedure, event_name: str):
        event = _event(event_name)
        text = mail_templates.current(procedure, event)
        return self._edit_page(procedure, event, text.subject, text.body)

    @expose("/<int:procedure_id>/mails/<event_name>", methods=["POST"])
    @procedure_screen(WRITE)
    def save(self, procedure: Procedure, event_name: str):
        """Save the texts, or (button "preview") render them without saving."""
        event = _event(event_name)
        subject = request.form.get("subject", "")
        body = request.form.get("body", "").replace("\r\n", "\n")
        typed_number = request.form.get("dossier", "")
        if request.form.get("action") == "preview":
            errors = mail_templates.problems(procedure, event, subject, body)
            dossier, dossier_error = chosen_dossier(procedure, typed_number)
            if dossier_error:
                errors["dossier"] = dossier_error
            preview = None
            if not errors:
                preview = mail_templates.render_texts(procedure, subject, body, dossier)
            return self._edit_page(
                procedure,
                event,
                subject,
                body,
                422 if errors else 200,
                errors=errors,
                preview=preview,
                preview_dossier=dossier,
                typed_number=typed_number,
            )
        try:
            mail_templates.save(procedure, event, subject, body)
        except TemplateError as error:
            return self._edit_page(
                procedure, event, subject, body, 422, errors=error.errors, typed_number=typed_number
            )
        commit()
        flash(
            gettext("The mail “%(label)s” was saved.", label=mail_templates.EVENT_LABELS[event]),
            "success",
        )
        return redirect(url_for(".edit", procedure_id=procedure.id, event_name=event.value))

    @expose("/<int:procedure_id>/mails/<event_name>/reset", methods=["POST"])
    @procedure_screen(WRITE)
    def reset(self, procedure: Procedure, event_name: str):
        event = _event(event_name)
        mail_templates.reset(procedure, event)
        commit()
        flash(
            gettext(
                "The mail “%(label)s” is back to its default text.",
                label=mail_templates.EVENT_LABELS[event],
            ),
            "success",
        )
        return redirect(url_for(".edit", procedure_id=procedure.id, event_name=event.value))
