"""Administrations (ministries, local services, local authorities, public establishments)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import USER_ID, StrEnum, UTCDateTime, created_at_column, enum_type


class AdministrationKind(StrEnum):
    ministry = "ministry"
    deconcentrated_service = "deconcentrated_service"
    local_authority = "local_authority"
    public_establishment = "public_establishment"
    other = "other"


class Administration(Model):
    """A public body that publishes procedures on Guichet."""

    __tablename__ = "administration"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[AdministrationKind] = mapped_column(enum_type(AdministrationKind))
    siret: Mapped[str | None] = mapped_column(sa.String(14))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("administration.id"))
    contact_email: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = created_at_column()
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    parent: Mapped[Administration | None] = relationship(remote_side=[id])
    members: Mapped[list[AdministrationMember]] = relationship(
        back_populates="administration", cascade="all, delete-orphan"
    )
    procedures = relationship("Procedure", back_populates="administration")

    def __repr__(self) -> str:
        return self.name


class AdministrationMember(Model):
    """An administrator of an administration: builds its procedures, manages its agents."""

    __tablename__ = "administration_member"
    __table_args__ = (sa.UniqueConstraint("administration_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("administration.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey(USER_ID, ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()

    administration: Mapped[Administration] = relationship(back_populates="members")
    user = relationship("User")
