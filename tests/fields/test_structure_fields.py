"""Section titles, explanations and repeated blocks."""

import pytest
from field_helpers import options_error

from app.fields import CleanContext, FieldSpec, get

BLOCK = FieldSpec(
    stable_id="enfants",
    type="repetition",
    label="Enfants",
    options={"min_rows": 1, "max_rows": 3},
    children=(
        FieldSpec(stable_id="prenom", type="text", label="Prénom", required=True, parent="enfants"),
        FieldSpec(stable_id="naissance", type="date", label="Naissance", parent="enfants"),
        FieldSpec(stable_id="note", type="explication", label="Note", parent="enfants"),
    ),
)


def clean_block(value, context=None):
    return get("repetition").clean(value, BLOCK, context)


def block_errors(value, context=None):
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as raised:
        clean_block(value, context)
    return raised.value.messages


def test_layout_types_hold_no_answer() -> None:
    for name in ("header_section", "explication"):
        layout = get(name)
        assert layout.has_value is False
        assert layout.clean("anything", FieldSpec(stable_id="x", type=name)) is None
        assert layout.as_text("anything") == ""
        assert layout.condition_operators == ()


def test_section_levels() -> None:
    assert get("header_section").validate_options({}) == {"level": 1}
    assert get("header_section").validate_options({"level": 3}) == {"level": 3}
    for level in (0, 4, "2", 1.5):
        assert "level" in options_error("header_section", {"level": level})


def test_explanation_detail() -> None:
    assert get("explication").validate_options({"detail": "Plus d'informations"}) == {
        "detail": "Plus d'informations"
    }
    assert "detail" in options_error("explication", {"detail": "x" * 10_001})


def test_titles_and_explanations_may_swap() -> None:
    assert get("header_section").compatible_types == {"explication"}
    assert get("explication").compatible_types == {"header_section"}


def test_a_block_is_a_list_of_cleaned_rows() -> None:
    rows = [
        {"prenom": " Léa ", "naissance": "12/04/2018", "note": "ignored", "intrus": 1},
        {"prenom": "Noah"},
    ]
    assert clean_block(rows) == [
        {"prenom": "Léa", "naissance": "2018-04-12"},
        {"prenom": "Noah"},
    ]


def test_blank_rows_are_dropped() -> None:
    assert clean_block([{"prenom": "Léa"}, {"prenom": " ", "naissance": ""}, None]) == [
        {"prenom": "Léa"}
    ]
    assert clean_block([{}]) is None


def test_row_errors_are_keyed_by_row_and_child() -> None:
    assert block_errors([{"prenom": "Léa", "naissance": "hier"}, {"naissance": "2018-01-01"}]) == {
        0: {"naissance": ["Enter a valid date, for example 25/12/2024."]},
        1: {"prenom": ["This field is required."]},
    }


def test_a_row_that_is_not_an_object() -> None:
    assert block_errors(["Léa"]) == {0: ["This entry is not valid."]}
    assert block_errors("Léa") == ["The entries of this block are not valid."]


def test_row_counts() -> None:
    assert block_errors([{"prenom": name} for name in "ABCD"]) == ["Add at most 3 entries."]
    min_two = FieldSpec(**{**BLOCK.__dict__, "options": {"min_rows": 2}})
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as raised:
        get("repetition").clean([{"prenom": "Léa"}], min_two)
    assert raised.value.messages == ["Add at least 2 entries."]


def test_a_draft_may_hold_incomplete_rows() -> None:
    draft = CleanContext(partial=True)
    assert clean_block([{"naissance": "2018-01-01"}], draft) == [{"naissance": "2018-01-01"}]


def test_hidden_children_are_neither_validated_nor_kept() -> None:
    context = CleanContext(visible={"enfants", "prenom"})
    assert clean_block([{"prenom": "Léa", "naissance": "pas une date"}], context) == [
        {"prenom": "Léa"}
    ]


def test_a_block_inside_a_block_is_refused_at_run_time_too() -> None:
    nested = FieldSpec(
        stable_id="a",
        type="repetition",
        children=(FieldSpec(stable_id="b", type="repetition", parent="a"),),
    )
    with pytest.raises(ValueError, match="holds another repetition"):
        get("repetition").clean([{"b": [{"c": "x"}]}], nested)


def test_repetition_options() -> None:
    assert get("repetition").validate_options({}) == {"min_rows": 0, "max_rows": None}
    assert "min_rows" in options_error("repetition", {"min_rows": 4, "max_rows": 2})
    assert "max_rows" in options_error("repetition", {"max_rows": 101})
    assert "max_rows" in options_error("repetition", {"max_rows": 0})


def test_block_as_text() -> None:
    rows = [{"prenom": "Léa", "naissance": "2018-04-12"}, {"prenom": "Noah"}]
    assert get("repetition").as_text(rows, BLOCK) == (
        "1. Prénom : Léa ; Naissance : 12/04/2018\n2. Prénom : Noah"
    )


def test_block_as_text_follows_the_form_order_whatever_the_stored_key_order() -> None:
    # PostgreSQL's jsonb gives keys back sorted (shortest first): the text must not change
    stored = [{"naissance": "2018-04-12", "prenom": "Léa", "ancien": "x"}]
    assert get("repetition").as_text(stored, BLOCK) == (
        "1. Prénom : Léa ; Naissance : 12/04/2018 ; ancien : x"
    )
