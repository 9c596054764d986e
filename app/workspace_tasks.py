"""The Celery tasks of the agent workspace's background work, thin: they call the services.

Registered by ``app.views.batch.register`` (imported there, so that the worker and beat,
which build the app, know them): the batch job runner, the sweep that picks up batch jobs
whose worker died (beat, every five minutes) and the agents' daily digest (beat, hourly:
each agent gets it once a day, at the first run after ``DIGEST_HOUR`` local time) and the
indexes of the fields agents sort and filter large procedures by (beat, hourly), and the
compaction of the tab counters' tallies (beat, every five minutes).
"""

from __future__ import annotations

from celery import shared_task

from .services import batch, digest, table_indexes, tables


@shared_task(name=batch.TASK)
def run_batch_job(job_id: int) -> int:
    """Run (or resume) one batch job; returns how many dossiers it has processed."""
    job = batch.run(job_id)
    return job.done if job is not None else 0


@shared_task(name=batch.SWEEP_TASK)
def sweep_batch_jobs() -> int:
    """Resume or fail the batch jobs whose worker stopped answering."""
    return batch.sweep()


@shared_task(name=digest.TASK)
def send_daily_digests() -> int:
    """Send the day's digest to every agent who asked for one; returns mails queued."""
    return digest.send_due()


@shared_task(name=table_indexes.TASK)
def ensure_table_indexes() -> list[str]:
    """Create the table indexes large procedures' agents need; returns those created."""
    return list(table_indexes.ensure().created)


@shared_task(name="guichet.compact_tallies")
def compact_tallies() -> int:
    """Sum the tab counters' tallies into one row per key; returns the rows read."""
    return tables.compact_tallies()
