"""Text fields: one line, several lines, formatted text with rules or a regular expression."""

import time

import pytest
from field_helpers import clean, error_of, options_error

from app.fields import get
from app.fields.contrib.text import REGEX_TIMEOUT, TEXT_LIMIT


def test_text_is_stripped_and_kept_on_one_line() -> None:
    assert clean("text", "  Boulangerie du Parc  ") == "Boulangerie du Parc"
    assert clean("text", "ligne un\r\n  ligne deux") == "ligne un ligne deux"


def test_text_drops_control_characters_that_postgresql_refuses() -> None:
    assert clean("text", "a\x00b\x07c") == "abc"


def test_text_is_normalised_to_composed_unicode() -> None:
    assert clean("text", "He\u0301le\u0300ne") == "Hélène"


def test_blank_text_is_no_answer() -> None:
    assert clean("text", "   ") is None
    assert clean("text", None) is None


def test_text_must_be_text() -> None:
    assert error_of("text", 12) == ["Enter text."]
    assert error_of("text", {"a": 1}) == ["Enter text."]


def test_text_respects_its_maximum_length() -> None:
    assert clean("text", "abcde", max_length=5) == "abcde"
    assert error_of("text", "abcdef", max_length=5) == ["Enter at most 5 characters."]


def test_text_has_a_ceiling_whatever_the_options() -> None:
    assert error_of("text", "a" * (TEXT_LIMIT + 1)) == [f"Enter at most {TEXT_LIMIT} characters."]


def test_textarea_keeps_line_breaks() -> None:
    assert clean("textarea", " un\r\ndeux\rtrois ") == "un\ndeux\ntrois"


def test_textarea_accepts_longer_answers_than_text() -> None:
    assert clean("textarea", "a" * 5_000) == "a" * 5_000


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_length": 0}, "max_length"),
        ({"max_length": -3}, "max_length"),
        ({"max_length": "12"}, "max_length"),
        ({"max_length": TEXT_LIMIT + 1}, "max_length"),
        ({"maxlength": 12}, "maxlength"),
    ],
)
def test_text_options_are_checked(options: dict, field: str) -> None:
    assert field in options_error("text", options)


def test_text_options_are_returned_normalised() -> None:
    assert get("text").validate_options({}) == {"max_length": None}
    assert get("textarea").validate_options({"max_length": 10_000}) == {"max_length": 10_000}


# -- formatted -----------------------------------------------------------------------------


def test_formatted_simple_rules_letters_and_digits() -> None:
    assert clean("formatted", "AB12", letters=True, digits=True) == "AB12"
    assert clean("formatted", "Élodie", letters=True, digits=False) == "Élodie"
    assert error_of("formatted", "AB-12") == ["Use only letters and digits."]
    assert error_of("formatted", "AB12", digits=False) == ["Use only letters."]
    assert error_of("formatted", "AB12", letters=False) == ["Use only digits."]


def test_formatted_digits_are_ascii_digits() -> None:
    assert error_of("formatted", "١٢٣", letters=False) == ["Use only digits."]


def test_formatted_other_characters() -> None:
    assert clean("formatted", "AB-12 C", other_characters="- ") == "AB-12 C"
    assert error_of("formatted", "AB_12", other_characters="-") == [
        "Use only letters, digits and these characters: -"
    ]


def test_formatted_lengths() -> None:
    assert error_of("formatted", "AB", min_length=3) == ["Enter at least 3 characters."]
    assert error_of("formatted", "ABCD", max_length=3) == ["Enter at most 3 characters."]
    assert clean("formatted", "ABC", min_length=3, max_length=3) == "ABC"


def test_formatted_pattern_matches_the_whole_value() -> None:
    assert clean("formatted", "0A1B2C3D4E5", pattern="^[0-9A-Z]{11}$") == "0A1B2C3D4E5"
    assert clean("formatted", "69003", pattern="[0-9]{5}") == "69003"
    assert error_of("formatted", "69003X", pattern="[0-9]{5}") == [
        "The value does not have the expected format."
    ]


def test_formatted_pattern_with_the_administrators_message() -> None:
    assert error_of("formatted", "ab-123-cd", pattern="[A-Z]{2}-[0-9]{3}-[A-Z]{2}",
                    message="Immatriculation au format AB-123-CD") == [
        "Immatriculation au format AB-123-CD"
    ]  # fmt: skip


def test_a_hostile_pattern_times_out_quickly_as_a_validation_error() -> None:
    started = time.monotonic()
    messages = error_of("formatted", "a" * 40 + "!", pattern="(a|a)*$")
    elapsed = time.monotonic() - started
    assert messages == [
        "This value could not be checked in time. Check it, or contact the service in charge "
        "of the procedure."
    ]
    assert elapsed < REGEX_TIMEOUT * 10


def test_nested_quantifiers_do_not_hang_either() -> None:
    started = time.monotonic()
    error_of("formatted", "a" * 5_000 + "!", pattern="(a+)+$")
    assert time.monotonic() - started < REGEX_TIMEOUT * 10


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"pattern": "([a-z"}, "pattern"),
        ({"pattern": ""}, "pattern"),
        ({"pattern": "a" * 501}, "pattern"),
        ({"letters": False, "digits": False}, "letters"),
        ({"min_length": 5, "max_length": 3}, "min_length"),
        ({"min_length": 0}, "min_length"),
        ({"pattern": "[0-9]{5}", "example": "ABCDE"}, "example"),
        ({"letters": False, "example": "AB"}, "example"),
        ({"letters": "maybe"}, "letters"),
    ],
)
def test_formatted_options_are_checked(options: dict, field: str) -> None:
    assert field in options_error("formatted", options)


def test_an_invalid_pattern_says_why() -> None:
    message = options_error("formatted", {"pattern": "([a-z"})["pattern"][0]
    assert message.startswith("This regular expression is not valid: ")


def test_formatted_options_accept_a_consistent_example() -> None:
    options = get("formatted").validate_options({"pattern": "^[0-9]{5}$", "example": "69003"})
    assert options["pattern"] == "^[0-9]{5}$"
    assert options["letters"] is True


def test_text_types_change_only_into_compatible_ones() -> None:
    assert get("text").compatible_types == {"textarea"}
    assert get("textarea").compatible_types == set()
    assert get("formatted").compatible_types == {"text", "textarea"}
