"""The Celery tasks of the agents' exports, thin: they call ``app.services.exports``.

Registered by ``app.views.exports.register`` (imported there, so that the worker and beat,
which build the app, know them). ``run`` is handed each export by the outbox; ``cleanup``
runs hourly under the beat entry ``exports-cleanup``.
"""

from __future__ import annotations

from celery import shared_task

from .services import exports


@shared_task(name=exports.RUN_TASK, acks_late=True, reject_on_worker_lost=True)
def run_export(job_id: int) -> None:
    """Write one export and store its file (the job records progress and outcome).

    Acknowledged late: a worker killed mid-export gives the message back, and the job,
    found "running" on redelivery, is marked failed instead of staying stuck."""
    exports.run(job_id)


@shared_task(name=exports.CLEANUP_TASK)
def cleanup_exports() -> dict[str, int]:
    """Delete expired export files, fail exports left running or pending too long."""
    return exports.cleanup()
