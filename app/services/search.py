"""The full-text document of each dossier (``dossier_search``), kept up to date on write.

Why a session event rather than calls from each service: answers, annotations, identity and
state change in many places (the portal's saves and submission, the workflow, the agents'
annotations, the API, imports, the demo). A listener on the session's flush sees every
``Dossier`` the ORM writes, whoever the caller, so no caller can forget the index.
Core statements (bulk ``INSERT``/``UPDATE``, the seed) bypass the ORM: ``rebuild`` re-indexes
after them.

What is indexed: the dossier number, the applicant's and beneficiary's names (and company
name and SIRET), the owner's email, and every answer and private annotation as its field type
writes it (``FieldType.as_text``), in the platform's default language whoever saves, so that
"Oui"/"Non" and number formats do not depend on the last editor. Files are left out: their
text would only be "2 fichiers".

Drafts are not indexed: only agents search, and agents never see drafts. A dossier enters
the index when it leaves the draft state, and is re-indexed each time one of
``INDEXED_ATTRIBUTES`` changes.

PostgreSQL stores ``to_tsvector('guichet_fr', text)`` computed in the write itself (the
French configuration with ``unaccent`` made by the initial migration) and searches it through
its GIN index with ``websearch_to_tsquery`` (quoted phrases, ``-word`` exclusions); it is never
computed at query time (performance-notes.md: 25 µs per dossier). SQLite stores the words
lower-cased and without accents, and finds each word of the query by its beginning with
``LIKE``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..extensions import db
from ..fields import registry
from ..fields.base import FieldSpec, field_specs
from ..models import Dossier, DossierSearch, DossierState, FieldDefinition, User

log = logging.getLogger(__name__)

TEXT_SEARCH_CONFIG = "guichet_fr"
INDEXED_ATTRIBUTES = (
    "answers",
    "annotations",
    "identity",
    "on_behalf_of",
    "state",
    "revision_id",
    "procedure_id",
    "owner_id",
)
"""A change to any of these re-indexes the dossier."""
UNSEARCHED_TYPES = frozenset({"attachment"})
"""Types whose text says nothing worth finding ("2 files")."""
IDENTITY_KEYS = ("first_name", "last_name", "name", "siret")
REBUILD_BATCH = 500
_EMAIL_SEPARATORS = re.compile(r"[@._+-]+")
_NOT_WORD = re.compile(r"\W+")


@dataclass(frozen=True)
class Indexed:
    """What one dossier's document is made of, read from an ORM object or a Core row."""

    id: int
    procedure_id: int
    revision_id: int
    owner_id: int | None
    state: DossierState
    identity: Mapping[str, Any] | None
    on_behalf_of: Mapping[str, Any] | None
    answers: Mapping[str, Any] | None
    annotations: Mapping[str, Any] | None


# ---------------------------------------------------------------------------------------
# Registration


def init_app(app: Flask) -> None:
    """Listen to the session's flushes (once per process: the session factory is shared
    by every app, as ``plugins.attachments`` does for its deletions)."""
    if not sa.event.contains(db.session, "after_flush", _after_flush):
        sa.event.listen(db.session, "after_flush", _after_flush)


def _after_flush(session: Session, _flush_context: Any) -> None:
    """Re-index the dossiers this flush wrote, and drop the documents of deleted ones.

    ``after_flush`` still sees the flush's ``new``/``dirty``/``deleted`` sets and the
    attributes' history, and new dossiers already have their number. Writing goes through
    the flush's own connection, in its transaction: a rollback takes the document with it.
    """
    changed = [
        item
        for item in (*session.new, *session.dirty)
        if isinstance(item, Dossier) and (item in session.new or _indexed_change(item))
    ]
    deleted = [item.id for item in session.deleted if isinstance(item, Dossier)]
    if not changed and not deleted:
        return
    connection = session.connection()
    if deleted:
        _delete(connection, deleted)
    if changed:
        refresh(connection, [_from_object(item) for item in changed])


