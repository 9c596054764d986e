"""Civility, email, phone, SIRET and IBAN."""

import pytest
from field_helpers import clean, error_of
from flask_babel import force_locale

from app.fields import get
from app.fields.contrib.identity import iban_valid, luhn_valid, siret_valid


@pytest.mark.parametrize(
    ("value", "stored"), [("Mme", "Mme"), ("madame", "Mme"), ("M.", "M."), ("Monsieur", "M.")]
)
def test_civility(value, stored) -> None:
    assert clean("civility", value) == stored


def test_civility_refuses_anything_else(app) -> None:
    assert error_of("civility", "Dr") == ["Choose Madam or Sir."]
    with app.test_request_context(), force_locale("en"):
        assert get("civility").as_text("Mme") == "Madam"


def test_email_is_normalised_without_dns() -> None:
    assert clean("email", " Jean.Dupont@Exemple.FR ") == "Jean.Dupont@exemple.fr"
    assert clean("email", "marie@mairie.example") == "marie@mairie.example"


@pytest.mark.parametrize("value", ["jean@", "jean dupont@exemple.fr", "jean@localhost", "@x.fr"])
def test_email_refuses_invalid_addresses(value) -> None:
    assert error_of("email", value) == ["Enter a valid email address, for example nom@exemple.fr."]


def test_email_refuses_overlong_addresses() -> None:
    assert error_of("email", "a" * 250 + "@x.fr") == ["Enter a valid email address."]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 1 23 45 67 89", "+33123456789"),
        ("0696 12 34 56", "+596696123456"),
        ("0262 12 34 56", "+262262123456"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phone_numbers_are_stored_in_e164(value, stored) -> None:
    assert clean("phone", value) == stored


@pytest.mark.parametrize("value", ["12", "06 12 34", "+33 6 12", "bonjour", "+999 123456789"])
def test_phone_refuses_invalid_numbers(value) -> None:
    assert error_of("phone", value) == [
        "Enter a valid phone number, for example 06 12 34 56 78 or +44 20 7946 0958."
    ]


def test_phone_as_text() -> None:
    phone = get("phone")
    assert phone.as_text("+33612345678") == "06 12 34 56 78"
    assert phone.as_text("+596696123456") == "0696 12 34 56"
    assert phone.as_text("+442079460958") == "+44 20 7946 0958"


def test_luhn() -> None:
    assert luhn_valid("73282932000074")
    assert not luhn_valid("73282932000075")


def test_siret_passes_the_luhn_check() -> None:
    assert clean("siret", "732 829 320 00074") == "73282932000074"
    assert error_of("siret", "73282932000075") == [
        "This SIRET number is not valid: check its digits."
    ]


@pytest.mark.parametrize("value", ["7328293200007", "732829320000745", "7328293200007A"])
def test_siret_has_fourteen_digits(value) -> None:
    assert error_of("siret", value) == ["A SIRET number has 14 digits."]


def test_la_postes_establishments_follow_their_own_rule() -> None:
    head_office = "35600000000048"
    establishment = "35600000049837"
    assert luhn_valid(head_office)
    assert not luhn_valid(establishment)
    assert sum(map(int, establishment)) % 5 == 0
    assert clean("siret", head_office) == head_office
    assert clean("siret", establishment) == establishment
    assert error_of("siret", "35600000049838") == [
        "This SIRET number is not valid: check its digits."
    ]


def test_the_la_poste_rule_applies_to_la_poste_only() -> None:
    other = "73282932000072"
    assert sum(map(int, other)) % 5 == 0
    assert not luhn_valid(other)
    assert not siret_valid(other)


def test_siret_as_text() -> None:
    assert get("siret").as_text("73282932000074") == "732 829 320 00074"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("FR76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890189"),
        ("fr7630006000011234567890189", "FR7630006000011234567890189"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("GB82-WEST-1234-5698-7654-32", "GB82WEST12345698765432"),
        ("BR1800360305000010009795493C1", "BR1800360305000010009795493C1"),
    ],
)
def test_iban_is_stored_upper_case_without_spaces(value, stored) -> None:
    assert clean("iban", value) == stored


@pytest.mark.parametrize(
    "value",
    [
        "FR7630006000011234567890188",  # wrong check digits
        "FR763000600001123456789018",  # one character short for France
        "DE89370400440532013001",
        "XX00",
        "12 3456",
    ],
)
def test_iban_refuses_invalid_numbers(value) -> None:
    assert error_of("iban", value) == [
        "This IBAN is not valid: check it against your bank details."
    ]


def test_iban_mod_97() -> None:
    assert iban_valid("FR7630006000011234567890189")
    assert not iban_valid("FR7730006000011234567890189")


def test_iban_as_text() -> None:
    assert get("iban").as_text("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"


def test_identifiers_may_become_free_text() -> None:
    for name in ("email", "phone", "siret", "iban"):
        assert get(name).compatible_types == {"text", "textarea"}
