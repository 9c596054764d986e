"""The Celery tasks of retention, thin: they call ``app.services.retention``.

Registered by ``app.views.retention.register_retention`` (imported there, so that the
worker and beat, which build the app, know them), each scheduled once a day.
"""

from __future__ import annotations

from celery import shared_task

from .extensions import db
from .services import retention

WARN_TASK = "guichet.retention.warn"
PURGE_TASK = "guichet.retention.purge"


@shared_task(name=WARN_TASK)
def warn_expiring_dossiers() -> int:
    """Give an expiry to dossiers missing one, then warn the owners of those expiring
    within two weeks, a committed batch at a time until none is left (a first run on an
    old platform has a backlog); returns how many were warned."""
    while retention.schedule_missing():
        db.session.commit()
    warned = 0
    while batch := retention.warn_expiring():
        db.session.commit()
        warned += batch
    db.session.commit()
    return warned


@shared_task(name=PURGE_TASK)
def purge_expired_dossiers() -> str:
    """Delete expired dossiers and abandoned drafts, keeping their tombstones."""
    return str(retention.purge())
