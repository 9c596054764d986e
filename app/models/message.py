"""The message thread of a dossier between applicants and agents."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import USER_ID, StrEnum, UTCDateTime, created_at_column, enum_type


class AuthorKind(StrEnum):
    applicant = "applicant"
    agent = "agent"
    expert = "expert"
    system = "system"


class CorrectionReason(StrEnum):
    incorrect = "incorrect"
    incomplete = "incomplete"
    outdated = "outdated"


_PENDING_CORRECTION = "correction_reason IS NOT NULL AND correction_resolved_at IS NULL"


class Message(Model):
    """One message of a dossier's thread; text is plain text, rendered escaped."""

    __tablename__ = "message"
    __table_args__ = (
        sa.Index("ix_message_dossier_created", "dossier_id", "created_at"),
        sa.Index(
            "ix_message_pending_correction",
            "dossier_id",
            postgresql_where=sa.text(_PENDING_CORRECTION),
            sqlite_where=sa.text(_PENDING_CORRECTION),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    author_kind: Mapped[AuthorKind] = mapped_column(enum_type(AuthorKind))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A correction request sends the dossier back to the applicant until they re-submit.
    correction_reason: Mapped[CorrectionReason | None] = mapped_column(enum_type(CorrectionReason))
    correction_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier = relationship("Dossier")
    author = relationship("User")
    attachments = relationship("Attachment", back_populates="message")
