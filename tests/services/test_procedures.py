"""The procedure lifecycle: test mode, publication, revisions, closing, cloning."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.models import (
    Dossier,
    DossierState,
    FieldDefinition,
    OutboxEvent,
    Procedure,
    ProcedureState,
    RevisionState,
    utcnow,
)
from app.services import procedures
from app.services.procedures import ProcedureError
from app.tasks import close_procedures_past_deadline


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def new_procedure(title="Inscription au centre de loisirs"):
    procedure = procedures.create_procedure(make.administration(), title)
    procedure.draft_revision.fields.append(
        FieldDefinition(stable_id="nom", type="text", label="Nom", position=0)
    )
    db.session.commit()
    return procedure


def published_procedure():
    procedure = new_procedure()
    procedures.publish(procedure)
    db.session.commit()
    return procedure


def test_a_new_procedure_is_in_test_mode_with_a_draft_form_and_a_default_group(ctx):
    procedure = procedures.create_procedure(make.administration(), "Carte de résident")
    db.session.commit()
    assert procedure.state == ProcedureState.draft
    assert procedure.slug == "carte-de-resident"
    assert procedure.draft_revision.state == RevisionState.draft
    assert procedure.default_group is not None
    assert len(procedure.test_token) >= 20


def test_slugs_stay_unique(ctx):
    first = procedures.create_procedure(make.administration(), "Même titre")
    db.session.commit()
    second = procedures.create_procedure(make.administration(), "Même titre")
    db.session.commit()
    assert (first.slug, second.slug) == ("meme-titre", "meme-titre-2")


def test_publishing_freezes_the_revision_and_wipes_test_dossiers(ctx):
    procedure = new_procedure()
    revision = procedure.draft_revision
    test_dossier = Dossier(procedure=procedure, revision=revision, is_test=True)
    db.session.add(test_dossier)
    db.session.commit()
    procedures.publish(procedure)
    db.session.commit()
    assert procedure.state == ProcedureState.published and procedure.published_at
    assert procedure.published_revision is revision and revision.is_frozen
    assert procedure.draft_revision is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0


def test_an_empty_form_cannot_be_published(ctx):
    procedure = procedures.create_procedure(make.administration(), "Vide")
    with pytest.raises(ProcedureError, match="aucun champ"):
        procedures.publish(procedure)
    assert procedure.state == ProcedureState.draft


def test_editing_a_published_procedure_works_on_a_new_revision_with_the_same_stable_ids(ctx):
    procedure = published_procedure()
    draft = procedures.editable_revision(procedure)
    assert draft is not procedure.published_revision and draft.number == 2
    assert [f.stable_id for f in draft.fields] == ["nom"]
    assert procedures.editable_revision(procedure) is draft  # one draft at a time


def test_publishing_changes_moves_open_dossiers_onto_the_new_revision(ctx):
    procedure = published_procedure()
    first = procedure.published_revision
    owner = make.user()
    open_dossier = make.dossier(procedure, owner, DossierState.in_review)
    decided = make.dossier(procedure, owner, DossierState.accepted)
    draft = procedures.editable_revision(procedure)
    draft.fields[0].label = "Nom de famille"
    db.session.commit()
    procedures.publish(procedure)
    db.session.commit()
    assert procedure.published_revision is draft
    assert first.state == RevisionState.superseded
    db.session.refresh(open_dossier)
    db.session.refresh(decided)
    assert open_dossier.revision_id == draft.id
    assert decided.revision_id == first.id  # decided dossiers keep the form they were decided on


def test_a_compatible_type_change_is_published(ctx):
    procedure = published_procedure()
    procedures.editable_revision(procedure).fields[0].type = "textarea"
    procedures.publish(procedure)
    assert procedure.published_revision.fields[0].type == "textarea"


def test_an_incompatible_type_change_is_refused_with_the_reason(ctx):
    procedure = published_procedure()
    procedures.editable_revision(procedure).fields[0].type = "integer"
    with pytest.raises(ProcedureError, match="Le champ « Nom »"):
        procedures.publish(procedure)
    assert procedure.published_revision.fields[0].type == "text"


def test_closing_needs_a_reason_and_tells_applicants_with_drafts(ctx):
    procedure = published_procedure()
    with pytest.raises(ProcedureError):
        procedures.close(procedure, "  ")
    replacement = published_procedure()
    procedures.close(procedure, "Nouvelle démarche en ligne", replacement)
    db.session.commit()
    assert procedure.state == ProcedureState.closed
    assert procedure.replaced_by is replacement
    events = db.session.scalars(sa.select(OutboxEvent.topic)).all()
    assert "procedure.closed" in events


def test_a_procedure_cannot_be_replaced_by_itself_or_an_unpublished_one(ctx):
    procedure = published_procedure()
    with pytest.raises(ProcedureError):
        procedures.close(procedure, "Raison", procedure)
    with pytest.raises(ProcedureError):
        procedures.close(procedure, "Raison", new_procedure("Brouillon"))


def test_unpublish_and_republish(ctx):
    procedure = published_procedure()
    procedures.close(procedure, "Fin de campagne")
    procedures.unpublish(procedure)
    assert procedure.state == ProcedureState.unpublished
    procedures.publish(procedure)
    assert procedure.state == ProcedureState.published and procedure.closed_reason is None
    with pytest.raises(ProcedureError):
        procedures.publish(procedure)  # nothing to publish


def test_the_deadline_task_closes_procedures_past_their_deadline(ctx):
    past, future = published_procedure(), published_procedure()
    past.deadline_at = utcnow() - timedelta(minutes=1)
    future.deadline_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert close_procedures_past_deadline.run() == [past.id]
    db.session.expire_all()
    assert db.session.get(Procedure, past.id).state == ProcedureState.closed
    assert db.session.get(Procedure, future.id).state == ProcedureState.published


def test_cloning_copies_settings_form_groups_and_labels_into_test_mode(ctx):
    agent = make.user("Agent")
    procedure = published_procedure()
    procedure.groups[0].members = [agent]
    procedure.retention_months = 24
    db.session.commit()
    same = procedures.clone(procedure, procedure.administration)
    other = procedures.clone(procedure, make.administration())
    db.session.commit()
    for copy in (same, other):
        assert copy.state == ProcedureState.draft and copy.retention_months == 24
        assert [f.stable_id for f in copy.draft_revision.fields] == ["nom"]
        assert copy.cloned_from_id == procedure.id
    assert same.groups[0].members == [agent]
    assert other.groups[0].members == []  # agents of another administration are not copied


def test_a_never_published_procedure_can_be_deleted_but_not_a_published_one(ctx):
    draft = new_procedure()
    procedures.delete_draft(draft)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Procedure)) == 0
    with pytest.raises(ProcedureError):
        procedures.delete_draft(published_procedure())
