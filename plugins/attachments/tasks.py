"""Celery tasks of the attachments plugin, thin: they call the services and commit."""

from __future__ import annotations

from celery import shared_task

from app.extensions import db

from . import scanning, services

CLEANUP_TASK = "attachments.cleanup_orphans"
SCAN_TASK = "attachments.scan"


@shared_task(name=CLEANUP_TASK)
def cleanup_orphans() -> int:
    """Remove orphan files older than a day and temporary uploads left by crashes."""
    return services.cleanup_orphans()


@shared_task(name=SCAN_TASK)
def scan(attachment_id: int) -> str:
    """Scan one file again (an operator's rescan after clamd was down, for instance).
    New uploads are scanned through the outbox event ``attachment.scan``."""
    status = scanning.scan_attachment(attachment_id)
    db.session.commit()
    return status.value
