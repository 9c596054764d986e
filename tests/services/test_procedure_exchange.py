"""A procedure's definition goes from one instance to another as a JSON document."""

import copy

import pytest

import factories as make
from app.extensions import db
from app.models import FieldDefinition, InstructorGroup, Label, ProcedureState
from app.schemas.procedure import FORMAT
from app.services import procedure_exchange, procedures


@pytest.fixture
def document(app):
    with app.app_context():
        procedure = procedures.create_procedure(make.administration(), "Carte de stationnement")
        revision = procedure.draft_revision
        block = FieldDefinition(stable_id="vehicules", type="repetition", label="Véhicules")
        revision.fields += [
            FieldDefinition(stable_id="resident", type="yes_no", label="Résident ?", position=0),
            block,
            FieldDefinition(
                stable_id="immat", type="text", label="Immatriculation", parent=block, required=True
            ),
            FieldDefinition(stable_id="avis", type="textarea", label="Avis", private=True),
        ]
        block.position = 1
        procedure.groups.append(
            InstructorGroup(
                name="Résidents",
                position=1,
                routing_rule={"field": "resident", "op": "eq", "value": True},
            )
        )
        procedure.labels.append(Label(name="Urgent", color="red"))
        revision.eligibility_rules = [
            {
                "condition": {"field": "resident", "op": "eq", "value": False},
                "message": "Réservé aux résidents.",
            }
        ]
        db.session.commit()
        yield procedure_exchange.export_document(procedure)


def test_an_exported_procedure_imports_identically_in_test_mode(app, document):
    with app.app_context():
        imported, problems = procedure_exchange.import_document(document, make.administration())
        db.session.commit()
        assert problems == []
        assert imported.state == ProcedureState.draft and imported.test_token
        again = procedure_exchange.export_document(imported)
        assert again == document
        revision = imported.draft_revision
        assert [f.stable_id for f in procedures.form_order(revision, private=False)] == [
            "resident",
            "vehicules",
            "immat",
        ]
        assert [f.stable_id for f in procedures.form_order(revision, private=True)] == ["avis"]


def test_an_invalid_document_is_refused_with_every_problem_listed(app, document):
    broken = copy.deepcopy(document)
    broken["settings"]["retention_months"] = 99
    broken["fields"][0]["type"] = "hologram"
    broken["groups"][1]["routing_rule"] = {"field": "nowhere", "op": "eq", "value": 1}
    broken["labels"] = [{"color": "red"}]
    with app.app_context():
        imported, problems = procedure_exchange.import_document(broken, make.administration())
        assert imported is None
        text = "\n".join(problems)
        assert "settings.retention_months" in text and "labels[0].name" in text
        broken["settings"]["retention_months"] = 12
        broken["labels"] = []
        imported, problems = procedure_exchange.import_document(broken, make.administration())
        text = "\n".join(problems)
        assert "hologram" in text and "nowhere" in text


def test_a_document_of_another_format_or_without_default_group_is_refused(app, document):
    with app.app_context():
        other = dict(document, format="acme/2")
        assert "format" in "\n".join(
            procedure_exchange.import_document(other, make.administration())[1]
        )
        no_default = dict(document, groups=[{"name": "A", "is_default": False}])
        assert procedure_exchange.import_document(no_default, make.administration())[1]
        assert procedure_exchange.import_document([1, 2], make.administration())[1]
        assert document["format"] == FORMAT
