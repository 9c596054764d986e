"""The PDF receipt (accusé de dépôt) attached to the "dossier submitted" mail.

It proves what was filed and when: the dossier number, the procedure, the administration,
the date and time of submission, who filed, and every answer shown to the applicant as its
field type writes it (``FieldType.as_text``). It is made once, at submission, from the
answers as submitted: a later edit does not change the receipt already sent.

Like the attestation (``attestations._pdf``), WeasyPrint renders an HTML page whose texts
are all escaped and may fetch nothing but ``data:`` URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import format_date, format_time, gettext

from .. import conditions
from ..extensions import db
from ..fields import registry
from ..models import Attachment, Dossier, FieldDefinition
from .procedures import form_order


@dataclass(frozen=True)
class AnswerRow:
    """One line of a dossier's answers as people read them."""

    label: str
    text: str
    heading: bool = False
    level: int = 1
    indent: bool = False


def _as_text(field: FieldDefinition, value: Any, file_names: dict[int, str]) -> str:
    if value is None:
        return ""
    if field.type == "attachment" and isinstance(value, list):
        return ", ".join(file_names.get(item, str(item)) for item in value)
    try:
        return registry.get(field.type).as_text(value, field)
    except (LookupError, TypeError, ValueError, AttributeError):
        return str(value)


def _file_names(answers: dict[str, Any], fields: list[FieldDefinition]) -> dict[int, str]:
    """Original names of the files the answers refer to, in one query."""
    ids: set[int] = set()
    attachment_fields = {field.stable_id for field in fields if field.type == "attachment"}
    for key, value in answers.items():
        if key in attachment_fields and isinstance(value, list):
            ids.update(item for item in value if isinstance(item, int))
    for field in fields:
        if field.type == "repetition":
            for row in answers.get(field.stable_id) or []:
                if isinstance(row, dict):
                    for key, value in row.items():
                        if key in attachment_fields and isinstance(value, list):
                            ids.update(item for item in value if isinstance(item, int))
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Attachment.id, Attachment.original_name).where(Attachment.id.in_(ids))
    )
    return dict(rows.tuples().all())


def answer_rows(dossier: Dossier) -> list[AnswerRow]:
    """The applicant's answers as label / text rows, in form order, shown fields only
    (section titles as headings, a repeated block's entries numbered)."""
    fields = form_order(dossier.revision, private=False)
    answers = dossier.answers or {}
    shown = conditions.visible_fields(fields, answers)
    names = _file_names(answers, fields)
    children: dict[int, list[FieldDefinition]] = {}
    for field in fields:
        if field.parent_id is not None:
            children.setdefault(field.parent_id, []).append(field)
    rows: list[AnswerRow] = []
    for field in fields:
        if field.parent_id is not None or field.stable_id not in shown:
            continue
        if field.type == "header_section":
            level = (field.options or {}).get("level") or 1
            rows.append(AnswerRow(field.label, "", heading=True, level=int(level)))
        elif field.type == "explication":
            continue
        elif field.type == "repetition":
            entries = answers.get(field.stable_id) or []
            if not entries:
                rows.append(AnswerRow(field.label, ""))
            for number, entry in enumerate(entries, start=1):
                rows.append(AnswerRow(f"{field.label} {number}", "", heading=True, level=3))
                for child in children.get(field.id, []):
                    if child.stable_id not in shown or not registry.get(child.type).has_value:
                        continue
                    value = entry.get(child.stable_id) if isinstance(entry, dict) else None
                    rows.append(AnswerRow(child.label, _as_text(child, value, names), indent=True))
        else:
            rows.append(
                AnswerRow(field.label, _as_text(field, answers.get(field.stable_id), names))
            )
    return rows


def filer_lines(dossier: Dossier) -> list[str]:
    """Who filed, as the receipt and the confirmation page write it."""
    identity = dossier.identity or {}
    lines = []
    if identity.get("kind") == "company":
        lines.append(
            gettext(
                "%(name)s (SIRET %(siret)s)",
                name=identity.get("name") or "",
                siret=registry.get("siret").as_text(identity.get("siret")),
            )
        )
    elif identity:
        lines.append(_person(identity))
    beneficiary = dossier.on_behalf_of or {}
    if beneficiary:
        lines.append(gettext("On behalf of %(person)s", person=_person(beneficiary)))
    return [line for line in lines if line.strip()]


def _person(person: dict[str, Any]) -> str:
    civility = registry.get("civility").as_text(person.get("civility"))
    parts = [civility, person.get("first_name") or "", person.get("last_name") or ""]
    return " ".join(part for part in parts if part)


def receipt_html(dossier: Dossier) -> str:
    submitted = dossier.submitted_at
    return render_template(
        "guichet/dossiers/receipt_pdf.html",
        dossier=dossier,
        procedure=dossier.procedure,
        administration=dossier.procedure.administration,
        submitted_on=format_date(submitted, "long") if submitted else "",
        submitted_time=format_time(submitted, "short") if submitted else "",
        filer=filer_lines(dossier),
        rows=answer_rows(dossier),
    )


def receipt_filename(dossier: Dossier) -> str:
    return gettext("receipt-dossier-%(number)s.pdf", number=dossier.id)
