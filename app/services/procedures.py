"""The procedure lifecycle and its revisions: create, edit the draft form, publish,
publish changes, close, unpublish, republish, clone.

A published revision is frozen. Editing a published procedure works on a new draft
revision whose fields keep their ``stable_id``; "publish changes" freezes it, checks that
every changed field type is compatible, and moves the open dossiers onto it.
Functions change the session and leave the commit to the caller (one transaction per
request or task).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import signals
from ..extensions import db
from ..models import (
    Administration,
    AttestationTemplate,
    Dossier,
    DossierState,
    FieldDefinition,
    InstructorGroup,
    Label,
    MailTemplate,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
    utcnow,
)
from . import outbox

OPEN_STATES = (DossierState.draft, DossierState.submitted, DossierState.in_review)

# Settings copied by clone (and by export/import): everything but identity and lifecycle.
SETTINGS = (
    "title",
    "description",
    "audience",
    "documents_to_prepare",
    "legal_basis",
    "service_name",
    "service_email",
    "service_phone",
    "service_address",
    "service_hours",
    "opens_at",
    "deadline_at",
    "retention_months",
    "draft_retention_days",
    "declarative_mode",
    "filer_kind",
    "allow_on_behalf",
    "hide_agent_identity",
    "experts_can_message",
    "sections_as_steps",
)


class ProcedureError(Exception):
    """A lifecycle action the procedure's state or content does not allow."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def slugify(text: str, max_length: int = 80) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "demarche"


def unique_slug(title: str) -> str:
    base = slugify(title)
    slug, n = base, 1
    with db.session.no_autoflush:  # the new procedure itself is not ready to be written
        while db.session.scalar(sa.select(Procedure.id).where(Procedure.slug == slug)):
            n += 1
            slug = f"{base}-{n}"
    return slug


def create_procedure(administration: Administration, title: str, **settings: Any) -> Procedure:
    """A new procedure in test mode, with an empty draft revision and a default group."""
    procedure = Procedure(administration=administration, title=title, **settings)
    initialise(procedure)
    db.session.add(procedure)
    return procedure


def initialise(procedure: Procedure) -> None:
    """Give a new procedure what every procedure has: a unique slug, the test link, an
    empty draft revision and a default instructor group."""
    procedure.slug = procedure.slug or unique_slug(procedure.title)
    procedure.state = ProcedureState.draft
    procedure.test_token = secrets.token_urlsafe(16)
    procedure.draft_revision = ProcedureRevision(
        procedure=procedure, number=1, state=RevisionState.draft
    )
    if not procedure.groups:
        procedure.groups.append(InstructorGroup(name=str(_l("Default group")), is_default=True))


def delete_draft(procedure: Procedure) -> None:
    """Delete a procedure that was never published (its test dossiers go with it)."""
    if procedure.state != ProcedureState.draft or procedure.published_at is not None:
        raise ProcedureError(_l("Only a procedure that was never published can be deleted."))
    _wipe_test_dossiers(procedure)
    procedure.draft_revision = None
    db.session.flush()
    db.session.delete(procedure)


def editable_revision(procedure: Procedure) -> ProcedureRevision:
    """The draft revision administrators edit, made from the published one if needed."""
    if procedure.draft_revision is not None:
        return procedure.draft_revision
    source = procedure.published_revision
    number = 1 + max((revision.number for revision in procedure.revisions), default=0)
    revision = ProcedureRevision(
        procedure=procedure,
        number=number,
        state=RevisionState.draft,
        eligibility_rules=list(source.eligibility_rules) if source else [],
    )
    db.session.add(revision)
    if source is not None:
        copy_fields(source, revision)
    procedure.draft_revision = revision
    return revision


def copy_fields(source: ProcedureRevision, target: ProcedureRevision) -> None:
    """Copy every field (stable ids, repetition children included) into another revision."""
    copies: dict[int, FieldDefinition] = {}
    for field in source.fields:
        copy = FieldDefinition(
            stable_id=field.stable_id,
            type=field.type,
            label=field.label,
            help=field.help,
            required=field.required,
            private=field.private,
            options=dict(field.options or {}),
            condition=field.condition,
            position=field.position,
        )
        copies[field.id] = copy
        target.fields.append(copy)
    for field in source.fields:
        if field.parent_id is not None:
            copies[field.id].parent = copies[field.parent_id]


def form_order(revision: ProcedureRevision, private: bool | None = None) -> list[FieldDefinition]:
    """A revision's fields in the order the form shows them: each top-level field by
    position, a repeated block's children right after it. ``private`` picks the form
    (False), the annotations (True) or both (None)."""
    chosen = [f for f in revision.fields if private is None or f.private == private]
    ordered = []
    for field in sorted((f for f in chosen if f.parent is None), key=lambda f: f.position):
        ordered.append(field)
        ordered.extend(sorted((c for c in chosen if c.parent is field), key=lambda c: c.position))
    return ordered


def incompatible_changes(old: ProcedureRevision, new: ProcedureRevision) -> list[str]:
    """Why ``new`` cannot replace ``old`` for existing dossiers (empty when it can)."""
    from ..fields.definitions import check_type_change

    before = {field.stable_id: field for field in old.fields}
    problems = []
    for field in new.fields:
        previous = before.get(field.stable_id)
        reason = previous and check_type_change(previous.type, field.type)
        if reason:
            problems.append(
                str(_l("The field “%(label)s”: %(reason)s", label=field.label, reason=reason))
            )
    return problems


