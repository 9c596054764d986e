"""The form editor's checks: identifiers, types, options, blocks, conditions, type changes."""

import pytest

from app.fields import check_type_change, get, validate_definitions


def fields(*extra: dict) -> list[dict]:
    return [
        {"stable_id": "nom", "type": "text", "label": "Nom"},
        {"stable_id": "enfants", "type": "repetition", "label": "Enfants"},
        {"stable_id": "prenom", "type": "text", "label": "Prénom", "parent": "enfants"},
        *extra,
    ]


def test_a_sound_form_has_no_problem() -> None:
    assert validate_definitions(fields()) == {}


def test_the_demo_forms_are_sound() -> None:
    from app.services.demo import PROCEDURES

    for procedure in PROCEDURES:
        assert validate_definitions(procedure["fields"]) == {}, procedure["slug"]


def test_nested_children_are_understood() -> None:
    form = [
        {"stable_id": "enfants", "type": "repetition", "label": "Enfants",
         "children": [{"stable_id": "prenom", "type": "text", "label": "Prénom"}]},
    ]  # fmt: skip
    assert validate_definitions(form) == {}


@pytest.mark.parametrize("stable_id", ["a.b", "a[0]", "", "x" * 41, None, "é"])
def test_identifiers_cannot_be_confused_with_error_paths(stable_id) -> None:
    problems = validate_definitions([{"stable_id": stable_id, "type": "text", "label": "X"}])
    assert list(problems.values()) == [
        ["The identifier may only hold letters, digits, “-” and “_” (40 at most)."]
    ]


def test_identifiers_are_unique() -> None:
    problems = validate_definitions(fields({"stable_id": "nom", "type": "integer", "label": "N"}))
    assert problems == {"nom": ["This identifier is already used by another field."]}


def test_unknown_types_and_missing_labels() -> None:
    problems = validate_definitions(
        fields(
            {"stable_id": "x", "type": "hologram", "label": "X"},
            {"stable_id": "y", "type": "text", "label": " "},
        )
    )
    assert problems == {
        "x": ["Unknown field type “hologram”."],
        "y": ["Give the field a label."],
    }


def test_options_are_checked_with_their_names() -> None:
    problems = validate_definitions(
        fields({"stable_id": "n", "type": "integer", "label": "N", "options": {"min": 3, "max": 1}})
    )
    assert problems == {"n": ["Option “Minimum”: The minimum cannot be greater than the maximum."]}


def test_a_block_cannot_be_nested() -> None:
    problems = validate_definitions(
        fields({"stable_id": "sous_bloc", "type": "repetition", "label": "Sous-bloc",
                "parent": "enfants"},
               {"stable_id": "x", "type": "text", "label": "X", "parent": "sous_bloc"})
    )  # fmt: skip
    assert problems == {
        "sous_bloc": ["A repeated block cannot be placed inside another one."],
        "x": ["This field is placed in a field that is not a repeated block."],
    }


def test_conditions_are_checked_even_when_blocks_are_misplaced() -> None:
    problems = validate_definitions(
        fields({"stable_id": "x", "type": "text", "label": "X", "parent": "nom"},
               {"stable_id": "y", "type": "text", "label": "Y",
                "condition": {"field": "x", "op": "empty"}})
    )  # fmt: skip
    assert problems == {
        "x": ["This field is placed in a field that is not a repeated block."],
        "y": ["The condition uses a field that does not exist: x."],
    }


def test_a_section_title_cannot_sit_in_a_block() -> None:
    problems = validate_definitions(
        fields({"stable_id": "t", "type": "header_section", "label": "T", "parent": "enfants"})
    )
    assert problems == {"t": ["A “Section title” cannot be placed inside a repeated block."]}


def test_a_block_needs_a_field() -> None:
    problems = validate_definitions([{"stable_id": "vide", "type": "repetition", "label": "Vide"}])
    assert problems == {"vide": ["Add at least one field to this block."]}


def test_conditions_are_checked_in_place() -> None:
    problems = validate_definitions(
        fields(
            {"stable_id": "a", "type": "text", "label": "A",
             "condition": {"field": "b", "op": "eq", "value": "x"}},
            {"stable_id": "b", "type": "text", "label": "B"},
            {"stable_id": "c", "type": "text", "label": "C",
             "condition": {"field": "nom", "op": "contains", "value": "x"}},
        )
    )  # fmt: skip
    assert problems == {
        "a": ["“B” comes after this field: a condition can only use fields placed before it."]
    }


def test_allowed_type_changes() -> None:
    assert check_type_change("text", "text") is None
    assert check_type_change("text", "textarea") is None
    assert check_type_change("integer", "decimal") is None
    assert check_type_change("drop_down", "multiple_drop_down") is None
    assert check_type_change("checkbox", "yes_no") is None


def test_refused_type_changes_say_why() -> None:
    assert check_type_change("decimal", "integer") == (
        "A field “Decimal number” cannot change type: the answers already given would lose "
        "their meaning. Add a new field instead."
    )
    assert check_type_change("text", "integer") == (
        "A field “Short text” cannot become “Whole number”: the answers already given would "
        "lose their meaning. It can only become: Long text. Otherwise, add a new field."
    )
    assert check_type_change("text", "hologram") == "Unknown field type “hologram”."


def test_every_allowed_change_keeps_answers_valid() -> None:
    samples = {
        "text": "Bonjour", "formatted": "AB12", "email": "a@exemple.fr", "phone": "+33612345678",
        "siret": "73282932000074", "iban": "FR7630006000011234567890189", "integer": 12,
        "checkbox": True, "drop_down": "A", "header_section": None, "explication": None,
    }  # fmt: skip
    options = {"drop_down": {"choices": ["A", "B"]}, "multiple_drop_down": {"choices": ["A", "B"]}}
    for old, value in samples.items():
        for new in get(old).compatible_types:
            converted = get(new).convert_answer(value, old)
            spec = {"stable_id": "x", "type": new, "options": options.get(new, {})}
            if get(new).has_value:
                assert get(new).clean(converted, spec) is not None, (old, new)