def _indexed_change(dossier: Dossier) -> bool:
    attributes = sa.inspect(dossier).attrs
    return any(attributes[name].history.has_changes() for name in INDEXED_ATTRIBUTES)


def _from_object(dossier: Dossier) -> Indexed:
    return Indexed(
        id=dossier.id,
        procedure_id=dossier.procedure_id,
        revision_id=dossier.revision_id,
        owner_id=dossier.owner_id,
        state=dossier.state,
        identity=dossier.identity,
        on_behalf_of=dossier.on_behalf_of,
        answers=dossier.answers,
        annotations=dossier.annotations,
    )


# ---------------------------------------------------------------------------------------
# Writing documents


def refresh(connection: Connection, dossiers: Iterable[Indexed]) -> int:
    """Write (or remove, for drafts) the documents of these dossiers; how many were written.

    Field definitions and owners' emails are read in one query each for the whole batch.
    """
    dossiers = list(dossiers)
    drafts = [item.id for item in dossiers if item.state == DossierState.draft]
    indexed = [item for item in dossiers if item.state != DossierState.draft]
    if drafts:
        _delete(connection, drafts)
    if not indexed:
        return 0
    forms = _forms(connection, {item.revision_id for item in indexed})
    emails = _emails(connection, {item.owner_id for item in indexed if item.owner_id})
    dialect = connection.dialect.name
    plain = (lambda text: text) if dialect == "postgresql" else _plain_words
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")):
        rows = [
            {
                "dossier_id": item.id,
                "procedure_id": item.procedure_id,
                "text": plain(document_text(item, forms.get(item.revision_id, []), emails)),
            }
            for item in indexed
        ]
    connection.execute(_upsert(dialect), rows)
    return len(rows)


def document_text(item: Indexed, form: list[FieldSpec], emails: Mapping[int, str]) -> str:
    """The searchable text of one dossier, one piece per line."""
    pieces = [str(item.id)]
    for person in (item.identity, item.on_behalf_of):
        if isinstance(person, Mapping):
            pieces.extend(str(person[key]) for key in IDENTITY_KEYS if person.get(key))
    if item.owner_id in emails:
        # Whole, and in words: PostgreSQL reads an address as one token.
        email = emails[item.owner_id]
        pieces.extend((email, _EMAIL_SEPARATORS.sub(" ", email)))
    for spec in form:
        values = item.annotations if spec.private else item.answers
        value = (values or {}).get(spec.stable_id)
        if value is None or spec.type in UNSEARCHED_TYPES:
            continue
        pieces.append(_answer_text(spec, value))
    return "\n".join(piece for piece in pieces if piece)


def _answer_text(spec: FieldSpec, value: Any) -> str:
    """The answer as its type writes it; a broken type must never block a save."""
    try:
        return registry.get(spec.type).as_text(value, spec)
    except Exception:
        log.warning("Field %s (%s) could not be indexed", spec.stable_id, spec.type, exc_info=True)
        return ""


def _forms(connection: Connection, revision_ids: set[int]) -> dict[int, list[FieldSpec]]:
    """Each revision's answerable fields (blocks with their children), in one query."""
    columns = FieldDefinition.__table__.c
    rows = connection.execute(
        sa.select(
            columns.id,
            columns.revision_id,
            columns.stable_id,
            columns.type,
            columns.label,
            columns.private,
            columns.options,
            columns.parent_id,
        )
        .where(columns.revision_id.in_(revision_ids))
        .order_by(columns.revision_id, columns.private, columns.position, columns.id)
    ).all()
    stable_ids = {row.id: row.stable_id for row in rows}
    by_revision: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_revision.setdefault(row.revision_id, []).append(
            {
                "stable_id": row.stable_id,
                "type": row.type,
                "label": row.label,
                "private": row.private,
                "options": row.options or {},
                "parent": stable_ids.get(row.parent_id),
            }
        )
    forms = {}
    for revision_id, definitions in by_revision.items():
        forms[revision_id] = [spec for spec in field_specs(definitions) if _has_value(spec.type)]
    return forms


