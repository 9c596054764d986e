"""Administrators' screens for procedures: the settings form and the procedure's hub
(state, test link, lifecycle actions, links to the form editor and the other parts).

Every screen is limited to the procedures the signed-in person administers
(``security.administered_procedures``); another procedure's id gets a 404.
"""

from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from wtforms import BooleanField, SelectField
from wtforms.validators import NumberRange

from ..extensions import db
from ..models import Administration, DeclarativeMode, Dossier, FilerKind, Procedure, ProcedureState
from ..security import administered_administration_ids, administered_procedures, is_platform_admin
from ..services import procedure_exchange, procedures
from ..services.procedures import ProcedureError

READ_WRITE = {
    "list": "read",
    "show": "read",
    "index": "read",
    "add": "write",
    "edit": "write",
    "publish": "write",
    "close": "write",
    "unpublish": "write",
    "clone": "write",
    "delete": "write",
    "export": "read",
    "import_document": "write",
}

STATE_LABELS = {
    ProcedureState.draft: _l("Test mode (not published)"),
    ProcedureState.published: _l("Published"),
    ProcedureState.closed: _l("Closed"),
    ProcedureState.unpublished: _l("Unpublished"),
}


class AdministeredProcedures(BaseFilter):
    name = "administered"
    arg_name = "administered"

    def apply(self, query, value):
        return query.filter(administered_procedures(g.user))


class AdministeredAdministrations(BaseFilter):
    name = "administered"
    arg_name = "administered"

    def apply(self, query, value):
        if is_platform_admin(g.user):
            return query
        return query.filter(Administration.id.in_(administered_administration_ids(g.user)))


MAX_DOCUMENT = 5 * 1024 * 1024


def _administered_administrations() -> list[Administration]:
    query = db.select(Administration).order_by(Administration.name)
    if not is_platform_admin(g.user):
        query = query.where(Administration.id.in_(administered_administration_ids(g.user)))
    return list(db.session.scalars(query))


def _chosen_administration() -> Administration | None:
    """The administration picked in the posted form, if the person administers it."""
    chosen = request.form.get("administration", type=int)
    return next((a for a in _administered_administrations() if a.id == chosen), None)


def administered_procedure_or_404(procedure_id: int) -> Procedure:
    procedure = db.session.scalar(
        db.select(Procedure).where(Procedure.id == procedure_id, administered_procedures(g.user))
    )
    if procedure is None:
        abort(404)
    return procedure


SETTINGS_COLUMNS = ["administration", *procedures.SETTINGS]


PROCEDURE_LABELS = {
    "title": _l("Title"),
    "administration": _l("Administration"),
    "state": _l("State"),
    "slug": _l("Address"),
    "updated_at": _l("Updated at"),
    "description": _l("Description"),
    "audience": _l("Audience"),
    "documents_to_prepare": _l("Documents to prepare"),
    "legal_basis": _l("Legal basis"),
    "service_name": _l("Service"),
    "service_email": _l("Service email"),
    "service_phone": _l("Service phone"),
    "service_address": _l("Service address"),
    "service_hours": _l("Opening hours"),
    "opens_at": _l("Opening date"),
    "deadline_at": _l("Deposit deadline"),
    "retention_months": _l("Retention (months)"),
    "draft_retention_days": _l("Draft retention (days)"),
    "declarative_mode": _l("Declarative mode"),
    "filer_kind": _l("Who files"),
    "allow_on_behalf": _l("Filing on behalf of someone else"),
    "hide_agent_identity": _l("Hide agents' identity from applicants"),
    "experts_can_message": _l("Experts may write in the message thread"),
    "sections_as_steps": _l("Show sections as steps"),
}


# Enumerations offered with words, not their stored values ("none", "person").
DECLARATIVE_MODES = {
    DeclarativeMode.none: _l("No: agents decide on every dossier"),
    DeclarativeMode.in_review: _l("Yes: submitted dossiers go straight to review"),
    DeclarativeMode.accepted: _l("Yes: submitted dossiers are accepted at once"),
}
FILER_KINDS = {
    FilerKind.person: _l("A person"),
    FilerKind.company: _l("A company or an organisation"),
}


