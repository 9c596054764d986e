"""What agents do to a dossier: decide through the workflow, annotate, follow, label,
reassign.

Every function works in the caller's transaction and leaves the commit to it, so that a
decision, its recorded transition, its attestation and its mail (an outbox event) are
written together or not at all.

Two agents acting on the same dossier at once: the form an agent submits carries the
dossier's ``version`` as they saw it. A different version is refused before anything
happens, and a change committed by someone else between the check and the write makes
the write fail on ``Dossier.version`` (optimistic locking: ``StaleDataError``). Either way
exactly one of them wins and the other gets a :class:`Conflict` that says what happened.

Only ``app.workflow`` changes a state; this module chooses the mail, issues the
attestation and checks who may act.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import workflow
from ..conditions import visible_fields
from ..extensions import db
from ..fields import registry
from ..fields.answers import validate_answers
from ..fields.base import CleanContext, FieldSpec, field_specs
from ..models import (
    Attachment,
    Dossier,
    DossierState,
    Follow,
    InstructorGroup,
    Label,
    MailEvent,
    StateTransition,
    User,
    dossier_label,
)
from ..security import Roles, visible_dossiers
from ..workflow import Event, TransitionError
from . import attestations, mail, mail_templates
from .dossier_content import revision_fields
from .tables import SeenAs, workspace_scope

log = logging.getLogger(__name__)

ACTING_ROLES = frozenset({Roles.ADMIN, Roles.AGENT})
"""Who may change a dossier: the agents of its group (and the platform operator).
Administrators read their procedures' dossiers but do not instruct them."""

AGENT_EVENTS = (
    Event.start_review,
    Event.back_to_applicant,
    Event.accept,
    Event.refuse,
    Event.close_without_action,
    Event.reopen,
    Event.archive,
    Event.unarchive,
)
"""The workflow's events an agent triggers (submitting is the applicant's)."""

EVENT_MAILS: dict[Event, MailEvent] = {
    Event.start_review: MailEvent.review_started,
    Event.accept: MailEvent.accepted,
    Event.refuse: MailEvent.refused,
    Event.close_without_action: MailEvent.closed_without_action,
    Event.reopen: MailEvent.reopened,
}
"""The applicant's mail of each event. Sending back to the applicant goes with the
agent's own message (a correction request, from the message thread); archiving is
internal: neither has a mail of its own."""

EVENT_LABELS: dict[Event, Any] = {
    Event.start_review: _l("Start the review"),
    Event.back_to_applicant: _l("Send back to the applicant"),
    Event.accept: _l("Accept"),
    Event.refuse: _l("Refuse"),
    Event.close_without_action: _l("Close without action"),
    Event.reopen: _l("Reopen"),
    Event.archive: _l("Archive"),
    Event.unarchive: _l("Unarchive"),
}
"""The buttons of each event."""

EVENT_PAST: dict[str, Any] = {
    Event.submit: _l("submitted the dossier"),
    Event.start_review: _l("started the review"),
    Event.back_to_applicant: _l("sent the dossier back to the applicant"),
    Event.accept: _l("accepted the dossier"),
    Event.refuse: _l("refused the dossier"),
    Event.close_without_action: _l("closed the dossier without action"),
    Event.reopen: _l("reopened the dossier"),
    Event.archive: _l("archived the dossier"),
    Event.unarchive: _l("unarchived the dossier"),
}
"""How the history and conflict messages tell each event."""

DECISIONS_WITH_MOTIVATION = frozenset(
    {Event.accept, Event.refuse, Event.close_without_action, Event.reopen}
)
MOTIVATION_MAX_LENGTH = 10_000