def _has_value(type_name: str) -> bool:
    try:
        return registry.get(type_name).has_value
    except registry.UnknownFieldType:
        return False


def _emails(connection: Connection, owner_ids: set[int]) -> dict[int, str]:
    if not owner_ids:
        return {}
    table = User.__table__
    rows = connection.execute(sa.select(table.c.id, table.c.email).where(table.c.id.in_(owner_ids)))
    return {row.id: row.email for row in rows if row.email}


def _upsert(dialect: str) -> sa.Insert:
    table = DossierSearch.__table__
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(
            dossier_id=sa.bindparam("dossier_id"),
            procedure_id=sa.bindparam("procedure_id"),
            document=sa.func.to_tsvector(
                sa.literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig"),
                sa.bindparam("text", type_=sa.Text),
            ),
        )
    else:
        statement = sqlite.insert(table).values(
            dossier_id=sa.bindparam("dossier_id"),
            procedure_id=sa.bindparam("procedure_id"),
            document=sa.bindparam("text", type_=sa.Text),
        )
    return statement.on_conflict_do_update(
        index_elements=[table.c.dossier_id],
        set_={
            "procedure_id": statement.excluded.procedure_id,
            "document": statement.excluded.document,
        },
    )


def _delete(connection: Connection, dossier_ids: list[int]) -> None:
    table = DossierSearch.__table__
    connection.execute(sa.delete(table).where(table.c.dossier_id.in_(dossier_ids)))


def rebuild(procedure_id: int | None = None, batch_size: int = REBUILD_BATCH) -> int:
    """Re-index every submitted dossier (of one procedure, or all): after Core writes that
    the session never saw, or when the way documents are made changes. Commits per batch
    (walking the dossiers by number) and returns how many documents were written."""
    table = Dossier.__table__
    written, last_id = 0, 0
    while True:
        statement = (
            sa.select(
                table.c.id,
                table.c.procedure_id,
                table.c.revision_id,
                table.c.owner_id,
                table.c.state,
                table.c.identity,
                table.c.on_behalf_of,
                table.c.answers,
                table.c.annotations,
            )
            .where(table.c.id > last_id, table.c.state != DossierState.draft)
            .order_by(table.c.id)
            .limit(batch_size)
        )
        if procedure_id is not None:
            statement = statement.where(table.c.procedure_id == procedure_id)
        rows = db.session.execute(statement).all()
        if not rows:
            return written
        written += refresh(db.session.connection(), [Indexed(**row._mapping) for row in rows])
        db.session.commit()
        last_id = rows[-1].id


# ---------------------------------------------------------------------------------------
# Searching


def fold(text: str) -> str:
    """Lower case without accents: how SQLite documents and queries are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def search_terms(text: str) -> list[str]:
    """The words of a query, folded, without duplicates (SQLite matching)."""
    seen: list[str] = []
    for word in _NOT_WORD.split(fold(text)):
        if word and word not in seen:
            seen.append(word)
    return seen


def _plain_words(text: str) -> str:
    """A SQLite document: folded words between single spaces, one space before the first,
    so that ``LIKE '% word%'`` finds words by their beginning (as an index of words would),
    not any substring (a "4" inside "1400")."""
    return " " + " ".join(search_terms(text)) + " "


def matching(text: str, dialect: str, procedure_ids: Iterable[int] | None = None) -> sa.Select:
    """The numbers of the dossiers whose document matches ``text`` (every word must match),
    as a subquery for ``Dossier.id.in_(…)``; ``procedure_ids`` narrows it early."""
    table = DossierSearch.__table__
    statement = sa.select(table.c.dossier_id)
    if procedure_ids is not None:
        statement = statement.where(table.c.procedure_id.in_(list(procedure_ids)))
    if dialect == "postgresql":
        query = sa.func.websearch_to_tsquery(
            sa.literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig"),
            sa.bindparam("search_text", text, unique=True),
        )
        return statement.where(table.c.document.op("@@")(query))
    terms = search_terms(text)
    return statement.where(
        *(table.c.document.contains(" " + term, autoescape=True) for term in terms or [""])
    )
