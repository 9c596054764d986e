"""Procedures (démarches), their revisions, form fields, instructor groups and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
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


class ProcedureState(StrEnum):
    draft = "draft"  # test mode: test dossiers through the test link
    published = "published"
    closed = "closed"
    unpublished = "unpublished"


class DeclarativeMode(StrEnum):
    """What happens to a submitted dossier with no agent action."""

    none = "none"
    in_review = "in_review"
    accepted = "accepted"


class FilerKind(StrEnum):
    person = "person"
    company = "company"


class RevisionState(StrEnum):
    draft = "draft"
    published = "published"
    superseded = "superseded"


class MailEvent(StrEnum):
    submitted = "submitted"
    review_started = "review_started"
    accepted = "accepted"
    refused = "refused"
    closed_without_action = "closed_without_action"
    reopened = "reopened"
    new_message = "new_message"
    correction_requested = "correction_requested"
    expiry_warning = "expiry_warning"


class Procedure(Model):
    """A procedure (démarche) of an administration, with its settings and lifecycle."""

    __tablename__ = "procedure"
    __table_args__ = (
        sa.CheckConstraint("retention_months BETWEEN 1 AND 60", name="retention_months"),
        sa.Index("ix_procedure_state_deadline", "state", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(sa.ForeignKey("administration.id"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    audience: Mapped[str | None] = mapped_column(sa.Text)
    documents_to_prepare: Mapped[str | None] = mapped_column(sa.Text)
    legal_basis: Mapped[str | None] = mapped_column(sa.Text)
    # Contact of the responsible service
    service_name: Mapped[str | None] = mapped_column(sa.String(255))
    service_email: Mapped[str | None] = mapped_column(sa.String(255))
    service_phone: Mapped[str | None] = mapped_column(sa.String(40))
    service_address: Mapped[str | None] = mapped_column(sa.Text)
    service_hours: Mapped[str | None] = mapped_column(sa.String(255))
    logo_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    notice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    # Lifecycle
    state: Mapped[ProcedureState] = mapped_column(
        enum_type(ProcedureState), default=ProcedureState.draft
    )
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_reason: Mapped[str | None] = mapped_column(sa.Text)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("procedure.id"))
    test_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Settings
    retention_months: Mapped[int] = mapped_column(default=12)
    draft_retention_days: Mapped[int] = mapped_column(default=180)
    declarative_mode: Mapped[DeclarativeMode] = mapped_column(
        enum_type(DeclarativeMode), default=DeclarativeMode.none
    )
    filer_kind: Mapped[FilerKind] = mapped_column(enum_type(FilerKind), default=FilerKind.person)
    allow_on_behalf: Mapped[bool] = mapped_column(default=False)
    hide_agent_identity: Mapped[bool] = mapped_column(default=False)
    experts_can_message: Mapped[bool] = mapped_column(default=False)
    sections_as_steps: Mapped[bool] = mapped_column(default=False)
    # Revisions: the one applicants see and the one administrators edit
    published_revision_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("procedure_revision.id", use_alter=True)
    )
    draft_revision_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("procedure_revision.id", use_alter=True)
    )
    cloned_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("procedure.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    administration = relationship("Administration", back_populates="procedures")
    revisions: Mapped[list[ProcedureRevision]] = relationship(
        back_populates="procedure",
        foreign_keys="ProcedureRevision.procedure_id",
        order_by="ProcedureRevision.number",
        cascade="all, delete-orphan",
    )
    published_revision: Mapped[ProcedureRevision | None] = relationship(
        foreign_keys=[published_revision_id], post_update=True
    )
    draft_revision: Mapped[ProcedureRevision | None] = relationship(
        foreign_keys=[draft_revision_id], post_update=True
    )
    replaced_by: Mapped[Procedure | None] = relationship(
        remote_side=[id], foreign_keys=[replaced_by_id]
    )
    groups: Mapped[list[InstructorGroup]] = relationship(
        back_populates="procedure",
        order_by="InstructorGroup.position",
        cascade="all, delete-orphan",
    )
    labels: Mapped[list[Label]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan"
    )
    mail_templates: Mapped[list[MailTemplate]] = relationship(
        back_populates="procedure", cascade="all, delete-orphan"
    )
    attestation_template: Mapped[AttestationTemplate | None] = relationship(
        back_populates="procedure", cascade="all, delete-orphan", uselist=False
    )

    def __repr__(self) -> str:
        return self.title

    @property
    def default_group(self) -> InstructorGroup | None:
        return next((group for group in self.groups if group.is_default), None)


class ProcedureRevision(Model):
    """A version of a procedure's form. A published revision is frozen."""

    __tablename__ = "procedure_revision"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[RevisionState] = mapped_column(
        enum_type(RevisionState), default=RevisionState.draft
    )
    # Ineligibility rules: [{"condition": {...}, "message": "..."}], checked at submission.
    eligibility_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    procedure: Mapped[Procedure] = relationship(
        back_populates="revisions", foreign_keys=[procedure_id]
    )
    fields: Mapped[list[FieldDefinition]] = relationship(
        back_populates="revision",
        order_by="FieldDefinition.position",
        cascade="all, delete-orphan",
    )

    @property
    def is_frozen(self) -> bool:
        return self.state != RevisionState.draft


