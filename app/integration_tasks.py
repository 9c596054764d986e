"""The Celery tasks of API tokens, thin: they call ``app.services.api_tokens``.

Registered by ``app.views.integrations.register`` (imported there, so that the worker and
beat, which build the app, know them); the reminder runs once a day. Webhook deliveries
need no task of their own: they are outbox events (``app.services.webhooks``).
"""

from __future__ import annotations

from celery import shared_task

from .extensions import db
from .services import api_tokens

REMIND_TASK = "guichet.api_tokens.remind_expiring"


@shared_task(name=REMIND_TASK)
def remind_expiring_tokens() -> int:
    """Mail the owners of tokens that expire within a week (once per token)."""
    reminded = api_tokens.remind_expiring()
    db.session.commit()
    return reminded
