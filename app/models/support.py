"""Support requests: what applicants and agents write through the contact form, and the
platform team's answers.

``first_answered_at`` is kept on the request (not derived from its answers on every read)
so that the median time to a first answer, shown on ``/stats``, is one ordered column.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import USER_ID, UTCDateTime, created_at_column


class SupportRequest(Model):
    """One question sent to the platform team. ``author_id`` is set when the person was
    signed in; ``name`` and ``email`` are what they typed (where the answer goes)."""

    __tablename__ = "support_request"
    __table_args__ = (
        sa.Index("ix_support_request_closed_created", "closed_at", "created_at"),
        sa.Index("ix_support_request_author", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    # The language of the form: the answer's mail is framed in it.
    locale: Mapped[str] = mapped_column(sa.String(8), default="fr")
    created_at: Mapped[datetime] = created_at_column()
    first_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    author = relationship("User")
    answers: Mapped[list[SupportAnswer]] = relationship(
        back_populates="request",
        order_by="SupportAnswer.created_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"#{self.id} {self.subject}"


class SupportAnswer(Model):
    """One answer of the platform team, mailed to the request's address."""

    __tablename__ = "support_answer"
    __table_args__ = (sa.Index("ix_support_answer_request", "request_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("support_request.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()

    request: Mapped[SupportRequest] = relationship(back_populates="answers")
    author = relationship("User")
