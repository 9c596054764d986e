"""Column types and helpers shared by every model.

Guichet runs the same models on PostgreSQL (production) and SQLite (embedded default):
JSON documents become JSONB on PostgreSQL, and timestamps are always timezone-aware UTC
in Python whatever the database stores.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from flask_appbuilder.security.sqla import models as fab_models  # noqa: F401  (FAB tables first)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# Guichet's own constraints and indexes get predictable names, so that migrations can
# refer to them on every database. FAB's tables are defined before this line.
Model.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

USER_ID = "ab_user.id"

JSONDoc = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""A JSON document column: JSONB on PostgreSQL, JSON text on SQLite; Python ``None``
is SQL NULL (not the JSON ``null``), so that ``IS NULL`` finds it.

Assign a new dict or list to change it; in-place mutation is not tracked."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum_class: type[StrEnum]) -> sa.Enum:
    """Stored as a short string (no native enum, so adding a member needs no migration)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def created_at_column() -> sa.orm.MappedColumn:
    return sa.orm.mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def updated_at_column() -> sa.orm.MappedColumn:
    return sa.orm.mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
