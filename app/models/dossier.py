"""Dossiers, their history and everything attached to one dossier's instruction.

Answers and annotations are one JSON document each, keyed by field ``stable_id``
(docs/decisions/0001-answers-as-one-json-document.md). The search vector lives in its own
narrow table so that table scans of ``dossier`` stay small (performance-notes.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import (
    USER_ID,
    JSONDoc,
    StrEnum,
    UTCDateTime,
    created_at_column,
    enum_type,
    updated_at_column,
)


class DossierState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    in_review = "in_review"
    accepted = "accepted"
    refused = "refused"
    closed_without_action = "closed_without_action"


DECIDED_STATES = frozenset(
    {DossierState.accepted, DossierState.refused, DossierState.closed_without_action}
)


class Dossier(Model):
    """One applicant's file for one procedure. Its number is its primary key.

    ``version`` is an optimistic-locking counter: an UPDATE made from a stale copy (a
    second tab, a second agent) raises ``StaleDataError`` instead of overwriting.
    Only ``app/workflow.py`` changes ``state``.
    """

    __tablename__ = "dossier"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id"))
    revision_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure_revision.id"))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instructor_group.id"))
    state: Mapped[DossierState] = mapped_column(enum_type(DossierState), default=DossierState.draft)
    # Who files: {"kind": "person", "civility", "first_name", "last_name"} or
    # {"kind": "company", "siret", "name"}; on_behalf_of holds the beneficiary, if any.
    identity: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    on_behalf_of: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    is_test: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)
    # Timestamps per state
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    applicant_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Decision
    motivation: Mapped[str | None] = mapped_column(sa.Text)
    justification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    attestation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    # Deletion and retention: hidden dossiers sit in the "deleted" tabs until purged.
    hidden_by_applicant_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_administration_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retention_extensions: Mapped[int] = mapped_column(default=0)
    prefill_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # How many agents follow it: kept by the database's triggers on ``follow`` (migration
    # c3e8f1a9d4b2), never written here; "to follow" is an open dossier at 0.
    follower_count: Mapped[int] = mapped_column(default=0, server_default="0")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    procedure = relationship("Procedure")
    revision = relationship("ProcedureRevision")
    owner = relationship("User", foreign_keys=[owner_id])
    group = relationship("InstructorGroup")
    transitions: Mapped[list[StateTransition]] = relationship(
        back_populates="dossier",
        order_by="StateTransition.at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    labels = relationship("Label", secondary="dossier_label")
    follows: Mapped[list[Follow]] = relationship(
        back_populates="dossier", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Dossier n° {self.id}"

    @property
    def number(self) -> int:
        """The dossier number shown to people is its primary key."""
        return self.id

    @property
    def is_decided(self) -> bool:
        return self.state in DECIDED_STATES


sa.Index(
    "ix_dossier_procedure_table",
    Dossier.procedure_id,
    Dossier.archived,
    Dossier.updated_at.desc(),
    Dossier.id.desc(),
)
sa.Index(
    "ix_dossier_group_table",
    Dossier.group_id,
    Dossier.archived,
    Dossier.updated_at.desc(),
    Dossier.id.desc(),
)
sa.Index(
    "ix_dossier_procedure_counters",
    Dossier.procedure_id,
    Dossier.group_id,
    Dossier.state,
    Dossier.archived,
    postgresql_include=["follower_count", "id", "hidden_by_administration_at", "expires_at"],
)
sa.Index("ix_dossier_owner", Dossier.owner_id, Dossier.updated_at.desc())
sa.Index("ix_dossier_procedure_submitted", Dossier.procedure_id, Dossier.submitted_at)
sa.Index(
    "ix_dossier_expires_at",
    Dossier.expires_at,
    postgresql_where=Dossier.expires_at.is_not(None),
    sqlite_where=Dossier.expires_at.is_not(None),
)
sa.Index(
    "ix_dossier_procedure_expiry",
    Dossier.procedure_id,
    Dossier.expires_at,
    postgresql_include=["group_id", "state", "hidden_by_administration_at"],
    postgresql_where=Dossier.expires_at.is_not(None),
    sqlite_where=Dossier.expires_at.is_not(None),
)
sa.Index(
    "ix_dossier_answers_gin",
    Dossier.answers,
    postgresql_using="gin",
    postgresql_ops={"answers": "jsonb_path_ops"},
).ddl_if(dialect="postgresql")


class DossierSearch(Model):
    """The full-text document of a dossier, kept narrow and apart from the hot table."""

    __tablename__ = "dossier_search"

    dossier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True
    )
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    document: Mapped[str] = mapped_column(sa.Text().with_variant(TSVECTOR(), "postgresql"))


# One GIN index on (procedure, words) (PostgreSQL's btree_gin): a search reads the
# procedure's matching documents only, where a words index ANDed with a procedure index
# read the procedure's whole list of documents (35 ms instead of 19 at 175,000 documents).
sa.Index(
    "ix_dossier_search_procedure_document",
    DossierSearch.procedure_id,
    DossierSearch.document,
    postgresql_using="gin",
).ddl_if(dialect="postgresql")
sa.Index("ix_dossier_search_procedure", DossierSearch.procedure_id).ddl_if(dialect="sqlite")


class DossierTally(Model):
    """Changes of the tab counters' tallies, one row per change: the number of non-draft
    dossiers (``n``, +1 or -1, or a sum once compacted) per procedure, instructor group,
    state, archived, deleted by the administration, followed by anyone.

    Written by the database's triggers on ``dossier`` (migration e4b7c2d9a1f3) on every
    change of those values, whoever makes it; rows are only ever inserted there, so writers
    never wait for one another. ``tables.compact_tallies`` (beat, every five minutes) sums
    them into one row per key. The counters sum a procedure's few rows instead of reading
    its dossiers. SQLite recreates a table that Alembic alters in batch mode, and its
    triggers with it: a migration that does so to ``dossier`` must create them again.
    """

    __tablename__ = "dossier_tally"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column()
    state: Mapped[DossierState] = mapped_column(enum_type(DossierState))
    archived: Mapped[bool] = mapped_column()
    hidden: Mapped[bool] = mapped_column()
    followed: Mapped[bool] = mapped_column()
    n: Mapped[int] = mapped_column()


sa.Index("ix_dossier_tally_procedure", DossierTally.procedure_id, DossierTally.group_id)


class DossierTombstone(Model):
    """What remains of a deleted dossier: its number, procedure, state and dates."""

    __tablename__ = "dossier_tombstone"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id"), index=True)
    state: Mapped[DossierState] = mapped_column(enum_type(DossierState))
    reason: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime] = created_at_column()


class StateTransition(Model):
    """One recorded change of a dossier's state: who, when, from, to, why."""

    __tablename__ = "state_transition"
    __table_args__ = (
        sa.Index("ix_state_transition_dossier", "dossier_id", "at"),
        sa.Index("ix_state_transition_to_state_at", "to_state", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id", ondelete="CASCADE"))
    from_state: Mapped[DossierState | None] = mapped_column(enum_type(DossierState))
    to_state: Mapped[DossierState] = mapped_column(enum_type(DossierState))
    event: Mapped[str] = mapped_column(sa.String(40))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    at: Mapped[datetime] = created_at_column()
    motivation: Mapped[str | None] = mapped_column(sa.Text)
    justification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )

    dossier: Mapped[Dossier] = relationship(back_populates="transitions")
    actor = relationship("User")


class Follow(Model):
    """An agent follows a dossier: it shows in their "followed" tab and notifies them."""

    __tablename__ = "follow"
    __table_args__ = (
        sa.UniqueConstraint("dossier_id", "user_id"),
        sa.Index("ix_follow_user_dossier", "user_id", "dossier_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey(USER_ID, ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()
    messages_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier: Mapped[Dossier] = relationship(back_populates="follows")
    user = relationship("User")


dossier_label = sa.Table(
    "dossier_label",
    Model.metadata,
    sa.Column("dossier_id", sa.ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("label_id", sa.ForeignKey("label.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_dossier_label_label", "label_id", "dossier_id"),
)


class Invitation(Model):
    """An applicant invites someone by email to co-edit a dossier."""

    __tablename__ = "invitation"
    __table_args__ = (sa.UniqueConstraint("dossier_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossier.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(255))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey(USER_ID, ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier = relationship("Dossier")
    user = relationship("User", foreign_keys=[user_id])


class Opinion(Model):
    """An expert's opinion (avis) asked about one dossier."""

    __tablename__ = "opinion"
    __table_args__ = (sa.Index("ix_opinion_expert", "expert_id", "dossier_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dossier.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey(USER_ID, ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(sa.Text)
    question_attachment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    asks_yes_no: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(default=False)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answer_yes_no: Mapped[bool | None] = mapped_column()
    answer_attachment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    dossier = relationship("Dossier")
    expert = relationship("User", foreign_keys=[expert_id])
    requested_by = relationship("User", foreign_keys=[requested_by_id])


class SatisfactionLevel(StrEnum):
    satisfied = "satisfied"
    neutral = "neutral"
    dissatisfied = "dissatisfied"


class SatisfactionAnswer(Model):
    """An applicant's answer to the three-level question asked after submitting."""

    __tablename__ = "satisfaction_answer"
    __table_args__ = (sa.Index("ix_satisfaction_answer_procedure", "procedure_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("dossier.id", ondelete="SET NULL"), unique=True
    )
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    level: Mapped[SatisfactionLevel] = mapped_column(enum_type(SatisfactionLevel))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()
