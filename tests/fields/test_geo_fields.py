"""Places: countries, French regions, departments, communes and postal addresses."""

import pytest
from field_helpers import clean, error_of
from flask_babel import force_locale

from app.fields import get
from app.fields.contrib.geo import countries, country_name

LYON = {
    "street": "12 rue de la République",
    "postcode": "69002",
    "city": "Lyon",
    "insee_code": "69123",
    "country": "FR",
}


def test_country_is_an_iso_code() -> None:
    assert clean("country", " de ") == "DE"
    for value in ("FRA", "XX", "France", 33):
        assert error_of("country", value) == ["Choose a country from the list."]


def test_country_names_in_the_readers_language(app) -> None:
    assert country_name("DE", "fr") == "Allemagne"
    assert country_name("GB", "fr") == "Royaume-Uni"
    assert country_name("ZZ") is None
    with app.test_request_context():
        with force_locale("fr"):
            assert get("country").as_text("BE") == "Belgique"
        with force_locale("en"):
            assert get("country").as_text("BE") == "Belgium"


def test_the_country_list_is_sorted_by_name_in_french() -> None:
    names = [name for _code, name in countries("fr")]
    assert len(names) >= 249
    assert names[0] == "Afghanistan"
    assert ("FR", "France") in countries("fr")
    assert names.index("Égypte") < names.index("Espagne")


def test_region_codes() -> None:
    assert clean("region", "84") == "84"
    assert clean("region", "975") == "975"
    assert error_of("region", "99") == ["Choose a region from the list."]
    assert get("region").as_text("84") == "Auvergne-Rhône-Alpes"


def test_department_codes() -> None:
    assert clean("department", "69") == "69"
    assert clean("department", "2a") == "2A"
    assert clean("department", "971") == "971"
    for value in ("20", "100", 69, "Rhône"):
        assert error_of("department", value) == ["Choose a department from the list."]
    assert get("department").as_text("69") == "69 – Rhône"


def test_commune_codes() -> None:
    assert clean("commune", "69123") == "69123"
    assert clean("commune", "75111") == "75111"  # a municipal arrondissement
    assert clean("commune", "2a004") == "2A004"
    for value in ("99999", "6912", 69123):
        assert error_of("commune", value) == ["Choose a commune from the list."]
    assert get("commune").as_text("69123") == "Lyon (69)"
    assert get("commune").as_text("2A004") == "Ajaccio (2A)"


def test_place_types_offer_geographic_conditions() -> None:
    assert set(get("address").condition_operators) == {
        "in_department", "not_in_department", "in_region", "not_in_region", "empty", "not_empty",
    }  # fmt: skip
    assert "in_department" in get("commune").condition_operators
    assert "in_department" in get("department").condition_operators
    assert "in_department" not in get("region").condition_operators
    assert "in_region" in get("region").condition_operators


# -- addresses ------------------------------------------------------------------------------


def test_a_complete_french_address() -> None:
    assert clean("address", {**LYON, "street": "  12   rue de la République "}) == LYON


def test_the_insee_code_is_found_from_postcode_and_city() -> None:
    found = clean("address", {**LYON, "insee_code": None, "country": None})
    assert found["insee_code"] == "69123"
    assert found["country"] == "FR"


def test_the_insee_code_is_found_from_a_postcode_with_one_commune() -> None:
    assert (
        clean("address", {"street": "1 place", "postcode": "01851", "city": "Marbos"})["insee_code"]
        == "01232"
    )


def test_the_city_name_is_compared_loosely() -> None:
    address = {"street": "1 rue", "postcode": "73700", "city": "BOURG ST MAURICE"}
    assert clean("address", address)["insee_code"] == "73054"


def test_an_ambiguous_postcode_leaves_the_insee_code_empty() -> None:
    address = {"street": "1 rue", "postcode": "01400", "city": "Ailleurs"}
    assert clean("address", address)["insee_code"] is None


def test_a_cedex_postcode_is_accepted_without_insee_code() -> None:
    address = {"street": "BP 123", "postcode": "69401", "city": "Lyon Cedex 03"}
    assert clean("address", address)["insee_code"] is None


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"postcode": "69999", "insee_code": None},
         {"postcode": ["This postcode does not exist."]}),
        ({"postcode": "6900"}, {"postcode": ["A French postcode has 5 digits."]}),
        ({"postcode": None}, {"postcode": ["Enter the postcode."]}),
        ({"postcode": "75011"}, {"postcode": ["This postcode is not one of the commune's."]}),
        ({"insee_code": "99999"}, {"insee_code": ["This INSEE code matches no commune."]}),
        ({"street": " ", "city": None},
         {"street": ["Enter the number and street."], "city": ["Enter the city."]}),
        ({"country": "XX"}, {"country": ["Choose a country from the list."]}),
        ({"street": "x" * 256}, {"street": ["Enter at most 255 characters."]}),
        ({"postcode": 69002}, {"postcode": ["Enter text."]}),
    ],
)  # fmt: skip
def test_french_addresses_are_checked(changes, errors) -> None:
    assert error_of("address", {**LYON, **changes}) == errors


def test_an_address_abroad() -> None:
    berlin = {"street": "Unter den Linden 1", "postcode": "10117", "city": "Berlin",
              "insee_code": "69123", "country": "de"}  # fmt: skip
    assert clean("address", berlin) == {**berlin, "insee_code": None, "country": "DE"}


def test_an_address_may_be_restricted_to_france() -> None:
    abroad = {"street": "Rue Neuve 1", "city": "Bruxelles", "country": "BE"}
    assert error_of("address", abroad, france_only=True) == {
        "country": ["Enter an address in France."]
    }


def test_an_address_with_only_a_country_is_no_answer() -> None:
    assert clean("address", {"country": "FR", "street": ""}) is None
    assert error_of("address", "12 rue de la Paix, Paris") == ["Enter a postal address."]


def test_address_as_text() -> None:
    address = get("address")
    assert address.as_text(LYON) == "12 rue de la République, 69002 Lyon"
    berlin = {"street": "Unter den Linden 1", "postcode": "10117", "city": "Berlin",
              "country": "DE"}  # fmt: skip
    assert address.as_text(berlin) == "Unter den Linden 1, 10117 Berlin, Allemagne"
