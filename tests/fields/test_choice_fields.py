"""Checkboxes, yes/no, drop-down lists (single, multiple, linked)."""

import pytest
from field_helpers import clean, error_of, options_error
from flask_babel import force_locale

from app.fields import get

CHOICES = {"choices": ["Commerce", "Restaurant", "Autre"]}
LINKED = {
    "choices": [
        {"primary": "Rhône", "secondary": ["Lyon", "Villeurbanne"]},
        {"primary": "Ain", "secondary": []},
    ]
}


@pytest.mark.parametrize(
    ("value", "stored"),
    [(True, True), ("on", True), ("true", True), (False, False), (None, False), ("", False),
     ("off", False)],
)  # fmt: skip
def test_a_checkbox_always_has_an_answer(value, stored) -> None:
    assert clean("checkbox", value) is stored


def test_a_checkbox_refuses_other_values() -> None:
    assert error_of("checkbox", "peut-être") == ["Tick the box or leave it empty."]


def test_a_required_checkbox_must_be_ticked() -> None:
    checkbox = get("checkbox")
    assert checkbox.is_missing(False) is True
    assert checkbox.is_missing(True) is False
    assert checkbox.required_message() == "You must tick this box."


@pytest.mark.parametrize(
    ("value", "stored"),
    [(True, True), (False, False), ("oui", True), ("NON", False), ("yes", True)],
)
def test_yes_no(value, stored) -> None:
    assert clean("yes_no", value) is stored


def test_yes_no_unanswered_is_not_no() -> None:
    assert clean("yes_no", None) is None
    assert get("yes_no").is_missing(None) is True
    assert get("yes_no").is_missing(False) is False
    assert error_of("yes_no", "bof") == ["Answer yes or no."]


def test_a_checkbox_may_become_a_yes_no_question() -> None:
    assert "yes_no" in get("checkbox").compatible_types
    assert get("yes_no").convert_answer(True, "checkbox") is True
    assert get("yes_no").convert_answer(False, "checkbox") is False


def test_booleans_as_text(app) -> None:
    with app.test_request_context(), force_locale("en"):
        assert get("yes_no").as_text(True) == "Yes"
        assert get("checkbox").as_text(False) == "No"
    assert get("yes_no").as_text(None) == ""


def test_drop_down_accepts_one_of_its_choices() -> None:
    assert clean("drop_down", " Restaurant ", **CHOICES) == "Restaurant"
    assert error_of("drop_down", "Boulangerie", **CHOICES) == ["Choose one of the options."]
    assert error_of("drop_down", ["Restaurant"], **CHOICES) == ["Choose one of the options."]


def test_drop_down_with_other_keeps_the_applicants_text() -> None:
    assert clean("drop_down", "Boulangerie", allow_other=True, **CHOICES) == "Boulangerie"
    assert error_of("drop_down", "x" * 256, allow_other=True, **CHOICES) == [
        "Enter at most 255 characters."
    ]
    assert error_of("drop_down", "__other__", allow_other=True, **CHOICES) == [
        "Choose one of the options."
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({}, "choices"),
        ({"choices": []}, "choices"),
        ({"choices": ["A", "A"]}, "choices"),
        ({"choices": ["A", " A "]}, "choices"),
        ({"choices": ["A", ""]}, "choices"),
        ({"choices": "A, B"}, "choices"),
        ({"choices": ["A"], "allow_other": "yes please"}, "allow_other"),
    ],
)
def test_drop_down_options_are_checked(options, field) -> None:
    assert field in options_error("drop_down", options)


def test_drop_down_options_are_stripped() -> None:
    assert get("drop_down").validate_options({"choices": [" A", "B "]}) == {
        "choices": ["A", "B"],
        "allow_other": False,
    }


def test_multiple_drop_down_keeps_the_administrators_order() -> None:
    assert clean("multiple_drop_down", ["Autre", "Commerce", "Autre"], **CHOICES) == [
        "Commerce",
        "Autre",
    ]
    assert clean("multiple_drop_down", "Restaurant", **CHOICES) == ["Restaurant"]
    assert clean("multiple_drop_down", [], **CHOICES) is None


def test_multiple_drop_down_refuses_unknown_choices() -> None:
    assert error_of("multiple_drop_down", ["Commerce", "Zoo"], **CHOICES) == [
        "These are not among the options: Zoo"
    ]
    assert error_of("multiple_drop_down", [1, 2], **CHOICES) == ["Choose among the options."]


def test_a_drop_down_may_become_a_multiple_one() -> None:
    assert get("drop_down").compatible_types == {"multiple_drop_down"}
    assert get("multiple_drop_down").convert_answer("Commerce", "drop_down") == ["Commerce"]
    assert get("multiple_drop_down").as_text(["Commerce", "Autre"]) == "Commerce, Autre"


def test_linked_drop_down() -> None:
    assert clean("linked_drop_down", {"primary": "Rhône", "secondary": "Lyon"}, **LINKED) == {
        "primary": "Rhône",
        "secondary": "Lyon",
    }
    assert clean("linked_drop_down", {"primary": "Ain", "secondary": ""}, **LINKED) == {
        "primary": "Ain",
        "secondary": None,
    }
    assert clean("linked_drop_down", {"primary": " ", "secondary": None}, **LINKED) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"primary": "Rhône", "secondary": "Bourg-en-Bresse"},
         "Choose the second option among those of the first."),
        ({"primary": "Rhône"}, "Choose the second option."),
        ({"primary": "Ain", "secondary": "Lyon"}, "This option has no second choice."),
        ({"primary": "Isère", "secondary": "Grenoble"}, "Choose one of the options."),
        ({"secondary": "Lyon"}, "Choose the first option."),
        ("Rhône", "Choose one of the options."),
    ],
)  # fmt: skip
def test_linked_drop_down_refuses_inconsistent_pairs(value, message) -> None:
    assert error_of("linked_drop_down", value, **LINKED) == [message]


def test_linked_options_are_checked() -> None:
    assert "choices" in options_error("linked_drop_down", {"choices": []})
    assert "choices" in options_error(
        "linked_drop_down", {"choices": [{"primary": "A"}, {"primary": " A"}]}
    )
    assert "choices" in options_error(
        "linked_drop_down", {"choices": [{"primary": "A", "secondary": ["x", "x"]}]}
    )
    assert get("linked_drop_down").validate_options({"choices": [{"primary": "A"}]}) == {
        "choices": [{"primary": "A", "secondary": []}]
    }


def test_linked_as_text() -> None:
    linked = get("linked_drop_down")
    assert linked.as_text({"primary": "Rhône", "secondary": "Lyon"}) == "Rhône / Lyon"
    assert linked.as_text({"primary": "Ain", "secondary": None}) == "Ain"
