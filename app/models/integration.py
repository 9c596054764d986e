"""API tokens and webhooks that connect an administration's own systems."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import USER_ID, JSONDoc, UTCDateTime, created_at_column

api_token_procedure = sa.Table(
    "api_token_procedure",
    Model.metadata,
    sa.Column("token_id", sa.ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("procedure_id", sa.ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True),
)


class ApiToken(Model):
    """A secret shown once to its administrator; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey(USER_ID, ondelete="CASCADE"), index=True)
    administration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("administration.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(default=True)
    ip_allowlist: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_ip: Mapped[str | None] = mapped_column(sa.String(45))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    owner = relationship("User")
    procedures = relationship("Procedure", secondary=api_token_procedure)


class Webhook(Model):
    """A procedure's subscription of an outside URL to its events, signed with ``secret``."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(sa.String(2000))
    secret: Mapped[str] = mapped_column(sa.String(128))
    events: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()

    procedure = relationship("Procedure")
    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookDelivery(Model):
    """One event to deliver to a webhook, with its attempts and the last answer."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_webhook", "webhook_id", "created_at"),
        sa.UniqueConstraint("webhook_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    event: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    attempts: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None] = mapped_column()
    response_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")
