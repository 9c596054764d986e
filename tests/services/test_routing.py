"""Routing a submitted dossier to an instructor group."""

from __future__ import annotations

import pytest
from filing_helpers import applicant, field, form_procedure

import factories as make
from app.extensions import db
from app.models import DossierState
from app.services.routing import route

FIELDS = [
    field("dept", "department", "Département"),
    field("type", "drop_down", "Type", options={"choices": ["Commerce", "Restaurant"]}),
    field("detail", "text", "Détail", condition={"field": "type", "op": "eq", "value": "Commerce"}),
]
RHONE = {"field": "dept", "op": "eq", "value": "69"}
AUVERGNE_RHONE_ALPES = {"field": "dept", "op": "in_region", "value": ["84"]}
RESTAURANT = {"field": "type", "op": "eq", "value": "Restaurant"}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def dossier_with(procedure, answers):
    item = make.dossier(procedure, applicant(), DossierState.draft)
    item.answers = answers
    db.session.commit()
    return item


def group(procedure, name):
    return next(item for item in procedure.groups if item.name == name)


def test_the_first_group_in_order_whose_rule_holds_gets_the_dossier(ctx):
    procedure = form_procedure(
        FIELDS, groups=[("Rhône", RHONE), ("Région", AUVERGNE_RHONE_ALPES), ("Resto", RESTAURANT)]
    )
    assert route(dossier_with(procedure, {"dept": "69", "type": "Restaurant"})).name == "Rhône"
    assert route(dossier_with(procedure, {"dept": "38", "type": "Restaurant"})).name == "Région"
    assert route(dossier_with(procedure, {"dept": "75", "type": "Restaurant"})).name == "Resto"


def test_the_order_is_the_groups_position_not_their_creation(ctx):
    procedure = form_procedure(FIELDS, groups=[("Rhône", RHONE), ("Région", AUVERGNE_RHONE_ALPES)])
    group(procedure, "Rhône").position, group(procedure, "Région").position = 5, 1
    db.session.commit()
    assert route(dossier_with(procedure, {"dept": "69"})).name == "Région"


def test_a_dossier_no_rule_claims_goes_to_the_default_group(ctx):
    procedure = form_procedure(FIELDS, groups=[("Rhône", RHONE)])
    routed = route(dossier_with(procedure, {"dept": "75"}))
    assert routed.is_default and routed.name == "Groupe par défaut"


def test_closed_groups_are_skipped(ctx):
    procedure = form_procedure(FIELDS, groups=[("Rhône", RHONE), ("Région", AUVERGNE_RHONE_ALPES)])
    group(procedure, "Rhône").closed = True
    db.session.commit()
    assert route(dossier_with(procedure, {"dept": "69"})).name == "Région"


def test_a_group_without_rule_only_receives_dossiers_as_the_default(ctx):
    procedure = form_procedure(FIELDS, groups=[("Sans règle", None), ("Vide", {})])
    assert route(dossier_with(procedure, {"dept": "69"})).is_default


def test_a_rule_on_an_unanswered_or_hidden_field_does_not_hold(ctx):
    """Stored answers never hold hidden fields: a rule on one sees it unanswered."""
    detail = {"field": "detail", "op": "eq", "value": "Boulangerie"}
    empty = {"field": "detail", "op": "empty"}
    procedure = form_procedure(FIELDS, groups=[("Détail", detail), ("Sans détail", empty)])
    routed = route(dossier_with(procedure, {"type": "Restaurant"}))
    assert routed.name == "Sans détail"


def test_without_an_open_default_group_the_first_open_group_is_used(ctx):
    procedure = form_procedure(FIELDS, groups=[("Rhône", RHONE), ("Autre", None)])
    default = procedure.default_group
    default.is_default = False
    default.closed = True
    db.session.commit()
    assert route(dossier_with(procedure, {"dept": "75"})).name == "Rhône"
    for item in procedure.groups:
        item.closed = True
    db.session.commit()
    assert route(dossier_with(procedure, {"dept": "75"})) is None
