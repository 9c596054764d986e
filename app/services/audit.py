"""The audit log: who did what, when and from where, append-only and hash-chained.

``record`` is what the rest of the code calls (the core's receivers below, the plugins for
message deletions, exports and downloads). An entry belongs to the caller's transaction:
it is written when that transaction commits and vanishes with it when it rolls back, so
the log never tells of a change that did not happen.

Each entry's ``hash`` is the SHA-256 of a canonical JSON of its own fields (everything but
its id, which the database assigns) followed by the previous entry's hash (``prev_hash``).
Changing, removing or reordering an entry therefore breaks the chain at that place, which
``verify`` (``flask --app app guichet audit verify``) finds. Someone able to rewrite the
database could recompute every hash after the entry they changed: the chain proves
integrity only against a head recorded elsewhere, which is why ``verify`` prints the
head and checks ``--anchor`` values noted earlier (docs/security.md).

Why entries are written at commit and not at once: the chain has one head, so appending
is serialised. On PostgreSQL a transaction-level advisory lock is taken right before the
last hash is read, and held until the transaction ends; taking it when ``record`` is
called would make every other writer wait for the whole of the caller's transaction (an
export, a batch of deletions), whereas at commit it is held for a few milliseconds. On
SQLite the single writer lock plays that role: a no-op ``DELETE`` takes it before the read.

On PostgreSQL a trigger (migration ``c5d8e2a41f07``) refuses UPDATE and DELETE on
``audit_event``; ``actor_id`` and ``procedure_id`` carry no foreign key so that deleting a
user or a test procedure never has to rewrite history.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.base import NO_VALUE

from .. import signals
from ..extensions import db
from ..models import (
    AdministrationMember,
    ApiToken,
    AuditEvent,
    Dossier,
    DossierState,
    DossierTombstone,
    InstructorGroup,
    utcnow,
)

log = logging.getLogger(__name__)

LOCK_KEY = int.from_bytes(hashlib.sha256(b"guichet:audit_event").digest()[:8], "big", signed=True)
"""The PostgreSQL advisory lock that serialises appends (one 64-bit key for the table)."""

_PENDING = "guichet_audit_pending"
VERIFY_BATCH = 5_000


class _System:
    """Marker for an action nobody did by hand (a beat task, the workflow's automatic
    steps): ``record(..., actor=SYSTEM)`` stores no actor even inside a request."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


class Action:
    """Action names written by the core. Plugins use their own, in the same
    ``object.verb`` form (``message.deleted``, ``export.downloaded``)."""

    STATE_CHANGED = "dossier.state_changed"
    RESUBMITTED = "dossier.resubmitted"
    ANSWERS_CHANGED = "dossier.answers_changed"
    ANNOTATIONS_CHANGED = "dossier.annotations_changed"
    DOSSIER_DELETED = "dossier.deleted"
    RETENTION_EXTENDED = "dossier.retention_extended"
    EXPIRY_WARNED = "dossier.expiry_warned"
    ROLE_GRANTED = "user.role_granted"
    ROLE_REVOKED = "user.role_revoked"
    USER_DELETED = "user.deleted"
    ADMINISTRATOR_ADDED = "administration.member_added"
    ADMINISTRATOR_REMOVED = "administration.member_removed"
    GROUP_MEMBER_ADDED = "instructor_group.member_added"
    GROUP_MEMBER_REMOVED = "instructor_group.member_removed"
    TOKEN_CREATED = "api_token.created"
    TOKEN_REVOKED = "api_token.revoked"
    ATTACHMENT_DOWNLOADED = "attachment.downloaded"
    DOSSIER_ARCHIVE_DOWNLOADED = "dossier.archive_downloaded"
    MESSAGE_DELETED = "message.deleted"


