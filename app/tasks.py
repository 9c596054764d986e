"""Celery tasks. They stay thin: each one calls a service inside the app context
(the Celery app built by ``app.extensions.init_celery`` runs every task in one) and
commits its transaction."""

from __future__ import annotations

from celery import shared_task

from .extensions import db
from .services import outbox, procedures


@shared_task(name="guichet.process_outbox_event")
def process_outbox_event(event_id: int) -> None:
    """Carry out one outbox event (an email, a webhook, a notification), once."""
    outbox.process(event_id)


@shared_task(name="guichet.relay_outbox")
def relay_outbox() -> int:
    """Hand over the outbox events left behind (broker down, retries due)."""
    return outbox.relay()


@shared_task(name="guichet.close_procedures_past_deadline")
def close_procedures_past_deadline() -> list[int]:
    """Close the published procedures whose deposit deadline has passed."""
    closed = procedures.close_past_deadline()
    db.session.commit()
    return closed


BEAT_SCHEDULE = {
    "relay-outbox": {"task": "guichet.relay_outbox", "schedule": 30.0},
    "close-procedures-past-deadline": {
        "task": "guichet.close_procedures_past_deadline",
        "schedule": 300.0,  # every five minutes: a deadline is honoured within minutes
    },
}
