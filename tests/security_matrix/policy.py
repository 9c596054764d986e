"""The declared permission policy: for every route of the app, who may call it.

Each endpoint of ``app.url_map`` has an entry (or matches a pattern below); the matrix
test (``test_permission_matrix.py``) calls every route as every actor of ``world.py``, on
the objects of their own world ("own") and on the same kind of objects of an administration
none of them belongs to ("theirs"), and compares with this file. A route missing here fails
the test with its name: adding a route means adding one line here.

Reading an entry: ``allow(AGENT, ADMINISTRATOR, PLATFORM_ADMIN, number="decided")`` lets
the agent of the dossier's group, the administrator of its administration and the platform
admin call the route, on the URL built with the decided dossier for ``<number>``; everyone
else is refused (anonymous: redirected to a login page; signed in: 403 or 404), and on the
"theirs" objects the agent and the administrator get 404 (a guessed id is a missing id).
Allowed reads must succeed (below 400); writes are sent to the refused actors only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .world import (
    ACTORS,
    ADMINISTRATOR,
    AGENT,
    ANONYMOUS,
    APPLICANT,
    CO_EDITOR,
    EXPERT,
    OTHER_ADMINISTRATOR,
    OTHER_AGENT,
    PLATFORM_ADMIN,
)

SIGNED_IN = frozenset(ACTORS) - {ANONYMOUS}

OBJECT_ARGUMENTS = {
    "administration_id": "administration",
    "procedure_id": "procedure",
    "slug": "slug",
    "number": "dossier",
    "dossier_id": "dossier",
    "group_id": "group",
    "label_id": "label",
    "opinion_id": "opinion",
    "message_id": "message",
    "invitation_id": "invitation",
    "attachment_id": "attachment",
    "request_id": "support_request",
    "stable_id": "field",
    "event_name": "mail_event",
    "user_id": "member",
    "job_id": "export_job",
    "token_id": "token",
    "webhook_id": "webhook",
    "delivery_id": "delivery",
    "file_id": "attachment",
}
"""URL arguments naming an object, and the world object used for them by default. Routes
with one of these are called twice: with the actor's world's ids and with another's."""

OTHER_ARGUMENTS = {
    "token": "not-a-valid-token",
    "locale": "fr",
    "code": "fr",
    "name": "muldelete",
    "filename": "export.csv",
    "group_by": "0",
    "use": "logo",
}
"""URL arguments that name no one's object, with the value used for them."""


@dataclass(frozen=True)
class Access:
    allowed: frozenset[str]
    """Actors allowed on their own world's objects."""
    objects: dict[str, str] = field(default_factory=dict)
    """URL argument -> world object, where the default of ``OBJECT_ARGUMENTS`` is not it."""
    form: dict[str, str] = field(default_factory=dict)
    """Fields of the POST sent to refused actors: name -> world object (or a literal)."""
    public_objects: bool = False
    """Objects anyone may reach (a published procedure's start page): whoever is allowed on
    their own world's is allowed on another's too."""
    anonymous: str = "login"
    """How an anonymous visitor is refused: "login" (302 to a login page), "401", "404"."""
    refused_with: int | None = None
    """The status every signed-in refused actor gets, when it must be exactly one."""
    dead: bool = False
    """A route FAB exposes for a feature Guichet does not use (model actions, downloads of
    file columns): every call fails, and writes nothing."""


def allow(
    *actors: str, form: dict[str, str] | None = None, anonymous: str = "login", **objects: str
) -> Access:
    """These actors (the platform admin only when named), on their own world's objects."""
    return Access(frozenset(actors), dict(objects), dict(form or {}), anonymous=anonymous)


def public(*, public_objects: bool = True, **objects: str) -> Access:
    """Everyone, anonymous visitors included."""
    return Access(frozenset(ACTORS), dict(objects), public_objects=public_objects)


def signed_in(*, anonymous: str = "login", **objects: str) -> Access:
    """Every signed-in person; anonymous visitors are refused."""
    return Access(SIGNED_IN, dict(objects), public_objects=True, anonymous=anonymous)


def by_token(status: int = 404) -> Access:
    """A secret token is the only credential: a made-up one gets ``status``, whoever asks."""
    return Access(frozenset(), anonymous=str(status), refused_with=status)


NOBODY = Access(frozenset())
CLOSED = Access(frozenset(), anonymous="404", refused_with=404)
"""A route that answers 404 to everyone."""
PLATFORM_ONLY = allow(PLATFORM_ADMIN)
DEAD = Access(frozenset(), dead=True)

