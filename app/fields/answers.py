"""Validating a whole form's answers: what the portal's submission and the API's prefill call.

Hidden fields (per the conditions) are neither validated nor kept, required fields must be
answered, keys that are not visible fields of the form are dropped. Errors are keyed by
stable id; inside a block by ``block[row].child`` (row counted from 0 among the rows kept);
inside an address by ``field.part`` (``adresse.postcode``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from marshmallow import ValidationError

from .base import CleanContext, field_specs
from .registry import get

Errors = dict[str, list[str]]


def validate_answers(
    fields: Iterable[Any],
    answers: Mapping[str, Any] | None,
    *,
    visible: Collection[str] | None = None,
    context: CleanContext | None = None,
    partial: bool = False,
    private: bool = False,
) -> tuple[dict[str, Any], Errors]:
    """Return ``(cleaned, errors)`` for one form's submitted answers.

    ``fields``: the revision's field definitions (rows, mappings or FieldSpecs; flat with
    children pointing to their block, or nested). Only the applicant's fields are used,
    or only the private annotations with ``private=True``.
    ``visible``: stable ids of the shown fields; computed from the answers by
    ``app.conditions.visible_fields`` when not given, exactly as the browser computes them.
    ``partial``: a draft is saved, so required fields may be left empty.
    ``context``: hooks for checks the types cannot make alone (dossier links, attachments).
    """
    from app.conditions import visible_fields

    specs = [spec for spec in field_specs(fields) if spec.private == private]
    answers = answers if isinstance(answers, Mapping) else {}
    if visible is None:
        visible = visible_fields(specs, answers)
    shown = frozenset(visible)
    context = replace(context or CleanContext(), visible=shown, partial=partial)

    cleaned: dict[str, Any] = {}
    errors: Errors = {}
    for spec in specs:
        field_type = get(spec.type)
        if not field_type.has_value or spec.stable_id not in shown:
            continue
        try:
            value = field_type.clean(answers.get(spec.stable_id), spec, context)
        except ValidationError as error:
            errors.update(flatten_errors(spec.stable_id, error.messages))
            continue
        if spec.required and not partial and field_type.is_missing(value):
            errors[spec.stable_id] = [field_type.required_message()]
            continue
        if value is not None:
            cleaned[spec.stable_id] = value
    return cleaned, errors


def flatten_errors(key: str, messages: Any) -> Errors:
    """marshmallow's nested messages as flat keys: ``block[0].child``, ``address.postcode``."""
    if isinstance(messages, Mapping):
        flat: Errors = {}
        for sub_key, sub_messages in messages.items():
            path = f"{key}[{sub_key}]" if isinstance(sub_key, int) else f"{key}.{sub_key}"
            flat.update(flatten_errors(path, sub_messages))
        return flat
    if isinstance(messages, list | tuple):
        return {key: [str(message) for message in messages]}
    return {key: [str(messages)]}
