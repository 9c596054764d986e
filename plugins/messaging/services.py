"""The rules of a dossier's message thread: who reads and writes it, what a message may be,
correction requests, deletion, unread counters and the message to every draft's applicant.

One thread per dossier. The people around it are seen from one *side* each
(``relation``): the applicant side (owner and accepted co-editors), the agents of the
dossier's instructor group, the experts asked about it when the procedure lets experts
write, and the procedure's administrators and the platform admin, who only read. Anyone
else is told the thread does not exist (``ThreadNotFound``, a 404), so that dossier
numbers cannot be probed. Nobody writes on a draft, an archived or a deleted (hidden)
dossier; the message to the applicants of every draft is the one exception, written by a
background task on behalf of an agent (``broadcast_to_drafts``).

Text is plain text, kept as typed (line endings normalised, control characters removed)
and escaped when shown (``plugins.messaging.rendering``). Functions change the session and
leave the commit to the caller, like the core's services; every side effect (mails, the
broadcast task) goes through the outbox in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app import signals, workflow
from app.extensions import db
from app.models import (
    AuthorKind,
    BatchJob,
    CorrectionReason,
    Dossier,
    DossierState,
    Follow,
    Invitation,
    JobState,
    Message,
    Procedure,
    StrEnum,
    User,
    utcnow,
)
from app.security import Roles, can_see_procedure
from app.services import audit, outbox
from plugins.attachments import services as attachments
from plugins.attachments.errors import UploadRefused

from . import notifications
from .models import MessageNotification, MessageRead

MAX_LENGTH = 10_000
"""Characters of one message: a letter, not a document (documents go as attachments)."""
MAX_ATTACHMENTS = 10
"""Files of one message."""
BROADCAST_ACTION = "messaging.broadcast_to_drafts"
"""``BatchJob.action`` of a message to every draft's applicant."""
BROADCAST_TOPIC = "messaging.broadcast"
BROADCAST_BATCH = 200
"""Dossiers written per transaction by the broadcast task (its progress steps)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Side(StrEnum):
    """From where a person sees a dossier's thread."""

    applicant = "applicant"  # the owner and accepted co-editors
    agent = "agent"  # agents of the dossier's instructor group
    expert = "expert"  # experts asked about it, when the procedure lets them write
    overseer = "overseer"  # the procedure's administrators and the platform admin: read only


WRITERS = frozenset({Side.applicant, Side.agent, Side.expert})
AUTHOR_KINDS = {
    Side.applicant: AuthorKind.applicant,
    Side.agent: AuthorKind.agent,
    Side.expert: AuthorKind.expert,
}
DELETABLE_KINDS = frozenset({AuthorKind.agent, AuthorKind.expert})
"""Messages their authors may delete: the administration's side. An applicant's message
is part of what they sent to the administration and stays."""

CORRECTION_LABELS = {
    CorrectionReason.incorrect: _l("Incorrect information"),
    CorrectionReason.incomplete: _l("Missing information or document"),
    CorrectionReason.outdated: _l("Outdated document"),
}
"""Reasons of a correction request, as agents choose them and applicants read them."""


# ---------------------------------------------------------------------------------------
# Errors


class MessagingError(Exception):
    """A refusal whose ``message`` is meant for the person (a lazy translation)."""

    status = 400

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class ThreadNotFound(MessagingError):
    """The person may not see this thread (or this message, or this procedure): the views
    answer 404, exactly as for a number that does not exist."""

    status = 404

    def __init__(self) -> None:
        super().__init__(_l("This dossier does not exist."))


class WritingClosed(MessagingError):
    """The dossier's state lets nobody write now (draft, archived, deleted)."""

    status = 409


