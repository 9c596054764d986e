"""Dates and date-times, with an optional range and a "not in the future" rule.

A date is stored as ``YYYY-MM-DD``. A date-time is stored as ``YYYY-MM-DDTHH:MM``, the local
time of the procedure as the applicant typed it (what an HTML ``datetime-local`` input
gives), without a time zone: an appointment at 9:00 in Lyon stays at 9:00 for every reader.
"Today" and "now" are taken in ``BABEL_DEFAULT_TIMEZONE`` (Europe/Paris by default).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext, lazy_gettext
from marshmallow import ValidationError, fields, validates_schema

from ..base import (
    ORDERED_FILTERS,
    PRESENCE,
    CleanContext,
    FieldSpec,
    FieldType,
    OptionsSchema,
    flag,
    invalid,
    messages,
)
from ..registry import register

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_FRENCH_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_ISO_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?")
_FRENCH_DATETIME = re.compile(r"(\d{2})/(\d{2})/(\d{4})[ T](\d{2})[:h](\d{2})")
EARLIEST_YEAR = 1000


def _zone() -> ZoneInfo:
    name = "Europe/Paris"
    if has_app_context():
        name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", name)
    return ZoneInfo(name)


def local_now(context: CleanContext | None = None) -> datetime:
    """The procedure's local time, naive, to the minute."""
    if context is not None and context.now is not None:
        return context.now.replace(second=0, microsecond=0, tzinfo=None)
    return datetime.now(_zone()).replace(second=0, microsecond=0, tzinfo=None)


def local_today(context: CleanContext | None = None) -> date:
    if context is not None and context.today is not None:
        return context.today
    return local_now(context).date()


def parse_date(value: Any) -> date | None:
    """A date from ``YYYY-MM-DD`` or ``DD/MM/YYYY`` text (or a date object), else None."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _FRENCH_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_datetime(value: Any) -> datetime | None:
    """A naive local date-time from ISO or French text (or a naive datetime), else None."""
    if isinstance(value, datetime):
        return value.replace(second=0, microsecond=0) if value.tzinfo is None else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if match := _ISO_DATETIME.fullmatch(text):
        year, month, day, hour, minute, _second = match.groups()
    elif match := _FRENCH_DATETIME.fullmatch(text):
        day, month, year, hour, minute = match.groups()
    else:
        return None
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute))
    except ValueError:
        return None


def format_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime) -> str:
    return value.strftime("%d/%m/%Y %H:%M")


class LocalDateTime(fields.Field):
    """Options field holding a naive local date-time as ``YYYY-MM-DDTHH:MM``."""

    default_error_messages = {"invalid": lazy_gettext("Enter a date and time.")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = parse_datetime(value)
        if parsed is None:
            raise self.make_error("invalid")
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M")


class RangeSchema(OptionsSchema):
    past_only = flag(load_default=False)

    @validates_schema
    def check_range(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("min"), data.get("max")
        if start is not None and end is not None and start > end:
            raise ValidationError(gettext("The start of the range must precede its end."), "min")


class DateOptions(RangeSchema):
    min = fields.Date(
        allow_none=True,
        load_default=None,
        error_messages=messages(invalid=lazy_gettext("Enter a date (YYYY-MM-DD).")),
    )
    max = fields.Date(
        allow_none=True,
        load_default=None,
        error_messages=messages(invalid=lazy_gettext("Enter a date (YYYY-MM-DD).")),
    )


class DateTimeOptions(RangeSchema):
    min = LocalDateTime(allow_none=True, load_default=None, error_messages=messages())
    max = LocalDateTime(allow_none=True, load_default=None, error_messages=messages())


@register
class Date(FieldType):
    name = "date"
    label = lazy_gettext("Date")
    group = "dates"
    Options = DateOptions
    filter_operators = ORDERED_FILTERS
    condition_operators = ("eq", "ne", "lt", "le", "gt", "ge", *PRESENCE)
    condition_kind = "date"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        day = parse_date(value)
        if day is None or day.year < EARLIEST_YEAR:
            raise invalid(gettext("Enter a valid date, for example 25/12/2024."))
        start, end = parse_date(spec.option("min")), parse_date(spec.option("max"))
        if start is not None and day < start:
            raise invalid(gettext("Enter a date on or after %(date)s.", date=format_date(start)))
        if end is not None and day > end:
            raise invalid(gettext("Enter a date on or before %(date)s.", date=format_date(end)))
        if spec.option("past_only", False) and day > local_today(context):
            raise invalid(gettext("Enter a date that is not in the future."))
        return day.isoformat()

    def format(self, value: Any, definition: Any) -> str:
        day = parse_date(value)
        return format_date(day) if day else str(value)


@register
class DateTime(FieldType):
    name = "datetime"
    label = lazy_gettext("Date and time")
    group = "dates"
    Options = DateTimeOptions
    filter_operators = ORDERED_FILTERS
    condition_operators = ("eq", "ne", "lt", "le", "gt", "ge", *PRESENCE)
    condition_kind = "datetime"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        moment = parse_datetime(value)
        if moment is None or moment.year < EARLIEST_YEAR:
            raise invalid(gettext("Enter a valid date and time, for example 25/12/2024 14:30."))
        start, end = parse_datetime(spec.option("min")), parse_datetime(spec.option("max"))
        if start is not None and moment < start:
            raise invalid(
                gettext("Enter a date and time on or after %(date)s.", date=format_datetime(start))
            )
        if end is not None and moment > end:
            raise invalid(
                gettext("Enter a date and time on or before %(date)s.", date=format_datetime(end))
            )
        if spec.option("past_only", False) and moment > local_now(context):
            raise invalid(gettext("Enter a date and time that is not in the future."))
        return moment.strftime("%Y-%m-%dT%H:%M")

    def format(self, value: Any, definition: Any) -> str:
        moment = parse_datetime(value)
        return format_datetime(moment) if moment else str(value)
