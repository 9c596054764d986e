"""Layout and blocks: section titles, explanations, and repeatable blocks of fields."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, lazy_gettext, ngettext
from marshmallow import ValidationError, validates_schema

from ..base import (
    PRESENCE,
    PRESENCE_FILTERS,
    CleanContext,
    FieldSpec,
    FieldType,
    OptionsSchema,
    as_spec,
    between,
    invalid,
    length,
    text,
    whole_number,
)
from ..registry import get, register

MAX_ROWS = 100
"""Most rows a repetition block accepts, whatever its options say."""


class HeaderOptions(OptionsSchema):
    level = whole_number(load_default=1, validate=between(1, 3))


class ExplanationOptions(OptionsSchema):
    detail = text(allow_none=True, load_default=None, validate=length(10_000))


class RepetitionOptions(OptionsSchema):
    min_rows = whole_number(load_default=0, validate=between(0, MAX_ROWS))
    max_rows = whole_number(allow_none=True, load_default=None, validate=between(1, MAX_ROWS))

    @validates_schema
    def check_counts(self, data: dict[str, Any], **_: Any) -> None:
        maximum = data.get("max_rows")
        if maximum is not None and data.get("min_rows", 0) > maximum:
            raise ValidationError(
                gettext("The minimum number of entries cannot exceed the maximum."), "min_rows"
            )


class Layout(FieldType):
    """A type without an answer: whatever is submitted for it is dropped."""

    group = "structure"
    has_value = False

    def clean(self, value: Any, definition: Any, context: CleanContext | None = None) -> None:
        return None

    def as_text(self, value: Any, definition: Any = None) -> str:
        return ""


@register
class HeaderSection(Layout):
    """A section title, level 1 to 3. Its condition shows or hides the whole section: every
    field up to the next title of the same or a higher level (a lower number)."""

    name = "header_section"
    label = lazy_gettext("Section title")
    Options = HeaderOptions
    can_be_repeated = False
    compatible_types = frozenset({"explication"})


@register
class Explanation(Layout):
    """Read-only text (the label and help), with an optional collapsible ``detail``."""

    name = "explication"
    label = lazy_gettext("Explanation")
    Options = ExplanationOptions
    compatible_types = frozenset({"header_section"})


@register
class Repetition(FieldType):
    """A block of child fields the applicant may fill several times: a list of rows, each a
    dict keyed by the children's stable ids. Blocks cannot be nested.

    Children may carry conditions on fields placed before the block; a hidden child is
    neither validated nor kept (``CleanContext.visible``). Rows left entirely blank are
    dropped.
    """

    name = "repetition"
    label = lazy_gettext("Repeated block")
    group = "structure"
    can_be_repeated = False
    Options = RepetitionOptions
    filter_operators = PRESENCE_FILTERS
    condition_operators = PRESENCE
    condition_kind = "presence"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> list[dict] | None:
        if not isinstance(value, list):
            raise invalid(gettext("The entries of this block are not valid."))
        children = [
            child
            for child in (as_spec(child) for child in spec.children)
            if get(child.type).has_value
            and (context.visible is None or child.stable_id in context.visible)
        ]
        if any(child.type == "repetition" for child in children):
            raise ValueError(f"repetition {spec.stable_id!r} holds another repetition")
        rows: list[dict] = []
        errors: dict[int, Any] = {}
        for row in value:
            if row is None or (
                isinstance(row, dict)
                and all(get(child.type).is_empty(row.get(child.stable_id)) for child in children)
            ):
                continue
            index = len(rows)
            if not isinstance(row, dict):
                errors[index] = [gettext("This entry is not valid.")]
                rows.append({})
                continue
            cleaned, row_errors = self._clean_row(row, children, context)
            if row_errors:
                errors[index] = row_errors
            rows.append(cleaned)
        maximum = min(spec.option("max_rows", MAX_ROWS), MAX_ROWS)
        minimum = spec.option("min_rows", 0)
        if len(rows) > maximum:
            raise invalid(
                ngettext("Add at most %(num)d entry.", "Add at most %(num)d entries.", maximum)
            )
        if errors:
            raise ValidationError(errors)
        if not rows:
            return None
        if len(rows) < minimum and not context.partial:
            raise invalid(
                ngettext("Add at least %(num)d entry.", "Add at least %(num)d entries.", minimum)
            )
        return rows

    @staticmethod
    def _clean_row(
        row: dict, children: list[FieldSpec], context: CleanContext
    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        cleaned: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for child in children:
            child_type = get(child.type)
            try:
                value = child_type.clean(row.get(child.stable_id), child, context)
            except ValidationError as error:
                errors[child.stable_id] = error.messages
                continue
            if child.required and not context.partial and child_type.is_missing(value):
                errors[child.stable_id] = [child_type.required_message()]
            elif value is not None:
                cleaned[child.stable_id] = value
        return cleaned, errors

    def format(self, value: Any, definition: Any) -> str:
        """One line per row, its cells in the form's order (whatever order the stored JSON
        keeps: PostgreSQL's jsonb sorts keys), each read by its own type."""
        if not isinstance(value, list):
            return str(value)
        children = as_spec(definition).children if definition is not None else ()
        known = {child.stable_id: child for child in children}
        lines = []
        for number, row in enumerate(value, start=1):
            if not isinstance(row, dict):
                continue
            keys = [key for key in known if key in row]
            keys += sorted(key for key in row if key not in known)
            cells = []
            for key in keys:
                child = known.get(key)
                cell = row[key]
                shown = get(child.type).as_text(cell, child) if child else str(cell)
                cells.append(f"{child.label or key if child else key} : {shown}")
            lines.append(f"{number}. " + " ; ".join(cells))
        return "\n".join(lines)
