"""The transactional outbox (docs/decisions/0002-transactional-outbox.md).

``enqueue`` writes an event in the caller's transaction. When the app context ends, the
events it committed are handed to Celery (``dispatch``); a beat task (``relay``) hands over
whatever is left — events whose broker was down, or whose handler failed and waits for its
retry. ``process`` carries one event out through the handler registered for its topic and
records it, so a redelivered event does nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, g

from ..extensions import app_task, db
from ..models import OutboxEvent, utcnow

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], OutboxEvent], None]
HANDLERS: dict[str, Handler] = {}
MAX_ATTEMPTS = 12
RELAY_BATCH = 500


def handler(topic: str) -> Callable[[Handler], Handler]:
    """Register the function that carries out the events of ``topic``."""

    def register(function: Handler) -> Handler:
        HANDLERS[topic] = function
        return function

    return register


def enqueue(
    topic: str,
    payload: dict[str, Any],
    key: str | None = None,
    available_at: datetime | None = None,
) -> OutboxEvent:
    """Add an event to the current transaction; it is carried out only if that commits.

    ``key`` makes the event idempotent: the same key is never carried out twice.
    ``available_at`` delays it: the relay (Celery beat) hands it over when it is due.
    """
    event = OutboxEvent(topic=topic, payload=payload, key=key or uuid.uuid4().hex)
    if available_at is not None:
        event.available_at = available_at
    db.session.add(event)
    if available_at is None or available_at <= utcnow():
        g.setdefault("outbox_events", []).append(event)
    return event


def init_app(app: Flask) -> None:
    """Dispatch the events of each app context when it ends (after its commits)."""

    @app.teardown_appcontext
    def dispatch_committed_events(error: BaseException | None) -> None:
        # Handlers may enqueue further events (eager mode runs them right here): loop.
        while error is None and (events := g.pop("outbox_events", [])):
            dispatch([event.id for event in events if sa.inspect(event).has_identity])


def dispatch(event_ids: list[int]) -> None:
    """Hand events to Celery. With the broker down they stay for the relay to retry."""
    if not event_ids:
        return
    db.session.rollback()  # start from what is committed
    for event_id in event_ids:
        event = db.session.get(OutboxEvent, event_id)
        if event is None or event.dispatched_at is not None or event.processed_at is not None:
            continue
        event.dispatched_at = utcnow()
        db.session.commit()
        try:
            app_task("guichet.process_outbox_event").delay(event_id)
        except Exception as error:  # kombu raises transport-specific errors
            log.warning(
                "Broker unavailable, outbox event %s left for the relay: %s", event_id, error
            )
            event.dispatched_at = None
            event.last_error = f"broker: {error}"[:2000]
            db.session.commit()
            return


def relay(limit: int = RELAY_BATCH) -> int:
    """Hand over the events that are due and not handed over yet (Celery beat)."""
    due = sa.select(OutboxEvent.id).where(
        OutboxEvent.dispatched_at.is_(None),
        OutboxEvent.processed_at.is_(None),
        OutboxEvent.available_at <= utcnow(),
        OutboxEvent.attempts < MAX_ATTEMPTS,
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due.order_by(OutboxEvent.id).limit(limit)))
    db.session.commit()
    dispatch(ids)
    return len(ids)


def process(event_id: int) -> None:
    """Carry out one event, once. A failure schedules a retry with exponential backoff."""
    statement = sa.select(OutboxEvent).where(OutboxEvent.id == event_id)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()  # two deliveries of one event: one waits
    event = db.session.scalar(statement)
    if event is None or event.processed_at is not None:
        db.session.rollback()
        return
    try:
        if event.topic in HANDLERS:
            HANDLERS[event.topic](event.payload, event)
        else:  # nobody listens to this topic (yet): nothing to carry out
            log.debug("No handler for outbox topic %s", event.topic)
        event.processed_at = utcnow()
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("Outbox event %s (%s) failed", event_id, event.topic)
        failed = db.session.get(OutboxEvent, event_id)
        failed.attempts += 1
        failed.last_error = repr(error)[:2000]
        failed.dispatched_at = None
        failed.available_at = utcnow() + timedelta(seconds=30 * 2 ** min(failed.attempts, 10))
        db.session.commit()
