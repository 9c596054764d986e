"""The agents' daily digest: one mail a day per agent who asked for it, covering every
procedure where their ``NotificationPreference.daily_digest`` is on.

For each of those procedures, about the dossiers the agent sees in the workspace only
(``tables.workspace_scope``): the dossiers submitted since the previous digest, the
applicants' messages written since, and how many dossiers wait for the applicant's
corrections. No mail when nothing is new (no new dossier, no new message).

Once a day: a beat task runs every hour and sends the digests due, after ``DIGEST_HOUR``
(local time, ``BABEL_DEFAULT_TIMEZONE``). Each preference remembers when a digest last
covered it (``digest_sent_at``); an agent whose preferences were covered today is not due,
and the mail's outbox key (one per agent and day) refuses a second mail even to two beat
runs racing. Each agent is one transaction: the mail (an outbox event) and the marker are
written together or not at all. The mail is written in the platform's language (nobody's
browser is known to a background task), like the message notifications.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, gettext, ngettext
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    AuthorKind,
    Dossier,
    Message,
    NotificationPreference,
    Procedure,
    User,
    utcnow,
)
from ..security import visible_procedures
from . import mail
from .tables import STAFF_ROLES, SeenAs, workspace_scope

log = logging.getLogger(__name__)

TASK = "guichet.daily_digest"
DIGEST_HOUR = 7
"""Local hour from which the day's digests leave (config ``DIGEST_HOUR``)."""
FIRST_WINDOW = timedelta(days=1)
"""What the first digest of a newly opted-in procedure covers."""


@dataclass
class ProcedureNews:
    procedure: Procedure
    new_dossiers: int = 0
    new_messages: int = 0
    pending_corrections: int = 0

    @property
    def is_new(self) -> bool:
        return bool(self.new_dossiers or self.new_messages)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Paris"))


