"""Celery task of the messaging plugin, thin: it calls the service, which commits per step."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from app.extensions import app_task
from app.models import OutboxEvent
from app.services import outbox

from . import services

BROADCAST_TASK = "messaging.broadcast_to_drafts"


@shared_task(name=BROADCAST_TASK)
def broadcast_to_drafts(job_id: int) -> int:
    """Write a broadcast's messages on its drafts; returns how many were written."""
    return services.run_broadcast(job_id)


@outbox.handler(services.BROADCAST_TOPIC)
def start_broadcast(payload: dict[str, Any], event: OutboxEvent) -> None:
    """The broadcast's job is committed: hand it to a worker. The outbox keeps the request
    if the broker is down, and the task itself resumes where a previous run stopped."""
    app_task(BROADCAST_TASK).delay(payload["job"])
