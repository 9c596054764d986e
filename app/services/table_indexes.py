"""Indexes on the form fields and annotations agents sort and filter large procedures by.

A table sorted by a form field, or filtered on a range of one, reads and sorts the whole
tab unless an index holds that field's value in order: 300 ms instead of 0.3 ms on a
200,000-dossier procedure (``performance-notes.md``). Such an index costs disk and writes,
so only the fields in use get one: ``ensure`` (an hourly beat task, and ``flask guichet
table-indexes``) gathers the sort and filter columns of the agents' saved views of every
procedure holding ``TABLE_INDEX_MIN_DOSSIERS`` dossiers or more, creates the missing
indexes ``CONCURRENTLY`` (writes go on meanwhile), drops those nobody uses any more, and
analyses the table so that the planner knows the new values. PostgreSQL only: SQLite
serves the embedded default's few thousand dossiers without them.

An index is named after the field's stable id (``ix_table_answers_<id>``), which a
procedure's clones share: one index serves them all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Dossier, Procedure, SavedView
from . import tables

log = logging.getLogger(__name__)

TASK = "guichet.table_indexes"
PREFIX = "ix_table_"


@dataclass(frozen=True)
class Report:
    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()


def wanted(min_dossiers: int | None = None) -> dict[str, str]:
    """The indexes the agents' saved views of large procedures call for: name → CREATE."""
    if min_dossiers is None:
        min_dossiers = current_app.config["TABLE_INDEX_MIN_DOSSIERS"]
    large = db.session.scalars(
        sa.select(Dossier.procedure_id)
        .group_by(Dossier.procedure_id)
        .having(sa.func.count() >= min_dossiers)
    ).all()
    statements: dict[str, str] = {}
    for procedure in db.session.scalars(sa.select(Procedure).where(Procedure.id.in_(large))):
        columns = tables.field_catalogue(procedure)
        for view in db.session.scalars(
            sa.select(SavedView).where(SavedView.procedure_id == procedure.id)
        ):
            used = [(view.sort or {}).get("column")]
            used += [item.get("column") for item in view.filters or () if isinstance(item, dict)]
            for key in used:
                column = columns.get(key)
                statement = tables.index_statement(column) if column is not None else None
                if statement is not None:
                    statements[tables.index_name(column)] = statement
    return statements


def ensure(min_dossiers: int | None = None) -> Report:
    """Create the wanted indexes that are missing (or left invalid by an interrupted
    build), drop the unwanted ones, then ``ANALYZE dossier`` if anything changed."""
    if db.session.get_bind().dialect.name != "postgresql":
        return Report()
    statements = wanted(min_dossiers)
    existing = dict(
        db.session.execute(
            sa.text(
                "SELECT c.relname, i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = 'dossier'::regclass AND c.relname LIKE :prefix"
            ),
            {"prefix": PREFIX.replace("_", r"\_") + "%"},
        ).all()
    )
    db.session.commit()  # CONCURRENTLY waits for every transaction that saw the table
    created, dropped = [], []
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name, valid in existing.items():
            if name not in statements or not valid:
                connection.execute(sa.text(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'))
                if name not in statements:
                    dropped.append(name)
        for name, statement in statements.items():
            if existing.get(name) is not True:
                log.info("table index %s: creating", name)
                connection.execute(sa.text(statement))
                created.append(name)
        if created or dropped:
            connection.execute(sa.text("ANALYZE dossier"))
    kept = tuple(name for name in statements if name not in created)
    return Report(tuple(created), tuple(dropped), kept)