def local_day(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def day_start(day: date) -> datetime:
    """The moment (aware) a local day starts."""
    return datetime.combine(day, time.min, tzinfo=_zone())


# ---------------------------------------------------------------------------------------
# Preferences


def preference(user, procedure: Procedure) -> NotificationPreference | None:
    return db.session.scalar(
        sa.select(NotificationPreference).where(
            NotificationPreference.user_id == user.id,
            NotificationPreference.procedure_id == procedure.id,
        )
    )


def set_preferences(
    user, procedure: Procedure, *, daily_digest: bool, on_new_message: bool
) -> NotificationPreference:
    """Save the person's mail preferences for the procedure (the caller commits)."""
    item = preference(user, procedure)
    if item is None:
        item = NotificationPreference(user_id=user.id, procedure_id=procedure.id)
        db.session.add(item)
    item.daily_digest = daily_digest
    item.on_new_message = on_new_message
    db.session.flush()
    return item


# ---------------------------------------------------------------------------------------
# What is new


def news(user, procedure_ids: list[int], since: datetime) -> list[ProcedureNews]:
    """Per procedure (of those the person still sees), what happened since ``since`` on
    the dossiers they see: three grouped queries, whatever the number of procedures."""
    procedures = list(
        db.session.scalars(
            sa.select(Procedure)
            .where(Procedure.id.in_(procedure_ids), visible_procedures(SeenAs(user, STAFF_ROLES)))
            .order_by(Procedure.title, Procedure.id)
        )
    )
    if not procedures:
        return []
    by_id = {procedure.id: ProcedureNews(procedure) for procedure in procedures}
    seen = sa.and_(
        Dossier.procedure_id.in_(list(by_id)),
        workspace_scope(user),
        Dossier.hidden_by_administration_at.is_(None),
    )
    new_dossiers = db.session.execute(
        sa.select(Dossier.procedure_id, sa.func.count())
        .where(seen, Dossier.submitted_at >= since)
        .group_by(Dossier.procedure_id)
    )
    for procedure_id, count in new_dossiers:
        by_id[procedure_id].new_dossiers = int(count)
    new_messages = db.session.execute(
        sa.select(Dossier.procedure_id, sa.func.count())
        .select_from(Message)
        .join(Dossier, Dossier.id == Message.dossier_id)
        .where(
            seen,
            Message.created_at >= since,
            Message.deleted_at.is_(None),
            Message.author_kind == AuthorKind.applicant,
        )
        .group_by(Dossier.procedure_id)
    )
    for procedure_id, count in new_messages:
        by_id[procedure_id].new_messages = int(count)
    waiting = sa.exists().where(
        Message.dossier_id == Dossier.id,
        Message.correction_reason.is_not(None),
        Message.correction_resolved_at.is_(None),
    )
    pending = db.session.execute(
        sa.select(Dossier.procedure_id, sa.func.count())
        .where(seen, waiting)
        .group_by(Dossier.procedure_id)
    )
    for procedure_id, count in pending:
        by_id[procedure_id].pending_corrections = int(count)
    return list(by_id.values())


# ---------------------------------------------------------------------------------------
# Sending


def due_user_ids(now: datetime) -> list[int]:
    """The people with a digest preference not covered yet today."""
    today = day_start(local_day(now))
    last = sa.func.max(NotificationPreference.digest_sent_at)
    return list(
        db.session.scalars(
            sa.select(NotificationPreference.user_id)
            .where(NotificationPreference.daily_digest.is_(True))
            .group_by(NotificationPreference.user_id)
            .having(sa.or_(last.is_(None), last < today))
            .order_by(NotificationPreference.user_id)
        )
    )


def send_due(now: datetime | None = None) -> int:
    """Send the digests due now (none before ``DIGEST_HOUR``); returns mails queued."""
    now = now or utcnow()
    hour = current_app.config.get("DIGEST_HOUR", DIGEST_HOUR)
    if now.astimezone(_zone()).hour < hour:
        return 0
    sent = 0
    for user_id in due_user_ids(now):
        try:
            sent += send_one(user_id, now)
            db.session.commit()
        except IntegrityError:  # another run sent it (the mail's key): nothing to do
            db.session.rollback()
        except Exception:
            db.session.rollback()
            log.exception("Daily digest of user %s failed", user_id)
    return sent


def send_one(user_id: int, now: datetime) -> int:
    """Queue the person's digest if something is new, and mark their preferences covered;
    returns 1 when a mail was queued. The caller commits."""
    statement = sa.select(NotificationPreference).where(
        NotificationPreference.user_id == user_id, NotificationPreference.daily_digest.is_(True)
    )
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    preferences = list(db.session.scalars(statement))
    today = local_day(now)
    if not preferences or any(
        item.digest_sent_at is not None and item.digest_sent_at >= day_start(today)
        for item in preferences
    ):
        return 0
    since = min(item.digest_sent_at or now - FIRST_WINDOW for item in preferences)
    for item in preferences:
        item.digest_sent_at = now
    user = db.session.get(User, user_id)
    if user is None or not user.active or not user.email:
        return 0
    items = [
        item for item in news(user, [p.procedure_id for p in preferences], since) if item.is_new
    ]
    if not items:
        return 0
    subject, body = compose(items, today)
    mail.send(user.email, subject, body, key=f"digest-{user_id}-{today.isoformat()}")
    db.session.flush()  # a second mail for the day fails here, on the key
    return 1


def _link(endpoint: str, **values) -> str:
    path = current_app.url_map.bind("").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def compose(items: list[ProcedureNews], day: date) -> tuple[str, str]:
    """The digest's subject and text, in the platform's language."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")):
        subject = gettext("Your daily digest of %(date)s", date=format_date(day, "long"))
        parts = [
            gettext("Hello,"),
            gettext("Here is what is new in your procedures since the previous digest."),
        ]
        for item in items:
            lines = [item.procedure.title]
            if item.new_dossiers:
                lines.append(
                    "- "
                    + ngettext("%(num)d new dossier", "%(num)d new dossiers", item.new_dossiers)
                )
            if item.new_messages:
                lines.append(
                    "- "
                    + ngettext(
                        "%(num)d new message from applicants",
                        "%(num)d new messages from applicants",
                        item.new_messages,
                    )
                )
            if item.pending_corrections:
                lines.append(
                    "- "
                    + ngettext(
                        "%(num)d dossier waits for the applicant's corrections",
                        "%(num)d dossiers wait for the applicant's corrections",
                        item.pending_corrections,
                    )
                )
            lines.append(
                gettext(
                    "Open the table: %(link)s",
                    link=_link("WorkspaceView.table", procedure_id=item.procedure.id),
                )
            )
            parts.append("\n".join(lines))
        parts.append(
            gettext(
                "You receive this mail because you asked for a daily digest of these "
                "procedures. To stop it, change your mail preferences from each procedure's "
                "table."
            )
        )
    return subject, "\n\n".join(parts) + "\n"