class InvalidMessage(MessagingError):
    """What prevents sending: ``errors`` maps form fields (``body``, ``files``,
    ``correction_reason``) to messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(str(message) for message in errors.values()))
        self.errors = errors


# ---------------------------------------------------------------------------------------
# Who reads, who writes


def _authenticated(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def is_applicant(user, dossier: Dossier) -> bool:
    """The owner or an accepted, not revoked, co-editor, whatever roles they hold (an agent
    who files a dossier of their own talks about it as its applicant)."""
    if not _authenticated(user):
        return False
    if dossier.owner_id is not None and dossier.owner_id == user.id:
        return True
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                Invitation.dossier_id == dossier.id,
                Invitation.user_id == user.id,
                Invitation.accepted_at.is_not(None),
                Invitation.revoked_at.is_(None),
            )
        )
    )


def relation(user, dossier: Dossier) -> Side | None:
    """The side from which ``user`` sees the dossier's thread, or None (not at all).

    The applicant side wins: someone who both files and instructs talks as the applicant
    on their own dossier. Experts see the thread only when the procedure lets them write.
    """
    if not _authenticated(user):
        return None
    if is_applicant(user, dossier):
        return Side.applicant
    if attachments.sees_dossier_as(user, dossier.id, {Roles.AGENT}):
        return Side.agent
    if dossier.procedure.experts_can_message and attachments.sees_dossier_as(
        user, dossier.id, {Roles.EXPERT}
    ):
        return Side.expert
    if attachments.sees_dossier_as(user, dossier.id, {Roles.ADMINISTRATOR, Roles.ADMIN}):
        return Side.overseer
    return None


def writing_problem(dossier: Dossier) -> Any | None:
    """Why nobody may write on this dossier now, or None."""
    if dossier.state == DossierState.draft:
        return _l("Messages can be sent once the dossier is submitted.")
    if dossier.archived:
        return _l("This dossier is archived: no new message can be sent.")
    if dossier.hidden_by_applicant_at is not None or dossier.hidden_by_administration_at:
        return _l("This dossier was deleted: no new message can be sent.")
    return None


def can_read(user, dossier: Dossier) -> bool:
    return relation(user, dossier) is not None


def can_write(user, dossier: Dossier) -> bool:
    return relation(user, dossier) in WRITERS and writing_problem(dossier) is None


def can_request_correction(user, dossier: Dossier) -> bool:
    """Agents ask for corrections while the applicant can still act on them: a submitted
    dossier is editable already; one in review goes back to the applicant."""
    return (
        relation(user, dossier) == Side.agent
        and writing_problem(dossier) is None
        and dossier.state in (DossierState.submitted, DossierState.in_review)
    )


# ---------------------------------------------------------------------------------------
# Writing


def clean_body(text: str | None) -> str:
    """The text as typed, with its line endings normalised and the control characters
    that no keyboard types removed (PostgreSQL refuses NUL); surrounding blanks go."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


@dataclass(frozen=True)
class CheckedMessage:
    side: Side
    body: str
    correction_reason: CorrectionReason | None


def check_message(
    dossier: Dossier,
    user,
    body: str | None,
    file_count: int = 0,
    *,
    correction_reason: str | CorrectionReason | None = None,
) -> CheckedMessage:
    """Everything that decides whether ``user`` may send this message, without writing
    anything (the view calls it before storing files). Raises ``ThreadNotFound``,
    ``WritingClosed`` or ``InvalidMessage``."""
    side = relation(user, dossier)
    if side not in WRITERS:
        raise ThreadNotFound()
    problem = writing_problem(dossier)
    if problem is not None:
        raise WritingClosed(problem)
    errors: dict[str, Any] = {}
    reason = None
    if correction_reason:
        try:
            reason = CorrectionReason(correction_reason)
        except ValueError:
            errors["correction_reason"] = _l("Choose one of the reasons of the list.")
        else:
            if side != Side.agent:
                errors["correction_reason"] = _l("Only agents can ask for corrections.")
            elif dossier.state not in (DossierState.submitted, DossierState.in_review):
                errors["correction_reason"] = _l(
                    "Corrections can be asked only while the dossier is submitted or in review."
                )
    text = clean_body(body)
    if len(text) > MAX_LENGTH:
        errors["body"] = _l(
            "A message has at most %(max)s characters; yours has %(num)s. Shorten it, or "
            "send the rest as an attached file.",
            max=format_decimal(MAX_LENGTH),
            num=format_decimal(len(text)),
        )
    elif reason is not None and not text:
        errors["body"] = _l("Explain what the applicant should correct.")
    elif not text and not file_count:
        errors["body"] = _l("Write a message or attach a file.")
    if file_count > MAX_ATTACHMENTS:
        errors["files"] = _l("A message takes at most %(num)d files.", num=MAX_ATTACHMENTS)
    if errors:
        raise InvalidMessage(errors)
    return CheckedMessage(side=side, body=text, correction_reason=reason)


