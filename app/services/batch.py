"""Batch actions: one action applied to up to 500 dossiers of a procedure, in the background.

An agent ticks dossiers in their table and chooses an action (follow, start the review,
accept, refuse, close without action, archive, unarchive, send a message). ``request``
checks the choice and writes a ``BatchJob`` with an outbox event in one transaction, so the
job is never lost when the broker is down (the outbox relay hands it over later). A
worker then runs it (``run``):

- each dossier goes through exactly what a single action does (``instruction.decide``
  through the workflow, with its attestation and mail; ``instruction.follow``; the message
  thread's ``post_message``), in its own transaction, committed together with the job's
  progress: a failure (wrong state, someone changed the dossier) undoes only that dossier
  and is listed with its reason, in the language the agent asked in;
- the scope is checked again for every dossier when it is processed: a number the agent
  may not act on (another group, another procedure, a draft, a number that does not exist)
  is listed as not found and never touched;
- the job row is locked while a dossier is processed, and the position read under that
  lock, so two runs of one job (a redelivered task, the sweep below) never process a
  dossier twice;
- a run stopped midway (a killed worker) leaves the job "running" with its progress
  committed; the beat ``sweep`` hands a job without sign of life for ``STALE_AFTER`` to a
  new run, which resumes where the last one stopped, and fails it after ``MAX_RUNS`` runs
  (the dossiers left are listed as not processed). A job is never stuck.

A double click makes one job: the form carries a one-time ``request_key``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..extensions import app_task, db
from ..models import BatchJob, JobState, Procedure, User, utcnow
from ..workflow import Event
from . import instruction, outbox

log = logging.getLogger(__name__)

MAX_DOSSIERS = 500
TOPIC = "workspace.batch"
TASK = "guichet.run_batch_job"
SWEEP_TASK = "guichet.sweep_batch_jobs"
STALE_AFTER = timedelta(minutes=10)
"""A running job whose heartbeat is older than this has lost its worker."""
MAX_RUNS = 3
"""Runs of one job before the sweep gives up on it (a dossier that kills its worker)."""


@dataclass(frozen=True)
class Action:
    key: str
    label: Any
    event: Event | None = None
    motivation: bool = False  # takes the motivation text
    message: bool = False  # takes the message text


ACTIONS: dict[str, Action] = {
    action.key: action
    for action in (
        Action("follow", _l("Follow")),
        Action("start_review", _l("Start the review"), Event.start_review),
        Action("accept", _l("Accept"), Event.accept, motivation=True),
        Action("refuse", _l("Refuse"), Event.refuse, motivation=True),
        Action("close", _l("Close without action"), Event.close_without_action, motivation=True),
        Action("archive", _l("Archive"), Event.archive),
        Action("unarchive", _l("Unarchive"), Event.unarchive),
        Action("message", _l("Send a message"), message=True),
    )
}
"""The batch actions, in the chooser's order."""


