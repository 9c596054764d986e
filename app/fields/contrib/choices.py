"""Boxes to tick and choices among the administrator's options.

Choices are stored as the option's text itself (what exports and filters show). Lists of
options are lists, never objects keyed by option: PostgreSQL's JSONB does not keep the order
of an object's keys, and the order is the administrator's.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, lazy_gettext
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from ..base import (
    CHOICE_FILTERS,
    PRESENCE,
    CleanContext,
    FieldSpec,
    FieldType,
    OptionsSchema,
    flag,
    invalid,
    length,
    messages,
    require_string,
    text,
)
from ..registry import register

OTHER = "__other__"
"""In a condition on a ``drop_down`` allowing "other": the applicant typed their own answer."""
CHOICE_LIMIT = 255
OTHER_LIMIT = 255
MAX_CHOICES = 1_000

TRUE_WORDS = frozenset({"true", "on", "1", "yes", "oui"})
FALSE_WORDS = frozenset({"false", "off", "0", "no", "non"})


def parse_boolean(value: Any) -> bool | None:
    """True or False from JSON or from a form's text ("on", "oui"…), else None.

    conditions.js (``toBoolean``) accepts the same words.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def _unique(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError(gettext("Each choice must appear only once."))


at_least_one = validate.Length(min=1, error=lazy_gettext("Add at least one choice."))
too_many = validate.Length(max=MAX_CHOICES, error=lazy_gettext("Keep at most {max} choices."))


def choice_list(**kwargs: Any) -> fields.List:
    return fields.List(
        text(validate=length(CHOICE_LIMIT, 1)),
        validate=[at_least_one, too_many, _unique],
        error_messages=messages(invalid=lazy_gettext("Enter a list of choices.")),
        **kwargs,
    )


class StrippedChoices(OptionsSchema):
    """Choices are compared stripped: " Oui" and "Oui" are the same choice."""

    @pre_load
    def strip_choices(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("choices"), list):
            data = {**data, "choices": [_strip(choice) for choice in data["choices"]]}
        return data


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class DropDownOptions(StrippedChoices):
    choices = choice_list(required=True)
    allow_other = flag(load_default=False)


class MultipleDropDownOptions(StrippedChoices):
    choices = choice_list(required=True)


class LinkedChoice(OptionsSchema):
    @pre_load
    def strip_choices(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "primary": _strip(data.get("primary"))}
            if isinstance(data.get("secondary"), list):
                data["secondary"] = [_strip(choice) for choice in data["secondary"]]
        return data

    primary = text(required=True, validate=length(CHOICE_LIMIT, 1))
    secondary = fields.List(
        text(validate=length(CHOICE_LIMIT, 1)),
        load_default=list,
        validate=[too_many, _unique],
        error_messages=messages(invalid=lazy_gettext("Enter a list of choices.")),
    )


class LinkedDropDownOptions(OptionsSchema):
    choices = fields.List(
        fields.Nested(LinkedChoice),
        required=True,
        validate=[at_least_one, too_many],
        error_messages=messages(invalid=lazy_gettext("Enter a list of choices.")),
    )

    @validates_schema
    def check_primaries(self, data: dict[str, Any], **_: Any) -> None:
        primaries = [choice["primary"] for choice in data.get("choices", [])]
        if len(set(primaries)) != len(primaries):
            raise ValidationError(gettext("Each choice must appear only once."), "choices")


@register
class Checkbox(FieldType):
    """A box to tick. It always has an answer: unticked is False. Required means ticked."""

    name = "checkbox"
    label = lazy_gettext("Checkbox")
    group = "choices"
    filter_operators = ("eq",)
    condition_operators = ("eq", "ne")
    condition_kind = "checkbox"
    compatible_types = frozenset({"yes_no"})

    def clean(self, value: Any, definition: Any, context: CleanContext | None = None) -> bool:
        if value is None or (isinstance(value, str) and not value.strip()):
            return False
        parsed = parse_boolean(value)
        if parsed is None:
            raise invalid(gettext("Tick the box or leave it empty."))
        return parsed

    def is_missing(self, cleaned: Any) -> bool:
        return cleaned is not True

    def required_message(self) -> str:
        return gettext("You must tick this box.")

    def format(self, value: Any, definition: Any) -> str:
        return gettext("Yes") if parse_boolean(value) else gettext("No")


@register
class YesNo(FieldType):
    name = "yes_no"
    label = lazy_gettext("Yes or no")
    group = "choices"
    filter_operators = ("eq",)
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "boolean"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> bool:
        parsed = parse_boolean(value)
        if parsed is None:
            raise invalid(gettext("Answer yes or no."))
        return parsed

    def convert_answer(self, value: Any, from_type: str) -> Any:
        return parse_boolean(value) is True if from_type == "checkbox" else value

    def format(self, value: Any, definition: Any) -> str:
        return gettext("Yes") if parse_boolean(value) else gettext("No")


@register
class DropDown(FieldType):
    """One choice; with ``allow_other``, any other text typed by the applicant."""

    name = "drop_down"
    label = lazy_gettext("Drop-down list")
    group = "choices"
    Options = DropDownOptions
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "choice"
    compatible_types = frozenset({"multiple_drop_down"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        value = require_string(value, gettext("Choose one of the options."))
        if value in spec.option("choices", []):
            return value
        if spec.option("allow_other", False) and value != OTHER:
            if len(value) > OTHER_LIMIT:
                raise invalid(gettext("Enter at most %(max)d characters.", max=OTHER_LIMIT))
            return value
        raise invalid(gettext("Choose one of the options."))


@register
class MultipleDropDown(FieldType):
    """Several choices, stored as a list in the administrator's order."""

    name = "multiple_drop_down"
    label = lazy_gettext("Multiple choice")
    group = "choices"
    Options = MultipleDropDownOptions
    filter_operators = CHOICE_FILTERS
    condition_operators = ("contains", "not_contains", *PRESENCE)
    condition_kind = "choices"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise invalid(gettext("Choose among the options."))
        picked = {item.strip() for item in value if item.strip()}
        choices = spec.option("choices", [])
        unknown = picked.difference(choices)
        if unknown:
            raise invalid(
                gettext(
                    "These are not among the options: %(values)s", values=", ".join(sorted(unknown))
                )
            )
        return [choice for choice in choices if choice in picked]

    def convert_answer(self, value: Any, from_type: str) -> Any:
        if from_type == "drop_down" and isinstance(value, str):
            return [value]
        return value

    def format(self, value: Any, definition: Any) -> str:
        return ", ".join(value) if isinstance(value, list) else str(value)


@register
class LinkedDropDown(FieldType):
    """A primary choice and a secondary one among the primary's own list.

    Stored as ``{"primary": …, "secondary": …}``; ``secondary`` is None when the primary
    choice has no list of its own.
    """

    name = "linked_drop_down"
    label = lazy_gettext("Linked drop-down lists")
    group = "choices"
    Options = LinkedDropDownOptions
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "linked"

    def is_empty(self, value: Any) -> bool:
        if isinstance(value, dict):
            return _is_blank_text(value.get("primary")) and _is_blank_text(value.get("secondary"))
        return super().is_empty(value)

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise invalid(gettext("Choose one of the options."))
        primary = value.get("primary")
        secondary = value.get("secondary")
        if _is_blank_text(primary):
            raise invalid(gettext("Choose the first option."))
        primary = require_string(primary, gettext("Choose one of the options."))
        secondaries = next(
            (
                c.get("secondary") or []
                for c in spec.option("choices", [])
                if c.get("primary") == primary
            ),
            None,
        )
        if secondaries is None:
            raise invalid(gettext("Choose one of the options."))
        if not secondaries:
            if not _is_blank_text(secondary):
                raise invalid(gettext("This option has no second choice."))
            return {"primary": primary, "secondary": None}
        if _is_blank_text(secondary):
            raise invalid(gettext("Choose the second option."))
        secondary = require_string(secondary, gettext("Choose one of the options."))
        if secondary not in secondaries:
            raise invalid(gettext("Choose the second option among those of the first."))
        return {"primary": primary, "secondary": secondary}

    def format(self, value: Any, definition: Any) -> str:
        if not isinstance(value, dict):
            return str(value)
        parts = [value.get("primary"), value.get("secondary")]
        return " / ".join(str(part) for part in parts if part)


def _is_blank_text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
