"""Whole and decimal numbers, stored as JSON numbers, with optional bounds."""

import pytest
from field_helpers import clean, error_of, options_error
from flask_babel import force_locale

from app.fields import get
from app.fields.contrib.numbers import SAFE_INTEGER


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (42, 42),
        ("42", 42),
        (" -7 ", -7),
        ("1 000", 1000),
        ("1\u202f000", 1000),
        (3.0, 3),
        ("+5", 5),
    ],
)
def test_integer_accepts_numbers_and_typed_text(value, stored) -> None:
    assert clean("integer", value) == stored
    assert type(clean("integer", value)) is int


@pytest.mark.parametrize("value", ["abc", "1,5", 2.5, True, [1], "1e3", float("nan")])
def test_integer_refuses_what_is_not_a_whole_number(value) -> None:
    assert error_of("integer", value) == ["Enter a whole number."]


def test_integer_bounds() -> None:
    assert clean("integer", 1, min=1, max=10) == 1
    assert error_of("integer", 0, min=1) == ["Enter a number greater than or equal to 1."]
    assert error_of("integer", 11, max=10) == ["Enter a number less than or equal to 10."]


def test_integer_stays_within_what_the_browser_holds_exactly() -> None:
    assert clean("integer", SAFE_INTEGER) == SAFE_INTEGER
    assert error_of("integer", SAFE_INTEGER + 1) == ["This number is too large."]


@pytest.mark.parametrize(
    ("value", "stored"),
    [("1 234,56", 1234.56), ("0,1", 0.1), (12, 12), ("12,00", 12), (1500.5, 1500.5), ("-0", 0)],
)
def test_decimal_accepts_french_writing_and_stores_a_number(value, stored) -> None:
    assert clean("decimal", value) == stored


def test_a_whole_decimal_is_stored_as_an_int() -> None:
    assert type(clean("decimal", "12,00")) is int


@pytest.mark.parametrize("value", ["douze", "1.234,5", "1,2,3", True, "1e5", {"a": 1}])
def test_decimal_refuses_what_is_not_a_number(value) -> None:
    assert error_of("decimal", value) == ["Enter a number."]


def test_decimal_places_option() -> None:
    assert clean("decimal", "12,34", decimals=2) == 12.34
    assert error_of("decimal", "12,345", decimals=2) == [
        "Enter at most 2 digits after the decimal point."
    ]
    assert error_of("decimal", "12,5", decimals=0) == ["Enter a whole number."]


def test_decimal_keeps_at_most_fifteen_significant_digits() -> None:
    assert clean("decimal", "123456789012,345") == 123456789012.345
    assert error_of("decimal", "1234567890123,456") == ["This number has too many digits."]
    assert error_of("decimal", 1e20) == ["This number has too many digits."]


def test_decimal_bounds() -> None:
    assert clean("decimal", "0", min=0) == 0
    assert error_of("decimal", "-0,01", min=0) == ["Enter a number greater than or equal to 0."]
    assert error_of("decimal", "10,5", max=10.25) == [
        "Enter a number less than or equal to 10,25."  # written the platform's (French) way
    ]


def test_number_options_are_checked() -> None:
    assert "min" in options_error("integer", {"min": 5, "max": 1})
    assert "min" in options_error("integer", {"min": 1.5})
    assert "max" in options_error("integer", {"max": "10"})
    assert "min" in options_error("decimal", {"min": 2.5, "max": 1})
    assert "decimals" in options_error("decimal", {"decimals": 11})
    assert "unit" in options_error("decimal", {"unit": "€"})
    assert get("decimal").validate_options({"min": 0, "decimals": 2}) == {
        "min": 0.0,
        "max": None,
        "decimals": 2,
    }


def test_numbers_as_text_are_written_for_the_reader(app) -> None:
    with app.test_request_context():
        with force_locale("fr"):
            assert get("integer").as_text(1234567) == "1\u202f234\u202f567"
            assert get("decimal").as_text(1234.5) == "1\u202f234,5"
        with force_locale("en"):
            assert get("decimal").as_text(1234.125) == "1,234.125"
    assert get("decimal").as_text(None) == ""


def test_an_integer_field_may_become_a_decimal_one() -> None:
    assert get("integer").compatible_types == {"decimal"}
    assert get("decimal").convert_answer(12, "integer") == 12
    assert get("decimal").compatible_types == set()
