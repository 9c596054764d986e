"""Retention: how long a dossier is kept, the warning before it goes, and its deletion.

- A decision sets ``expires_at`` to the decision date plus the procedure's
  ``retention_months`` (``on_state_changed``, a receiver of ``dossier_state_changed``);
  reopening the dossier clears it, a new decision starts the period again.
- ``warn_expiring``: two weeks before, the owner gets the ``expiry_warning`` mail once
  (``expiry_warned_at``), with the address where they ask for an extension.
- ``extend``: the owner keeps their dossier one more retention period, at most
  ``RETENTION_MAX_EXTENSIONS`` times (default 2), once the warning period has begun.
- ``purge``: deletes decided dossiers past their expiry (never less than two weeks after
  their warning, so that a late warning still gives the time it promises) and drafts
  nobody touched for the procedure's ``draft_retention_days``. Each deletion sends
  ``dossier_deleting`` (the attachments plugin deletes the files), keeps a
  ``DossierTombstone`` (number, procedure, state, dates, reason) and, through the
  tombstone, an audit entry. Batches commit one by one; candidates are locked with
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two runs at once share the work instead of
  doing it twice, and a second run finds nothing left.

Functions other than ``purge`` leave the commit to the caller.
"""

from __future__ import annotations

import calendar
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from .. import signals, workflow
from ..extensions import db
from ..models import (
    DECIDED_STATES,
    Dossier,
    DossierState,
    DossierTombstone,
    MailEvent,
    utcnow,
)
from . import audit, mail, mail_templates, template_tags

log = logging.getLogger(__name__)

WARNING_DELAY = timedelta(days=14)
"""How long before its deletion the owner is warned, and the least time between the
warning and the deletion."""
DEFAULT_MAX_EXTENSIONS = 2
BATCH = 100
EXTEND_PATH = "/dossiers/{number}/prolonger"
"""The owner's extension page (``app/views/retention.py``), linked from the warning."""

EXPIRED = "retention_expired"
DRAFT_EXPIRED = "draft_expired"


class ExtensionRefused(Exception):
    """An extension the dossier does not allow now; ``message`` says why."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def max_extensions() -> int:
    return int(current_app.config.get("RETENTION_MAX_EXTENSIONS", DEFAULT_MAX_EXTENSIONS))


# ---------------------------------------------------------------------------------------
# Expiry set by the workflow


def on_state_changed(sender: Flask, dossier: Dossier, transition: Any, **_: Any) -> None:
    """A decision starts the retention period; reopening stops it."""
    if transition.event in workflow.DECISIONS:
        dossier.expires_at = add_months(transition.at, dossier.procedure.retention_months)
        dossier.expiry_warned_at = None
        dossier.retention_extensions = 0
    elif transition.event == workflow.Event.reopen:
        dossier.expires_at = None
        dossier.expiry_warned_at = None


def schedule_missing(batch: int = 1000) -> int:
    """Give an expiry to dossiers that have none although they should (decided, or
    drafts, before retention was in place); how many were given one."""
    rows = db.session.scalars(
        sa.select(Dossier)
        .where(
            Dossier.expires_at.is_(None),
            Dossier.state.in_([*DECIDED_STATES, DossierState.draft]),
        )
        .order_by(Dossier.id)
        .limit(batch)
    ).all()
    for dossier in rows:
        procedure = dossier.procedure
        if dossier.state == DossierState.draft:
            dossier.expires_at = dossier.updated_at + timedelta(days=procedure.draft_retention_days)
        else:
            decided = dossier.decided_at or dossier.updated_at
            dossier.expires_at = add_months(decided, procedure.retention_months)
    return len(rows)


# ---------------------------------------------------------------------------------------
# Warning


def _locked(statement: sa.Select) -> sa.Select:
    """Candidates another run holds are skipped rather than waited for (PostgreSQL). On
    SQLite, which has no row locks, the database's single writer lock is taken first
    (a no-op ``DELETE``), so a second run waits for the first's commit and then sees
    what is left."""
    if db.engine.dialect.name == "postgresql":
        return statement.with_for_update(skip_locked=True, of=Dossier)
    db.session.execute(sa.delete(DossierTombstone).where(sa.false()))
    return statement


def warn_expiring(now: datetime | None = None, batch: int = 500) -> int:
    """Mail the owners of decided dossiers expiring within two weeks, once per expiry
    date; how many dossiers were handled. A dossier whose owner has no address is marked
    warned all the same: nobody can be told, and its deletion must not wait forever."""
    now = now or utcnow()
    due = _locked(
        sa.select(Dossier)
        .where(
            Dossier.state.in_(DECIDED_STATES),
            Dossier.expires_at.is_not(None),
            Dossier.expires_at <= now + WARNING_DELAY,
            Dossier.expiry_warned_at.is_(None),
        )
        .order_by(Dossier.expires_at)
        .limit(batch)
    )
    dossiers = db.session.scalars(due).all()
    for dossier in dossiers:
        _warn(dossier, now)
    return len(dossiers)


def _warn(dossier: Dossier, now: datetime) -> None:
    owner = dossier.owner
    if owner is not None and owner.email:
        subject, body = mail_templates.render(dossier.procedure, MailEvent.expiry_warning, dossier)
        link = template_tags.absolute(EXTEND_PATH.format(number=dossier.id))
        body = (
            body.rstrip("\n")
            + "\n\n"
            + gettext("To keep your dossier longer, ask for an extension here: %(link)s", link=link)
            + "\n"
        )
        mail.send(
            owner.email,
            subject,
            body,
            key=f"expiry-warning-{dossier.id}-{dossier.expires_at:%Y%m%d%H%M%S}",
        )
    else:
        log.warning("Dossier %s expires but has no owner address: nobody warned", dossier.id)
    dossier.expiry_warned_at = now
    audit.record(
        audit.Action.EXPIRY_WARNED,
        "dossier",
        dossier.id,
        actor=audit.SYSTEM,
        procedure_id=dossier.procedure_id,
        data={"expires_at": dossier.expires_at, "mailed": owner is not None and bool(owner.email)},
    )


# ---------------------------------------------------------------------------------------
# Extension


@dataclass(frozen=True)
class ExtensionOffer:
    """What the owner's extension page shows."""

    expires_at: datetime | None
    new_expires_at: datetime | None
    extensions_left: int
    refusal: Any | None  # why it cannot be extended now, or None


