"""The agents' saved table settings and their background jobs (exports, batch actions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import USER_ID, JSONDoc, StrEnum, UTCDateTime, created_at_column, enum_type


class SavedView(Model):
    """An agent's columns, filters, sort and tab for one procedure's table."""

    __tablename__ = "saved_view"
    __table_args__ = (sa.UniqueConstraint("user_id", "procedure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey(USER_ID, ondelete="CASCADE"))
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    columns: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    sort: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    tab: Mapped[str] = mapped_column(sa.String(20), default="to_follow")


class JobState(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    ods = "ods"
    json = "json"
    zip = "zip"


class ExportJob(Model):
    """An export of a procedure's dossiers (the agent's filter and columns at request time)."""

    __tablename__ = "export_job"
    __table_args__ = (sa.Index("ix_export_job_user", "requested_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    format: Mapped[ExportFormat] = mapped_column(enum_type(ExportFormat))
    query: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    state: Mapped[JobState] = mapped_column(enum_type(JobState), default=JobState.pending)
    total: Mapped[int | None] = mapped_column()
    done: Mapped[int] = mapped_column(default=0)
    attachment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    procedure = relationship("Procedure")


class BatchJob(Model):
    """One action applied to up to 500 dossiers in the background, failures per dossier."""

    __tablename__ = "batch_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey(USER_ID, ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    dossier_ids: Mapped[list[int]] = mapped_column(JSONDoc, default=list)
    state: Mapped[JobState] = mapped_column(enum_type(JobState), default=JobState.pending)
    done: Mapped[int] = mapped_column(default=0)
    failures: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Batch actions (app/services/batch.py): the form's one-time token (a double click
    # makes one job), the last sign of life of the run (a job whose worker died is picked
    # up again, or failed, by the beat sweep), the runs started, why a job failed.
    request_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
