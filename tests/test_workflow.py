"""The dossier state machine."""

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

import factories as make
from app import workflow
from app.extensions import db
from app.models import DossierState, OutboxEvent
from app.security import Roles
from app.workflow import Event, TransitionError

S = DossierState


@pytest.fixture
def setup(app):
    with app.app_context():
        agent = make.user(Roles.AGENT)
        procedure = make.procedure(make.administration(), agent)
        yield make.dossier(procedure, make.user(), S.draft), agent


def test_a_dossier_goes_from_draft_to_accepted_and_every_step_is_recorded(setup):
    dossier, agent = setup
    workflow.apply(dossier, Event.submit, dossier.owner)
    workflow.apply(dossier, Event.start_review, agent)
    workflow.apply(dossier, Event.accept, agent, motivation="Conforme")
    db.session.commit()

    assert dossier.state == S.accepted
    assert dossier.submitted_at and dossier.review_started_at and dossier.decided_at
    assert dossier.motivation == "Conforme"
    steps = [(t.from_state, t.to_state, t.event, t.actor_id) for t in dossier.transitions]
    assert steps == [
        (S.draft, S.submitted, "submit", dossier.owner_id),
        (S.submitted, S.in_review, "start_review", agent.id),
        (S.in_review, S.accepted, "accept", agent.id),
    ]
    events = db.session.scalars(sa.select(OutboxEvent.payload)).all()
    assert [e["to"] for e in events] == ["submitted", "in_review", "accepted"]


def test_a_refusal_needs_a_motivation(setup):
    dossier, agent = setup
    workflow.apply(dossier, Event.submit, dossier.owner)
    workflow.apply(dossier, Event.start_review, agent)
    with pytest.raises(TransitionError, match="motivation"):
        workflow.apply(dossier, Event.refuse, agent, motivation="  ")
    assert dossier.state == S.in_review


def test_control_characters_leave_the_motivation_and_do_not_count_as_one(setup):
    """PostgreSQL refuses NUL in text: a pasted one used to fail the decision's commit."""
    dossier, agent = setup
    workflow.apply(dossier, Event.submit, dossier.owner)
    workflow.apply(dossier, Event.start_review, agent)
    with pytest.raises(TransitionError, match="motivation"):
        workflow.apply(dossier, Event.refuse, agent, motivation="\x00\x07")
    workflow.apply(dossier, Event.refuse, agent, motivation="Pièce\x00 manquante\n")
    db.session.commit()
    assert dossier.motivation == "Pièce manquante\n"
    assert dossier.transitions[-1].motivation == "Pièce manquante\n"


@pytest.mark.parametrize("event", [Event.accept, Event.start_review, Event.reopen, Event.archive])
def test_a_draft_cannot_skip_submission(setup, event):
    dossier, agent = setup
    with pytest.raises(TransitionError):
        workflow.apply(dossier, event, agent)
    assert dossier.state == S.draft and dossier.transitions == []


def test_reopening_clears_the_decision(setup):
    dossier, agent = setup
    for event in (Event.submit, Event.start_review, Event.close_without_action):
        workflow.apply(dossier, event, agent)
    workflow.apply(dossier, Event.reopen, agent)
    assert (dossier.state, dossier.decided_at, dossier.motivation) == (S.in_review, None, None)


def test_an_archived_dossier_must_be_unarchived_before_anything_else(setup):
    dossier, agent = setup
    for event in (Event.submit, Event.start_review, Event.accept, Event.archive):
        workflow.apply(dossier, event, agent)
    assert dossier.archived
    assert workflow.allowed_events(dossier) == [Event.unarchive]
    with pytest.raises(TransitionError):
        workflow.apply(dossier, Event.reopen, agent)
    workflow.apply(dossier, Event.unarchive, agent)
    assert not dossier.archived and Event.reopen in workflow.allowed_events(dossier)


def test_allowed_events_follow_the_state(setup):
    dossier, agent = setup
    assert workflow.allowed_events(dossier) == [Event.submit]
    workflow.apply(dossier, Event.submit, agent)
    assert workflow.allowed_events(dossier) == [Event.start_review]
    workflow.apply(dossier, Event.start_review, agent)
    assert workflow.allowed_events(dossier) == [
        Event.back_to_applicant,
        Event.accept,
        Event.refuse,
        Event.close_without_action,
    ]


def test_a_change_made_from_a_stale_copy_is_refused(app, setup):
    dossier, agent = setup
    workflow.apply(dossier, Event.submit, dossier.owner)
    db.session.commit()
    # Another agent changes the dossier behind our back (a second session, a second tab).
    with db.engine.begin() as other:
        other.execute(
            sa.text("UPDATE dossier SET version = version + 1 WHERE id = :id"), {"id": dossier.id}
        )
    with pytest.raises(StaleDataError):
        workflow.apply(dossier, Event.start_review, agent)
        db.session.commit()
    db.session.rollback()
