"""The registry: every type of the product, reachable by name, in the editor's menu order."""

import pytest
from marshmallow import Schema

from app.fields import FILTER_OPERATORS, GROUPS, FieldType, UnknownFieldType, all_types, get
from app.fields.registry import register

PRODUCT_TYPES = [
    "header_section", "explication", "text", "textarea", "formatted", "email", "phone",
    "integer", "decimal", "date", "datetime", "checkbox", "yes_no", "civility", "drop_down",
    "multiple_drop_down", "linked_drop_down", "address", "country", "region", "department",
    "commune", "siret", "iban", "dossier_link", "attachment", "repetition",
]  # fmt: skip


def test_every_type_of_the_product_is_registered_once() -> None:
    names = [field_type.name for field_type in all_types()]
    assert sorted(names) == sorted(PRODUCT_TYPES)


def test_types_come_in_menu_order_grouped() -> None:
    groups = [field_type.group for field_type in all_types()]
    order = list(GROUPS)
    assert groups == sorted(groups, key=order.index)
    assert all_types() == all_types()
    assert all_types()[0].name == "header_section"


def test_get_returns_the_registered_instance() -> None:
    assert get("siret").name == "siret"
    assert get("siret") is get("siret")


def test_an_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(UnknownFieldType, match="unknown field type 'hologram'.*siret"):
        get("hologram")


def test_a_name_cannot_be_registered_twice() -> None:
    class Duplicate(FieldType):
        name = "text"
        group = "text"

    with pytest.raises(ValueError, match="registered twice"):
        register(Duplicate)


def test_a_type_needs_a_known_group() -> None:
    class Stray(FieldType):
        name = "stray"
        group = "elsewhere"

    with pytest.raises(ValueError, match="unknown group"):
        register(Stray)


@pytest.mark.parametrize("field_type", all_types(), ids=lambda field_type: field_type.name)
def test_each_type_fulfils_the_contract(field_type: FieldType) -> None:
    assert str(field_type.label)
    assert field_type.template == f"fields/{field_type.name}.html"
    assert issubclass(field_type.Options, Schema)
    assert set(field_type.filter_operators) <= set(FILTER_OPERATORS)
    assert field_type.compatible_types <= {t.name for t in all_types()}
    assert field_type.name not in field_type.compatible_types
    if field_type.has_value:
        assert field_type.filter_operators
        assert field_type.condition_operators
    else:
        assert not field_type.filter_operators
    assert field_type.as_text(None) == ""


def test_filter_operators_by_family() -> None:
    assert set(get("text").filter_operators) == {"contains", "eq", "empty", "not_empty"}
    assert {"between", "lt", "ge"} <= set(get("date").filter_operators)
    assert set(get("drop_down").filter_operators) == {"in", "not_in", "empty", "not_empty"}
    assert get("yes_no").filter_operators == ("eq",)
    assert get("checkbox").filter_operators == ("eq",)


def test_condition_operators_by_family() -> None:
    assert {"lt", "ge"} <= set(get("decimal").condition_operators)
    assert {"lt", "ge"} <= set(get("datetime").condition_operators)
    assert "lt" not in get("text").condition_operators
    assert {"contains", "not_contains"} <= set(get("multiple_drop_down").condition_operators)
    assert "eq" not in get("multiple_drop_down").condition_operators
    assert {"empty", "not_empty"} <= set(get("attachment").condition_operators)