class InstructionError(Exception):
    """An action the dossier or the person does not allow; ``message`` is for the agent."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class NotFound(InstructionError):
    """Not visible to this person, or not theirs to change (the screens answer 404)."""

    def __init__(self) -> None:
        super().__init__(_l("This dossier does not exist."))


class Conflict(InstructionError):
    """Someone changed the dossier since the agent loaded it: nothing was written."""


@dataclass
class Outcome:
    """What a decision did; ``notes`` are things the agent should know (an attestation
    that could not be stored, a mail that could not be sent)."""

    transition: StateTransition
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Who may read and act


def acting_scope(user) -> sa.ColumnElement[bool]:
    """Where-clause on ``Dossier``: what this person may change."""
    if user is None or not getattr(user, "is_authenticated", False):
        return sa.false()
    return sa.and_(
        Dossier.state != DossierState.draft, visible_dossiers(SeenAs(user, ACTING_ROLES))
    )


def readable_dossier(user, number: int) -> Dossier:
    """The dossier if this person sees it in the workspace, else NotFound."""
    dossier = db.session.scalar(
        sa.select(Dossier).where(Dossier.id == number, workspace_scope(user))
    )
    if dossier is None:
        raise NotFound()
    return dossier


def can_act(user, dossier: Dossier) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(Dossier.id == dossier.id, acting_scope(user))
        )
    )


def acting_dossier(user, number: int) -> Dossier:
    """The dossier if this person may change it, else NotFound."""
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.id == number, acting_scope(user)))
    if dossier is None:
        raise NotFound()
    return dossier


def available_events(dossier: Dossier) -> list[Event]:
    """The agent's buttons the dossier's state allows now."""
    return [event for event in workflow.allowed_events(dossier) if event in AGENT_EVENTS]


# ---------------------------------------------------------------------------------------
# Concurrency


def _check_version(dossier: Dossier, expected_version: int | None) -> None:
    if expected_version is None or dossier.version != expected_version:
        raise Conflict(_conflict_message(dossier.id))


@contextmanager
def _first_writer_wins(dossier_id: int) -> Iterator[None]:
    """Turn the optimistic-locking failure of a write in the block (an explicit flush, or
    an autoflush by a signal receiver's query) into a :class:`Conflict`."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_conflict_message(dossier_id)) from None


def _flush(dossier_id: int) -> None:
    """Write now, so that a concurrent change is detected here and not at commit."""
    with _first_writer_wins(dossier_id):
        db.session.flush()


def _conflict_message(dossier_id: int) -> str:
    """What happened to the dossier meanwhile, as far as its history tells."""
    last = db.session.execute(
        sa.select(StateTransition.event, StateTransition.at, User.first_name, User.last_name)
        .outerjoin(User, User.id == StateTransition.actor_id)
        .where(StateTransition.dossier_id == dossier_id)
        .order_by(StateTransition.at.desc(), StateTransition.id.desc())
        .limit(1)
    ).first()
    if last is None or last.event not in EVENT_PAST:
        return str(
            _l(
                "This dossier was changed by someone else since you opened it. Nothing was "
                "saved: look at the dossier as it is now, then try again."
            )
        )
    who = " ".join(part for part in (last.first_name, last.last_name) if part)
    return str(
        _l(
            "This dossier was changed by someone else since you opened it: %(who)s "
            "%(what)s on %(when)s. Nothing was saved: look at the dossier as it is now, "
            "then try again.",
            who=who or _l("someone"),
            what=EVENT_PAST[last.event],
            when=format_datetime(last.at, "short"),
        )
    )


# ---------------------------------------------------------------------------------------
# Decisions


@dataclass(frozen=True)
class Upload:
    """A file the agent sent with a decision (its stream is read once)."""

    stream: BinaryIO
    filename: str
    mimetype: str | None = None


def decide(
    dossier: Dossier,
    event: Event,
    actor,
    *,
    expected_version: int | None,
    motivation: str | None = None,
    justification: Upload | None = None,
) -> Outcome:
    """Apply an agent's event to the dossier, with what goes with it: the justification
    file, the attestation on acceptance, the applicant's mail of the event.

    Raises InstructionError (the state does not allow it, a refusal without motivation, a
    file refused) or Conflict (someone else acted first). Nothing is committed.
    """
    if event not in AGENT_EVENTS:
        raise InstructionError(_l("This action is not possible on this dossier."))
    _check_version(dossier, expected_version)
    motivation = (motivation or "").strip() or None
    if motivation and len(motivation) > MOTIVATION_MAX_LENGTH:
        raise InstructionError(
            _l("The motivation has at most %(num)d characters.", num=MOTIVATION_MAX_LENGTH)
        )
    if event not in DECISIONS_WITH_MOTIVATION:
        motivation = None
    notes: list[str] = []
    justification_id = None
    if justification is not None:
        justification_id = _store_justification(dossier, justification, actor, notes)
    dossier_id = dossier.id
    try:
        # the other agent, if any, loses here (the receivers of the state change may
        # autoflush): before the slow parts
        with _first_writer_wins(dossier_id):
            transition = workflow.apply(
                dossier, event, actor, motivation=motivation, justification_id=justification_id
            )
            db.session.flush()
    except TransitionError as error:
        raise InstructionError(error.message) from None
    attestation_pdf = None
    if event == Event.accept and attestations.is_enabled(dossier.procedure):
        attestation_pdf = attestations.render_pdf(dossier.procedure, dossier)
        _store_attestation(dossier, attestation_pdf, actor, notes)
    _send_event_mail(dossier, event, attestation_pdf, notes)
    _flush(dossier_id)
    return Outcome(transition, notes)


def _attachments_plugin_loaded() -> bool:
    return "plugins.attachments" in current_app.extensions.get("guichet_plugins", [])


def _store_justification(dossier: Dossier, upload: Upload, actor, notes: list[str]) -> int | None:
    if not _attachments_plugin_loaded():
        notes.append(str(_l("The justification file was not kept: files cannot be stored here.")))
        return None
    from plugins.attachments import services as files
    from plugins.attachments.errors import UploadRefused

    try:
        target = files.authorize_upload(actor, "justification", dossier_id=dossier.id)
        stored = files.store_upload(upload.stream, upload.filename, upload.mimetype, target, actor)
    except UploadRefused as refusal:
        raise InstructionError(refusal.message) from None
    return stored.id


def _store_attestation(dossier: Dossier, pdf: bytes, actor, notes: list[str]) -> None:
    """Keep the attestation as the dossier's file (the applicant downloads it), when the
    attachments plugin is there to store it."""
    if not _attachments_plugin_loaded():
        notes.append(
            str(_l("The attestation was sent by mail but not kept: files cannot be stored here."))
        )
        return
    from plugins.attachments import services as files

    target = files.target_for("attestation", dossier=dossier)
    stored = files.store_upload(
        io.BytesIO(pdf), attestation_filename(dossier), "application/pdf", target, actor
    )
    dossier.attestation_id = stored.id


def attestation_filename(dossier: Dossier) -> str:
    return f"attestation-{dossier.id}.pdf"


def _send_event_mail(
    dossier: Dossier, event: Event, attestation_pdf: bytes | None, notes: list[str]
) -> None:
    mail_event = EVENT_MAILS.get(event)
    if mail_event is None:
        return
    owner = dossier.owner
    if owner is None or not owner.email:
        notes.append(str(_l("The applicant has no account any more: no mail was sent.")))
        return
    subject, body = mail_templates.render(dossier.procedure, mail_event, dossier)
    files = []
    if attestation_pdf is not None:
        files.append((attestation_filename(dossier), "application/pdf", attestation_pdf))
    mail.send(owner.email, subject, body, attachments=files)


# ---------------------------------------------------------------------------------------
# Private annotations


def annotation_fields(dossier: Dossier) -> list[FieldSpec]:
    """The dossier's revision's private annotations, blocks with their children."""
    return [spec for spec in field_specs(revision_fields(dossier)) if spec.private]


def is_inline(spec: FieldSpec) -> bool:
    """Whether the dossier page edits this annotation in its form: any type whose value
    can be filtered on beyond "filled in or not" is typed or chosen. Files and repeated
    blocks (presence only) are shown, and kept as they are when the others are saved."""
    field_type = registry.get(spec.type)
    return field_type.has_value and bool(set(field_type.filter_operators) - {"empty", "not_empty"})


def save_annotations(
    dossier: Dossier, submitted: Mapping[str, Any], actor, *, expected_version: int | None
) -> dict[str, list[str]]:
    """Validate and store the annotations edited inline; return the errors by stable id
    (nothing is stored when there are any). Annotations that are not edited inline (files,
    repeated blocks) keep their values. Raises Conflict when someone changed the dossier
    since the agent loaded it. Nothing is committed."""
    _check_version(dossier, expected_version)
    definitions = revision_fields(dossier)
    specs = [spec for spec in field_specs(definitions) if spec.private]
    inline = {spec.stable_id for spec in specs if is_inline(spec)}
    raw = {key: value for key, value in submitted.items() if key in inline}
    shown = visible_fields(definitions, {**(dossier.answers or {}), **raw})
    context = CleanContext(dossier_exists=_dossier_exists)
    cleaned, errors = validate_answers(
        definitions,
        raw,
        visible=shown & inline,
        context=context,
        partial=True,
        private=True,
    )
    if errors:
        return errors
    kept = {key: value for key, value in (dossier.annotations or {}).items() if key not in inline}
    annotations = {**kept, **cleaned}
    if annotations != (dossier.annotations or {}):
        dossier.annotations = annotations
        _flush(dossier.id)
    return {}


def _dossier_exists(number: int) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                Dossier.id == number, Dossier.state != DossierState.draft
            )
        )
    )


