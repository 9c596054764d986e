"""Checks of a form's definition, for the form editor and the procedure import.

The portal and the validation of answers trust definitions that passed these checks: a
stable id that cannot be confused with an error path, known types, valid options, blocks
that are not nested, and conditions that only look backwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from .base import FieldSpec, as_spec
from .registry import UnknownFieldType, get

STABLE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
"""Letters, digits, ``-`` and ``_``: no ``.`` nor ``[`` that error paths use."""


def check_type_change(old_type: str, new_type: str) -> str | None:
    """Why a field of ``old_type`` cannot become ``new_type`` in a new revision, or None.

    A change is allowed when the old type lists the new one in ``compatible_types``: its
    stored answers keep their meaning (``FieldType.convert_answer`` adapts their shape).
    """
    if old_type == new_type:
        return None
    try:
        old, new = get(old_type), get(new_type)
    except UnknownFieldType as error:
        return gettext("Unknown field type “%(type)s”.", type=error.name)
    if new.name in old.compatible_types:
        return None
    allowed = sorted(str(get(name).label) for name in old.compatible_types)
    if allowed:
        return gettext(
            "A field “%(old)s” cannot become “%(new)s”: the answers already given would lose "
            "their meaning. It can only become: %(allowed)s. Otherwise, add a new field.",
            old=old.label,
            new=new.label,
            allowed=", ".join(allowed),
        )
    return gettext(
        "A field “%(old)s” cannot change type: the answers already given would lose their "
        "meaning. Add a new field instead.",
        old=old.label,
    )


def _flatten(definitions: Iterable[Any]) -> list[tuple[Any, str | None]]:
    """(definition, parent stable id) pairs in form order, nested children unfolded."""
    pairs: list[tuple[Any, str | None]] = []
    for item in definitions:
        spec_parent = as_spec(item).parent if not isinstance(item, Mapping) else item.get("parent")
        pairs.append((item, spec_parent))
        children = item.get("children") if isinstance(item, Mapping) else None
        for child in children or ():
            pairs.append((child, item.get("stable_id")))
    return pairs


def validate_definitions(definitions: Iterable[Any]) -> dict[str, list[str]]:
    """Problems of a form's field definitions, keyed by stable id (empty: all is well).

    ``definitions`` are mappings or ``FieldDefinition`` rows, in form order, flat (children
    name their ``parent`` block) or nested (blocks carry ``children``).
    """
    from app.conditions import validate as validate_condition

    problems: dict[str, list[str]] = {}
    pairs = _flatten(definitions)
    types: dict[str, str] = {}
    valid: list[tuple[FieldSpec, str | None]] = []

    for index, (item, parent) in enumerate(pairs):
        raw = dict(item) if isinstance(item, Mapping) else None
        stable_id = raw.get("stable_id") if raw is not None else getattr(item, "stable_id", None)
        key = stable_id if isinstance(stable_id, str) and stable_id else f"#{index + 1}"
        found = problems.setdefault(key, [])
        if not (isinstance(stable_id, str) and STABLE_ID.fullmatch(stable_id)):
            found.append(
                gettext("The identifier may only hold letters, digits, “-” and “_” (40 at most).")
            )
            continue
        if stable_id in types:
            found.append(gettext("This identifier is already used by another field."))
            continue
        spec = as_spec(raw if raw is not None else item, parent=parent)
        spec = FieldSpec(**{**spec.__dict__, "children": ()})
        try:
            field_type = get(spec.type)
        except UnknownFieldType:
            found.append(gettext("Unknown field type “%(type)s”.", type=spec.type))
            continue
        types[stable_id] = spec.type
        if not spec.label.strip():
            found.append(gettext("Give the field a label."))
        try:
            field_type.validate_options(spec.options)
        except ValidationError as error:
            found.extend(_option_messages(error.messages))
        valid.append((spec, parent))

    parents = {spec.stable_id: parent for spec, parent in valid}
    misplaced: set[str] = set()
    for spec, parent in valid:
        found = problems[spec.stable_id]
        if parent is None:
            continue
        misplaced.add(spec.stable_id)
        if types.get(parent) != "repetition" or parents.get(parent) is not None:
            found.append(gettext("This field is placed in a field that is not a repeated block."))
        elif spec.type == "repetition":
            found.append(gettext("A repeated block cannot be placed inside another one."))
        elif not get(spec.type).can_be_repeated:
            found.append(
                gettext(
                    "A “%(type)s” cannot be placed inside a repeated block.",
                    type=get(spec.type).label,
                )
            )
        else:
            misplaced.discard(spec.stable_id)

    children_with_value = {
        parent for spec, parent in valid if parent is not None and get(spec.type).has_value
    }
    for spec, _parent in valid:
        if spec.type == "repetition" and spec.stable_id not in children_with_value:
            problems[spec.stable_id].append(gettext("Add at least one field to this block."))

    form = [spec for spec, _parent in valid if spec.stable_id not in misplaced]
    for spec in form:
        if spec.condition is not None:
            problems[spec.stable_id].extend(validate_condition(spec.condition, spec, form))
    return {key: value for key, value in problems.items() if value}


OPTION_LABELS = {
    "level": _l("Title level (1 to 3)"),
    "detail": _l("Detail shown on demand"),
    "min_rows": _l("Minimum number of entries"),
    "max_rows": _l("Maximum number of entries"),
    "max_length": _l("Maximum length (characters)"),
    "min_length": _l("Minimum length (characters)"),
    "pattern": _l("Regular expression the answer must match"),
    "message": _l("Message shown when the answer does not match"),
    "example": _l("Example shown to the applicant"),
    "letters": _l("Letters allowed"),
    "digits": _l("Digits allowed"),
    "other_characters": _l("Other characters allowed"),
    "min": _l("Minimum"),
    "max": _l("Maximum"),
    "decimals": _l("Digits after the decimal point"),
    "past_only": _l("Past dates only"),
    "choices": _l("Choices (one per line)"),
    "allow_other": _l("Offer “Other” with a free answer"),
    "france_only": _l("Addresses in France only"),
    "families": _l("Accepted kinds of files"),
    "max_size_mb": _l("Maximum size per file (MB)"),
    "max_files": _l("Maximum number of files"),
}
"""How the form editor names each option (in its inputs and in the problems found)."""


def _option_messages(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, Mapping):
        found: list[str] = []
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found.extend(_option_messages(value, name))
        return found
    if isinstance(messages, list | tuple):
        return [item for message in messages for item in _option_messages(message, prefix)]
    if prefix:
        top, _, rest = prefix.partition(".")
        option = f"{OPTION_LABELS.get(top, top)}{f' ({rest})' if rest else ''}"
        return [gettext("Option “%(option)s”: %(message)s", option=option, message=str(messages))]
    return [str(messages)]
