"""marshmallow schemas (API, import/export of procedures) and the translation of
marshmallow's own English messages for people who read them."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext, lazy_gettext

MESSAGES = {
    "Missing data for required field.": lazy_gettext("This value is required."),
    "Field may not be null.": lazy_gettext("This value cannot be empty."),
    "Not a valid string.": lazy_gettext("Expected text."),
    "Not a valid integer.": lazy_gettext("Expected a whole number."),
    "Not a valid number.": lazy_gettext("Expected a number."),
    "Not a valid boolean.": lazy_gettext("Expected true or false."),
    "Not a valid mapping type.": lazy_gettext("Expected an object."),
    "Not a valid list.": lazy_gettext("Expected a list."),
    "Unknown field.": lazy_gettext("Unknown entry."),
    "Invalid input type.": lazy_gettext("Unexpected kind of value."),
}

_PATTERNS = [
    (
        re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\."),
        lambda m: gettext("Expected a value from %(min)s to %(max)s.", min=m[1], max=m[2]),
    ),
    (
        re.compile(r"Must be one of: (.*)\."),
        lambda m: gettext("Expected one of: %(choices)s.", choices=m[1]),
    ),
    (
        re.compile(r"Longer than maximum length (\d+)\."),
        lambda m: gettext("At most %(max)s characters.", max=m[1]),
    ),
    (
        re.compile(r"Shorter than minimum length (\d+)\."),
        lambda m: gettext("At least %(min)s characters.", min=m[1]),
    ),
]


def translate(message: str) -> str:
    """marshmallow's message in the reader's language (other messages are ours already)."""
    if message in MESSAGES:
        return str(MESSAGES[message])
    for pattern, render in _PATTERNS:
        if match := pattern.fullmatch(message):
            return render(match)
    return message


def flatten(messages: Any, path: str = "") -> list[str]:
    """marshmallow's nested error messages as "path: message" lines, translated."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            if isinstance(key, int):
                child = f"{path}[{key}]"
            elif key == "_schema":
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            lines.extend(flatten(value, child))
        return lines
    if isinstance(messages, list):
        return [line for value in messages for line in flatten(value, path)]
    return [f"{path}: {translate(str(messages))}" if path else translate(str(messages))]