# Who sees a dossier under instruction, and who builds a procedure.
DOSSIER_READERS = (AGENT, ADMINISTRATOR, PLATFORM_ADMIN)
BUILDERS = (ADMINISTRATOR, PLATFORM_ADMIN)
PROCEDURE_READERS = (AGENT, OTHER_AGENT, ADMINISTRATOR, PLATFORM_ADMIN)
WORKSPACE_USERS = (AGENT, OTHER_AGENT, ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN)
STAFF = (*WORKSPACE_USERS, EXPERT)
ADMINISTRATORS = (ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN)

POLICY: dict[str, Access] = {
    # -- public pages --------------------------------------------------------------------
    "public_forms.home": public(),
    "public_forms.accessibility": public(),
    "public_forms.communes": public(),
    "public_forms.check_mailbox": public(),
    "public_forms.login": public(),
    "public_forms.signup": public(),
    "public_forms.forgot": public(),
    "public_forms.logout": public(),
    "public_forms.language": public(),
    "public_forms.start": public(),
    "health.healthz": public(),
    "stats.public": public(),
    "support.contact": public(),
    "support.sent": public(),
    "BackOfficeIndexView.index": public(),
    "UtilView.back": public(),
    "LocaleView.index": public(),
    "AuthDBView.login": public(),
    "AuthDBView.logout": public(),
    "GuichetAuthDBView.login": public(),
    "GuichetAuthDBView.logout": public(),
    # -- a token in the URL is the credential -----------------------------------------------
    "SetPasswordView.set_password": by_token(),
    "public_forms.start_test": by_token(),
    "public_forms.confirm": by_token(),
    "public_forms.confirm_email": by_token(),
    "public_forms.reset": by_token(),
    "public_forms.accept_invitation": by_token(),
    # FAB's JWT login is closed (app/api/__init__.py): a password alone is no way in.
    "SecurityApi.login": CLOSED,
    "SecurityApi.refresh": CLOSED,
    "public_forms.prefilled_dossier": by_token(),
    # -- the REST API: a bearer token is the only credential (a session is not) ------------
    "ApiDescription.openapi": public(),
    "ApiV1.procedures": by_token(401),
    "ApiV1.dossiers": by_token(401),
    "ApiV1.dossier": by_token(401),
    "ApiV1.file": by_token(401),
    "ApiV1.prefill": by_token(401),
    "ApiV1.change_state": by_token(401),
    "ApiV1.post_message": by_token(401),
    "ApiV1.set_annotations": by_token(401),
    "ApiV1.add_label": by_token(401),
    "ApiV1.remove_label": by_token(401),
    # -- every signed-in person, about themselves --------------------------------------------
    "public_forms.my_dossiers": signed_in(),
    "public_forms.change_email": signed_in(),
    "public_forms.new_dossier": signed_in(),
    "ResetMyPasswordView.this_form_get": signed_in(),
    "ResetMyPasswordView.this_form_post": signed_in(),
    "GuichetAuthDBView.two_factor": signed_in(),
    # staff: their second factor and sessions (applicants have none of it)
    "AccountSecurityView.index": allow(*STAFF, anonymous="404"),
    "AccountSecurityView.enrol": allow(*STAFF, anonymous="404"),
    "AccountSecurityView.recovery_codes": allow(*STAFF, anonymous="404"),
    "AccountSecurityView.new_recovery_codes": allow(*STAFF, anonymous="404"),
    "AccountSecurityView.turn_off": allow(*STAFF, anonymous="404"),
    # staff and applicants ("My dossiers" has the button)
    "AccountSecurityView.sign_out": signed_in(anonymous="404"),
    "AccountSecurityView.people": allow(PLATFORM_ADMIN, anonymous="404"),
    "AccountSecurityView.reset_two_factor": allow(PLATFORM_ADMIN, anonymous="404"),
    # -- the applicant's dossier on the portal ----------------------------------------------
    "public_forms.dossier": allow(APPLICANT, CO_EDITOR),
    "public_forms.confirmation": allow(APPLICANT, CO_EDITOR),
    "public_forms.edit_dossier": allow(APPLICANT, CO_EDITOR, number="draft"),
    "public_forms.identity": allow(APPLICANT, CO_EDITOR, number="draft"),
    "public_forms.autosave": allow(APPLICANT, CO_EDITOR, number="draft", anonymous="401"),
    "public_forms.submit": allow(APPLICANT, CO_EDITOR, number="draft"),
    "public_forms.delete_draft": allow(APPLICANT, number="draft"),
    "public_forms.invite": allow(APPLICANT, form={"email": "stranger@example.org"}),
    "public_forms.revoke_invitation": allow(APPLICANT),
    "public_forms.hide_dossier": allow(APPLICANT, number="decided"),
    "public_forms.restore_dossier": allow(APPLICANT, number="decided"),
    "public_forms.satisfaction": allow(
        APPLICANT, CO_EDITOR, number="decided", form={"level": "good"}
    ),
    "retention.extend": allow(APPLICANT, number="decided"),
    # -- files ----------------------------------------------------------------------------
    "attachments.download": allow(
        APPLICANT, CO_EDITOR, AGENT, EXPERT, ADMINISTRATOR, PLATFORM_ADMIN, anonymous="404"
    ),
    "attachments.remove": allow(APPLICANT, anonymous="404"),
    "attachments.dossier_zip": allow(*DOSSIER_READERS, anonymous="404"),
    "attachments.upload": allow(
        APPLICANT,
        CO_EDITOR,
        anonymous="401",
        form={"use": "form_field", "dossier": "draft", "field": "pj"},
    ),
    # -- the message thread ---------------------------------------------------------------
    "messaging.thread": allow(APPLICANT, CO_EDITOR, AGENT, ADMINISTRATOR, PLATFORM_ADMIN),
    "messaging.confirm_delete": allow(AGENT),
    "messaging.delete": allow(AGENT),
    "messaging.broadcast": allow(*PROCEDURE_READERS),
    # -- the agent workspace --------------------------------------------------------------
    "WorkspaceView.index": allow(
        AGENT, OTHER_AGENT, ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN
    ),
    # administrators read their procedures' tables (and keep their own columns and filters)
    "WorkspaceView.table": allow(*PROCEDURE_READERS),
    "WorkspaceView.columns": allow(*PROCEDURE_READERS),
    "WorkspaceView.add_filter": allow(*PROCEDURE_READERS),
    "WorkspaceView.remove_filter": allow(*PROCEDURE_READERS),
    "DossierInstructionView.show": allow(*DOSSIER_READERS),
    "DossierInstructionView.print_view": allow(*DOSSIER_READERS),
    "DossierInstructionView.answers_pdf": allow(*DOSSIER_READERS),
    "DossierInstructionView.annotations": allow(AGENT, PLATFORM_ADMIN),
    "DossierInstructionView.follow": allow(AGENT, PLATFORM_ADMIN),
    "DossierInstructionView.unfollow": allow(AGENT, PLATFORM_ADMIN),
    "DossierInstructionView.reassign": allow(AGENT, PLATFORM_ADMIN, form={"group": "other_group"}),
    "DossierInstructionView.label": allow(AGENT, PLATFORM_ADMIN, form={"label": "label"}),
    "DossierInstructionView.ask_opinion": allow(AGENT, PLATFORM_ADMIN),
    "DossierInstructionView.remind_opinion": allow(AGENT, PLATFORM_ADMIN),
    "DossierInstructionView.revoke_opinion": allow(AGENT, PLATFORM_ADMIN),
    "DossierInstructionView.transition": allow(
        AGENT, PLATFORM_ADMIN, form={"event": "accept", "motivation": "Matrice"}
    ),
    # exports of a table, by whoever reads it; the file and its job are the requester's
    "ExportView.index": allow(*WORKSPACE_USERS),
    "ExportView.status": allow(*WORKSPACE_USERS),
    "ExportView.create": allow(*PROCEDURE_READERS, form={"format": "csv"}),
    "ExportView.download": allow(AGENT),
    # batch actions by the agents who act on dossiers (administrators only read)
    "BatchView.create": allow(AGENT, OTHER_AGENT, PLATFORM_ADMIN, form={"action": "follow"}),
    "BatchView.show": allow(AGENT, job_id="batch_job"),
    "NotificationPreferencesView.preferences": allow(*PROCEDURE_READERS),
    "ExpertOpinionView.index": allow(EXPERT, PLATFORM_ADMIN),
    "ExpertOpinionView.show": allow(EXPERT),
    "ExpertOpinionView.answer": allow(EXPERT, form={"answer": "Favorable"}),
    # -- building procedures --------------------------------------------------------------
    "ProcedureAdminView.list": allow(ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN),
    "ProcedureAdminView.add": allow(ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN),
    "ProcedureAdminView.show": allow(*BUILDERS, pk="procedure"),
    "ProcedureAdminView.edit": allow(*BUILDERS, pk="procedure"),
    "ProcedureAdminView.delete": NOBODY,  # deleting goes through the hub
    "ProcedureAdminView.download": NOBODY,
    "ProcedureHubView.import_document": allow(ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN),
    "ProcedureHubView.index": allow(*BUILDERS),
    "ProcedureHubView.export": allow(*BUILDERS),
    "ProcedureHubView.publish": allow(*BUILDERS),
    "ProcedureHubView.unpublish": allow(*BUILDERS),
    "ProcedureHubView.close": allow(*BUILDERS),
    "ProcedureHubView.clone": allow(*BUILDERS),
    "ProcedureHubView.delete": allow(*BUILDERS),
    "public_forms.preview": allow(*BUILDERS, anonymous="404"),
    "FormEditorView.form": allow(*BUILDERS),
    "FormEditorView.annotations": allow(*BUILDERS),
    "FormEditorView.rules": allow(*BUILDERS),
    "FormEditorView.field": allow(*BUILDERS),
    # no type sent: someone else's procedure must answer 404 before the form is read
    "FormEditorView.add": allow(*BUILDERS),
    "FormEditorView.edit": allow(*BUILDERS, form={"label": "Matrice"}),
    "FormEditorView.move": allow(*BUILDERS),
    "FormEditorView.duplicate": allow(*BUILDERS),
    "FormEditorView.delete": allow(*BUILDERS),
    "FormEditorView.save_eligibility": allow(*BUILDERS),
    "FormEditorView.save_routing": allow(*BUILDERS),
    "ProcedureGroupsView.index": allow(*BUILDERS),
    "ProcedureGroupsView.create": allow(*BUILDERS, form={"name": "Matrice"}),
    "ProcedureGroupsView.rename": allow(*BUILDERS, form={"name": "Matrice"}),
    "ProcedureGroupsView.move": allow(*BUILDERS, form={"direction": "down"}),
    "ProcedureGroupsView.close": allow(*BUILDERS, group_id="other_group"),
    "ProcedureGroupsView.reopen": allow(*BUILDERS, group_id="other_group"),
    "ProcedureGroupsView.make_default": allow(*BUILDERS, group_id="other_group"),
    "ProcedureGroupsView.confirm_delete": allow(*BUILDERS, group_id="other_group"),
    "ProcedureGroupsView.delete": allow(*BUILDERS, group_id="other_group"),
    "ProcedureGroupsView.add_member": allow(*BUILDERS, form={"email": "stranger@example.org"}),
    "ProcedureGroupsView.remove_member": allow(*BUILDERS, user_id="group_member"),
    "ProcedureLabelsView.index": allow(*BUILDERS),
    "ProcedureLabelsView.create": allow(*BUILDERS, form={"name": "Matrice", "color": "blue"}),
    "ProcedureLabelsView.update": allow(*BUILDERS, form={"name": "Matrice", "color": "blue"}),
    "ProcedureLabelsView.confirm_delete": allow(*BUILDERS),
    "ProcedureLabelsView.delete": allow(*BUILDERS),
    "ProcedureMailsView.index": allow(*BUILDERS),
    "ProcedureMailsView.edit": allow(*BUILDERS),
    "ProcedureMailsView.save": allow(*BUILDERS, form={"subject": "Matrice", "body": "Matrice"}),
    "ProcedureMailsView.reset": allow(*BUILDERS),
    "ProcedureAttestationView.index": allow(*BUILDERS),
    "ProcedureAttestationView.save": allow(*BUILDERS),
    "ProcedureAttestationView.preview": allow(*BUILDERS),
    "ProcedureJournalView.journal": allow(*BUILDERS),
    "ProcedureFilesView.index": allow(*BUILDERS),
    "ProcedureFilesView.upload": allow(*BUILDERS),
    "ProcedureFilesView.remove": allow(*BUILDERS),
    # API tokens and webhooks of the administrations one administers
    "IntegrationsView.index": allow(*ADMINISTRATORS),
    "IntegrationsView.new_token": allow(*ADMINISTRATORS),
    "IntegrationsView.new_webhook": allow(*ADMINISTRATORS),
    "IntegrationsView.revoke_token": allow(*BUILDERS),
    "IntegrationsView.webhook": allow(*BUILDERS),
    "IntegrationsView.toggle_webhook": allow(*BUILDERS),
    "IntegrationsView.delete_webhook": allow(*BUILDERS),
    "IntegrationsView.redeliver": allow(*BUILDERS),
    "ProcedureStatisticsView.index": allow(
        AGENT, OTHER_AGENT, ADMINISTRATOR, OTHER_ADMINISTRATOR, PLATFORM_ADMIN
    ),
    "ProcedureStatisticsView.show": allow(*PROCEDURE_READERS),
    "ProcedureStatisticsView.download": allow(*PROCEDURE_READERS),
    # -- FAB's generic model views over procedures and dossiers: read-only, scoped --------
    "ProcedureView.list": PLATFORM_ONLY,
    "ProcedureView.show": allow(PLATFORM_ADMIN, pk="procedure"),
    "ProcedureView.add": NOBODY,
    "ProcedureView.edit": NOBODY,
    "ProcedureView.delete": NOBODY,
    "ProcedureView.download": NOBODY,
    "DossierView.list": PLATFORM_ONLY,
    "DossierView.show": allow(PLATFORM_ADMIN, pk="dossier"),
    "DossierView.add": NOBODY,
    "DossierView.edit": NOBODY,
    "DossierView.delete": NOBODY,
    "DossierView.download": NOBODY,
    # -- the platform admin ---------------------------------------------------------------
    "AdministrationView.list": PLATFORM_ONLY,
    "AdministrationView.show": allow(PLATFORM_ADMIN, pk="administration"),
    "AdministrationView.add": PLATFORM_ONLY,
    "AdministrationView.edit": allow(PLATFORM_ADMIN, pk="administration"),
    "AdministrationView.delete": allow(PLATFORM_ADMIN, pk="administration"),
    "AdministrationView.download": DEAD,  # FAB's file column download: no UPLOAD_FOLDER
    "AdministrationMembersView.members": PLATFORM_ONLY,
    "AdministrationMembersView.add": PLATFORM_ONLY,
    "AdministrationMembersView.remove": PLATFORM_ONLY,
    "PlatformJournalView.index": PLATFORM_ONLY,
    "PlatformStatisticsView.index": PLATFORM_ONLY,
    "WrittenMailView.index": PLATFORM_ONLY,
    "WrittenMailView.show": allow(PLATFORM_ADMIN, name="mail"),
    "SupportRequestView.index": PLATFORM_ONLY,
    "SupportRequestView.show": PLATFORM_ONLY,
    "SupportRequestView.answer": PLATFORM_ONLY,
    "SupportRequestView.close": PLATFORM_ONLY,
    "SupportRequestView.reopen": PLATFORM_ONLY,
    "MenuApi.get_menu_data": allow(PLATFORM_ADMIN, anonymous="401"),
    "ResetPasswordView.this_form_get": PLATFORM_ONLY,
    "ResetPasswordView.this_form_post": PLATFORM_ONLY,
    "UserInfoEditView.this_form_get": PLATFORM_ONLY,
    "UserInfoEditView.this_form_post": PLATFORM_ONLY,
    # -- FAB's security screens -----------------------------------------------------------
    "UserDBModelView.userinfo": signed_in(),
    "UserDBModelView.show": allow(PLATFORM_ADMIN, pk="user"),
    "UserDBModelView.edit": allow(PLATFORM_ADMIN, pk="user"),
    "UserDBModelView.delete": allow(PLATFORM_ADMIN, pk="user"),
    "UserGroupModelView.show": allow(PLATFORM_ADMIN, pk="fab_group"),
    "UserGroupModelView.edit": allow(PLATFORM_ADMIN, pk="fab_group"),
    "UserGroupModelView.delete": allow(PLATFORM_ADMIN, pk="fab_group"),
}