# ---------------------------------------------------------------------------------------
# Follow, labels, group


def is_following(dossier: Dossier, user) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                Follow.dossier_id == dossier.id, Follow.user_id == user.id
            )
        )
    )


def follow(dossier: Dossier, user) -> bool:
    """Follow the dossier; False when the person already did (a double click, two tabs)."""
    if is_following(dossier, user):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(Follow(dossier_id=dossier.id, user_id=user.id))
    except IntegrityError:
        return False
    return True


def unfollow(dossier: Dossier, user) -> bool:
    """Stop following; False when the person did not follow it."""
    result = db.session.execute(
        sa.delete(Follow).where(Follow.dossier_id == dossier.id, Follow.user_id == user.id)
    )
    return bool(result.rowcount)


def procedure_labels(dossier: Dossier) -> list[Label]:
    return list(
        db.session.scalars(
            sa.select(Label).where(Label.procedure_id == dossier.procedure_id).order_by(Label.name)
        )
    )


def dossier_label_ids(dossier: Dossier) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(dossier_label.c.label_id).where(dossier_label.c.dossier_id == dossier.id)
        )
    )


def set_label(dossier: Dossier, label_id: int, present: bool) -> Label:
    """Put a label of the dossier's procedure on it, or take it off (idempotent)."""
    label = db.session.scalar(
        sa.select(Label).where(Label.id == label_id, Label.procedure_id == dossier.procedure_id)
    )
    if label is None:
        raise InstructionError(_l("This label does not exist for this procedure."))
    has_it = label.id in dossier_label_ids(dossier)
    if present and not has_it:
        try:
            with db.session.begin_nested():
                db.session.execute(
                    sa.insert(dossier_label).values(dossier_id=dossier.id, label_id=label.id)
                )
        except IntegrityError:
            pass
    elif not present and has_it:
        db.session.execute(
            sa.delete(dossier_label).where(
                dossier_label.c.dossier_id == dossier.id, dossier_label.c.label_id == label.id
            )
        )
    return label