def post_message(
    dossier: Dossier,
    user,
    body: str | None,
    attachment_ids: Sequence[int] = (),
    *,
    correction_reason: str | CorrectionReason | None = None,
) -> Message:
    """Write ``user``'s message on the dossier's thread, with files they uploaded for it.

    A correction request (``correction_reason``, agents only) on a dossier in review sends
    it back to the applicant through the workflow, in the same transaction; on a submitted
    dossier (editable already) it is only flagged. The recipients are emailed through the
    outbox, grouped (``plugins.messaging.notifications``). Raises ``ThreadNotFound``,
    ``WritingClosed`` or ``InvalidMessage``; nothing is committed.
    """
    ids = list(dict.fromkeys(int(attachment_id) for attachment_id in attachment_ids))
    checked = check_message(dossier, user, body, len(ids), correction_reason=correction_reason)
    message = write(dossier, user, AUTHOR_KINDS[checked.side], checked.body)
    message.correction_reason = checked.correction_reason
    if ids:
        try:
            attachments.attach_to_message(ids, message, user)
        except UploadRefused as refusal:
            raise InvalidMessage({"files": refusal.message}) from None
    if checked.correction_reason is not None and dossier.state == DossierState.in_review:
        workflow.apply(dossier, workflow.Event.back_to_applicant, user)
    mark_seen(user, dossier, checked.side, at=message.created_at)
    return message


def write(dossier: Dossier, author, kind: AuthorKind, body: str) -> Message:
    """Add a message and schedule its notification, without any check (the callers
    check). The dossier row itself is not touched: a message must not make an applicant's
    open form stale (the dossier's ``version`` counter)."""
    message = Message(
        dossier_id=dossier.id,
        author_id=getattr(author, "id", None),
        author_kind=kind,
        body=body,
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    notifications.schedule(message)
    signals.message_posted.send(current_app._get_current_object(), message=message, dossier=dossier)
    return message


def delete_message(message: Message, user) -> None:
    """An agent (or expert) deletes their own message: its text is emptied (the thread shows
    a note in its place), its files are removed, and it is not notified any more.

    Someone else's message, an applicant's, or a message of a thread the person no longer
    sees raises ``ThreadNotFound``; a dossier nobody may write on, or a correction request
    still pending (the dossier went back to the applicant for it), ``WritingClosed``.
    """
    dossier = db.session.get(Dossier, message.dossier_id)
    if (
        dossier is None
        or message.deleted_at is not None
        or message.author_kind not in DELETABLE_KINDS
        or message.author_id is None
        or message.author_id != getattr(user, "id", None)
        or relation(user, dossier) not in (Side.agent, Side.expert)
    ):
        raise ThreadNotFound()
    problem = writing_problem(dossier)
    if problem is not None:
        raise WritingClosed(problem)
    if message.correction_reason is not None and message.correction_resolved_at is None:
        raise WritingClosed(
            _l(
                "This correction request is pending: it can be deleted once the applicant "
                "has submitted their dossier again."
            )
        )
    attachments.delete_message_files(message.id)
    message.body = ""
    message.deleted_at = utcnow()
    db.session.execute(
        sa.delete(MessageNotification).where(MessageNotification.message_id == message.id)
    )
    audit.record(
        audit.Action.MESSAGE_DELETED,
        "message",
        message.id,
        actor=user,
        procedure_id=dossier.procedure_id,
        data={"dossier": dossier.id},
    )


# ---------------------------------------------------------------------------------------
# Reading


def thread(dossier: Dossier) -> list[Message]:
    """The dossier's messages, oldest first (newest at the bottom), with their files and
    authors loaded."""
    return list(
        db.session.scalars(
            sa.select(Message)
            .where(Message.dossier_id == dossier.id)
            .options(selectinload(Message.attachments), selectinload(Message.author))
            .order_by(Message.created_at, Message.id)
        )
    )


def seen_at(user, dossier: Dossier, side: Side | None = None) -> datetime | None:
    """When ``user`` last opened the thread (None: never, or an agent who does not
    follow the dossier and so keeps no marker)."""
    side = side or relation(user, dossier)
    if side == Side.agent:
        return db.session.scalar(
            sa.select(Follow.messages_seen_at).where(
                Follow.dossier_id == dossier.id, Follow.user_id == user.id
            )
        )
    return db.session.scalar(
        sa.select(MessageRead.seen_at).where(
            MessageRead.dossier_id == dossier.id, MessageRead.user_id == user.id
        )
    )


def mark_seen(user, dossier: Dossier, side: Side | None = None, at: datetime | None = None):
    """Record that ``user`` has read the thread up to ``at`` (now by default).

    Agents keep it on their ``Follow`` (the dossiers they follow are the ones their
    counters watch); everyone else in ``message_read``, written as an upsert so that two
    tabs opened at once do not collide.
    """
    at = at or utcnow()
    side = side or relation(user, dossier)
    if side is None:
        return
    if side == Side.agent:
        db.session.execute(
            sa.update(Follow)
            .where(Follow.dossier_id == dossier.id, Follow.user_id == user.id)
            .values(messages_seen_at=at)
            .execution_options(synchronize_session=False)
        )
        return
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(MessageRead).values(dossier_id=dossier.id, user_id=user.id, seen_at=at)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[MessageRead.dossier_id, MessageRead.user_id],
            set_={"seen_at": statement.excluded.seen_at},
        )
    )