def offer(dossier: Dossier, now: datetime | None = None) -> ExtensionOffer:
    now = now or utcnow()
    left = max(max_extensions() - dossier.retention_extensions, 0)
    refusal = _refusal(dossier, now, left)
    new = None
    if refusal is None:
        new = add_months(max(dossier.expires_at, now), dossier.procedure.retention_months)
    return ExtensionOffer(dossier.expires_at, new, left, refusal)


def _refusal(dossier: Dossier, now: datetime, left: int) -> Any | None:
    if not dossier.is_decided or dossier.expires_at is None:
        return _l("Only a decided dossier has a retention period to extend.")
    if left <= 0:
        return _l(
            "This dossier was already extended as many times as allowed (%(count)d).",
            count=max_extensions(),
        )
    if dossier.expiry_warned_at is None and dossier.expires_at - now > WARNING_DELAY:
        return _l(
            "An extension can be asked for in the two weeks before the deletion, "
            "after the warning mail."
        )
    return None


def extend(dossier: Dossier, user: Any, now: datetime | None = None) -> datetime:
    """Keep the dossier one more retention period; the new expiry. Only its owner may
    (``PermissionError``); ``ExtensionRefused`` says why it cannot be extended now."""
    now = now or utcnow()
    if user is None or dossier.owner_id is None or dossier.owner_id != getattr(user, "id", None):
        raise PermissionError("only the owner of a dossier may extend it")
    proposal = offer(dossier, now)
    if proposal.refusal is not None:
        raise ExtensionRefused(proposal.refusal)
    dossier.expires_at = proposal.new_expires_at
    dossier.expiry_warned_at = None
    dossier.retention_extensions += 1
    audit.record(
        audit.Action.RETENTION_EXTENDED,
        "dossier",
        dossier.id,
        actor=user,
        procedure_id=dossier.procedure_id,
        data={"expires_at": dossier.expires_at, "extensions": dossier.retention_extensions},
    )
    return dossier.expires_at


# ---------------------------------------------------------------------------------------
# Deletion


