"""Properties of the field types: whatever an applicant (or a script) sends, cleaning
either stores a value or raises marshmallow's ValidationError, never anything else; a
stored value cleans to itself; the SIRET and IBAN checks accept exactly the numbers whose
key is right."""

from __future__ import annotations

import string
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from app import create_app
from app.fields import CleanContext, FieldSpec, all_types
from app.fields.contrib.identity import IBAN_LENGTHS, iban_valid, luhn_valid, siret_valid
from conftest import _overrides

PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

OPTIONS: dict[str, dict[str, Any]] = {
    "drop_down": {"choices": ["Jean Macé", "Gerland"], "allow_other": True},
    "multiple_drop_down": {"choices": ["FR", "EN", "DE"]},
    "linked_drop_down": {
        "choices": [
            {"primary": "Voiture", "secondary": ["Essence", "Électrique"]},
            {"primary": "Vélo", "secondary": []},
        ]
    },
    "formatted": {"pattern": "[0-9]{3}", "example": "123"},
    "integer": {"min": -5, "max": 1000},
}

CONTEXT = CleanContext(
    dossier_exists=lambda number: number == 42,
    check_attachments=lambda ids, spec: None,
)

TYPES = [t for t in all_types() if t.condition_kind is not None or t.name in ("iban", "phone")]
"""Every type that holds an answer (layout types hold none)."""

SAMPLES = [
    "", " ", "0", "42", "-3", "1 234,5", "2020-02-29", "29/02/2020", "2024-03-01T14:30",
    "01/03/2024 14h30", "Mme", "madame", "M.", "Jean Macé", "Gerland", "FR", "69", "2A",
    "69123", "84", "73282932000074", "732 829 320 00074", "FR7630006000011234567890189",
    "06 12 34 56 78", "+44 20 7946 0958", "jean@exemple.fr", "oui", "true", "on", "123",
    "Voiture", "Essence", "__other__",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(SAMPLES),
)
answers = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                ["primary", "secondary", "street", "postcode", "city", "insee_code", "country",
                 "label", "x"]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=8,
)  # fmt: skip


def spec(type_name: str) -> FieldSpec:
    return FieldSpec(
        stable_id="champ", type=type_name, label="Champ", options=OPTIONS.get(type_name, {})
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Flask:
    """An app for its translations only: the field types never touch the database."""
    return create_app(_overrides("sqlite://", tmp_path_factory.mktemp("fields")))


@pytest.mark.parametrize("field_type", TYPES, ids=lambda t: t.name)
def test_cleaning_stores_a_value_or_raises_a_validation_error_only(app, field_type) -> None:
    definition = spec(field_type.name)

    @PROPERTIES
    @given(value=answers)
    def check(value: Any) -> None:
        try:
            stored = field_type.clean(value, definition, CONTEXT)
        except ValidationError as error:
            assert error.messages, "a validation error says what is wrong"
            return
        # A stored value is stable: cleaning it again gives it back unchanged.
        assert field_type.clean(stored, definition, CONTEXT) == stored

    with app.test_request_context():
        check()


def _luhn_completed(head: str) -> str:
    return next(head + key for key in string.digits if luhn_valid(head + key))


@PROPERTIES
@given(head=st.text(string.digits, min_size=13, max_size=13), position=st.integers(0, 13),
       shift=st.integers(1, 9))  # fmt: skip
def test_a_siret_with_a_right_key_passes_and_a_single_wrong_digit_fails(
    head: str, position: int, shift: int
) -> None:
    siret = _luhn_completed(head)
    assert siret_valid(siret)
    digit = (int(siret[position]) + shift) % 10
    changed = siret[:position] + str(digit) + siret[position + 1 :]
    if not changed.startswith("356000000"):  # La Poste's own rule, tested elsewhere
        assert not siret_valid(changed)


@PROPERTIES
@given(text=st.text(max_size=20))
def test_the_siret_check_never_raises_and_wants_fourteen_ascii_digits(text: str) -> None:
    if siret_valid(text):
        assert len(text) == 14 and text.isascii() and text.isdigit()


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


ibans = st.sampled_from(sorted(IBAN_LENGTHS)).flatmap(
    lambda country: st.text(
        string.digits + string.ascii_uppercase,
        min_size=IBAN_LENGTHS[country] - 4,
        max_size=IBAN_LENGTHS[country] - 4,
    ).map(lambda bban: _iban(country, bban))
)


@PROPERTIES
@given(iban=ibans, data=st.data())
def test_an_iban_with_right_check_digits_passes_and_a_single_changed_character_fails(
    iban: str, data
) -> None:
    assert iban_valid(iban)
    position = data.draw(st.integers(2, len(iban) - 1))
    alphabet = string.digits if position < 4 else string.digits + string.ascii_uppercase
    new = data.draw(st.sampled_from([c for c in alphabet if c != iban[position]]))
    changed = iban[:position] + new + iban[position + 1 :]
    # mod 97 catches every single substitution of a digit; a letter stands for two digits,
    # so only digit-for-digit changes are certain to be caught.
    if new.isdigit() and iban[position].isdigit():
        assert not iban_valid(changed)


@PROPERTIES
@given(iban=ibans)
def test_the_iban_field_stores_valid_ibans_whatever_their_spacing_and_case(app, iban: str) -> None:
    from app.fields import get

    typed = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)).lower()
    with app.test_request_context():
        assert get("iban").clean(typed, spec("iban"), CONTEXT) == iban
