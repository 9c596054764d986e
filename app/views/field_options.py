"""The inputs of a field type's options, derived from its marshmallow ``Options`` schema,
and the reading of the posted form back into an options dict.

A new option in a field type shows up in the form editor with no change here, as long
as its kind is one of these: whole or decimal number, yes/no, date, date and time, text,
a choice among fixed values, a list of texts (one per line), a list of fixed values
(check boxes), or the linked lists of ``linked_drop_down``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from werkzeug.datastructures import MultiDict

from ..fields.contrib.links import FILE_FAMILIES
from ..fields.definitions import OPTION_LABELS

CHOICE_LABELS = {"families": FILE_FAMILIES}

LINKED_HELP = _l(
    "One primary choice per line; its secondary choices below it, each on a line starting "
    "with a dash (-)."
)


@dataclass
class OptionInput:
    name: str
    label: Any
    kind: str  # number, decimal, checkbox, date, datetime, text, select, lines, checkboxes, linked
    value: Any
    choices: list[str] | None = None
    help: Any = None
    choice_labels: dict[str, Any] | None = None


def _one_of(field: fields.Field) -> list[str] | None:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return [str(choice) for choice in validator.choices]
    return None


def _kind(field: fields.Field) -> tuple[str, list[str] | None]:
    if isinstance(field, fields.Boolean):
        return "checkbox", None
    if isinstance(field, fields.Integer):
        return "number", None
    if isinstance(field, fields.Number):
        return "decimal", None
    if isinstance(field, fields.DateTime | fields.NaiveDateTime) or type(field).__name__ in (
        "LocalDateTime",
    ):
        return "datetime", None
    if isinstance(field, fields.Date):
        return "date", None
    if isinstance(field, fields.List):
        inner = field.inner
        if isinstance(inner, fields.Nested):
            return "linked", None
        values = _one_of(inner)
        return ("checkboxes", values) if values else ("lines", None)
    values = _one_of(field)
    return ("select", values) if values else ("text", None)


def option_inputs(schema_class: type, options: dict[str, Any]) -> list[OptionInput]:
    """The inputs of a type's options, filled with ``options``."""
    inputs = []
    for name, field in schema_class().fields.items():
        kind, choices = _kind(field)
        value = options.get(name)
        if kind == "lines":
            value = "\n".join(value or [])
        elif kind == "linked":
            value = "\n".join(
                line
                for choice in value or []
                for line in [choice.get("primary", "")]
                + [f"- {item}" for item in choice.get("secondary", [])]
            )
        inputs.append(
            OptionInput(
                name=name,
                label=OPTION_LABELS.get(name, name),
                kind=kind,
                value=value,
                choices=choices,
                help=LINKED_HELP if kind == "linked" else None,
                choice_labels=CHOICE_LABELS.get(name, {}),
            )
        )
    return inputs


def read_options(schema_class: type, form: MultiDict) -> dict[str, Any]:
    """The options dict from a posted form (``option-<name>`` inputs); validation is the
    field type's job (``validate_options``), which reports any wrong value."""
    options: dict[str, Any] = {}
    for name, field in schema_class().fields.items():
        key = f"option-{name}"
        kind, _choices = _kind(field)
        if kind == "checkbox":
            options[name] = key in form
        elif kind == "checkboxes":
            options[name] = form.getlist(key)
        elif kind == "lines":
            options[name] = [
                line.strip() for line in form.get(key, "").splitlines() if line.strip()
            ]
        elif kind == "linked":
            options[name] = _read_linked(form.get(key, ""))
        else:
            value = form.get(key, "").strip()
            if value:
                options[name] = _number(value, kind)
    return options


def _number(value: str, kind: str) -> Any:
    """Numbers typed in a form, as numbers; anything else is left for validation to refuse."""
    try:
        if kind == "number":
            return int(value)
        if kind == "decimal":
            return float(value.replace(",", "."))
    except ValueError:
        pass
    return value


def _read_linked(text: str) -> list[dict[str, Any]]:
    choices: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("-") and choices:
            choices[-1]["secondary"].append(line.lstrip("-").strip())
        else:
            choices.append({"primary": line, "secondary": []})
    return choices