def unread_counts(user, dossier_ids: Iterable[int], side: Side = Side.agent) -> dict[int, int]:
    """Unread messages per dossier for a list of dossiers, in one query (the agents'
    tables and the applicant's "my dossiers" call it for a page of rows).

    Unread: not deleted, written by someone else, after the person's marker. On the agent
    side only the dossiers the agent follows have a counter (``Follow.messages_seen_at``);
    on any other side the marker is ``message_read``. Dossiers without unread messages are
    absent from the result.
    """
    ids = list(dossier_ids)
    if not ids or not _authenticated(user):
        return {}
    statement = (
        sa.select(Message.dossier_id, sa.func.count(Message.id))
        .where(
            Message.dossier_id.in_(ids),
            Message.deleted_at.is_(None),
            sa.or_(Message.author_id.is_(None), Message.author_id != user.id),
        )
        .group_by(Message.dossier_id)
    )
    if side == Side.agent:
        statement = statement.join(
            Follow, sa.and_(Follow.dossier_id == Message.dossier_id, Follow.user_id == user.id)
        ).where(
            sa.or_(Follow.messages_seen_at.is_(None), Message.created_at > Follow.messages_seen_at)
        )
    else:
        statement = statement.outerjoin(
            MessageRead,
            sa.and_(MessageRead.dossier_id == Message.dossier_id, MessageRead.user_id == user.id),
        ).where(sa.or_(MessageRead.seen_at.is_(None), Message.created_at > MessageRead.seen_at))
    return {dossier_id: count for dossier_id, count in db.session.execute(statement)}


def unread_count(user, dossier: Dossier) -> int:
    """Unread messages of one dossier for ``user``, from the side they see it from."""
    side = relation(user, dossier)
    if side is None:
        return 0
    return unread_counts(user, [dossier.id], side).get(dossier.id, 0)


def pending_correction(dossier: Dossier) -> Message | None:
    """The latest correction request the applicant has not answered by re-submitting."""
    return pending_corrections([dossier.id]).get(dossier.id)


def pending_corrections(dossier_ids: Iterable[int]) -> dict[int, Message]:
    """The latest pending correction request per dossier, for a page of dossiers in one
    query (the agents' tables show which dossiers wait for the applicant)."""
    ids = list(dossier_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Message)
        .where(
            Message.dossier_id.in_(ids),
            Message.correction_reason.is_not(None),
            Message.correction_resolved_at.is_(None),
        )
        .order_by(Message.created_at, Message.id)
    )
    return {message.dossier_id: message for message in rows}


