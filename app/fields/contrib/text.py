"""Free text: one line, several lines, and text checked against a format."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import regex
from flask_babel import gettext, lazy_gettext
from marshmallow import ValidationError, validates_schema

from ..base import (
    PRESENCE,
    TEXT_FILTERS,
    CleanContext,
    FieldSpec,
    FieldType,
    OptionsSchema,
    between,
    flag,
    invalid,
    length,
    require_string,
    text,
    whole_number,
)
from ..registry import register

TEXT_LIMIT = 1_000
"""Longest one-line answer, whatever the options say."""
TEXTAREA_LIMIT = 20_000
"""Longest multi-line answer, whatever the options say."""
PATTERN_LIMIT = 500
REGEX_TIMEOUT = 0.1
"""Seconds an administrator's regular expression may run on one answer. A pattern such as
``(a|a)*$`` takes exponential time on a long input; the ``regex`` package stops it and the
applicant gets a validation error instead of a worker hanging."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\s*(?:\r\n|\r|\n)\s*")


def clean_text(value: Any, *, multiline: bool, limit: int) -> str:
    """Text stripped of control characters (PostgreSQL's JSONB refuses NUL), NFC-normalised,
    on one line unless ``multiline``, and no longer than ``limit`` characters."""
    value = unicodedata.normalize("NFC", require_string(value))
    value = _CONTROL.sub("", value)
    value = (
        value.replace("\r\n", "\n").replace("\r", "\n")
        if multiline
        else _LINE_BREAKS.sub(" ", value)
    )
    value = value.strip()
    if len(value) > limit:
        raise invalid(gettext("Enter at most %(max)d characters.", max=limit))
    return value


class TextOptions(OptionsSchema):
    max_length = whole_number(allow_none=True, load_default=None, validate=between(1, TEXT_LIMIT))


class TextareaOptions(OptionsSchema):
    max_length = whole_number(
        allow_none=True, load_default=None, validate=between(1, TEXTAREA_LIMIT)
    )


@register
class Text(FieldType):
    name = "text"
    label = lazy_gettext("Short text")
    group = "text"
    Options = TextOptions
    filter_operators = TEXT_FILTERS
    condition_operators = ("eq", "ne", "contains", "not_contains", *PRESENCE)
    condition_kind = "text"
    compatible_types = frozenset({"textarea"})
    multiline = False
    limit = TEXT_LIMIT

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        limit = min(spec.option("max_length", self.limit), self.limit)
        return clean_text(value, multiline=self.multiline, limit=limit)


@register
class Textarea(Text):
    """Several lines. It does not become ``text`` again: its answers may hold line breaks."""

    name = "textarea"
    label = lazy_gettext("Long text")
    Options = TextareaOptions
    compatible_types = frozenset()
    multiline = True
    limit = TEXTAREA_LIMIT


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> regex.Pattern:
    """An administrator's pattern compiled once (``regex`` syntax, close to Python's ``re``)."""
    return regex.compile(pattern)


def pattern_matches(pattern: str, value: str, timeout: float = REGEX_TIMEOUT) -> bool:
    """Whether the whole value matches; TimeoutError when the pattern runs too long."""
    return compile_pattern(pattern).fullmatch(value, timeout=timeout) is not None


class FormattedOptions(OptionsSchema):
    """Either simple rules (letters, digits, other characters, length) or a pattern."""

    pattern = text(allow_none=True, load_default=None, validate=length(PATTERN_LIMIT, 1))
    message = text(allow_none=True, load_default=None, validate=length(255))
    example = text(allow_none=True, load_default=None, validate=length(255))
    letters = flag(load_default=True)
    digits = flag(load_default=True)
    other_characters = text(load_default="", validate=length(30))
    min_length = whole_number(allow_none=True, load_default=None, validate=between(1, TEXT_LIMIT))
    max_length = whole_number(allow_none=True, load_default=None, validate=between(1, TEXT_LIMIT))

    @validates_schema
    def check_rules(self, data: dict[str, Any], **_: Any) -> None:
        minimum, maximum = data.get("min_length"), data.get("max_length")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ValidationError(
                gettext("The minimum length cannot exceed the maximum length."), "min_length"
            )
        pattern = data.get("pattern")
        if pattern is None:
            if not (data.get("letters") or data.get("digits") or data.get("other_characters")):
                raise ValidationError(
                    gettext("Allow letters, digits or other characters."), "letters"
                )
        else:
            try:
                compile_pattern(pattern)
            except regex.error as error:
                raise ValidationError(
                    gettext("This regular expression is not valid: %(error)s.", error=str(error)),
                    "pattern",
                ) from None
        example = data.get("example")
        if example:
            try:
                check_format(example, data)
            except ValidationError as error:
                raise ValidationError(
                    gettext(
                        "The example does not follow the format: %(error)s",
                        error=" ".join(map(str, error.messages)),
                    ),
                    "example",
                ) from None


def check_format(value: str, options: Any) -> None:
    """Raise ValidationError unless ``value`` follows the rules of a ``formatted`` field."""
    get = options.get
    minimum, maximum = get("min_length"), get("max_length")
    if minimum is not None and len(value) < minimum:
        raise invalid(gettext("Enter at least %(min)d characters.", min=minimum))
    if maximum is not None and len(value) > maximum:
        raise invalid(gettext("Enter at most %(max)d characters.", max=maximum))
    pattern = get("pattern")
    if pattern:
        try:
            matches = pattern_matches(pattern, value)
        except TimeoutError:
            raise invalid(
                gettext(
                    "This value could not be checked in time. Check it, or contact the "
                    "service in charge of the procedure."
                )
            ) from None
        if not matches:
            raise invalid(get("message") or gettext("The value does not have the expected format."))
        return
    letters = get("letters", True) is not False
    digits = get("digits", True) is not False
    others = get("other_characters") or ""
    for character in value:
        if character in others:
            continue
        if letters and character.isalpha():
            continue
        if digits and character in "0123456789":
            continue
        raise invalid(get("message") or _allowed_characters_message(letters, digits, others))


def _allowed_characters_message(letters: bool, digits: bool, others: str) -> str:
    if others:
        if letters and digits:
            return gettext("Use only letters, digits and these characters: %(chars)s", chars=others)
        if letters:
            return gettext("Use only letters and these characters: %(chars)s", chars=others)
        if digits:
            return gettext("Use only digits and these characters: %(chars)s", chars=others)
        return gettext("Use only these characters: %(chars)s", chars=others)
    if letters and digits:
        return gettext("Use only letters and digits.")
    if letters:
        return gettext("Use only letters.")
    return gettext("Use only digits.")


@register
class Formatted(FieldType):
    """Text checked against simple rules or an administrator's regular expression."""

    name = "formatted"
    label = lazy_gettext("Formatted text")
    group = "text"
    Options = FormattedOptions
    filter_operators = TEXT_FILTERS
    condition_operators = ("eq", "ne", "contains", "not_contains", *PRESENCE)
    condition_kind = "text"
    compatible_types = frozenset({"text", "textarea"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        value = clean_text(value, multiline=False, limit=TEXT_LIMIT)
        check_format(value, spec.options or {})
        return value
