"""The dossier state machine: the only place that changes a dossier's state.

Every change is checked against ``TRANSITIONS``, recorded as a ``StateTransition`` and
announced through the outbox, all in the caller's transaction. Two agents acting on the
same dossier at once cannot both win: the dossier's ``version`` counter makes the second
UPDATE fail with ``StaleDataError`` (see ``ConcurrentChange``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import signals
from .extensions import db
from .models import DECIDED_STATES, Dossier, DossierState, StateTransition, StrEnum, utcnow
from .services import outbox

S = DossierState
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Event(StrEnum):
    submit = "submit"
    start_review = "start_review"
    back_to_applicant = "back_to_applicant"
    accept = "accept"
    refuse = "refuse"
    close_without_action = "close_without_action"
    reopen = "reopen"
    archive = "archive"
    unarchive = "unarchive"


@dataclass(frozen=True)
class Rule:
    sources: frozenset[DossierState]
    target: DossierState | None  # None: the state does not change (archive, unarchive)


TRANSITIONS: dict[Event, Rule] = {
    Event.submit: Rule(frozenset({S.draft}), S.submitted),
    Event.start_review: Rule(frozenset({S.submitted}), S.in_review),
    Event.back_to_applicant: Rule(frozenset({S.in_review}), S.submitted),
    Event.accept: Rule(frozenset({S.in_review}), S.accepted),
    Event.refuse: Rule(frozenset({S.in_review}), S.refused),
    Event.close_without_action: Rule(frozenset({S.in_review}), S.closed_without_action),
    Event.reopen: Rule(DECIDED_STATES, S.in_review),
    Event.archive: Rule(DECIDED_STATES, None),
    Event.unarchive: Rule(DECIDED_STATES, None),
}

DECISIONS = frozenset({Event.accept, Event.refuse, Event.close_without_action})


class TransitionError(Exception):
    """A transition that the dossier's current state (or its data) does not allow."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def allowed_events(dossier: Dossier) -> list[Event]:
    """The events that the dossier allows now, in a stable order. An archived dossier
    must be unarchived before anything else happens to it."""
    if dossier.archived:
        return [Event.unarchive]
    return [
        event
        for event, rule in TRANSITIONS.items()
        if dossier.state in rule.sources and event != Event.unarchive
    ]


def apply(
    dossier: Dossier,
    event: Event,
    actor=None,
    *,
    motivation: str | None = None,
    justification_id: int | None = None,
    at: datetime | None = None,
) -> StateTransition:
    """Apply ``event`` to ``dossier`` in the current transaction (the caller commits)."""
    rule = TRANSITIONS[event]
    if event not in allowed_events(dossier):
        raise TransitionError(
            _l(
                "This action is not possible on a dossier in state “%(state)s”.",
                state=state_label(dossier.state),
            )
        )
    if motivation is not None:
        # Control characters no keyboard types (PostgreSQL refuses NUL in text) go.
        motivation = _CONTROL.sub("", motivation)
    if event == Event.refuse and not (motivation and motivation.strip()):
        raise TransitionError(_l("A motivation is required to refuse a dossier."))

    at = at or utcnow()
    before = dossier.state
    if rule.target is not None:
        dossier.state = rule.target
    _stamp(dossier, event, at, motivation)
    transition = StateTransition(
        dossier=dossier,
        from_state=before,
        to_state=dossier.state,
        event=event.value,
        actor_id=getattr(actor, "id", None),
        at=at,
        motivation=motivation,
        justification_id=justification_id,
    )
    db.session.add(transition)
    dossier.updated_at = at
    outbox.enqueue(
        "dossier.state_changed",
        {
            "dossier": dossier.id,
            "procedure": dossier.procedure_id,
            "event": event.value,
            "from": before.value,
            "to": dossier.state.value,
            "at": at.isoformat(),
        },
    )
    signals.dossier_state_changed.send(
        current_app._get_current_object(), dossier=dossier, transition=transition
    )
    return transition


def _stamp(dossier: Dossier, event: Event, at: datetime, motivation: str | None) -> None:
    if event == Event.submit:
        dossier.submitted_at = at
    elif event == Event.start_review:
        dossier.review_started_at = at
    elif event == Event.back_to_applicant:
        dossier.review_started_at = None
    elif event in DECISIONS:
        dossier.decided_at = at
        dossier.motivation = motivation
    elif event == Event.reopen:
        dossier.decided_at = None
        dossier.motivation = None
    elif event == Event.archive:
        dossier.archived = True
    elif event == Event.unarchive:
        dossier.archived = False


STATE_LABELS = {
    S.draft: _l("Draft"),
    S.submitted: _l("Submitted"),
    S.in_review: _l("In review"),
    S.accepted: _l("Accepted"),
    S.refused: _l("Refused"),
    S.closed_without_action: _l("Closed without action"),
}


def state_label(state: DossierState) -> str:
    return str(STATE_LABELS[state])
