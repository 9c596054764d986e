"""Whole and decimal numbers, with optional bounds.

Both are stored as JSON numbers, so that filters and sorts compare numbers: an integer as an
int, a decimal as an int when it is whole and a float otherwise. A decimal keeps at most
15 significant digits, which a float (and the browser's Number) holds exactly.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from flask_babel import gettext, lazy_gettext
from marshmallow import ValidationError, fields, validates_schema

from ..base import (
    ORDERED_FILTERS,
    PRESENCE,
    CleanContext,
    FieldSpec,
    FieldType,
    OptionsSchema,
    between,
    current_language,
    invalid,
    messages,
    whole_number,
)
from ..registry import register

SAFE_INTEGER = 2**53 - 1
"""Largest whole number the browser represents exactly (Number.MAX_SAFE_INTEGER)."""
SIGNIFICANT_DIGITS = 15
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")


def parse_number(value: Any) -> Decimal | None:
    """A number from JSON or from what someone typed ("1 234,5"), else None.

    The browser's evaluator reads numbers with the same rule (conditions.js, ``toNumber``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        compact = _SPACES.sub("", value).replace(",", ".")
        if _NUMBER.fullmatch(compact):
            try:
                return Decimal(compact)
            except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
                return None
    return None


def _check_bounds(number: Decimal, spec: FieldSpec) -> None:
    minimum, maximum = spec.option("min"), spec.option("max")
    if minimum is not None and number < Decimal(str(minimum)):
        raise invalid(
            gettext("Enter a number greater than or equal to %(min)s.", min=format_number(minimum))
        )
    if maximum is not None and number > Decimal(str(maximum)):
        raise invalid(
            gettext("Enter a number less than or equal to %(max)s.", max=format_number(maximum))
        )


def format_number(value: Any) -> str:
    """A number the way the reader writes it ("1 234,5" in French), every decimal kept."""
    number = parse_number(value)
    if number is None:
        return str(value)
    return format_decimal(number, locale=current_language(), decimal_quantization=False)


class BoundsSchema(OptionsSchema):
    @validates_schema
    def check_bounds(self, data: dict[str, Any], **_: Any) -> None:
        minimum, maximum = data.get("min"), data.get("max")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ValidationError(gettext("The minimum cannot be greater than the maximum."), "min")


class IntegerOptions(BoundsSchema):
    min = whole_number(
        allow_none=True,
        load_default=None,
        validate=between(-SAFE_INTEGER, SAFE_INTEGER),
    )
    max = whole_number(
        allow_none=True,
        load_default=None,
        validate=between(-SAFE_INTEGER, SAFE_INTEGER),
    )


def _bound() -> fields.Float:
    return fields.Float(
        allow_none=True,
        load_default=None,
        allow_nan=False,
        error_messages=messages(invalid=lazy_gettext("Enter a number.")),
    )


class DecimalOptions(BoundsSchema):
    min = _bound()
    max = _bound()
    decimals = whole_number(allow_none=True, load_default=None, validate=between(0, 10))


@register
class Integer(FieldType):
    name = "integer"
    label = lazy_gettext("Whole number")
    group = "numbers"
    Options = IntegerOptions
    filter_operators = ORDERED_FILTERS
    condition_operators = ("eq", "ne", "lt", "le", "gt", "ge", *PRESENCE)
    condition_kind = "number"
    compatible_types = frozenset({"decimal"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> int:
        number = parse_number(value)
        if number is None or number != number.to_integral_value():
            raise invalid(gettext("Enter a whole number."))
        if abs(number) > SAFE_INTEGER:
            raise invalid(gettext("This number is too large."))
        _check_bounds(number, spec)
        return int(number)

    def format(self, value: Any, definition: Any) -> str:
        return format_number(value)


@register
class DecimalNumber(FieldType):
    name = "decimal"
    label = lazy_gettext("Decimal number")
    group = "numbers"
    Options = DecimalOptions
    filter_operators = ORDERED_FILTERS
    condition_operators = ("eq", "ne", "lt", "le", "gt", "ge", *PRESENCE)
    condition_kind = "number"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> int | float:
        number = parse_number(value)
        if number is None:
            raise invalid(gettext("Enter a number."))
        number = number.normalize() if number else Decimal(0)
        sign, digits, exponent = number.as_tuple()
        places = max(0, -exponent)
        decimals = spec.option("decimals")
        if decimals is not None and places > decimals:
            if decimals == 0:
                raise invalid(gettext("Enter a whole number."))
            raise invalid(
                gettext("Enter at most %(count)d digits after the decimal point.", count=decimals)
            )
        if len(digits) + max(0, exponent) > SIGNIFICANT_DIGITS:
            raise invalid(gettext("This number has too many digits."))
        _check_bounds(number, spec)
        if number == number.to_integral_value():
            return int(number)
        return float(number)

    def format(self, value: Any, definition: Any) -> str:
        return format_number(value)