def _choice_field(name: str, labels: dict, default, description=None) -> SelectField:
    return SelectField(
        PROCEDURE_LABELS[name],
        choices=[(value.value, label) for value, label in labels.items()],
        default=default.value,
        description=description if description is not None else "",
        render_kw={"class": "form-control"},
    )


class ProcedureAdminView(ModelView):
    """The settings of procedures, for their administrators."""

    route_base = "/admin/procedures"
    class_permission_name = "ProcedureAdmin"
    method_permission_name = READ_WRITE
    base_permissions = ["can_read", "can_write"]
    datamodel = SQLAInterface(Procedure)
    base_filters = [["id", AdministeredProcedures, lambda: None]]
    base_order = ("updated_at", "desc")
    list_columns = ["title", "administration", "state", "updated_at"]
    formatters_columns = {"state": lambda state: STATE_LABELS[state]}
    search_columns = ["title", "state"]
    add_columns = edit_columns = SETTINGS_COLUMNS
    show_columns = ["slug", "state", *SETTINGS_COLUMNS]
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "administration": [["id", AdministeredAdministrations, lambda: None]]
    }
    validators_columns = {
        "retention_months": [NumberRange(min=1, max=60)],
        "draft_retention_days": [NumberRange(min=1, max=3650)],
    }
    label_columns = PROCEDURE_LABELS
    description_columns = {
        "retention_months": _l("How long decided dossiers are kept (1 to 60 months)."),
        "draft_retention_days": _l("Untouched drafts are deleted after this many days."),
        "deadline_at": _l("The procedure closes by itself at this date and time."),
    }

    # Check boxes: FAB would make them required because the columns are not nullable;
    # enumerations: FAB would offer their stored values ("none", "person") as the choices.
    add_form_extra_fields = edit_form_extra_fields = {
        **{
            name: BooleanField(PROCEDURE_LABELS[name], default=False)
            for name in (
                "allow_on_behalf",
                "hide_agent_identity",
                "experts_can_message",
                "sections_as_steps",
            )
        },
        "declarative_mode": _choice_field(
            "declarative_mode",
            DECLARATIVE_MODES,
            DeclarativeMode.none,
            _l("Submitted dossiers go straight to review, or are accepted, with no agent action."),
        ),
        "filer_kind": _choice_field("filer_kind", FILER_KINDS, FilerKind.person),
    }

    def pre_add(self, item: Procedure) -> None:
        procedures.initialise(item)

    def post_add(self, item: Procedure) -> None:
        g.added_procedure_id = item.id

    def post_add_redirect(self):
        if "added_procedure_id" in g:  # a new procedure opens on its hub
            return redirect(url_for("ProcedureHubView.index", procedure_id=g.added_procedure_id))
        return super().post_add_redirect()

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        """Deleting goes through the hub, which deletes only never-published procedures."""
        abort(404)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """A procedure's page is its hub."""
        procedure = administered_procedure_or_404(int(pk) if str(pk).isdigit() else 0)
        return redirect(url_for("ProcedureHubView.index", procedure_id=procedure.id))


