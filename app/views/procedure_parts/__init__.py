"""The parts of a procedure that administrators set up around its form: instructor groups
and their agents, labels, mail templates and the attestation — each at
``/procedures/<id>/…`` — and the page where an invited agent sets their password."""

from __future__ import annotations

from flask_appbuilder import AppBuilder

from .account import SetPasswordView
from .attestation import ProcedureAttestationView
from .groups import ProcedureGroupsView
from .labels import ProcedureLabelsView
from .mails import ProcedureMailsView

VIEWS = (
    ProcedureGroupsView,
    ProcedureLabelsView,
    ProcedureMailsView,
    ProcedureAttestationView,
    SetPasswordView,
)


def register(appbuilder: AppBuilder) -> None:
    """Register the screens (reached from the procedure's hub, so not in the menu)."""
    for view in VIEWS:
        appbuilder.add_view_no_menu(view)
