"""Roles, their permissions, and row-level scoping.

Roles and their FAB permissions are declared here and synced into the database at start-up
(and by ``flask guichet init``). FAB's permissions say which screens a role may open;
the scoping functions below say which rows a person may see in them. Every view and API
filters its queries through them, and checks single objects with ``can_see_*``.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask_appbuilder import AppBuilder
from flask_appbuilder.security.sqla.models import PermissionView
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import (
    AdministrationMember,
    Dossier,
    DossierState,
    Invitation,
    Opinion,
    Procedure,
    instructor_group_member,
)
from .models.procedure import InstructorGroup

log = logging.getLogger(__name__)


class Roles:
    """Role names as stored in FAB's ``ab_role`` table."""

    ADMIN = "Admin"  # platform operator (super-admin): FAB grants it every permission
    ADMINISTRATOR = "Administrator"  # builds the procedures of their administrations
    AGENT = "Agent"  # instructs the dossiers of their instructor groups
    EXPERT = "Expert"  # answers opinions asked about single dossiers
    APPLICANT = "Applicant"  # files dossiers on the public portal
    PUBLIC = "Public"  # anonymous visitors

    ALL = (ADMIN, ADMINISTRATOR, AGENT, EXPERT, APPLICANT, PUBLIC)


# Every signed-in person may read their profile and change their password.
_SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
]
# Staff see the menu link to their second factor and sessions (app/views/authentication.py).
_ACCOUNT_SECURITY = [("menu_access", "Security of my account")]

ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    Roles.ADMINISTRATOR: _SELF_SERVICE
    + _ACCOUNT_SECURITY
    + [
        # Reading their procedures' dossiers in the agent workspace (app/views/workspace.py)
        ("can_read", "AgentWorkspace"),
        ("menu_access", "Agent workspace"),
        ("menu_access", "Instruction"),
        # Building procedures
        ("can_read", "ProcedureAdmin"),
        ("can_write", "ProcedureAdmin"),
        ("can_read", "ProcedureHub"),
        ("can_write", "ProcedureHub"),
        ("menu_access", "Build"),
        ("menu_access", "Procedure builder"),
        ("menu_access", "Import a procedure"),
        # Groups, labels, mail templates and attestation (app/views/procedure_parts)
        ("can_read", "ProcedureGroups"),
        ("can_write", "ProcedureGroups"),
        ("can_read", "ProcedureLabels"),
        ("can_write", "ProcedureLabels"),
        ("can_read", "ProcedureMails"),
        ("can_write", "ProcedureMails"),
        ("can_read", "ProcedureAttestation"),
        ("can_write", "ProcedureAttestation"),
        # Statistics of their procedures (app/views/stats.py)
        ("can_read", "ProcedureStatistics"),
        ("menu_access", "Procedure statistics"),
        # The audit log of their procedures (app/views/audit.py)
        ("can_read", "ProcedureJournal"),
        # API tokens and webhooks of their administrations (app/views/integrations.py)
        ("can_read", "Integrations"),
        ("can_write", "Integrations"),
        ("menu_access", "API and webhooks"),
    ],
    Roles.AGENT: _SELF_SERVICE
    + _ACCOUNT_SECURITY
    + [
        # The agent workspace: tables, dossiers, decisions (app/views/workspace.py)
        ("can_read", "AgentWorkspace"),
        ("can_write", "AgentWorkspace"),
        ("menu_access", "Agent workspace"),
        ("menu_access", "Instruction"),
        # Statistics of the procedures of their groups (app/views/stats.py)
        ("can_read", "ProcedureStatistics"),
        ("menu_access", "Procedure statistics"),
    ],
    Roles.EXPERT: _SELF_SERVICE
    + _ACCOUNT_SECURITY
    + [
        # The opinions asked of them (app/views/workspace.py)
        ("can_read", "ExpertOpinions"),
        ("can_write", "ExpertOpinions"),
        ("menu_access", "Expert opinions"),
    ],
    Roles.APPLICANT: list(_SELF_SERVICE),
    Roles.PUBLIC: [],
}
"""(permission, view) pairs of each role besides Admin. The sync makes the database say
exactly this: pairs added here are granted, pairs removed here are revoked."""


def sync_permissions(appbuilder: AppBuilder) -> None:
    """Create the permissions of every registered view and give each role exactly its own;
    the platform admin (Admin) holds every permission."""
    sm = appbuilder.sm
    for role_name in Roles.ALL:
        sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)
    admin = sm.find_role(Roles.ADMIN)
    admin.permissions = db.session.scalars(sa.select(PermissionView)).all()
    for role_name, pairs in ROLE_PERMISSIONS.items():
        role = sm.find_role(role_name)
        wanted = [sm.add_permission_view_menu(perm, view) for perm, view in pairs]
        if {pv.id for pv in wanted} != {pv.id for pv in role.permissions}:
            role.permissions = wanted
            log.info("Permissions of role %s synced", role_name)
    db.session.commit()


