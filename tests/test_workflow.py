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
        yield make.dossier(procedure, make.user(), S.DRAFT), agent


def test_a_dossier_goes_from_draft_to_accepted_and_every_step_is_recorded(setup):
    dossier, agent = setup
    workflow.apply(dossier, Event.SUBMIT, dossier.owner)
    workflow.apply(dossier, Event.START_REVIEW, agent)
    workflow.apply(dossier, Event.ACCEPT, agent, motivation="Conforme")
    db.session.commit()

    assert dossier.state == S.ACCEPTED
    assert dossier.submitted_at and dossier.review_started_at and dossier.decided_at
    assert dossier.motivation == "Conforme"
    steps = [(t.from_state, t.to_state, t.event, t.actor_id) for t in dossier.transitions]
    assert steps == [
        (S.DRAFT, S.SUBMITTED, "submit", dossier.owner_id),
        (S.SUBMITTED, S.IN_REVIEW, "start_review", agent.id),
        (S.IN_REVIEW, S.ACCEPTED, "accept", agent.id),
    ]
    events = db.session.scalars(sa.select(OutboxEvent.payload)).all()
    assert [e["to"] for e in events] == ["submitted", "in_review", "accepted"]


def test_a_refusal_needs_a_motivation(setup):
    dossier, agent = setup
    workflow.apply(dossier, Event.SUBMIT, dossier.owner)
    workflow.apply(dossier, Event.START_REVIEW, agent)
    with pytest.raises(TransitionError, match="motivation"):
        workflow.apply(dossier, Event.REFUSE, agent, motivation="  ")
    assert dossier.state == S.IN_REVIEW


@pytest.mark.parametrize("event", [Event.ACCEPT, Event.START_REVIEW, Event.REOPEN, Event.ARCHIVE])
def test_a_draft_cannot_skip_submission(setup, event):
    dossier, agent = setup
    with pytest.raises(TransitionError):
        workflow.apply(dossier, event, agent)
    assert dossier.state == S.DRAFT and dossier.transitions == []


def test_reopening_clears_the_decision(setup):
    dossier, agent = setup
    for event in (Event.SUBMIT, Event.START_REVIEW, Event.CLOSE_WITHOUT_ACTION):
        workflow.apply(dossier, event, agent)
    workflow.apply(dossier, Event.REOPEN, agent)
    assert (dossier.state, dossier.decided_at, dossier.motivation) == (S.IN_REVIEW, None, None)


def test_an_archived_dossier_must_be_unarchived_before_anything_else(setup):
    dossier, agent = setup
    for event in (Event.SUBMIT, Event.START_REVIEW, Event.ACCEPT, Event.ARCHIVE):
        workflow.apply(dossier, event, agent)
    assert dossier.archived
    assert workflow.allowed_events(dossier) == [Event.UNARCHIVE]
    with pytest.raises(TransitionError):
        workflow.apply(dossier, Event.REOPEN, agent)
    workflow.apply(dossier, Event.UNARCHIVE, agent)
    assert not dossier.archived and Event.REOPEN in workflow.allowed_events(dossier)


def test_allowed_events_follow_the_state(setup):
    dossier, agent = setup
    assert workflow.allowed_events(dossier) == [Event.SUBMIT]
    workflow.apply(dossier, Event.SUBMIT, agent)
    assert workflow.allowed_events(dossier) == [Event.START_REVIEW]
    workflow.apply(dossier, Event.START_REVIEW, agent)
    assert workflow.allowed_events(dossier) == [
        Event.BACK_TO_APPLICANT,
        Event.ACCEPT,
        Event.REFUSE,
        Event.CLOSE_WITHOUT_ACTION,
    ]


def test_a_change_made_from_a_stale_copy_is_refused(app, setup):
    dossier, agent = setup
    workflow.apply(dossier, Event.SUBMIT, dossier.owner)
    db.session.commit()
    # Another agent changes the dossier behind our back (a second session, a second tab).
    with db.engine.begin() as other:
        other.execute(
            sa.text("UPDATE dossier SET version = version + 1 WHERE id = :id"), {"id": dossier.id}
        )
    with pytest.raises(StaleDataError):
        workflow.apply(dossier, Event.START_REVIEW, agent)
        db.session.commit()
    db.session.rollback()
