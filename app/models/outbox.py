"""The transactional outbox (docs/decisions/0002-transactional-outbox.md).

An event is written in the same transaction as the change it announces; a relay hands it to
Celery afterwards, so nothing is lost when the broker is down and nothing is sent for a
rolled-back change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONDoc, UTCDateTime, created_at_column


class OutboxEvent(Model):
    """One side effect to carry out. ``dispatched_at``: handed to Celery;
    ``processed_at``: carried out (a redelivered event is then skipped)."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        sa.Index(
            "ix_outbox_event_pending",
            "available_at",
            postgresql_where=sa.text("dispatched_at IS NULL"),
            sqlite_where=sa.text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A unique key lets consumers make delivery idempotent.
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    topic: Mapped[str] = mapped_column(sa.String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    available_at: Mapped[datetime] = created_at_column()
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
