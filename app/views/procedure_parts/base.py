"""What every per-procedure screen of this package shares: who may open it, and tabs.

A screen is reachable only by someone who administers the procedure
(``security.can_administer_procedure``: the platform admin, or an administrator of the
procedure's administration). Anyone else signed in gets a 404, whether the procedure
exists or not, so that ids cannot be probed; an anonymous visitor is sent to the login page.

Every POST carries the ``csrf_token`` field, checked by Flask-WTF's ``CSRFProtect``
(``app.extensions.csrf``) before the view runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, redirect, request, url_for
from flask_appbuilder import BaseView
from flask_appbuilder.const import PERMISSION_PREFIX
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Procedure
from ...security import can_administer_procedure

READ, WRITE = "read", "write"

TABS = (
    ("groups", "ProcedureGroupsView.index", _l("Instructor groups")),
    ("labels", "ProcedureLabelsView.index", _l("Labels")),
    ("mails", "ProcedureMailsView.index", _l("Emails")),
    ("attestation", "ProcedureAttestationView.index", _l("Attestation")),
    ("files", "ProcedureFilesView.index", _l("Logo and notice")),  # the attachments plugin's
)
HUB_ENDPOINT = "ProcedureHubView.index"


def procedure_screen(permission: str) -> Callable:
    """Decorate a view method taking ``procedure_id``: check access as described above,
    then call it with the ``Procedure`` instead of its id.

    ``permission`` (read or write) is the FAB permission on the view's
    ``class_permission_name`` that the person's roles must hold.
    """

    def decorator(method: Callable) -> Callable:
        @functools.wraps(method)
        def guarded(self: BaseView, procedure_id: int, **kwargs: Any):
            sm = self.appbuilder.sm
            if not current_user.is_authenticated:
                return redirect(url_for(f"{sm.auth_view.endpoint}.login", next=request.url))
            if not sm.has_access(PERMISSION_PREFIX + permission, self.class_permission_name):
                abort(404)
            procedure = db.session.get(Procedure, procedure_id)
            if procedure is None or not can_administer_procedure(current_user, procedure):
                abort(404)
            return method(self, procedure, **kwargs)

        return guarded

    return decorator


def commit() -> bool:
    """Commit; False (rolled back) when a concurrent request made a unique row first."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


class ProcedurePartView(BaseView):
    """Base of the screens at ``/procedures/<id>/…``: permissions read (GET) and write
    (POST) on ``class_permission_name``, and the page frame (breadcrumb, tabs)."""

    route_base = "/procedures"
    base_permissions = [PERMISSION_PREFIX + READ, PERMISSION_PREFIX + WRITE]
    tab = ""

    def page(self, template: str, procedure: Procedure, status: int = 200, **context: Any):
        endpoints = current_app.view_functions
        tabs = [(name, endpoint, label) for name, endpoint, label in TABS if endpoint in endpoints]
        html = self.render_template(
            template,
            procedure=procedure,
            tabs=tabs,
            active_tab=self.tab,
            hub_url=url_for(HUB_ENDPOINT, procedure_id=procedure.id)
            if HUB_ENDPOINT in endpoints
            else None,
            **context,
        )
        return html, status
