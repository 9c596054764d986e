"""Small helpers shared by the field tests."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from app.fields import CleanContext, FieldSpec, get


def spec(type_: str, stable_id: str = "champ", **options: Any) -> FieldSpec:
    return FieldSpec(stable_id=stable_id, type=type_, label=stable_id, options=options)


def clean(type_: str, value: Any, context: CleanContext | None = None, **options: Any) -> Any:
    return get(type_).clean(value, spec(type_, **options), context)


def error_of(type_: str, value: Any, context: CleanContext | None = None, **options: Any) -> Any:
    """The messages of the ValidationError that cleaning ``value`` raises."""
    with pytest.raises(ValidationError) as raised:
        clean(type_, value, context, **options)
    return raised.value.messages


def options_error(type_: str, options: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as raised:
        get(type_).validate_options(options)
    return raised.value.messages