class BatchError(Exception):
    """A batch that cannot be queued; ``message`` says why, for the agent."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _messaging_loaded() -> bool:
    return "plugins.messaging" in current_app.extensions.get("guichet_plugins", [])


def available_actions() -> list[Action]:
    """The actions this platform offers (sending a message needs the messaging plugin)."""
    return [action for action in ACTIONS.values() if not action.message or _messaging_loaded()]


def parse_ids(values: Iterable[Any]) -> list[int]:
    """The selected dossier numbers, in order, each once; BatchError on anything else."""
    ids: list[int] = []
    for value in values:
        text = str(value).strip()
        if not text.isdigit() or len(text) > 18:
            raise BatchError(_l("The selection holds something that is not a dossier number."))
        number = int(text)
        if number not in ids:
            ids.append(number)
    return ids


# ---------------------------------------------------------------------------------------
# Requesting


def request(
    user,
    procedure: Procedure,
    action_key: str,
    dossier_ids: Iterable[Any],
    *,
    motivation: str | None = None,
    body: str | None = None,
    request_key: str | None = None,
) -> BatchJob:
    """Queue ``action_key`` on the selected dossiers of ``procedure``; the caller commits,
    which releases the job (through the outbox). The same ``request_key`` twice (a double
    click) returns the first job. Raises BatchError (nothing selected, more than
    ``MAX_DOSSIERS``, an unknown action, a refusal without motivation, an empty message)."""
    key = (request_key or "").strip()[:64] or None
    if key is not None:
        existing = _job_of_key(key)
        if existing is not None:
            if existing.requested_by_id != user.id or existing.procedure_id != procedure.id:
                raise BatchError(_l("This form was already used: reload the table."))
            return existing
    action = ACTIONS.get(action_key or "")
    if action is None or action not in available_actions():
        raise BatchError(_l("Choose an action among those offered."))
    ids = parse_ids(dossier_ids)
    if not ids:
        raise BatchError(_l("Select at least one dossier."))
    if len(ids) > MAX_DOSSIERS:
        raise BatchError(
            _l(
                "Select at most %(max)d dossiers at once; you selected %(num)d.",
                max=MAX_DOSSIERS,
                num=len(ids),
            )
        )
    params: dict[str, Any] = {"locale": str(get_locale() or "fr")}
    if action.motivation:
        text = (motivation or "").strip()
        if len(text) > instruction.MOTIVATION_MAX_LENGTH:
            raise BatchError(
                _l(
                    "The motivation has at most %(num)d characters.",
                    num=instruction.MOTIVATION_MAX_LENGTH,
                )
            )
        if action.event == Event.refuse and not text:
            raise BatchError(_l("A motivation is required to refuse a dossier."))
        params["motivation"] = text
    if action.message:
        from plugins.messaging import services as messaging

        text = messaging.clean_body(body)
        if not text:
            raise BatchError(_l("Write the message to send."))
        if len(text) > messaging.MAX_LENGTH:
            raise BatchError(
                _l("A message has at most %(num)d characters.", num=messaging.MAX_LENGTH)
            )
        params["body"] = text
    job = BatchJob(
        procedure_id=procedure.id,
        requested_by_id=user.id,
        action=action.key,
        params=params,
        dossier_ids=ids,
        state=JobState.pending,
        done=0,
        failures={},
        attempts=0,
        request_key=key,
    )
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except IntegrityError:  # the same form posted twice at the same moment
        existing = _job_of_key(key) if key else None
        if existing is None or existing.requested_by_id != user.id:
            raise BatchError(_l("This form was already used: reload the table.")) from None
        return existing
    outbox.enqueue(TOPIC, {"job": job.id}, key=f"batch-job-{job.id}")
    return job


def _job_of_key(key: str) -> BatchJob | None:
    return db.session.scalar(sa.select(BatchJob).where(BatchJob.request_key == key))


def job_for(user, job_id: int) -> BatchJob | None:
    """The batch job if ``user`` asked for it (anyone else: None, the page answers 404)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(BatchJob).where(
            BatchJob.id == job_id,
            BatchJob.requested_by_id == user.id,
            BatchJob.action.in_(list(ACTIONS)),
        )
    )


def recent_jobs(user, procedure: Procedure, limit: int = 5) -> list[BatchJob]:
    """The person's latest batch jobs on the procedure, newest first."""
    return list(
        db.session.scalars(
            sa.select(BatchJob)
            .where(
                BatchJob.procedure_id == procedure.id,
                BatchJob.requested_by_id == user.id,
                BatchJob.action.in_(list(ACTIONS)),
            )
            .order_by(BatchJob.id.desc())
            .limit(limit)
        )
    )


@outbox.handler(TOPIC)
def start(payload: dict[str, Any], event) -> None:
    """The job is committed: hand it to a worker (the outbox keeps it if the broker is
    down; ``run`` resumes a job that a previous run left midway)."""
    app_task(TASK).delay(payload["job"])


# ---------------------------------------------------------------------------------------
# Running


def _locked(job_id: int) -> BatchJob | None:
    """The job, re-read and locked (PostgreSQL) until the next commit or rollback."""
    statement = (
        sa.select(BatchJob).where(BatchJob.id == job_id).execution_options(populate_existing=True)
    )
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return db.session.scalar(statement)


def run(job_id: int) -> BatchJob | None:
    """Process the job's dossiers from where it stands, one transaction per dossier; the
    reasons of failures are written in the language of the request."""
    job = _locked(job_id)
    if job is None or job.action not in ACTIONS or job.state in (JobState.done, JobState.failed):
        db.session.rollback()
        return job
    job.state = JobState.running
    job.attempts = (job.attempts or 0) + 1
    job.heartbeat_at = utcnow()
    db.session.commit()
    with force_locale(job.params.get("locale") or "fr"):
        while _step(job_id):
            pass
    job = _locked(job_id)
    if job is not None and job.state == JobState.running and job.done >= len(job.dossier_ids):
        job.state = JobState.done
        job.finished_at = utcnow()
    db.session.commit()
    return job