PATTERNS: list[tuple[re.Pattern[str], Access]] = [
    # Files served from static folders: public.
    (re.compile(r"(^|\.)static$"), public()),
    # FAB's model actions: no view of Guichet declares any.
    (re.compile(r"\.action(_post)?$"), DEAD),
    # FAB's permission screens are read-only lists.
    (
        re.compile(r"^(PermissionModelView|ViewMenuModelView|PermissionViewModelView)\.list$"),
        PLATFORM_ONLY,
    ),
    (re.compile(r"^(PermissionModelView|ViewMenuModelView|PermissionViewModelView)\.\w+$"), NOBODY),
    (re.compile(r"^(UserDBModelView|RoleModelView|UserGroupModelView)\.download$"), DEAD),
    # FAB's other security screens (users, roles, groups): the platform admin only.
    (
        re.compile(
            r"^(UserDBModelView|RoleModelView|PermissionModelView|ViewMenuModelView|"
            r"PermissionViewModelView|UserGroupModelView|UserStatsChartView)\.\w+$"
        ),
        PLATFORM_ONLY,
    ),
]


def access_for(endpoint: str) -> Access | None:
    """The declared access of an endpoint, or None when it is not declared."""
    if endpoint in POLICY:
        return POLICY[endpoint]
    for pattern, access in PATTERNS:
        if pattern.search(endpoint):
            return access
    return None
