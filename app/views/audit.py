"""The audit log's read views, in the back office.

- ``/procedures/<id>/journal`` (``ProcedureJournalView``): a procedure's entries for the
  people who administer it (``security.can_administer_procedure``); anyone else signed in
  with the view's permission gets a 404, whether the procedure exists or not.
- ``/admin/journal`` (``PlatformJournalView``): the whole log, for the platform admin,
  with the addresses entries were made from.

Both read newest first, 50 entries a page, by id (``?before=<id>`` pages: the log grows by
millions, and a deep ``OFFSET`` would scan them), and filter by action and by dossier
number. Field changes show the fields' labels, never values: the log holds none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, g, request, url_for
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import AuditEvent, DossierState, FieldDefinition, Procedure, ProcedureRevision, User
from ..security import can_administer_procedure
from ..services.audit import Action
from ..services.authentication import Action as SignIn
from ..workflow import state_label

PER_PAGE = 50

ACTION_LABELS: dict[str, Any] = {
    Action.STATE_CHANGED: _l("State changed"),
    Action.RESUBMITTED: _l("Dossier submitted again"),
    Action.ANSWERS_CHANGED: _l("Answers changed after submission"),
    Action.ANNOTATIONS_CHANGED: _l("Private annotations changed"),
    Action.DOSSIER_DELETED: _l("Dossier deleted"),
    Action.EXPIRY_WARNED: _l("Deletion announced to the applicant"),
    Action.RETENTION_EXTENDED: _l("Retention extended by the applicant"),
    Action.ATTACHMENT_DOWNLOADED: _l("File downloaded"),
    Action.DOSSIER_ARCHIVE_DOWNLOADED: _l("All files of the dossier downloaded (ZIP)"),
    Action.MESSAGE_DELETED: _l("Message deleted"),
    Action.GROUP_MEMBER_ADDED: _l("Agent added to a group"),
    Action.GROUP_MEMBER_REMOVED: _l("Agent removed from a group"),
    Action.ADMINISTRATOR_ADDED: _l("Administrator added"),
    Action.ADMINISTRATOR_REMOVED: _l("Administrator removed"),
    Action.ROLE_GRANTED: _l("Role granted"),
    Action.ROLE_REVOKED: _l("Role revoked"),
    Action.USER_DELETED: _l("Account deleted"),
    Action.TOKEN_CREATED: _l("API token created"),
    Action.TOKEN_REVOKED: _l("API token revoked"),
    SignIn.LOGIN_FAILED: _l("Failed sign-in"),
    SignIn.LOCKED: _l("Account locked after failed sign-ins"),
    SignIn.TWO_FACTOR_FAILED: _l("Wrong second-factor code"),
    SignIn.TWO_FACTOR_ENABLED: _l("Two-factor authentication turned on"),
    SignIn.TWO_FACTOR_DISABLED: _l("Two-factor authentication turned off"),
    SignIn.TWO_FACTOR_RESET: _l("Two-factor authentication reset by the platform admin"),
    SignIn.RECOVERY_CODE_USED: _l("Recovery code used"),
    SignIn.LOGGED_OUT_EVERYWHERE: _l("Signed out everywhere"),
}
"""Actions the filter offers, in this order. Entries of other actions (plugins') show
their code."""

OBJECT_LABELS: dict[str, Any] = {
    "dossier": _l("Dossier n° %(id)s"),
    "user": _l("Account n° %(id)s"),
    "administration": _l("Administration n° %(id)s"),
    "instructor_group": _l("Instructor group n° %(id)s"),
    "api_token": _l("API token n° %(id)s"),
    "attachment": _l("File n° %(id)s"),
}


@dataclass(frozen=True)
class Row:
    """One entry as the journal shows it."""

    id: int
    at: Any
    action: str
    action_label: str
    subject: str
    details: list[str]
    actor: str
    actor_ip: str | None
    procedure_id: int | None
    procedure_title: str | None


@dataclass(frozen=True)
class Filters:
    action: str | None
    dossier: int | None
    before: int | None

    @classmethod
    def from_request(cls) -> Filters:
        action = request.args.get("action") or None
        return cls(
            action=action[:80] if action else None,
            dossier=request.args.get("dossier", type=int),
            before=request.args.get("before", type=int),
        )

    def apply(self, statement: sa.Select) -> sa.Select:
        if self.action:
            statement = statement.where(AuditEvent.action == self.action)
        if self.dossier is not None:
            statement = statement.where(
                AuditEvent.object_type == "dossier", AuditEvent.object_id == str(self.dossier)
            )
        if self.before is not None:
            statement = statement.where(AuditEvent.id < self.before)
        return statement

    def link_args(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in (("action", self.action), ("dossier", self.dossier))
            if value is not None
        }


def page_of_entries(where: sa.ColumnElement[bool], filters: Filters) -> tuple[list[Row], bool]:
    """The entries of one page, newest first, and whether older ones remain."""
    statement = filters.apply(
        sa.select(AuditEvent, User, Procedure.title)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Procedure, Procedure.id == AuditEvent.procedure_id)
        .where(where)
        .order_by(AuditEvent.id.desc())
        .limit(PER_PAGE + 1)
    )
    found = db.session.execute(statement).all()
    entries = found[:PER_PAGE]
    labels = _field_labels({entry.procedure_id for entry, _user, _title in entries})
    rows = [_row(entry, user, title, labels) for entry, user, title in entries]
    return rows, len(found) > PER_PAGE


def _field_labels(procedure_ids: set[int | None]) -> dict[tuple[int, str], str]:
    """(procedure, stable id) → the field's label in its latest revision."""
    ids = {item for item in procedure_ids if item is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(ProcedureRevision.procedure_id, FieldDefinition.stable_id, FieldDefinition.label)
        .join(ProcedureRevision, ProcedureRevision.id == FieldDefinition.revision_id)
        .where(ProcedureRevision.procedure_id.in_(ids))
        .order_by(ProcedureRevision.number)
    )
    return {(procedure_id, stable_id): label for procedure_id, stable_id, label in rows}


def _row(entry: AuditEvent, user: User | None, title: str | None, labels: dict) -> Row:
    label = ACTION_LABELS.get(entry.action)
    subject = OBJECT_LABELS.get(entry.object_type)
    return Row(
        id=entry.id,
        at=entry.at,
        action=entry.action,
        action_label=str(label) if label is not None else entry.action,
        subject=str(subject % {"id": entry.object_id})
        if subject is not None
        else f"{entry.object_type} {entry.object_id or ''}".strip(),
        details=describe(entry, labels),
        actor=_actor(entry, user),
        actor_ip=entry.actor_ip,
        procedure_id=entry.procedure_id,
        procedure_title=title,
    )


def _actor(entry: AuditEvent, user: User | None) -> str:
    if user is not None:
        name = f"{user.first_name or ''} {user.last_name or ''}".strip()
        return f"{name} <{user.email}>" if name else user.email
    if entry.actor_id is not None:
        return gettext("Deleted account n° %(id)d", id=entry.actor_id)
    if entry.actor_ip:
        return gettext("Anonymous visitor")
    return gettext("Guichet (automatic)")


def _state(value: Any) -> str:
    try:
        return state_label(DossierState(value))
    except ValueError:
        return str(value)


def describe(entry: AuditEvent, labels: dict[tuple[int, str], str]) -> list[str]:
    """The entry's data in words: states by their labels, fields by their labels."""
    data = entry.data or {}
    if entry.action == Action.STATE_CHANGED:
        return [
            gettext(
                "from “%(before)s” to “%(after)s”",
                before=_state(data.get("from")),
                after=_state(data.get("to")),
            )
        ]
    lines = []
    for key, value in sorted(data.items()):
        if key == "fields" and isinstance(value, list):
            names = [labels.get((entry.procedure_id, item), item) for item in value]
            lines.append(gettext("Fields: %(names)s", names=", ".join(names)))
        elif key == "state":
            lines.append(gettext("State: %(state)s", state=_state(value)))
        else:
            lines.append(f"{key}: {value}")
    return lines


def action_choices() -> list[tuple[str, str]]:
    return [(action, str(label)) for action, label in ACTION_LABELS.items()]


class ProcedureJournalView(BaseView):
    """A procedure's audit log, for its administrators."""

    route_base = "/procedures"
    class_permission_name = "ProcedureJournal"
    method_permission_name = {"journal": "read"}
    base_permissions = ["can_read"]

    @expose("/<int:procedure_id>/journal")
    @has_access
    def journal(self, procedure_id: int):
        procedure = db.session.get(Procedure, procedure_id)
        if procedure is None or not can_administer_procedure(g.user, procedure):
            abort(404)
        filters = Filters.from_request()
        rows, more = page_of_entries(AuditEvent.procedure_id == procedure.id, filters)
        return self.render_template(
            "guichet/audit/journal.html",
            title=gettext("Journal of “%(title)s”", title=procedure.title),
            procedure=procedure,
            rows=rows,
            more=more,
            filters=filters,
            actions=action_choices(),
            platform=False,
            page_url=lambda **args: url_for(
                "ProcedureJournalView.journal", procedure_id=procedure.id, **args
            ),
        )


class PlatformJournalView(BaseView):
    """The whole audit log, for the platform admin."""

    route_base = "/admin/journal"
    class_permission_name = "AuditJournal"
    method_permission_name = {"index": "read"}
    base_permissions = ["can_read"]
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        filters = Filters.from_request()
        rows, more = page_of_entries(sa.true(), filters)
        return self.render_template(
            "guichet/audit/journal.html",
            title=gettext("Audit log"),
            procedure=None,
            rows=rows,
            more=more,
            filters=filters,
            actions=action_choices(),
            platform=True,
            page_url=lambda **args: url_for("PlatformJournalView.index", **args),
        )


def register(appbuilder: AppBuilder) -> None:
    """The procedure journal (linked from the procedure's page) and the platform's."""
    appbuilder.add_view_no_menu(ProcedureJournalView)
    appbuilder.add_view(
        PlatformJournalView,
        "Audit log",
        label=_l("Audit log"),
        icon="fa-history",
        category="Platform",
    )
