"""Metadata of stored files. The bytes live in a storage backend, keyed by content hash."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import USER_ID, StrEnum, UTCDateTime, created_at_column, enum_type


class ScanStatus(StrEnum):
    pending = "pending"
    clean = "clean"
    infected = "infected"
    error = "error"
    not_scanned = "not_scanned"


class AttachmentUse(StrEnum):
    form_field = "form_field"
    message = "message"
    justification = "justification"
    attestation = "attestation"
    opinion = "opinion"
    logo = "logo"
    notice = "notice"
    export = "export"
    signature = "signature"  # the signature image of a procedure's attestation


class Attachment(Model):
    """One file as attached somewhere. Several rows may share one stored object
    (``storage_key`` is derived from ``sha256``): the same file uploaded twice is stored once.
    """

    __tablename__ = "attachment"
    __table_args__ = (
        sa.Index("ix_attachment_dossier_field", "dossier_id", "field_stable_id"),
        sa.Index("ix_attachment_storage_key", "storage_key"),
        sa.Index("ix_attachment_orphans", "created_at", "dossier_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    use: Mapped[AttachmentUse] = mapped_column(enum_type(AttachmentUse))
    storage_key: Mapped[str] = mapped_column(sa.String(128))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    declared_type: Mapped[str | None] = mapped_column(sa.String(255))
    sniffed_type: Mapped[str] = mapped_column(sa.String(255))
    family: Mapped[str | None] = mapped_column(sa.String(40))
    scan_status: Mapped[ScanStatus] = mapped_column(
        enum_type(ScanStatus), default=ScanStatus.pending
    )
    scan_detail: Mapped[str | None] = mapped_column(sa.String(255))
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey(USER_ID, ondelete="SET NULL"))
    # Where it is attached (all optional: a fresh upload is attached on save/submit)
    dossier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dossier.id", ondelete="SET NULL"))
    field_stable_id: Mapped[str | None] = mapped_column(sa.String(40))
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("message.id", ondelete="SET NULL"), index=True
    )
    procedure_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("procedure.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()

    message = relationship("Message", back_populates="attachments")
    dossier = relationship("Dossier", foreign_keys=[dossier_id])

    @property
    def downloadable(self) -> bool:
        return self.scan_status != ScanStatus.infected
