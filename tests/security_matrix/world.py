"""One world for the permission matrix: every kind of actor, and two sides of objects.

Side "own" is the world the actors live in: an administration, its published procedure
with two instructor groups, dossiers in several states with their invitation, opinion,
messages, file, label, follow and saved view. Side "theirs" is the same set of objects in
another administration that none of the actors (but the platform admin) has anything to
do with: calling a route on its ids is guessing someone else's ids.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app

import factories as make
from app.extensions import db
from app.models import (
    BatchJob,
    DossierState,
    ExportFormat,
    ExportJob,
    FieldDefinition,
    Follow,
    InstructorGroup,
    JobState,
    Label,
    MailEvent,
    SavedView,
    SupportRequest,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from app.models.message import AuthorKind, Message
from app.security import Roles

ANONYMOUS = "anonymous"
APPLICANT = "applicant"
OTHER_APPLICANT = "other_applicant"
CO_EDITOR = "co_editor"
AGENT = "agent"
OTHER_AGENT = "other_agent"
EXPERT = "expert"
ADMINISTRATOR = "administrator"
OTHER_ADMINISTRATOR = "other_administrator"
PLATFORM_ADMIN = "platform_admin"

ACTORS = (
    ANONYMOUS,
    APPLICANT,
    OTHER_APPLICANT,
    CO_EDITOR,
    AGENT,
    OTHER_AGENT,
    EXPERT,
    ADMINISTRATOR,
    OTHER_ADMINISTRATOR,
    PLATFORM_ADMIN,
)
"""Who calls every route. ``agent`` instructs the group of the dossiers; ``other_agent``
instructs the other group of the same procedure; ``other_administrator`` administers
another administration (with a procedure of its own)."""

_ROLES = {
    APPLICANT: Roles.APPLICANT,
    OTHER_APPLICANT: Roles.APPLICANT,
    CO_EDITOR: Roles.APPLICANT,
    AGENT: Roles.AGENT,
    OTHER_AGENT: Roles.AGENT,
    EXPERT: Roles.EXPERT,
    ADMINISTRATOR: Roles.ADMINISTRATOR,
    OTHER_ADMINISTRATOR: Roles.ADMINISTRATOR,
    PLATFORM_ADMIN: Roles.ADMIN,
}

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    people: dict[str, str]
    """Actor name -> username (no entry for the anonymous visitor)."""
    own: dict[str, Any]
    theirs: dict[str, Any]
    """Object name -> URL value (an id, a slug, a name), per side."""


def build(mail_dir: Path) -> World:
    """Make the world (inside an app context); everything is committed."""
    people = {name: make.user(role, can_log_in=True) for name, role in _ROLES.items()}
    own = _side(
        administrator=people[ADMINISTRATOR],
        applicant=people[APPLICANT],
        co_editor=people[CO_EDITOR],
        agent=people[AGENT],
        other_agent=people[OTHER_AGENT],
        expert=people[EXPERT],
    )
    # The other administrator has an administration and a procedure of their own.
    elsewhere = make.administration(people[OTHER_ADMINISTRATOR])
    make.procedure(elsewhere)
    hidden = {
        "administrator": make.user(Roles.ADMINISTRATOR),
        "applicant": make.user(Roles.APPLICANT),
        "co_editor": make.user(Roles.APPLICANT),
        "agent": make.user(Roles.AGENT),
        "other_agent": make.user(Roles.AGENT),
        "expert": make.user(Roles.EXPERT),
    }
    theirs = _side(**hidden)
    theirs["user"] = hidden["applicant"].id
    own["user"] = people[APPLICANT].id
    mail_dir.mkdir(parents=True, exist_ok=True)
    (mail_dir / "00000001-matrix.eml").write_text(
        "From: guichet@example.org\nTo: someone@example.org\nSubject: Matrice\n\nBonjour\n"
    )
    own["mail"] = theirs["mail"] = "00000001-matrix.eml"
    group = current_app.appbuilder.sm.add_group("matrix", "Matrice", "Un groupe FAB")
    own["fab_group"] = theirs["fab_group"] = group.id
    return World(
        people={name: person.username for name, person in people.items()}, own=own, theirs=theirs
    )


def _integration(procedure, administrator, agent, dossier) -> dict[str, Any]:
    """The agent's finished export and batch, the administrator's API token and webhook
    (with one delivery)."""
    from app.services import api_tokens, webhooks
    from plugins.attachments import services as attachments

    exported = attachments.store_generated(
        io.BytesIO(b"numero;nom\n1;Martin\n"),
        "export.csv",
        "text/csv",
        "text",
        attachments.target_for("export"),
        agent,
    )
    export = ExportJob(
        procedure_id=procedure.id,
        requested_by_id=agent.id,
        format=ExportFormat.csv,
        state=JobState.done,
        total=1,
        done=1,
        attachment_id=exported.id,
        expires_at=utcnow() + timedelta(days=1),
    )
    batch = BatchJob(
        procedure_id=procedure.id,
        requested_by_id=agent.id,
        action="follow",
        dossier_ids=[dossier.id],
        state=JobState.done,
        done=1,
    )
    token = api_tokens.create(
        administrator, procedure.administration_id, "Matrice", [procedure.id]
    ).token
    webhook = Webhook(
        procedure_id=procedure.id,
        url="https://hooks.example.org/guichet",
        secret="matrix",
        events=[webhooks.SUBMITTED],
        created_by_id=administrator.id,
    )
    db.session.add_all([export, batch, webhook])
    db.session.flush()
    delivery = WebhookDelivery(
        webhook_id=webhook.id, event_id=f"matrix-{webhook.id}", event=webhooks.SUBMITTED, payload={}
    )
    db.session.add(delivery)
    db.session.commit()
    return {
        "export_job": export.id,
        "batch_job": batch.id,
        "token": token.id,
        "webhook": webhook.id,
        "delivery": delivery.id,
    }


def _side(*, administrator, applicant, co_editor, agent, other_agent, expert) -> dict[str, Any]:
    """An administration, its procedure, and the objects around three of its dossiers."""
    from plugins.attachments import services as attachments

    administration = make.administration(administrator)
    procedure = make.procedure(administration, agent)
    revision = procedure.published_revision
    db.session.add_all(
        [
            FieldDefinition(
                revision=revision, stable_id="nom", type="text", label="Nom", position=1
            ),
            FieldDefinition(
                revision=revision,
                stable_id="pj",
                type="attachment",
                label="Pièce",
                options={"max_files": 2},
                position=2,
            ),
        ]
    )
    other_group = InstructorGroup(name="Autre groupe", position=1, members=[other_agent])
    procedure.groups.append(other_group)
    label = Label(procedure=procedure, name="Urgent")
    db.session.add(label)
    db.session.commit()

    submitted = make.dossier(procedure, applicant, DossierState.in_review)
    submitted.submitted_at = submitted.review_started_at = utcnow()
    submitted.labels.append(label)
    draft = make.dossier(procedure, applicant, DossierState.draft)
    decided = make.dossier(procedure, applicant, DossierState.accepted)
    decided.submitted_at = decided.decided_at = utcnow() - timedelta(days=30)
    decided.expires_at = utcnow() + timedelta(days=7)
    invitation = make.invitation(submitted, co_editor)
    make.invitation(draft, co_editor)
    make.invitation(decided, co_editor)
    opinion = make.opinion(submitted, expert)
    agent_message = Message(
        dossier_id=submitted.id, author_id=agent.id, author_kind=AuthorKind.agent, body="Bonjour"
    )
    applicant_message = Message(
        dossier_id=submitted.id,
        author_id=applicant.id,
        author_kind=AuthorKind.applicant,
        body="Merci",
    )
    db.session.add_all(
        [
            agent_message,
            applicant_message,
            Follow(dossier_id=submitted.id, user_id=agent.id),
            SavedView(user_id=agent.id, procedure_id=procedure.id, columns=["nom"]),
        ]
    )
    support = SupportRequest(
        author_id=applicant.id,
        name="Camille Martin",
        email=applicant.email,
        subject="Question",
        body="Bonjour",
    )
    db.session.add(support)
    db.session.commit()
    field = attachments.attachment_field(submitted, "pj")
    attachment = attachments.store_upload(
        io.BytesIO(PDF),
        "piece.pdf",
        "application/pdf",
        attachments.target_for("form_field", dossier=submitted, field=field),
        applicant,
    )
    db.session.commit()
    submitted.answers = {"nom": "Martin", "pj": [attachment.id]}
    db.session.commit()
    integration = _integration(procedure, administrator, agent, submitted)
    return {
        **integration,
        "administration": administration.id,
        "procedure": procedure.id,
        "slug": procedure.slug,
        "group": procedure.groups[0].id,
        "other_group": other_group.id,
        "label": label.id,
        "dossier": submitted.id,
        "draft": draft.id,
        "decided": decided.id,
        "invitation": invitation.id,
        "opinion": opinion.id,
        "message": agent_message.id,
        "applicant_message": applicant_message.id,
        "attachment": attachment.id,
        "support_request": support.id,
        "member": administrator.id,
        "group_member": agent.id,
        "field": "nom",
        "mail_event": MailEvent.submitted.value,
    }