def _step(job_id: int) -> bool:
    """Process the next dossier of the job and commit it with the job's progress; False
    when there is nothing left (or another run finished the job)."""
    job = _locked(job_id)
    if job is None or job.state != JobState.running or job.done >= len(job.dossier_ids):
        db.session.rollback()
        return False
    position = job.done
    dossier_id = int(job.dossier_ids[position])
    actor = db.session.get(User, job.requested_by_id) if job.requested_by_id else None
    action = ACTIONS[job.action]
    params = dict(job.params or {})
    try:
        _apply(action, params, job.procedure_id, dossier_id, actor)
    except Exception as error:  # noqa: BLE001 - every failure is the dossier's, listed
        db.session.rollback()
        reason = _reason(error, dossier_id)
        job = _locked(job_id)
        if job is None or job.state != JobState.running or job.done != position:
            db.session.rollback()  # another run recorded this dossier meanwhile
            return job is not None and job.state == JobState.running
        job.failures = {**(job.failures or {}), str(dossier_id): reason}
    job.done = position + 1
    job.heartbeat_at = utcnow()
    db.session.commit()
    return True


def _reason(error: Exception, dossier_id: int) -> str:
    message = getattr(error, "message", None)
    if isinstance(error, instruction.InstructionError) or _is_messaging_error(error):
        return str(message)
    log.exception("Batch action failed on dossier %s", dossier_id, exc_info=error)
    return str(_l("An unexpected error prevented the action on this dossier; try it alone."))


def _is_messaging_error(error: Exception) -> bool:
    if not _messaging_loaded():
        return False
    from plugins.messaging.services import MessagingError

    return isinstance(error, MessagingError)


def _apply(action: Action, params: dict[str, Any], procedure_id: int, dossier_id: int, actor):
    """Do the action on one dossier, exactly as the dossier page would; raises an
    InstructionError (or the thread's MessagingError) saying why not."""
    if actor is None or not actor.active:
        raise instruction.InstructionError(
            _l("The account that asked for this action is no longer active.")
        )
    dossier = instruction.acting_dossier(actor, dossier_id)  # NotFound outside the scope
    if dossier.procedure_id != procedure_id:
        raise instruction.NotFound()
    if action.event is not None:
        instruction.decide(
            dossier,
            action.event,
            actor,
            expected_version=dossier.version,
            motivation=params.get("motivation"),
        )
    elif action.key == "follow":
        instruction.follow(dossier, actor)
    elif action.message:
        from plugins.messaging import services as messaging

        messaging.post_message(dossier, actor, params.get("body"))
    db.session.flush()


# ---------------------------------------------------------------------------------------
# The sweep (Celery beat)


def sweep(now=None) -> int:
    """Hand the jobs that lost their worker (no heartbeat for ``STALE_AFTER``) to a new
    run, or fail them after ``MAX_RUNS`` runs; returns how many it touched."""
    now = now or utcnow()
    last_sign = sa.func.coalesce(BatchJob.heartbeat_at, BatchJob.created_at)
    statement = sa.select(BatchJob).where(
        BatchJob.action.in_(list(ACTIONS)),
        BatchJob.state.in_([JobState.pending, JobState.running]),
        last_sign < now - STALE_AFTER,
    )
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    touched = 0
    for job in db.session.scalars(statement.order_by(BatchJob.id)).all():
        touched += 1
        if (job.attempts or 0) >= MAX_RUNS:
            left = job.dossier_ids[job.done :]
            failures = dict(job.failures or {})
            with force_locale(job.params.get("locale") or "fr"):
                reason = str(_l("Not processed: the job stopped before this dossier."))
            for dossier_id in left:
                failures.setdefault(str(dossier_id), reason)
            job.failures = failures
            job.state = JobState.failed
            job.error = f"stopped after {job.attempts} runs"
            job.finished_at = now
            continue
        job.heartbeat_at = now
        outbox.enqueue(TOPIC, {"job": job.id})  # a second run of a live job is harmless
    db.session.commit()
    return touched


# ---------------------------------------------------------------------------------------
# Reading a job


def succeeded_ids(job: BatchJob) -> list[int]:
    failed = set((job.failures or {}).keys())
    return [int(n) for n in job.dossier_ids[: job.done] if str(n) not in failed]


def failed_items(job: BatchJob) -> list[tuple[int, str]]:
    """(number, reason) of the failures, in the selection's order."""
    failures = job.failures or {}
    return [(int(n), failures[str(n)]) for n in job.dossier_ids if str(n) in failures]


def percent(job: BatchJob) -> int:
    total = len(job.dossier_ids or [])
    return 100 if not total else int(100 * min(job.done, total) / total)