def resolve_corrections(sender: Any = None, *, dossier: Dossier, **_extra: Any) -> int:
    """Receiver of ``app.signals.dossier_submitted``: the applicant's (re-)submission answers
    every pending correction request of the dossier. Runs in the sender's transaction and
    does not commit. Returns how many requests it resolved."""
    result = db.session.execute(
        sa.update(Message)
        .where(
            Message.dossier_id == dossier.id,
            Message.correction_reason.is_not(None),
            Message.correction_resolved_at.is_(None),
        )
        .values(correction_resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


class ThreadSummary(NamedTuple):
    """What a dossier page shows about its thread, next to the link to it."""

    count: int
    unread: int
    pending_correction: Message | None


def thread_summary(dossier: Dossier, user) -> ThreadSummary:
    """(messages, unread for ``user``, pending correction request) of a dossier, for the
    portal's and the agents' dossier pages."""
    count = db.session.scalar(
        sa.select(sa.func.count(Message.id)).where(
            Message.dossier_id == dossier.id, Message.deleted_at.is_(None)
        )
    )
    return ThreadSummary(int(count or 0), unread_count(user, dossier), pending_correction(dossier))


# ---------------------------------------------------------------------------------------
# One message to every applicant with a draft


def can_broadcast(user, procedure: Procedure) -> bool:
    """Agents of the procedure's groups, its administrators and the platform admin."""
    return _authenticated(user) and can_see_procedure(user, procedure)


def _drafts(procedure: Procedure) -> sa.ColumnElement[bool]:
    """The drafts whose applicants a broadcast reaches: not deleted, with an owner."""
    return sa.and_(
        Dossier.procedure_id == procedure.id,
        Dossier.state == DossierState.draft,
        Dossier.owner_id.is_not(None),
        Dossier.hidden_by_applicant_at.is_(None),
    )


def draft_dossier_ids(procedure: Procedure) -> list[int]:
    return list(
        db.session.scalars(sa.select(Dossier.id).where(_drafts(procedure)).order_by(Dossier.id))
    )


def draft_count(procedure: Procedure) -> int:
    return int(db.session.scalar(sa.select(sa.func.count(Dossier.id)).where(_drafts(procedure))))


def broadcast_to_drafts(procedure: Procedure, user, body: str | None) -> BatchJob:
    """Queue one message from ``user`` on every draft of the procedure (before closing it,
    for instance). The drafts are those of now; a background task writes the messages in
    steps, recording its progress on the returned ``BatchJob`` (``done`` of
    ``len(dossier_ids)``). Raises ``ThreadNotFound`` or ``InvalidMessage``; the caller
    commits, which releases the task (through the outbox)."""
    if not can_broadcast(user, procedure):
        raise ThreadNotFound()
    text = clean_body(body)
    if not text:
        raise InvalidMessage({"body": _l("Write the message to send.")})
    if len(text) > MAX_LENGTH:
        raise InvalidMessage(
            {"body": _l("A message has at most %(num)d characters.", num=MAX_LENGTH)}
        )
    ids = draft_dossier_ids(procedure)
    if not ids:
        raise InvalidMessage({"body": _l("No applicant has a draft of this procedure.")})
    job = BatchJob(
        procedure_id=procedure.id,
        requested_by_id=user.id,
        action=BROADCAST_ACTION,
        params={"body": text},
        dossier_ids=ids,
        state=JobState.pending,
        done=0,
        failures={},
    )
    db.session.add(job)
    db.session.flush()
    outbox.enqueue(BROADCAST_TOPIC, {"job": job.id}, key=f"messaging-broadcast-{job.id}")
    return job


def broadcast_jobs(procedure: Procedure, limit: int = 10) -> list[BatchJob]:
    """The latest broadcasts of a procedure, newest first (the page shows their progress)."""
    return list(
        db.session.scalars(
            sa.select(BatchJob)
            .where(BatchJob.procedure_id == procedure.id, BatchJob.action == BROADCAST_ACTION)
            .order_by(BatchJob.id.desc())
            .limit(limit)
        )
    )


def run_broadcast(job_id: int, batch: int = BROADCAST_BATCH) -> int:
    """Write the broadcast's messages, ``batch`` dossiers per transaction, committing its
    progress with each step. A run that stops midway (a crash, a deploy) resumes where the
    last committed step ended, so each dossier gets the message once. Drafts deleted since
    the request are skipped and listed in ``failures``. Returns the messages written."""
    job = db.session.get(BatchJob, job_id)
    if job is None or job.action != BROADCAST_ACTION or job.state == JobState.done:
        db.session.rollback()
        return 0
    job.state = JobState.running
    db.session.commit()
    author = db.session.get(User, job.requested_by_id) if job.requested_by_id else None
    body = job.params["body"]
    ids = list(job.dossier_ids)
    written = 0
    while job.done < len(ids):
        step = ids[job.done : job.done + batch]
        found = {
            dossier.id: dossier
            for dossier in db.session.scalars(sa.select(Dossier).where(Dossier.id.in_(step)))
        }
        failures = dict(job.failures or {})
        for dossier_id in step:
            dossier = found.get(dossier_id)
            if dossier is None:
                failures[str(dossier_id)] = "deleted"
                continue
            write(dossier, author, AuthorKind.agent, body)
            written += 1
        job.failures = failures
        job.done += len(step)
        db.session.commit()
    job.state = JobState.done
    job.finished_at = utcnow()
    db.session.commit()
    return written
