"""FAB views: admin screens and the agent workspace.

Every list and detail screen over procedures or dossiers is scoped with
``ScopedToUser``, so that FAB's own list, show and search only ever reach the rows
``app.security`` lets the signed-in person see (a guessed id gets a 404).
"""

from __future__ import annotations

from flask import g
from flask_appbuilder import AppBuilder, ModelView
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from ..models import Administration, Dossier, Procedure
from ..security import visible_dossiers, visible_procedures
from ..workflow import state_label
from .administrations import AdministrationMembersView
from .audit import register as register_audit
from .batch import register as register_batch
from .exports import register as register_exports
from .form_editor import FormEditorView
from .integrations import register as register_integrations
from .mails import WrittenMailView
from .procedure_admin import ProcedureAdminView, ProcedureHubView
from .procedure_parts import register as register_procedure_parts
from .stats import register_stats_views
from .workspace import register as register_workspace

SCOPES = {Dossier: visible_dossiers, Procedure: visible_procedures}


class ScopedToUser(BaseFilter):
    """A base filter that keeps the rows the current user may see."""

    name = "scoped to user"
    arg_name = "scope"

    def apply(self, query, value):
        return query.filter(SCOPES[self.model](g.user))


SCOPED_TO_USER = [["id", ScopedToUser, lambda: None]]


class AdministrationView(ModelView):
    """Platform admin: the administrations that publish on this instance."""

    datamodel = SQLAInterface(Administration)
    list_columns = ["name", "kind", "siret", "contact_email", "created_at"]
    add_columns = edit_columns = ["name", "slug", "kind", "siret", "parent", "contact_email"]
    search_columns = ["name", "kind", "siret"]
    show_template = "guichet/administration_show.html"
    label_columns = {
        "name": _l("Name"),
        "slug": _l("Slug"),
        "kind": _l("Kind"),
        "siret": _l("SIRET"),
        "parent": _l("Parent administration"),
        "contact_email": _l("Contact email"),
        "created_at": _l("Created at"),
    }


class ProcedureView(ModelView):
    """Procedures of the administrations one administers, or of the groups one instructs."""

    datamodel = SQLAInterface(Procedure)
    base_filters = SCOPED_TO_USER
    base_permissions = ["can_list", "can_show"]
    list_columns = ["title", "administration", "state", "published_at", "deadline_at"]
    show_columns = [
        "title",
        "administration",
        "state",
        "description",
        "audience",
        "documents_to_prepare",
        "service_name",
        "service_email",
        "published_at",
        "deadline_at",
        "retention_months",
    ]
    search_columns = ["title", "state", "administration"]
    label_columns = {
        "title": _l("Title"),
        "administration": _l("Administration"),
        "state": _l("State"),
        "description": _l("Description"),
        "audience": _l("Audience"),
        "documents_to_prepare": _l("Documents to prepare"),
        "service_name": _l("Service"),
        "service_email": _l("Service email"),
        "published_at": _l("Published at"),
        "deadline_at": _l("Deposit deadline"),
        "retention_months": _l("Retention (months)"),
    }


class DossierView(ModelView):
    """The dossiers one may see: an agent's groups, an administrator's procedures."""

    datamodel = SQLAInterface(Dossier)
    base_filters = SCOPED_TO_USER
    base_permissions = ["can_list", "can_show"]
    base_order = ("updated_at", "desc")
    list_columns = ["id", "procedure", "state", "group", "submitted_at", "updated_at"]
    show_columns = [
        "id",
        "procedure",
        "state",
        "group",
        "submitted_at",
        "review_started_at",
        "decided_at",
        "motivation",
    ]
    # Relationship filters would list every procedure's groups: not offered here.
    search_columns = ["id", "state", "submitted_at", "updated_at"]
    formatters_columns = {"state": state_label}
    label_columns = {
        "id": _l("Number"),
        "procedure": _l("Procedure"),
        "state": _l("State"),
        "group": _l("Instructor group"),
        "submitted_at": _l("Submitted at"),
        "review_started_at": _l("Review started at"),
        "decided_at": _l("Decided at"),
        "updated_at": _l("Updated at"),
        "motivation": _l("Motivation"),
    }


def register(appbuilder: AppBuilder) -> None:
    """Register Guichet's core views on one app's AppBuilder."""
    appbuilder.add_view(
        AdministrationView,
        "Administrations",
        label=_l("Administrations"),
        icon="fa-building",
        category="Platform",
        category_label=_l("Platform"),
    )
    appbuilder.add_view_no_menu(AdministrationMembersView)
    appbuilder.add_view(
        WrittenMailView,
        "Written mails",
        label=_l("Written mails"),
        icon="fa-envelope",
        category="Platform",
    )
    appbuilder.add_view(
        ProcedureAdminView,
        "Procedure builder",
        label=_l("Procedures"),
        icon="fa-wrench",
        category="Build",
        category_label=_l("Build"),
    )
    appbuilder.add_view_no_menu(ProcedureHubView)
    appbuilder.add_link(
        "Import a procedure",
        href="/procedures/import",
        label=_l("Import a procedure"),
        icon="fa-upload",
        category="Build",
    )
    appbuilder.add_view_no_menu(FormEditorView)
    register_workspace(appbuilder)  # the agent workspace and the expert's page
    register_batch(appbuilder)  # batch actions, mail preferences, daily digest
    register_exports(appbuilder)  # exports of the tables, their cleanup
    register_audit(appbuilder)
    register_stats_views(appbuilder)
    appbuilder.add_view(
        ProcedureView,
        "Procedures",
        label=_l("Procedures"),
        icon="fa-list-alt",
        category="Instruction",
        category_label=_l("Instruction"),
    )
    appbuilder.add_view(
        DossierView,
        "Dossiers",
        label=_l("Dossiers"),
        icon="fa-folder-open",
        category="Instruction",
    )
    register_procedure_parts(appbuilder)
    register_integrations(appbuilder)  # API tokens, webhooks, the REST API
