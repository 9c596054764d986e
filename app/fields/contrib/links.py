"""References to other things: another dossier, uploaded files."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, lazy_gettext, ngettext
from marshmallow import ValidationError, fields, validate

from ..base import (
    PRESENCE,
    PRESENCE_FILTERS,
    CleanContext,
    FieldSpec,
    FieldType,
    OneOf,
    OptionsSchema,
    between,
    invalid,
    messages,
    whole_number,
)
from ..registry import register

BIGINT = 2**63 - 1

FILE_FAMILIES: dict[str, Any] = {
    "document": lazy_gettext("Documents (PDF, text, word processing)"),
    "spreadsheet": lazy_gettext("Spreadsheets"),
    "presentation": lazy_gettext("Presentations"),
    "image": lazy_gettext("Images"),
    "archive": lazy_gettext("Archives (ZIP…)"),
    "audio": lazy_gettext("Audio"),
    "video": lazy_gettext("Video"),
}
"""The families of formats an attachment field may allow; the attachments plugin maps each
to the real types it recognises in a file's content."""
MAX_FILE_SIZE_MB = 200
MAX_FILES = 50


def parse_positive_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 0 < value <= BIGINT:
        return value
    return None


@register
class DossierLink(FieldType):
    """The number of another dossier. Whether it exists (and may be linked) is the
    ``CleanContext.dossier_exists`` hook's answer, given by the calling service."""

    name = "dossier_link"
    label = lazy_gettext("Link to a dossier")
    group = "identifiers"
    filter_operators = ("eq", "empty", "not_empty")
    condition_operators = PRESENCE
    condition_kind = "presence"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> int:
        number = parse_positive_integer(value)
        if number is None:
            raise invalid(gettext("Enter a dossier number."))
        if context.dossier_exists is not None and not context.dossier_exists(number):
            raise invalid(gettext("No dossier has this number."))
        return number


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError(gettext("Each family must appear only once."))


class AttachmentOptions(OptionsSchema):
    families = fields.List(
        fields.String(
            validate=OneOf(list(FILE_FAMILIES), error=lazy_gettext("Unknown family of formats.")),
            error_messages=messages(),
        ),
        load_default=lambda: list(FILE_FAMILIES),
        validate=[
            validate.Length(min=1, error=lazy_gettext("Allow at least one family of formats.")),
            _unique,
        ],
        error_messages=messages(),
    )
    max_size_mb = whole_number(load_default=20, validate=between(1, MAX_FILE_SIZE_MB))
    max_files = whole_number(load_default=1, validate=between(1, MAX_FILES))


@register
class Attachment(FieldType):
    """Files (pièces justificatives), stored as a list of attachment ids.

    Ownership, real type and size are the attachments plugin's checks, made through the
    ``CleanContext.check_attachments`` hook.
    """

    name = "attachment"
    label = lazy_gettext("Attachment")
    group = "files"
    Options = AttachmentOptions
    filter_operators = PRESENCE_FILTERS
    condition_operators = PRESENCE
    condition_kind = "presence"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> list[int]:
        items = value if isinstance(value, list) else [value]
        ids: list[int] = []
        for item in items:
            if item is None or (isinstance(item, str) and not item.strip()):
                continue
            number = parse_positive_integer(item)
            if number is None:
                raise invalid(gettext("These files are not valid: send them again."))
            if number not in ids:
                ids.append(number)
        if not ids:
            return None
        maximum = spec.option("max_files", 1)
        if len(ids) > maximum:
            raise invalid(
                ngettext("Attach at most %(num)d file.", "Attach at most %(num)d files.", maximum)
            )
        if context.check_attachments is not None:
            context.check_attachments(ids, spec)
        return ids

    def format(self, value: Any, definition: Any) -> str:
        count = len(value) if isinstance(value, list) else 1
        return ngettext("%(num)d file", "%(num)d files", count)
