"""The registry of field types: ``@register`` a class, ``get(name)`` its instance.

Types are registered when ``app.fields.contrib`` is imported, which ``get`` and
``all_types`` make sure of, so callers never depend on import order.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask_babel import lazy_gettext

from .base import FieldType

__all__ = ["GROUPS", "UnknownFieldType", "all_types", "get", "names", "register"]

GROUPS: dict[str, Any] = {
    "structure": lazy_gettext("Layout"),
    "text": lazy_gettext("Text"),
    "numbers": lazy_gettext("Numbers"),
    "dates": lazy_gettext("Dates"),
    "choices": lazy_gettext("Choices"),
    "places": lazy_gettext("Places"),
    "identifiers": lazy_gettext("Identifiers"),
    "files": lazy_gettext("Files"),
}
"""Menu groups of the form editor, in menu order, with their labels."""

_types: dict[str, FieldType] = {}
_loaded = False

T = TypeVar("T", bound=type[FieldType])


class UnknownFieldType(LookupError):
    """A stored or submitted type name that no registered class carries."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(_types))
        super().__init__(f"unknown field type {name!r} (known types: {known})")
        self.name = name


def register(cls: T) -> T:
    """Class decorator: make the field type available under its ``name``."""
    name = getattr(cls, "name", None)
    if not name:
        raise TypeError(f"{cls.__name__} has no name")
    if name in _types:
        raise ValueError(f"field type {name!r} is registered twice")
    if getattr(cls, "group", None) not in GROUPS:
        raise ValueError(f"field type {name!r} has an unknown group")
    _types[name] = cls()
    return cls


def _load() -> None:
    global _loaded
    if not _loaded:
        from . import contrib  # noqa: F401  (registers the built-in types)

        _loaded = True


def get(name: str) -> FieldType:
    """The field type called ``name``; UnknownFieldType if there is none."""
    _load()
    try:
        return _types[name]
    except KeyError:
        raise UnknownFieldType(name) from None


def names() -> set[str]:
    """The names of every registered type."""
    _load()
    return set(_types)


def all_types() -> list[FieldType]:
    """Every type in the form editor's menu order: by group, then as registered."""
    _load()
    position = {group: index for index, group in enumerate(GROUPS)}
    return sorted(_types.values(), key=lambda field_type: position[field_type.group])
