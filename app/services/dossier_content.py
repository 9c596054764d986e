"""A dossier's answers and annotations as people read them: in form order, only the fields
that were shown (``conditions.visible_fields``, exactly as the applicant saw the form),
sections as headings, repeated blocks as numbered entries, files under their field.

The agents' dossier page, its print view and the expert's page render these rows; the
field types format every value (``FieldType.as_text``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..conditions import visible_fields
from ..extensions import db
from ..fields import registry
from ..fields.base import FieldSpec, field_specs
from ..models import Attachment, AttachmentUse, Dossier, FieldDefinition

SECTION = "section"
ANSWER = "answer"
FILES = "files"
BLOCK = "block"


@dataclass
class AnswerRow:
    """One line of a dossier's content. ``entries`` holds a repeated block's entries,
    each a list of child rows; ``files`` an attachment field's files."""

    kind: str
    label: str
    stable_id: str | None = None
    text: str = ""
    level: int = 1
    files: list[Attachment] = field(default_factory=list)
    entries: list[list[AnswerRow]] = field(default_factory=list)


def revision_fields(dossier: Dossier) -> list[FieldDefinition]:
    """The fields of the revision the dossier answers, in position order."""
    return list(
        db.session.scalars(
            sa.select(FieldDefinition)
            .where(FieldDefinition.revision_id == dossier.revision_id)
            .order_by(FieldDefinition.private, FieldDefinition.position, FieldDefinition.id)
        )
    )


def files_by_field(dossier: Dossier) -> dict[str, list[Attachment]]:
    """The form's and annotations' files of the dossier, by field, in one query."""
    rows = db.session.scalars(
        sa.select(Attachment)
        .where(
            Attachment.dossier_id == dossier.id,
            Attachment.use == AttachmentUse.form_field,
            Attachment.field_stable_id.is_not(None),
        )
        .order_by(Attachment.id)
    )
    grouped: dict[str, list[Attachment]] = {}
    for attachment in rows:
        grouped.setdefault(attachment.field_stable_id, []).append(attachment)
    return grouped


def content_rows(
    dossier: Dossier,
    *,
    private: bool,
    definitions: list[FieldDefinition] | None = None,
    files: Mapping[str, list[Attachment]] | None = None,
) -> list[AnswerRow]:
    """The applicant's answers (``private=False``) or the agents' annotations, as shown."""
    definitions = revision_fields(dossier) if definitions is None else definitions
    files = files_by_field(dossier) if files is None else files
    values = (dossier.annotations if private else dossier.answers) or {}
    shown = visible_fields(definitions, {**(dossier.answers or {}), **(dossier.annotations or {})})
    rows: list[AnswerRow] = []
    for spec in field_specs(definitions):
        if spec.private != private or spec.stable_id not in shown:
            continue
        row = _row(spec, values.get(spec.stable_id), shown, files)
        if row is not None:
            rows.append(row)
    return rows


def _row(
    spec: FieldSpec, value: Any, shown: set[str], files: Mapping[str, list[Attachment]]
) -> AnswerRow | None:
    field_type = _type(spec)
    label = spec.label or spec.stable_id
    if spec.type == "header_section":
        return AnswerRow(SECTION, label, spec.stable_id, level=_level(spec))
    if field_type is None or not field_type.has_value:
        return None
    if spec.children:
        entries = []
        for item in value if isinstance(value, list) else []:
            if not isinstance(item, Mapping):
                continue
            entries.append(
                [
                    _answer(child, item.get(child.stable_id))
                    for child in spec.children
                    if child.stable_id in shown and _has_value(child)
                ]
            )
        return AnswerRow(BLOCK, label, spec.stable_id, entries=entries)
    if spec.stable_id in files:
        return AnswerRow(FILES, label, spec.stable_id, files=list(files[spec.stable_id]))
    return _answer(spec, value)


def _answer(spec: FieldSpec, value: Any) -> AnswerRow:
    field_type = _type(spec)
    text = ""
    if value is not None and field_type is not None:
        try:
            text = field_type.as_text(value, spec)
        except Exception:  # a broken type must not hide the rest of the dossier
            text = str(value)
    return AnswerRow(ANSWER, spec.label or spec.stable_id, spec.stable_id, text=text)


def _type(spec: FieldSpec):
    try:
        return registry.get(spec.type)
    except registry.UnknownFieldType:
        return None


def _has_value(spec: FieldSpec) -> bool:
    field_type = _type(spec)
    return field_type is not None and field_type.has_value


def _level(spec: FieldSpec) -> int:
    level = spec.option("level", 1)
    return level if level in (1, 2, 3) else 1
