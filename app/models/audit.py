"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONDoc, created_at_column


class AuditEvent(Model):
    """Who did what, when and from where. ``hash`` covers the entry and ``prev_hash``
    (``app/services/audit.py`` writes and verifies the chain).

    ``actor_id`` and ``procedure_id`` carry no foreign key on purpose: the log outlives
    what it mentions, and an ``ON DELETE SET NULL`` would rewrite history (breaking the
    chain, and refused by the append-only trigger on PostgreSQL). The journals read
    newest first by id within a procedure or an action, hence their indexes.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_object", "object_type", "object_id"),
        sa.Index("ix_audit_event_procedure", "procedure_id", "id"),
        sa.Index("ix_audit_event_action", "action", "id"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    at: Mapped[datetime] = created_at_column()
    actor_id: Mapped[int | None] = mapped_column()
    actor_ip: Mapped[str | None] = mapped_column(sa.String(45))
    action: Mapped[str] = mapped_column(sa.String(80))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    procedure_id: Mapped[int | None] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