class ProcedureHubView(BaseView):
    """One procedure's page: its state, test link, lifecycle and the ways to build it."""

    route_base = "/procedures"
    class_permission_name = "ProcedureHub"
    method_permission_name = READ_WRITE
    base_permissions = ["can_read", "can_write"]
    default_view = "index"

    @expose("/<int:procedure_id>/")
    @has_access
    def index(self, procedure_id: int):
        procedure = administered_procedure_or_404(procedure_id)
        counts = dict(
            db.session.execute(
                db.select(Dossier.is_test, db.func.count())
                .where(Dossier.procedure_id == procedure.id)
                .group_by(Dossier.is_test)
            ).all()
        )
        revision = procedure.draft_revision or procedure.published_revision
        replacements = db.session.scalars(
            db.select(Procedure).where(
                Procedure.id != procedure.id,
                Procedure.state == ProcedureState.published,
                administered_procedures(g.user),
            )
        ).all()
        administrations = _administered_administrations()
        return self.render_template(
            "guichet/procedures/hub.html",
            procedure=procedure,
            state_label=STATE_LABELS[procedure.state],
            problems=procedures.form_problems(revision) if procedure.draft_revision else [],
            real_dossiers=counts.get(False, 0),
            test_dossiers=counts.get(True, 0),
            replacements=replacements,
            administrations=administrations,
            endpoints=current_app.view_functions,
            test_url=url_for("public_forms.start_test", token=procedure.test_token, _external=True)
            if procedure.test_token and "public_forms.start_test" in current_app.view_functions
            else None,
        )

    def _act(self, procedure_id: int, action, success: str):
        procedure = administered_procedure_or_404(procedure_id)
        try:
            action(procedure)
            db.session.commit()
            flash(success, "success")
        except ProcedureError as error:
            db.session.rollback()
            for line in str(error.message).splitlines():
                flash(line, "danger")
        return redirect(url_for("ProcedureHubView.index", procedure_id=procedure_id))

    @expose("/<int:procedure_id>/publish", methods=["POST"])
    @has_access
    def publish(self, procedure_id: int):
        return self._act(procedure_id, procedures.publish, _("The procedure is published."))

    @expose("/<int:procedure_id>/close", methods=["POST"])
    @has_access
    def close(self, procedure_id: int):
        replacement = None
        if request.form.get("replacement"):
            replacement = administered_procedure_or_404(int(request.form["replacement"]))
        return self._act(
            procedure_id,
            lambda procedure: procedures.close(
                procedure, request.form.get("reason", ""), replacement
            ),
            _("The procedure is closed."),
        )

    @expose("/<int:procedure_id>/unpublish", methods=["POST"])
    @has_access
    def unpublish(self, procedure_id: int):
        return self._act(
            procedure_id, procedures.unpublish, _("The procedure is no longer published.")
        )

    @expose("/<int:procedure_id>/clone", methods=["POST"])
    @has_access
    def clone(self, procedure_id: int):
        procedure = administered_procedure_or_404(procedure_id)
        target = _chosen_administration()
        if target is None:
            abort(404)
        copy = procedures.clone(procedure, target)
        db.session.commit()
        flash(_("The procedure was copied: this is the copy, in test mode."), "success")
        return redirect(url_for("ProcedureHubView.index", procedure_id=copy.id))

    @expose("/<int:procedure_id>/export.json")
    @has_access
    def export(self, procedure_id: int):
        """The procedure's definition, to import on another instance."""
        procedure = administered_procedure_or_404(procedure_id)
        body = json.dumps(
            procedure_exchange.export_document(procedure), ensure_ascii=False, indent=2, default=str
        )
        return Response(
            body,
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{procedure.slug}.json"'},
        )

    @expose("/import", methods=["GET", "POST"])
    @has_access
    def import_document(self):
        """Create a procedure (in test mode) from an exported definition."""
        administrations = _administered_administrations()
        problems: list[str] = []
        if request.method == "POST":
            target = _chosen_administration()
            upload = request.files.get("document")
            if target is None:
                problems = [_("Choose one of your administrations.")]
            elif upload is None or not upload.filename:
                problems = [_("Choose the file to import.")]
            else:
                try:
                    document = json.loads(upload.read(MAX_DOCUMENT + 1)[: MAX_DOCUMENT + 1])
                except ValueError:
                    document = None
                    problems = [_("This file is not valid JSON.")]
                if not problems:
                    procedure, problems = procedure_exchange.import_document(document, target)
                    if procedure is not None:
                        db.session.commit()
                        flash(_("The procedure was imported, in test mode."), "success")
                        return redirect(
                            url_for("ProcedureHubView.index", procedure_id=procedure.id)
                        )
            db.session.rollback()
        return self.render_template(
            "guichet/procedures/import.html", administrations=administrations, problems=problems
        )

    @expose("/<int:procedure_id>/delete", methods=["POST"])
    @has_access
    def delete(self, procedure_id: int):
        procedure = administered_procedure_or_404(procedure_id)
        title = procedure.title
        try:
            procedures.delete_draft(procedure)
            db.session.commit()
        except ProcedureError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return redirect(url_for("ProcedureHubView.index", procedure_id=procedure_id))
        flash(_("The procedure “%(title)s” was deleted.", title=escape(title)), "success")
        return redirect(url_for("ProcedureAdminView.list"))
