"""The Celery task of the statistics, thin: it calls the service, which commits.

Registered by ``app.views.stats.register_stats`` (imported there, so that the worker and
beat, which build the app, know it), scheduled every ten minutes under the beat entry
``stats-refresh``.
"""

from __future__ import annotations

from celery import shared_task

from .services import stats

REFRESH_TASK = "guichet.stats.refresh"


@shared_task(name=REFRESH_TASK)
def refresh_statistics() -> dict[str, int]:
    """Recompute the public and platform statistics; returns each one's duration (ms)."""
    return stats.refresh_platform()
