"""A whole form's answers: hidden fields, required fields, unknown keys, blocks, drafts."""

from datetime import date

from app.fields import CleanContext, validate_answers

FORM = [
    {"stable_id": "nom", "type": "text", "label": "Nom", "required": True},
    {"stable_id": "titre", "type": "header_section", "label": "Situation"},
    {"stable_id": "allergie", "type": "yes_no", "label": "Allergie", "required": True},
    {
        "stable_id": "detail",
        "type": "textarea",
        "label": "Précisez",
        "required": True,
        "condition": {"field": "allergie", "op": "eq", "value": True},
    },
    {"stable_id": "cgu", "type": "checkbox", "label": "J'atteste", "required": True},
    {"stable_id": "newsletter", "type": "checkbox", "label": "Lettre d'information"},
    {"stable_id": "enfants", "type": "repetition", "label": "Enfants", "required": True},
    {"stable_id": "prenom", "type": "text", "label": "Prénom", "parent": "enfants",
     "required": True},
    {"stable_id": "naissance", "type": "date", "label": "Naissance", "parent": "enfants",
     "options": {"past_only": True}},
    {"stable_id": "adresse", "type": "address", "label": "Adresse"},
    {"stable_id": "note", "type": "text", "label": "Note interne", "private": True},
]  # fmt: skip

GOOD = {
    "nom": " Dupont ",
    "allergie": "non",
    "cgu": "on",
    "enfants": [{"prenom": "Léa", "naissance": "12/04/2018"}],
}


def test_a_complete_form_is_cleaned() -> None:
    cleaned, errors = validate_answers(FORM, GOOD)
    assert errors == {}
    assert cleaned == {
        "nom": "Dupont",
        "allergie": False,
        "cgu": True,
        "newsletter": False,
        "enfants": [{"prenom": "Léa", "naissance": "2018-04-12"}],
    }


def test_unknown_keys_layout_values_and_private_annotations_are_dropped() -> None:
    answers = {**GOOD, "intrus": "x", "titre": "y", "note": "z", "prenom": "hors du bloc"}
    cleaned, errors = validate_answers(FORM, answers)
    assert errors == {}
    assert not {"intrus", "titre", "note", "prenom"} & set(cleaned)


def test_required_fields_must_be_answered() -> None:
    cleaned, errors = validate_answers(FORM, {"allergie": "oui"})
    assert errors == {
        "nom": ["This field is required."],
        "detail": ["This field is required."],
        "cgu": ["You must tick this box."],
        "enfants": ["This field is required."],
    }
    assert cleaned == {"allergie": True, "newsletter": False}


def test_hidden_fields_are_neither_validated_nor_kept() -> None:
    cleaned, errors = validate_answers(FORM, {**GOOD, "detail": "x" * 30_000})
    assert errors == {}
    assert "detail" not in cleaned


def test_the_caller_may_give_the_visible_fields() -> None:
    visible = {"nom", "cgu"}
    cleaned, errors = validate_answers(
        FORM, {"nom": "A", "cgu": True, "allergie": "?"}, visible=visible
    )
    assert (cleaned, errors) == ({"nom": "A", "cgu": True}, {})


def test_block_errors_are_keyed_by_row_and_child() -> None:
    answers = {**GOOD, "enfants": [{"prenom": "Léa"}, {"naissance": "2999-01-01"}]}
    cleaned, errors = validate_answers(FORM, answers, context=CleanContext(today=date(2024, 6, 1)))
    assert errors == {
        "enfants[1].prenom": ["This field is required."],
        "enfants[1].naissance": ["Enter a date that is not in the future."],
    }
    assert "enfants" not in cleaned


def test_address_errors_are_keyed_by_part() -> None:
    _cleaned, errors = validate_answers(
        FORM, {**GOOD, "adresse": {"street": "1 rue", "postcode": "6900"}}
    )
    assert errors == {
        "adresse.postcode": ["A French postcode has 5 digits."],
        "adresse.city": ["Enter the city."],
    }


def test_a_draft_is_saved_without_required_answers_but_with_checked_values() -> None:
    cleaned, errors = validate_answers(FORM, {"nom": "", "allergie": "peut-être"}, partial=True)
    assert errors == {"allergie": ["Answer yes or no."]}
    assert cleaned == {"cgu": False, "newsletter": False}


def test_private_annotations_are_validated_on_their_own() -> None:
    cleaned, errors = validate_answers(FORM, {"note": " à rappeler ", "nom": "x"}, private=True)
    assert (cleaned, errors) == ({"note": "à rappeler"}, {})


def test_answers_that_are_not_an_object_count_as_none() -> None:
    cleaned, errors = validate_answers(FORM, ["nom"])  # type: ignore[arg-type]
    assert "nom" in errors
    assert cleaned == {"newsletter": False}


def test_the_demo_procedures_answers_are_valid() -> None:
    import random

    from app.services.demo import PROCEDURES

    for procedure in PROCEDURES:
        answers = procedure["answers"](random.Random(7))
        fields = [
            {**field, "required": field.get("required", False) and field["type"] != "attachment"}
            for field in procedure["fields"]
        ]
        cleaned, errors = validate_answers(fields, answers)
        assert errors == {}, procedure["slug"]
        assert cleaned and set(cleaned) <= set(answers)