def reassignment_groups(dossier: Dossier) -> list[InstructorGroup]:
    """The groups of the dossier's procedure it may move to (open ones, not its own)."""
    return list(
        db.session.scalars(
            sa.select(InstructorGroup)
            .where(
                InstructorGroup.procedure_id == dossier.procedure_id,
                InstructorGroup.closed.is_(False),
                InstructorGroup.id != dossier.group_id,
            )
            .order_by(InstructorGroup.position, InstructorGroup.name)
        )
    )


def reassign(
    dossier: Dossier, group_id: int, actor, *, expected_version: int | None
) -> InstructorGroup:
    """Move the dossier to another open group of its procedure (its agents take over;
    the person may lose sight of it). Nothing is committed."""
    _check_version(dossier, expected_version)
    group = next((item for item in reassignment_groups(dossier) if item.id == group_id), None)
    if group is None:
        raise InstructionError(_l("Choose one of the procedure's other open groups."))
    dossier.group_id = group.id
    _flush(dossier.id)
    return group


# ---------------------------------------------------------------------------------------
# Reading


def history(dossier: Dossier) -> list[tuple[StateTransition, str]]:
    """The dossier's transitions, oldest first, with the name of who made each."""
    rows = db.session.execute(
        sa.select(StateTransition, User.first_name, User.last_name, User.email)
        .outerjoin(User, User.id == StateTransition.actor_id)
        .where(StateTransition.dossier_id == dossier.id)
        .order_by(StateTransition.at, StateTransition.id)
    ).all()
    return [
        (transition, " ".join(part for part in (first, last) if part) or email or "")
        for transition, first, last, email in rows
    ]


def decision_files(dossier: Dossier) -> list[Attachment]:
    """The attestation and the justifications of the dossier's decisions."""
    ids = {dossier.attestation_id, dossier.justification_id}
    ids |= set(
        db.session.scalars(
            sa.select(StateTransition.justification_id).where(
                StateTransition.dossier_id == dossier.id,
                StateTransition.justification_id.is_not(None),
            )
        )
    )
    ids.discard(None)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id)
        )
    )
