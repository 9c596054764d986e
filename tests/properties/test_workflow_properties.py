"""The dossier state machine under random events by random actors: it only ever moves
along ``TRANSITIONS``, refuses everything else without changing anything, and its
recorded history, dates and outbox always tell the same story as the dossier."""

from __future__ import annotations

import re

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import factories as make
from app import workflow
from app.extensions import db
from app.models import DECIDED_STATES, Dossier, DossierState, StateTransition
from app.models.outbox import OutboxEvent
from app.security import Roles
from app.workflow import TRANSITIONS, Event, TransitionError

S = DossierState
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""What the workflow removes from a motivation (characters no keyboard types)."""
MOTIVATIONS = st.one_of(st.none(), st.just(""), st.just("   "), st.text(min_size=1, max_size=20))


class DossierLifecycle(RuleBasedStateMachine):
    """One dossier, and a model of what its state should be."""

    procedure = None
    actors: list = []

    @initialize()
    def new_dossier(self) -> None:
        owner = self.actors[0]
        self.dossier = make.dossier(self.procedure, owner, S.draft)
        self.state = S.draft
        self.archived = False
        self.ever_submitted = False
        self.applied = 0

    def _expected_events(self) -> set[Event]:
        if self.archived:
            return {Event.unarchive}
        return {e for e, r in TRANSITIONS.items() if self.state in r.sources} - {Event.unarchive}

    @rule(
        event=st.sampled_from(list(Event)),
        actor=st.integers(0, 3),
        motivation=MOTIVATIONS,
    )
    def apply(self, event: Event, actor: int, motivation: str | None) -> None:
        allowed = event in self._expected_events()
        typed = CONTROL.sub("", motivation) if motivation is not None else None
        needs_motivation = event == Event.refuse and not (typed and typed.strip())
        before = (self.dossier.state, self.dossier.archived, self.dossier.decided_at)
        try:
            transition = workflow.apply(
                self.dossier, event, self.actors[actor], motivation=motivation
            )
            db.session.commit()
        except TransitionError:
            db.session.rollback()
            assert not allowed or needs_motivation, f"{event} refused in {self.state}"
            assert (self.dossier.state, self.dossier.archived, self.dossier.decided_at) == before
            return
        assert allowed and not needs_motivation, f"{event} applied in {self.state}"
        rule_ = TRANSITIONS[event]
        assert transition.from_state == self.state
        if rule_.target is not None:
            self.state = rule_.target
        if event == Event.archive:
            self.archived = True
        elif event == Event.unarchive:
            self.archived = False
        self.ever_submitted |= event == Event.submit
        assert transition.actor_id == self.actors[actor].id
        self.applied += 1

    @invariant()
    def the_state_is_the_modelled_one(self) -> None:
        assert self.dossier.state == self.state
        assert self.dossier.archived == self.archived
        assert not self.dossier.archived or self.dossier.state in DECIDED_STATES

    @invariant()
    def the_history_is_a_chain_of_declared_transitions(self) -> None:
        history = db.session.scalars(
            sa.select(StateTransition)
            .where(StateTransition.dossier_id == self.dossier.id)
            .order_by(StateTransition.at, StateTransition.id)
        ).all()
        assert len(history) == self.applied
        current = S.draft
        for step in history:
            rule_ = TRANSITIONS[Event(step.event)]
            assert step.from_state == current and step.from_state in rule_.sources
            assert step.to_state == (rule_.target or step.from_state)
            if step.event == Event.refuse:
                assert step.motivation and step.motivation.strip()
                assert not CONTROL.search(step.motivation)
            current = step.to_state
        assert current == self.dossier.state
        announced = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.topic == "dossier.state_changed",
                OutboxEvent.payload["dossier"].as_integer() == self.dossier.id,
            )
        )
        assert announced == self.applied

    @invariant()
    def the_dates_say_where_the_dossier_is(self) -> None:
        dossier: Dossier = self.dossier
        assert (dossier.decided_at is not None) == (dossier.state in DECIDED_STATES)
        assert (dossier.submitted_at is not None) == self.ever_submitted
        if dossier.state == S.refused:
            assert dossier.motivation and dossier.motivation.strip()
        if dossier.state in DECIDED_STATES and dossier.submitted_at is not None:
            assert dossier.decided_at >= dossier.submitted_at


def test_random_events_by_random_actors_keep_the_dossier_consistent(app) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    with app.app_context():
        administrator = make.user(Roles.ADMINISTRATOR)
        agent = make.user(Roles.AGENT)
        DossierLifecycle.procedure = make.procedure(make.administration(administrator), agent)
        DossierLifecycle.actors = [
            make.user(Roles.APPLICANT),
            agent,
            administrator,
            make.user(Roles.ADMIN),
        ]
        run_state_machine_as_test(
            DossierLifecycle,
            settings=settings(
                max_examples=20,
                stateful_step_count=20,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
