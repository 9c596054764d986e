"""Dates and date-times: ISO or French input, ISO storage, ranges, "not in the future"."""

from datetime import date, datetime

import pytest
from field_helpers import clean, error_of, options_error

from app.fields import CleanContext, get

TODAY = CleanContext(today=date(2024, 6, 15), now=datetime(2024, 6, 15, 10, 30))


@pytest.mark.parametrize("value", ["2018-04-12", "12/04/2018", " 2018-04-12 ", date(2018, 4, 12)])
def test_date_is_stored_in_iso_form(value) -> None:
    assert clean("date", value) == "2018-04-12"


@pytest.mark.parametrize(
    "value", ["2019-02-29", "31/04/2020", "2020-13-01", "12 avril 2018", "0999-01-01", 20180412]
)
def test_date_refuses_what_is_not_a_real_date(value) -> None:
    assert error_of("date", value) == ["Enter a valid date, for example 25/12/2024."]


def test_date_range() -> None:
    options = {"min": "2024-01-01", "max": "2024-12-31"}
    assert clean("date", "2024-01-01", **options) == "2024-01-01"
    assert error_of("date", "2023-12-31", **options) == ["Enter a date on or after 01/01/2024."]
    assert error_of("date", "2025-01-01", **options) == ["Enter a date on or before 31/12/2024."]


def test_date_past_only_accepts_today_but_not_tomorrow() -> None:
    assert clean("date", "2024-06-15", TODAY, past_only=True) == "2024-06-15"
    assert error_of("date", "2024-06-16", TODAY, past_only=True) == [
        "Enter a date that is not in the future."
    ]


def test_past_only_uses_the_procedures_time_zone_by_default() -> None:
    assert error_of("date", "2999-01-01", past_only=True) == [
        "Enter a date that is not in the future."
    ]


def test_date_options() -> None:
    assert "min" in options_error("date", {"min": "2024-12-31", "max": "2024-01-01"})
    assert "min" in options_error("date", {"min": "31/12/2024"})
    assert "past_only" in options_error("date", {"past_only": "sometimes"})
    assert get("date").validate_options({"past_only": True, "min": "1900-01-01"}) == {
        "past_only": True,
        "min": "1900-01-01",
        "max": None,
    }


@pytest.mark.parametrize(
    "value",
    ["2024-03-01T14:30", "2024-03-01 14:30", "2024-03-01T14:30:59", "01/03/2024 14:30",
     "01/03/2024 14h30", datetime(2024, 3, 1, 14, 30, 12)],
)  # fmt: skip
def test_datetime_is_stored_to_the_minute(value) -> None:
    assert clean("datetime", value) == "2024-03-01T14:30"


@pytest.mark.parametrize("value", ["2024-03-01", "2024-03-01T25:00", "2024-02-30T10:00", "14:30"])
def test_datetime_refuses_incomplete_or_impossible_values(value) -> None:
    assert error_of("datetime", value) == [
        "Enter a valid date and time, for example 25/12/2024 14:30."
    ]


def test_datetime_range_and_past_only() -> None:
    options = {"min": "2024-06-01T08:00", "max": "2024-06-30T18:00"}
    assert error_of("datetime", "2024-06-01T07:59", **options) == [
        "Enter a date and time on or after 01/06/2024 08:00."
    ]
    assert error_of("datetime", "2024-06-30T18:01", **options) == [
        "Enter a date and time on or before 30/06/2024 18:00."
    ]
    assert clean("datetime", "2024-06-15T10:30", TODAY, past_only=True) == "2024-06-15T10:30"
    assert error_of("datetime", "2024-06-15T10:31", TODAY, past_only=True) == [
        "Enter a date and time that is not in the future."
    ]


def test_datetime_options() -> None:
    assert get("datetime").validate_options({"min": "01/06/2024 08:00"}) == {
        "past_only": False,
        "min": "2024-06-01T08:00",
        "max": None,
    }
    assert "min" in options_error(
        "datetime", {"min": "2024-06-02T00:00", "max": "2024-06-01T00:00"}
    )
    assert "max" in options_error("datetime", {"max": "tomorrow"})


def test_dates_as_text_are_french() -> None:
    assert get("date").as_text("2018-04-12") == "12/04/2018"
    assert get("datetime").as_text("2024-03-01T14:30") == "01/03/2024 14:30"
