"""Emails about new messages, grouped (docs/decisions/0008-message-notifications.md).

Every message gets a ``message_notification`` row and an outbox event ``messaging.notify``,
both in the message's transaction. The event's handler takes *every* pending row of the
dossier, sends one mail per recipient covering all of them, and deletes the rows: so the
first event due covers the messages written meanwhile, and the events of those messages
find nothing left to do. That makes the handler idempotent, and several messages written
within ``MESSAGING_NOTIFICATION_DELAY`` seconds one mail.

- A message of the administration's side (agent, expert, the broadcast) mails the owner and
  the co-editors, each separately (nobody learns the others' addresses), with the
  procedure's "new message" template, or "correction requested" when the batch holds a
  correction request.
- An applicant's message mails the agents who follow the dossier, are still in its group
  and have not turned ``NotificationPreference.on_new_message`` off (no preference row:
  the default, on).
- Nobody is mailed about a message they wrote, already read on the site, or that was
  deleted before its mail left.

Delay: with a broker, the event is written with ``available_at`` ahead and left to the
outbox relay (Celery beat, every 30 s), which hands it over once due. The core's
``outbox.enqueue`` hands its events to Celery when the request ends whatever their
``available_at``, so a delayed event is written as an ``OutboxEvent`` row directly. Without
a broker (the embedded default runs no beat), nothing would ever relay it: the delay is 0
and the event goes through ``outbox.enqueue`` as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext, ngettext

from app.extensions import db
from app.models import (
    AuthorKind,
    Dossier,
    Follow,
    Invitation,
    MailEvent,
    Message,
    NotificationPreference,
    OutboxEvent,
    User,
    instructor_group_member,
    utcnow,
)
from app.services import mail, mail_templates, outbox

from .models import MessageNotification, MessageRead

TOPIC = "messaging.notify"
DEFAULT_DELAY_SECONDS = 300
"""With a broker: how long a message waits for the next ones before its mail leaves."""


def delay() -> timedelta:
    return timedelta(seconds=float(current_app.config.get("MESSAGING_NOTIFICATION_DELAY", 0)))


def schedule(message: Message) -> OutboxEvent:
    """Mark the message as to be notified and queue the event that will (the caller's
    transaction; the message must be flushed)."""
    db.session.add(MessageNotification(message_id=message.id, dossier_id=message.dossier_id))
    payload = {"dossier": message.dossier_id, "message": message.id}
    key = f"messaging-notify-{message.id}"
    wait = delay()
    if wait <= timedelta(0):
        return outbox.enqueue(TOPIC, payload, key=key)
    now = utcnow()
    event = OutboxEvent(topic=TOPIC, payload=payload, key=key, created_at=now)
    event.available_at = now + wait
    db.session.add(event)
    return event


@outbox.handler(TOPIC)
def notify(payload: dict[str, Any], event: OutboxEvent) -> None:
    """Send the mails of every message of the dossier not notified yet (see above)."""
    dossier = db.session.get(Dossier, payload["dossier"])
    if dossier is None:
        return
    pending = (
        sa.select(MessageNotification.message_id)
        .where(MessageNotification.dossier_id == dossier.id)
        .order_by(MessageNotification.message_id)
    )
    if db.engine.dialect.name == "postgresql":
        # A second handler of the same dossier waits here, then finds the rows gone.
        pending = pending.with_for_update()
    message_ids = list(db.session.scalars(pending))
    if not message_ids:
        return
    messages = list(
        db.session.scalars(
            sa.select(Message)
            .where(Message.id.in_(message_ids), Message.deleted_at.is_(None))
            .order_by(Message.created_at, Message.id)
        )
    )
    to_applicants = [m for m in messages if m.author_kind != AuthorKind.applicant]
    to_agents = [m for m in messages if m.author_kind == AuthorKind.applicant]
    if to_applicants:
        mail_applicants(dossier, to_applicants)
    if to_agents:
        mail_agents(dossier, to_agents)
    db.session.execute(
        sa.delete(MessageNotification).where(MessageNotification.message_id.in_(message_ids))
    )


def _unseen(messages: Sequence[Message], user: User, seen) -> list[Message]:
    return [
        message
        for message in messages
        if message.author_id != user.id and (seen is None or message.created_at > seen)
    ]


def applicant_recipients(dossier: Dossier) -> list[User]:
    """The owner and the accepted, not revoked, co-editors with an address, once each."""
    co_editors = sa.select(Invitation.user_id).where(
        Invitation.dossier_id == dossier.id,
        Invitation.user_id.is_not(None),
        Invitation.accepted_at.is_not(None),
        Invitation.revoked_at.is_(None),
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                sa.or_(User.id == dossier.owner_id, User.id.in_(co_editors)),
                User.active.is_(True),
                User.email.is_not(None),
            )
            .order_by(User.id)
        )
    )


def mail_applicants(dossier: Dossier, messages: Sequence[Message]) -> int:
    """One mail per applicant-side person with something unread; returns mails queued."""
    sent = 0
    for user in applicant_recipients(dossier):
        seen = db.session.scalar(
            sa.select(MessageRead.seen_at).where(
                MessageRead.dossier_id == dossier.id, MessageRead.user_id == user.id
            )
        )
        theirs = _unseen(messages, user, seen)
        if not theirs:
            continue
        event = (
            MailEvent.correction_requested
            if any(message.correction_reason is not None for message in theirs)
            else MailEvent.new_message
        )
        subject, body = mail_templates.render(dossier.procedure, event, dossier)
        mail.send(user.email, subject, body, key=f"messaging-{user.id}-{theirs[-1].id}")
        sent += 1
    return sent


def agent_recipients(dossier: Dossier) -> list[tuple[User, Any]]:
    """(agent, their ``messages_seen_at``) of the followers still in the dossier's group
    who have not turned message mails off for this procedure."""
    if dossier.group_id is None:
        return []
    in_group = sa.exists().where(
        instructor_group_member.c.group_id == dossier.group_id,
        instructor_group_member.c.user_id == User.id,
    )
    opted_out = sa.exists().where(
        NotificationPreference.user_id == User.id,
        NotificationPreference.procedure_id == dossier.procedure_id,
        NotificationPreference.on_new_message.is_(False),
    )
    return list(
        db.session.execute(
            sa.select(User, Follow.messages_seen_at)
            .join(Follow, Follow.user_id == User.id)
            .where(
                Follow.dossier_id == dossier.id,
                User.active.is_(True),
                User.email.is_not(None),
                in_group,
                sa.not_(opted_out),
            )
            .order_by(User.id)
        ).tuples()
    )


def thread_link(dossier: Dossier) -> str:
    """The absolute address of the thread, for a mail (no request here: built from the
    URL map and ``PUBLIC_URL``)."""
    path = current_app.url_map.bind("").build("messaging.thread", {"number": dossier.id})
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def mail_agents(dossier: Dossier, messages: Sequence[Message]) -> int:
    """One mail per following agent with something unread, in the platform's language
    (a background job knows nobody's browser); returns mails queued."""
    sent = 0
    language = current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    for user, seen in agent_recipients(dossier):
        theirs = _unseen(messages, user, seen)
        if not theirs:
            continue
        with force_locale(language):
            subject = gettext(
                "Dossier n° %(number)d: new message from the applicant", number=dossier.id
            )
            body = "\n\n".join(
                [
                    gettext("Hello,"),
                    ngettext(
                        "The applicant of dossier n° %(number)d (%(procedure)s) wrote "
                        "%(num)d new message.",
                        "The applicant of dossier n° %(number)d (%(procedure)s) wrote "
                        "%(num)d new messages.",
                        len(theirs),
                        number=dossier.id,
                        procedure=dossier.procedure.title,
                    ),
                    gettext("Read and answer: %(link)s", link=thread_link(dossier)),
                    gettext("You receive this mail because you follow this dossier."),
                ]
            )
        mail.send(user.email, subject, body + "\n", key=f"messaging-{user.id}-{theirs[-1].id}")
        sent += 1
    return sent
