"""A dossier as one ZIP for its agents: a PDF of its answers and every file, streamed.

The archive is generated while it is sent (zipstream-ng, entries stored uncompressed:
attachments are mostly compressed already). Its size is known beforehand, so the
response carries a ``Content-Length`` and the browser shows real progress. Infected files
and files still being scanned are left out, and the PDF lists every file with its status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import get_locale, gettext
from zipstream import ZipStream

from app.extensions import db
from app.models import Attachment, AttachmentUse, Dossier, FieldDefinition, Message, ScanStatus
from app.workflow import state_label

from . import services
from .storage import get_storage

log = logging.getLogger(__name__)

SKIPPED = frozenset({ScanStatus.infected, ScanStatus.pending})


@dataclass(frozen=True)
class AnswerRow:
    label: str
    text: str
    heading: bool = False
    indent: bool = False


def _stem(dossier: Dossier) -> str:
    word = gettext("dossier")
    return f"{word}-{dossier.id}"


def archive_name(dossier: Dossier) -> str:
    return _stem(dossier) + ".zip"


def dossier_files(dossier: Dossier) -> list[Attachment]:
    """Every file of the dossier: form fields, annotations, messages (not deleted) and
    decision, opinion and attestation files."""
    live_messages = sa.select(Message.id).where(
        Message.dossier_id == dossier.id, Message.deleted_at.is_(None)
    )
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(
                sa.or_(
                    sa.and_(
                        Attachment.dossier_id == dossier.id,
                        Attachment.use != AttachmentUse.message,
                    ),
                    Attachment.message_id.in_(live_messages),
                )
            )
            .order_by(Attachment.id)
        )
    )


def dossier_archive(dossier: Dossier) -> ZipStream:
    """The ZIP of a dossier, ready to stream (iterate it; ``len()`` is its size)."""
    archive = ZipStream(sized=True)
    for path, content, size in dossier_entries(dossier):
        if size is None:
            archive.add(content, path)
        else:
            archive.add(content, path, size=size)
    return archive


def dossier_entries(dossier: Dossier) -> list[tuple[str, Any, int | None]]:
    """What a dossier's archive holds, as (path, content, size): the PDF of its answers
    (bytes, size None), then each file that may be handed out (its chunks, read from
    storage only when iterated). Also used by the agents' ZIP exports of many dossiers."""
    files = dossier_files(dossier)
    fields = _fields(dossier)
    entries: list[tuple[str, Any, int | None]] = [
        (_stem(dossier) + ".pdf", answers_pdf(dossier, files, fields), None)
    ]
    storage = get_storage()
    used: set[str] = set()
    for attachment in files:
        if attachment.scan_status in SKIPPED:
            continue
        path = _unique(f"{_folder(attachment, fields)}/{attachment.original_name}", used)
        entries.append((path, storage.iter_chunks(attachment.storage_key), attachment.size))
    return entries


def _fields(dossier: Dossier) -> dict[str, FieldDefinition]:
    return {
        field.stable_id: field
        for field in db.session.scalars(
            sa.select(FieldDefinition)
            .where(FieldDefinition.revision_id == dossier.revision_id)
            .order_by(FieldDefinition.private, FieldDefinition.position, FieldDefinition.id)
        )
    }


def _folder(attachment: Attachment, fields: dict[str, FieldDefinition]) -> str:
    if attachment.use == AttachmentUse.form_field:
        field = fields.get(attachment.field_stable_id or "")
        label = field.label if field is not None else attachment.field_stable_id or gettext("Form")
        return _safe_path_part(label)
    folders = {
        AttachmentUse.message: gettext("Messages"),
        AttachmentUse.justification: gettext("Decision"),
        AttachmentUse.attestation: gettext("Decision"),
        AttachmentUse.opinion: gettext("Opinions"),
    }
    return folders.get(attachment.use, gettext("Other files"))


def _safe_path_part(text: str) -> str:
    cleaned = "".join(ch if ch.isprintable() and ch not in '/\\:*?"<>|' else "-" for ch in text)
    return cleaned.strip(" .")[:80] or gettext("Form")


def _unique(path: str, used: set[str]) -> str:
    candidate, number = path, 1
    while candidate.lower() in used:
        number += 1
        stem, dot, extension = path.rpartition(".")
        candidate = f"{stem} ({number}).{extension}" if dot else f"{path} ({number})"
    used.add(candidate.lower())
    return candidate


def answer_rows(
    dossier: Dossier, files: list[Attachment], fields: dict[str, FieldDefinition], private: bool
) -> list[AnswerRow]:
    """The answers (or private annotations) of a dossier as label / text rows."""
    values = (dossier.annotations if private else dossier.answers) or {}
    names_by_field: dict[str, list[str]] = {}
    for attachment in files:
        if attachment.use == AttachmentUse.form_field and attachment.field_stable_id:
            names_by_field.setdefault(attachment.field_stable_id, []).append(
                attachment.original_name
            )
    children: dict[int, list[FieldDefinition]] = {}
    for field in fields.values():
        if field.parent_id is not None:
            children.setdefault(field.parent_id, []).append(field)
    rows: list[AnswerRow] = []
    for field in fields.values():
        if field.private != private or field.parent_id is not None:
            continue
        if field.type == "header_section":
            rows.append(AnswerRow(field.label, "", heading=True))
        elif field.type == "explication":
            continue
        elif field.type == "repetition":
            for number, item in enumerate(values.get(field.stable_id) or [], start=1):
                rows.append(AnswerRow(f"{field.label} {number}", "", heading=True))
                for child in children.get(field.id, []):
                    value = item.get(child.stable_id) if isinstance(item, dict) else None
                    rows.append(AnswerRow(child.label, as_text(child, value), indent=True))
        elif field.type == services.ATTACHMENT_FIELD_TYPE:
            rows.append(AnswerRow(field.label, ", ".join(names_by_field.get(field.stable_id, []))))
        else:
            rows.append(AnswerRow(field.label, as_text(field, values.get(field.stable_id))))
    return rows


def as_text(field: FieldDefinition, value: Any) -> str:
    """An answer as its field type writes it (``app.fields``), else as plain text."""
    if value is None:
        return ""
    try:
        from app.fields import registry

        return registry.get(field.type).as_text(value, field)
    except Exception:  # an unknown or failing type must not break the archive
        log.debug("Field type %s could not format %r", field.type, value, exc_info=True)
        return str(value)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    """WeasyPrint fetches nothing: the PDF is made from the template alone."""
    raise ValueError(f"resource not fetched: {url}")


def answers_pdf(
    dossier: Dossier,
    files: list[Attachment] | None = None,
    fields: dict[str, FieldDefinition] | None = None,
) -> bytes:
    """A PDF of the dossier's answers: title, number, procedure, state, each answer, the
    agents' annotations and the list of files with their virus-scan status."""
    files = dossier_files(dossier) if files is None else files
    fields = _fields(dossier) if fields is None else fields
    locale = get_locale()
    html = render_template(
        "attachments/answers.html",
        lang=locale.language if locale else "fr",
        dossier=dossier,
        state=state_label(dossier.state),
        answers=answer_rows(dossier, files, fields, private=False),
        annotations=answer_rows(dossier, files, fields, private=True),
        files=[(attachment, services.SCAN_LABELS[attachment.scan_status]) for attachment in files],
    )
    import weasyprint  # heavy (Pango): loaded by the processes that make PDFs only

    return weasyprint.HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