def sync_permissions_if_migrated(appbuilder: AppBuilder) -> None:
    """Sync at start-up, unless the database has not been migrated yet (``guichet init``
    syncs right after migrating). Concurrent workers starting at once are harmless: a
    losing writer rolls back and the winner's rows are the same."""
    try:
        if not sa.inspect(db.engine).has_table("ab_permission_view_role"):
            return
        sync_permissions(appbuilder)
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("Permissions not synced at start-up: %s", error)


# ---------------------------------------------------------------------------------------
# Row-level scoping


def role_names(user) -> set[str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return {role.name for role in user.roles}


def is_platform_admin(user) -> bool:
    return Roles.ADMIN in role_names(user)


def administered_administration_ids(user) -> sa.Select:
    return sa.select(AdministrationMember.administration_id).where(
        AdministrationMember.user_id == user.id
    )


def instructed_group_ids(user) -> sa.Select:
    return sa.select(instructor_group_member.c.group_id).where(
        instructor_group_member.c.user_id == user.id
    )


def visible_procedures(user) -> sa.ColumnElement[bool]:
    """Where-clause on ``Procedure``: the procedures a person may open in admin/agent screens.

    An administrator sees their administrations' procedures; an agent the procedures
    of their instructor groups; the platform admin all; everyone else none.
    """
    roles = role_names(user)
    if Roles.ADMIN in roles:
        return sa.true()
    clauses = []
    if Roles.ADMINISTRATOR in roles:
        clauses.append(Procedure.administration_id.in_(administered_administration_ids(user)))
    if Roles.AGENT in roles:
        clauses.append(
            Procedure.id.in_(
                sa.select(InstructorGroup.procedure_id).where(
                    InstructorGroup.id.in_(instructed_group_ids(user))
                )
            )
        )
    return sa.or_(*clauses) if clauses else sa.false()


def administered_procedures(user) -> sa.ColumnElement[bool]:
    """Where-clause on ``Procedure``: the procedures a person may change (settings, form,
    groups, templates, lifecycle)."""
    roles = role_names(user)
    if Roles.ADMIN in roles:
        return sa.true()
    if Roles.ADMINISTRATOR in roles:
        return Procedure.administration_id.in_(administered_administration_ids(user))
    return sa.false()


def visible_dossiers(user) -> sa.ColumnElement[bool]:
    """Where-clause on ``Dossier``: the dossiers a person may see.

    - applicant: their own dossiers and those they accepted an invitation to co-edit;
    - agent: the submitted (non-draft) dossiers of their instructor groups;
    - expert: the dossiers they were asked an opinion about (not revoked);
    - administrator: the submitted dossiers of their administrations' procedures;
    - platform admin: all.

    A person holding several roles sees the union.
    """
    roles = role_names(user)
    if not roles:
        return sa.false()
    if Roles.ADMIN in roles:
        return sa.true()
    clauses = []
    if Roles.APPLICANT in roles:
        clauses.append(Dossier.owner_id == user.id)
        clauses.append(
            Dossier.id.in_(
                sa.select(Invitation.dossier_id).where(
                    Invitation.user_id == user.id,
                    Invitation.accepted_at.is_not(None),
                    Invitation.revoked_at.is_(None),
                )
            )
        )
    not_draft = Dossier.state != DossierState.draft
    if Roles.AGENT in roles:
        clauses.append(sa.and_(not_draft, Dossier.group_id.in_(instructed_group_ids(user))))
    if Roles.EXPERT in roles:
        clauses.append(
            sa.and_(
                not_draft,
                Dossier.id.in_(
                    sa.select(Opinion.dossier_id).where(
                        Opinion.expert_id == user.id, Opinion.revoked_at.is_(None)
                    )
                ),
            )
        )
    if Roles.ADMINISTRATOR in roles:
        clauses.append(
            sa.and_(
                not_draft,
                Dossier.procedure_id.in_(
                    sa.select(Procedure.id).where(
                        Procedure.administration_id.in_(administered_administration_ids(user))
                    )
                ),
            )
        )
    return sa.or_(*clauses) if clauses else sa.false()


def _exists(model, object_id: int, clause: sa.ColumnElement[bool]) -> bool:
    statement = sa.select(sa.literal(True)).where(model.id == object_id, clause)
    return bool(db.session.scalar(statement))


def can_see_dossier(user, dossier: Dossier | int) -> bool:
    dossier_id = dossier if isinstance(dossier, int) else dossier.id
    return _exists(Dossier, dossier_id, visible_dossiers(user))


def can_see_procedure(user, procedure: Procedure | int) -> bool:
    procedure_id = procedure if isinstance(procedure, int) else procedure.id
    return _exists(Procedure, procedure_id, visible_procedures(user))


def can_administer_procedure(user, procedure: Procedure | int) -> bool:
    """Whether a person may change a procedure's settings and form."""
    procedure_id = procedure if isinstance(procedure, int) else procedure.id
    return _exists(Procedure, procedure_id, administered_procedures(user))