# ---------------------------------------------------------------------------------------
# Hashing


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def normalised(value: Any) -> Any:
    """``value`` as plain JSON that reads back from any database exactly as written.

    Floats and decimals become strings: PostgreSQL's JSONB may spell a number differently
    from Python (``1e+20`` comes back as ``100000000000000000000``), and the hash of the
    entry read back would then differ from the one written.
    """
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return normalised(value.value)
    if isinstance(value, float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): normalised(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(normalised(item) for item in value)
    if isinstance(value, list | tuple):
        return [normalised(item) for item in value]
    raise TypeError(f"cannot record a {type(value).__name__} in the audit log")


def timestamp(moment: datetime) -> str:
    """An instant in UTC to the microsecond, as both databases store it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: Any, prev_hash: str | None) -> str:
    """SHA-256 of the entry's id-independent fields, canonically, then ``prev_hash``."""
    fields = {
        "at": timestamp(entry.at),
        "actor_id": entry.actor_id,
        "actor_ip": entry.actor_ip,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "procedure_id": entry.procedure_id,
        "data": entry.data,
    }
    return hashlib.sha256((canonical_json(fields) + (prev_hash or "")).encode()).hexdigest()


# ---------------------------------------------------------------------------------------
# Recording


def record(
    action: str,
    object_type: str,
    object_id: Any,
    *,
    actor: Any = None,
    procedure_id: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an entry to the current transaction; it is written when that commits.

    ``actor`` is a user, a user id, ``SYSTEM`` (nobody), or None for the person signed in
    to the current request (nobody outside a request). The address comes from the request
    (``request.remote_addr``: configure ``PROXY_FIX`` behind a reverse proxy). ``data``
    must not hold personal data that the log would then keep longer than the dossier:
    names of changed fields, states, counts, ids.

    The returned entry is not in the session; it gets its ``id`` and ``hash`` at commit.
    """
    session = db.session()
    entry = AuditEvent(
        at=utcnow(),
        actor_id=_actor_id(actor),
        actor_ip=_request_ip(),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:40],
        procedure_id=procedure_id,
        data=normalised(dict(data or {})),
    )
    _listen_for_commits()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append((entry, transaction))
    return entry


_WRITER_LISTENERS = (
    ("before_commit", "_write_pending"),
    ("after_soft_rollback", "_forget_rolled_back"),
    ("after_transaction_end", "_forget_unwritten"),
)
_writing: list[bool] = []


def _listen_for_commits() -> None:
    """Hook the session's commits once per process, whether or not ``init_app`` ran:
    an entry recorded must never be silently dropped."""
    if _writing:
        return
    for name, function in _WRITER_LISTENERS:
        listener = globals()[function]
        if not sa.event.contains(db.session, name, listener):
            sa.event.listen(db.session, name, listener)
    _writing.append(True)


def record_access(
    action: str,
    object_type: str,
    object_id: Any,
    *,
    dossier_id: int | None = None,
    procedure_id: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Record a read (a download, an export) and commit at once: a view that only reads
    has no commit of its own to carry the entry. ``dossier_id`` is added to ``data`` and
    gives the entry its procedure, so that the procedure's journal shows it."""
    details = dict(data or {})
    if dossier_id is not None:
        details["dossier"] = dossier_id
        if procedure_id is None:
            procedure_id = db.session.scalar(
                sa.select(Dossier.procedure_id).where(Dossier.id == dossier_id)
            )
    entry = record(action, object_type, object_id, procedure_id=procedure_id, data=details)
    db.session.commit()
    return entry


def _actor_id(actor: Any) -> int | None:
    if actor is SYSTEM:
        return None
    if actor is None:
        if not has_request_context():
            return None
        # The user flask-login loaded for this request; never load one in the middle of
        # a flush.
        actor = g.get("_login_user")
        if actor is None or not getattr(actor, "is_authenticated", False):
            return None
    if isinstance(actor, int):
        return actor
    return getattr(actor, "id", None)


def _request_ip() -> str | None:
    if not has_request_context() or not request.remote_addr:
        return None
    return request.remote_addr[:45]


def _write_pending(session: Session) -> None:
    """``before_commit``: write the transaction's entries at the end of the chain."""
    if session.in_nested_transaction():
        return  # a savepoint is released; its entries wait for the real commit
    session.flush()  # the flush receivers below record what this flush changes
    pending = session.info.pop(_PENDING, None)
    if pending:
        append(session.connection(), [entry for entry, _transaction in pending])


def append(connection: sa.Connection, entries: Iterable[AuditEvent]) -> None:
    """Chain ``entries`` after the current head and insert them, in order, serialised
    with every other writer (see the module's docstring)."""
    table = AuditEvent.__table__
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
    else:
        connection.execute(sa.delete(table).where(sa.false()))  # takes the writer lock
    previous = connection.scalar(sa.select(table.c.hash).order_by(table.c.id.desc()).limit(1))
    for entry in entries:
        entry.prev_hash = previous
        entry.hash = entry_hash(entry, previous)
        entry.id = connection.scalar(
            sa.insert(table)
            .values(
                at=entry.at,
                actor_id=entry.actor_id,
                actor_ip=entry.actor_ip,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                procedure_id=entry.procedure_id,
                data=entry.data,
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
            .returning(table.c.id)
        )
        previous = entry.hash


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """``after_soft_rollback``: entries recorded in what was rolled back (the whole
    transaction, or a savepoint and what it contained) are dropped."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    kept = [item for item in pending if not _within(item[1], previous_transaction)]
    if kept:
        session.info[_PENDING] = kept
    else:
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _forget_unwritten(session: Session, transaction: SessionTransaction) -> None:
    """``after_transaction_end`` of the outermost transaction: whatever was not written
    (a session closed without commit) must not leak into the next transaction."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# ---------------------------------------------------------------------------------------
# What the session's flushes change: answers after submission, annotations, memberships,
# tokens, deletions of dossiers.


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Compare answers and annotations with what the database still holds."""
    for item in session.dirty:
        if isinstance(item, Dossier) and session.is_modified(item, include_collections=False):
            _dossier_changes(session, item)


def _dossier_changes(session: Session, dossier: Dossier) -> None:
    attributes = sa.inspect(dossier).attrs
    state = attributes.state.history
    state_before = state.deleted[0] if state.deleted else dossier.state
    for name, action in (
        ("answers", Action.ANSWERS_CHANGED),
        ("annotations", Action.ANNOTATIONS_CHANGED),
    ):
        history = attributes[name].history
        if not history.has_changes():
            continue
        if name == "answers" and state_before == DossierState.draft:
            continue  # a draft is the applicant's own business until it is submitted
        before = history.deleted[0] if history.deleted else _stored(session, dossier, name)
        changed = changed_keys(before or {}, getattr(dossier, name) or {})
        if changed:
            record(
                action,
                "dossier",
                dossier.id,
                procedure_id=dossier.procedure_id,
                data={"fields": changed},
            )


def _stored(session: Session, dossier: Dossier, name: str) -> Any:
    column = getattr(Dossier, name)
    return session.connection().scalar(sa.select(column).where(Dossier.id == dossier.id))


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The stable ids whose value differs (added, changed or removed), never the values."""
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def _after_flush(session: Session, _context: Any) -> None:
    """Memberships, tokens and deletions, once new rows have their ids."""
    for item in session.new:
        if isinstance(item, AdministrationMember):
            _administrator(Action.ADMINISTRATOR_ADDED, item)
        elif isinstance(item, ApiToken):
            _token(Action.TOKEN_CREATED, item)
        elif isinstance(item, DossierTombstone):
            record(
                Action.DOSSIER_DELETED,
                "dossier",
                item.number,
                procedure_id=item.procedure_id,
                data={"reason": item.reason, "state": item.state},
            )
    for item in session.deleted:
        if isinstance(item, AdministrationMember):
            _administrator(Action.ADMINISTRATOR_REMOVED, item)
        elif isinstance(item, User):
            roles = sa.inspect(item).attrs.roles.loaded_value
            names = [] if roles is NO_VALUE else [role.name for role in roles]
            record(Action.USER_DELETED, "user", item.id, data={"roles": sorted(names)})
    for item in (*session.new, *session.dirty):
        if isinstance(item, User):
            _collection(item, "roles", Action.ROLE_GRANTED, Action.ROLE_REVOKED)
        elif isinstance(item, InstructorGroup):
            _collection(item, "members", Action.GROUP_MEMBER_ADDED, Action.GROUP_MEMBER_REMOVED)
        elif isinstance(item, ApiToken) and item not in session.new:
            revoked = sa.inspect(item).attrs.revoked_at.history
            if revoked.has_changes() and item.revoked_at is not None:
                _token(Action.TOKEN_REVOKED, item)


def _collection(item: Any, name: str, added_action: str, removed_action: str) -> None:
    history = sa.inspect(item).attrs[name].history
    for action, members in ((added_action, history.added), (removed_action, history.deleted)):
        for member in members:
            if isinstance(item, User):
                record(action, "user", item.id, data={"role": member.name})
            else:
                record(
                    action,
                    "instructor_group",
                    item.id,
                    procedure_id=item.procedure_id,
                    data={"user": member.id},
                )


def _administrator(action: str, member: AdministrationMember) -> None:
    record(action, "administration", member.administration_id, data={"user": member.user_id})


def _token(action: str, token: ApiToken) -> None:
    """Which token, whose, for what: never the secret nor its hash."""
    record(
        action,
        "api_token",
        token.id,
        data={
            "name": token.name,
            "prefix": token.prefix,
            "owner": token.owner_id,
            "administration": token.administration_id,
            "read_only": token.read_only,
            "expires_at": token.expires_at,
        },
    )


# ---------------------------------------------------------------------------------------
# Signals of the core


def on_state_changed(sender: Flask, dossier: Dossier, transition: Any, **_: Any) -> None:
    """Every transition of the workflow, with who made it (nobody for automatic ones)."""
    record(
        Action.STATE_CHANGED,
        "dossier",
        dossier.id,
        actor=transition.actor_id if transition.actor_id is not None else SYSTEM,
        procedure_id=dossier.procedure_id,
        data={
            "event": transition.event,
            "from": transition.from_state,
            "to": transition.to_state,
        },
    )


def on_submitted(sender: Flask, dossier: Dossier, first: bool = True, **_: Any) -> None:
    """A re-submission (after a correction request or an edit). A first submission is a
    state change, recorded by ``on_state_changed`` already."""
    if not first:
        record(Action.RESUBMITTED, "dossier", dossier.id, procedure_id=dossier.procedure_id)


def init_app(app: Flask) -> None:
    """Connect the receivers and the session's listeners (once per process: the session
    factory and the signals are shared by every app)."""
    signals.dossier_state_changed.connect(on_state_changed)
    signals.dossier_submitted.connect(on_submitted)
    _listen_for_commits()
    for name, listener in (("before_flush", _before_flush), ("after_flush", _after_flush)):
        if not sa.event.contains(db.session, name, listener):
            sa.event.listen(db.session, name, listener)
    app.extensions["guichet_audit"] = True


# ---------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True)
class Problem:
    """The first place where the chain does not hold."""

    entry_id: int
    position: int  # 1 for the oldest entry
    kind: str  # altered, removed, reordered, inserted, anchor
    message: str


@dataclass(frozen=True)
class Verification:
    count: int  # entries checked before a problem (all of them when there is none)
    head_id: int | None
    head_hash: str | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(anchors: Mapping[int, str] | None = None) -> Verification:
    """Walk the chain from the oldest entry and report the first broken place.

    - altered: the entry's fields no longer give its hash;
    - removed: the entry's predecessor is not in the log (deleted, or rewritten with a
      new hash);
    - reordered: its predecessor exists but elsewhere in the log;
    - inserted: a second entry claiming to start the chain;
    - anchor: an entry noted earlier (``anchors``: id → hash) is gone or has changed.
    """
    anchors = dict(anchors or {})
    table = AuditEvent.__table__
    previous: str | None = None
    count = 0
    head_id = None
    for row in _rows(table):
        position = count + 1
        problem = None
        if entry_hash(row, row.prev_hash) != row.hash:
            problem = Problem(
                row.id,
                position,
                "altered",
                f"entry {row.id} was altered: its content does not give its hash",
            )
        elif row.prev_hash != previous:
            problem = _link_problem(table, row, previous, position)
        elif row.id in anchors and anchors.pop(row.id) != row.hash:
            problem = Problem(
                row.id, position, "anchor", f"entry {row.id} does not have the noted hash"
            )
        if problem is not None:
            return Verification(count, head_id, previous, problem)
        previous, head_id, count = row.hash, row.id, position
    if anchors:
        missing = min(anchors)
        problem = Problem(missing, 0, "anchor", f"entry {missing} noted earlier is missing")
        return Verification(count, head_id, previous, problem)
    return Verification(count, head_id, previous, None)


def _rows(table: sa.Table) -> Iterator[Any]:
    """Every entry in id order, a batch at a time (the log may hold millions)."""
    last = 0
    while True:
        batch = db.session.execute(
            sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(VERIFY_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _link_problem(table: sa.Table, row: Any, previous: str | None, position: int) -> Problem:
    if row.prev_hash is None:
        return Problem(row.id, position, "inserted", f"entry {row.id} claims to start the chain")
    holder = db.session.scalar(sa.select(table.c.id).where(table.c.hash == row.prev_hash))
    if holder is None:
        what = "the entries before it were removed" if previous is None else "removed"
        return Problem(
            row.id,
            position,
            "removed",
            f"the entry that entry {row.id} follows is missing ({what})",
        )
    return Problem(
        row.id,
        position,
        "reordered",
        f"entry {row.id} follows entry {holder}, which is elsewhere in the log (reordered)",
    )
