"""Writing to the transactional outbox (docs/decisions/0002-transactional-outbox.md)."""

from __future__ import annotations

import uuid
from typing import Any

from ..extensions import db
from ..models import OutboxEvent


def enqueue(topic: str, payload: dict[str, Any], key: str | None = None) -> OutboxEvent:
    """Add an event to the current transaction; it is relayed only if that transaction commits.

    ``key`` makes the event idempotent: consumers use it to never act twice.
    """
    event = OutboxEvent(topic=topic, payload=payload, key=key or uuid.uuid4().hex)
    db.session.add(event)
    return event
