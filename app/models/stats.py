"""Materialised statistics: one row per computed set of figures.

The public ``/stats`` page, the platform dashboard and each procedure's statistics read one
``stats_snapshot`` row instead of aggregating the dossier table on every request
(docs/decisions/0009-statistics-snapshot.md). A Celery beat task refreshes the platform-wide
rows; a procedure's row is computed when it is first asked for, then again once stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONDoc, UTCDateTime
from .dossier import Dossier


class StatsSnapshot(Model):
    """The figures known by ``key`` (``public``, ``platform``, ``procedure:<id>``) as
    computed at ``computed_at``; ``payload`` is JSON made only of numbers, strings, lists
    and objects, formatted for people by the views."""

    __tablename__ = "stats_snapshot"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # How long the computation took: the operator's early warning that it grows.
    duration_ms: Mapped[int] = mapped_column(default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)


STATS_INDEX_COLUMNS = ("procedure_id", "submitted_at", "decided_at", "state", "created_at")

sa.Index(
    "ix_dossier_stats",
    *(Dossier.__table__.c[name] for name in STATS_INDEX_COLUMNS),
    postgresql_where=Dossier.is_test == sa.false(),
    sqlite_where=Dossier.is_test == sa.false(),
)
"""Every column the statistics read from ``dossier``, for real dossiers only: they are
computed by index-only scans of this narrow index (about 60 MB for 1,000,000 dossiers,
against 700 MB for the table with its answers), a range of it for one procedure. Declared
here, with the statistics it serves, rather than among the agent tables' indexes."""