def form_problems(revision: ProcedureRevision) -> list[str]:
    """What prevents a revision's form (and annotations) from being published."""
    from .. import conditions
    from ..fields.definitions import validate_definitions

    form = form_order(revision, private=False)
    problems = []
    if not form:
        problems.append(str(_l("The form has no field yet.")))
    labels = {field.stable_id: field.label for field in revision.fields}
    for fields in (form, form_order(revision, private=True)):
        for stable_id, messages in validate_definitions(fields).items():
            label = labels.get(stable_id) or stable_id
            problems.extend(
                str(_l("The field “%(label)s”: %(reason)s", label=label, reason=message))
                for message in messages
            )
    for rule in revision.eligibility_rules or []:
        problems.extend(conditions.validate(rule.get("condition"), None, form))
    return problems


def publish(procedure: Procedure, now: datetime | None = None) -> None:
    """Publish a procedure for the first time, again after unpublishing or closing, or
    publish the changes of its draft revision."""
    now = now or utcnow()
    if procedure.state == ProcedureState.published and procedure.draft_revision is None:
        raise ProcedureError(_l("This procedure is already published with no pending change."))
    revision = procedure.draft_revision
    if revision is not None:
        problems = form_problems(revision)
        if procedure.published_revision is not None:
            problems += incompatible_changes(procedure.published_revision, revision)
        if problems:
            raise ProcedureError("\n".join(problems))
        _freeze(procedure, revision, now)
    if procedure.state == ProcedureState.draft:
        _wipe_test_dossiers(procedure)
    if procedure.state != ProcedureState.published:
        procedure.state = ProcedureState.published
        procedure.published_at = procedure.published_at or now
        procedure.closed_at = procedure.closed_reason = procedure.replaced_by_id = None


def _freeze(procedure: Procedure, revision: ProcedureRevision, now: datetime) -> None:
    previous = procedure.published_revision
    if previous is not None:
        previous.state = RevisionState.superseded
    revision.state = RevisionState.published
    revision.published_at = now
    procedure.published_revision = revision
    procedure.draft_revision = None
    db.session.flush()
    if previous is not None:
        # Open dossiers follow the new form; answers stay keyed by stable_id.
        db.session.execute(
            sa.update(Dossier)
            .where(Dossier.revision_id == previous.id, Dossier.state.in_(OPEN_STATES))
            .values(revision_id=revision.id, version=Dossier.version + 1)
        )


def _wipe_test_dossiers(procedure: Procedure) -> None:
    db.session.execute(
        sa.delete(Dossier).where(Dossier.procedure_id == procedure.id, Dossier.is_test)
    )


def close(
    procedure: Procedure,
    reason: str,
    replacement: Procedure | None = None,
    now: datetime | None = None,
) -> None:
    """Close a published procedure; applicants with drafts are told (through the outbox)."""
    if procedure.state != ProcedureState.published:
        raise ProcedureError(_l("Only a published procedure can be closed."))
    if not (reason and reason.strip()):
        raise ProcedureError(_l("Give the reason for closing the procedure."))
    if replacement is not None and (
        replacement.id == procedure.id or replacement.state != ProcedureState.published
    ):
        raise ProcedureError(_l("The replacing procedure must be another published procedure."))
    procedure.state = ProcedureState.closed
    procedure.closed_at = now or utcnow()
    procedure.closed_reason = reason.strip()
    procedure.replaced_by = replacement
    outbox.enqueue(
        "procedure.closed",
        {"procedure": procedure.id, "replacement": replacement.id if replacement else None},
    )


def unpublish(procedure: Procedure) -> None:
    """Hide a procedure from the portal; it can be published again."""
    if procedure.state not in (ProcedureState.published, ProcedureState.closed):
        raise ProcedureError(_l("Only a published or closed procedure can be unpublished."))
    procedure.state = ProcedureState.unpublished


def close_past_deadline(now: datetime | None = None) -> list[int]:
    """Close every published procedure whose deposit deadline has passed (Celery beat)."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Procedure).where(
            Procedure.state == ProcedureState.published, Procedure.deadline_at <= now
        )
    ).all()
    for procedure in due:
        close(procedure, str(_l("The deposit deadline has passed.")), now=now)
    return [procedure.id for procedure in due]


def clone(procedure: Procedure, administration: Administration) -> Procedure:
    """A new procedure in test mode with the same settings, form, groups (without their
    members unless in the same administration), labels and templates (and, through
    ``signals.procedure_cloned``, the same logo, notice and signature image)."""
    same_administration = administration.id == procedure.administration_id
    groups = [
        InstructorGroup(
            name=group.name,
            is_default=group.is_default,
            routing_rule=group.routing_rule,
            position=group.position,
            members=list(group.members) if same_administration else [],
        )
        for group in procedure.groups
    ]
    labels = [Label(name=label.name, color=label.color) for label in procedure.labels]
    templates = [
        MailTemplate(event=t.event, subject=t.subject, body=t.body)
        for t in procedure.mail_templates
    ]
    attestation = procedure.attestation_template
    source = procedure.draft_revision or procedure.published_revision
    copy = Procedure(
        administration=administration,
        title=str(_l("Copy of %(title)s", title=procedure.title))[:255],
        cloned_from_id=procedure.id,
        groups=groups,
        labels=labels,
        mail_templates=templates,
        attestation_template=None
        if attestation is None
        else AttestationTemplate(
            enabled=attestation.enabled,
            title=attestation.title,
            body=attestation.body,
            footer=attestation.footer,
        ),
        **{name: getattr(procedure, name) for name in SETTINGS if name != "title"},
    )
    initialise(copy)
    db.session.add(copy)
    if source is not None:
        copy_fields(source, copy.draft_revision)
        copy.draft_revision.eligibility_rules = list(source.eligibility_rules or [])
    db.session.flush()
    signals.procedure_cloned.send(procedure, copy=copy)
    return copy