@dataclass
class PurgeReport:
    expired: int = 0
    drafts: int = 0
    drafts_kept: int = 0  # touched since their expiry was set: expiry moved on

    def __str__(self) -> str:
        return (
            f"{self.expired} expired dossiers and {self.drafts} abandoned drafts deleted, "
            f"{self.drafts_kept} drafts kept (touched recently)"
        )


def purge(now: datetime | None = None, batch: int = BATCH) -> PurgeReport:
    """Delete every expired dossier, a batch per transaction (see the module's docstring)."""
    now = now or utcnow()
    report = PurgeReport()
    while True:
        dossiers = db.session.scalars(_locked(_purgeable(now).limit(batch))).all()
        if not dossiers:
            db.session.commit()
            return report
        for dossier in dossiers:
            if dossier.state != DossierState.draft:
                delete(dossier, EXPIRED, now)
                report.expired += 1
            elif _untouched(dossier, now):
                delete(dossier, DRAFT_EXPIRED, now)
                report.drafts += 1
            else:
                dossier.expires_at = _draft_expiry(dossier)
                report.drafts_kept += 1
        db.session.commit()


def _purgeable(now: datetime) -> sa.Select:
    decided = sa.and_(
        Dossier.state.in_(DECIDED_STATES),
        Dossier.expiry_warned_at.is_not(None),
        Dossier.expiry_warned_at <= now - WARNING_DELAY,
    )
    draft = Dossier.state == DossierState.draft
    return (
        sa.select(Dossier)
        .where(Dossier.expires_at.is_not(None), Dossier.expires_at <= now, sa.or_(decided, draft))
        .order_by(Dossier.expires_at, Dossier.id)
    )


def _draft_expiry(dossier: Dossier) -> datetime:
    return dossier.updated_at + timedelta(days=dossier.procedure.draft_retention_days)


def _untouched(dossier: Dossier, now: datetime) -> bool:
    return _draft_expiry(dossier) <= now


def delete(dossier: Dossier, reason: str, now: datetime | None = None) -> DossierTombstone:
    """Delete one dossier and everything that hangs on it, keeping its tombstone.
    Nothing is committed."""
    signals.dossier_deleting.send(current_app._get_current_object(), dossier=dossier, reason=reason)
    tombstone = DossierTombstone(
        number=dossier.id,
        procedure_id=dossier.procedure_id,
        state=dossier.state,
        reason=reason,
        created_at=dossier.created_at,
        submitted_at=dossier.submitted_at,
        decided_at=dossier.decided_at,
        deleted_at=now or utcnow(),
    )
    db.session.add(tombstone)
    db.session.flush()  # the receivers' own deletions (files) go first
    _delete_dependents(Dossier.__table__, Dossier.__table__.c.id == dossier.id, set())
    db.session.delete(dossier)
    db.session.flush()
    return tombstone


def _delete_dependents(table: sa.Table, where: sa.ColumnElement[bool], seen: set[str]) -> None:
    """Do what ``ON DELETE CASCADE`` / ``SET NULL`` would do for the rows of ``table``
    matching ``where``: SQLite does not enforce foreign keys here, and a purge must leave
    no message, opinion or history of the dossier behind on any database. Foreign keys
    without an ``ON DELETE`` rule are left to the database (which then refuses)."""
    seen = seen | {table.name}
    (key,) = table.primary_key.columns
    targets = sa.select(key).where(where)
    for child in db.metadata.sorted_tables:
        for foreign_key in child.foreign_keys:
            if foreign_key.column is not key:
                continue
            column = foreign_key.parent
            rule = (foreign_key.ondelete or "").upper()
            if rule == "SET NULL":
                db.session.execute(
                    sa.update(child).where(column.in_(targets)).values({column.name: None})
                )
            elif rule == "CASCADE":
                match = column.in_(targets)
                if child.name not in seen and len(child.primary_key.columns) == 1:
                    _delete_dependents(child, match, seen)
                db.session.execute(sa.delete(child).where(match))


def init_app(app: Flask) -> None:
    """Connect the expiry receiver (once per process: signals are shared by every app).
    ``RETENTION_MAX_EXTENSIONS`` comes from the environment unless the app sets it."""
    from_env = os.environ.get("RETENTION_MAX_EXTENSIONS")
    app.config.setdefault(
        "RETENTION_MAX_EXTENSIONS", int(from_env) if from_env else DEFAULT_MAX_EXTENSIONS
    )
    signals.dossier_state_changed.connect(on_state_changed)