class FieldDefinition(Model):
    """One field of a revision's form (or of its private annotations).

    ``stable_id`` identifies the field across revisions; dossier answers are keyed by it.
    ``parent_id`` points to the repetition block that contains the field, if any.
    """

    __tablename__ = "field_definition"
    __table_args__ = (
        sa.UniqueConstraint("revision_id", "stable_id"),
        sa.Index("ix_field_definition_revision_position", "revision_id", "private", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procedure_revision.id", ondelete="CASCADE")
    )
    stable_id: Mapped[str] = mapped_column(sa.String(40))
    type: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.Text)
    help: Mapped[str | None] = mapped_column(sa.Text)
    required: Mapped[bool] = mapped_column(default=False)
    private: Mapped[bool] = mapped_column(default=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    condition: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("field_definition.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(default=0)

    revision: Mapped[ProcedureRevision] = relationship(back_populates="fields")
    parent: Mapped[FieldDefinition | None] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list[FieldDefinition]] = relationship(
        back_populates="parent", order_by="FieldDefinition.position"
    )


instructor_group_member = sa.Table(
    "instructor_group_member",
    Model.metadata,
    sa.Column(
        "group_id",
        sa.ForeignKey("instructor_group.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.ForeignKey(USER_ID, ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_instructor_group_member_user", "user_id", "group_id"),
)


class InstructorGroup(Model):
    """Agents who instruct a procedure's dossiers routed to them."""

    __tablename__ = "instructor_group"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procedure.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    is_default: Mapped[bool] = mapped_column(default=False)
    # A condition (app/conditions.py); submitted dossiers go to the first group whose rule holds.
    routing_rule: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    position: Mapped[int] = mapped_column(default=0)
    closed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_column()

    procedure: Mapped[Procedure] = relationship(back_populates="groups")
    members = relationship("User", secondary=instructor_group_member)

    def __repr__(self) -> str:
        return self.name


class Label(Model):
    """A coloured tag agents put on dossiers of a procedure."""

    __tablename__ = "label"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(80))
    color: Mapped[str] = mapped_column(sa.String(20), default="gray")

    procedure: Mapped[Procedure] = relationship(back_populates="labels")

    def __repr__(self) -> str:
        return self.name


class MailTemplate(Model):
    """The administrator's wording of the email sent on one event (tags allowed)."""

    __tablename__ = "mail_template"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    event: Mapped[MailEvent] = mapped_column(enum_type(MailEvent))
    subject: Mapped[str] = mapped_column(sa.String(255))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = updated_at_column()

    procedure: Mapped[Procedure] = relationship(back_populates="mail_templates")


class AttestationTemplate(Model):
    """The attestation PDF produced when a dossier is accepted."""

    __tablename__ = "attestation_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        sa.ForeignKey("procedure.id", ondelete="CASCADE"), unique=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str] = mapped_column(sa.String(255))
    body: Mapped[str] = mapped_column(sa.Text)
    footer: Mapped[str | None] = mapped_column(sa.Text)
    signature_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("attachment.id", use_alter=True, ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = updated_at_column()

    procedure: Mapped[Procedure] = relationship(back_populates="attestation_template")


class NotificationPreference(Model):
    """An agent's email preferences for one procedure."""

    __tablename__ = "notification_preference"
    __table_args__ = (sa.UniqueConstraint("user_id", "procedure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey(USER_ID, ondelete="CASCADE"))
    procedure_id: Mapped[int] = mapped_column(sa.ForeignKey("procedure.id", ondelete="CASCADE"))
    daily_digest: Mapped[bool] = mapped_column(default=False)
    on_new_dossier: Mapped[bool] = mapped_column(default=False)
    on_new_message: Mapped[bool] = mapped_column(default=True)
    # When the last daily digest covered this procedure (app/services/digest.py).
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
