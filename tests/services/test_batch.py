"""Batch actions: each dossier through the workflow in its own transaction, failures listed
per dossier, never outside the agent's scope, and a job that a dead worker cannot leave
stuck."""

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, group, procedure_with_form

import factories as make
from app.extensions import db
from app.models import (
    BatchJob,
    Dossier,
    Follow,
    JobState,
    Message,
    OutboxEvent,
    StateTransition,
    utcnow,
)
from app.security import Roles
from app.services import batch, search
from app.services.batch import BatchError


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me, stranger = agent(), agent()
        applicant = make.user(email="applicant@example.org")
        procedure = procedure_with_form(me)
        group(procedure, "Groupe B").members.append(stranger)
        other = procedure_with_form(stranger)
        db.session.commit()
        yield SimpleNamespace(
            app=app, me=me, stranger=stranger, applicant=applicant, procedure=procedure, other=other
        )


def state_of(number: int) -> S:
    db.session.expire_all()
    return db.session.get(Dossier, number).state


def transitions(number: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(StateTransition.dossier_id == number))


def mails_to(address: str) -> list[dict]:
    payloads = db.session.scalars(
        sa.select(OutboxEvent.payload).where(OutboxEvent.topic == "mail.send")
    ).all()
    return [payload for payload in payloads if address in payload["to"]]


def queue(world, action, ids, **kwargs) -> int:
    job = batch.request(world.me, world.procedure, action, ids, **kwargs)
    db.session.commit()
    return job.id


def test_a_batch_accepts_what_it_may_and_lists_every_other_dossier_with_its_reason(world):
    first = dossier(world.procedure, world.applicant, S.in_review)
    second = dossier(world.procedure, world.applicant, S.in_review)
    submitted = dossier(world.procedure, world.applicant, S.submitted)
    other_group = dossier(
        world.procedure, world.applicant, S.in_review, group_=group(world.procedure, "Groupe B")
    )
    elsewhere = dossier(world.other, world.applicant, S.in_review)
    draft = dossier(world.procedure, world.applicant, S.draft)
    selection = [first.id, submitted.id, other_group.id, second.id, elsewhere.id, draft.id, 999999]

    job_id = queue(world, "accept", selection, motivation="Dossier complet")
    job = batch.run(job_id)

    assert job.state == JobState.done and job.done == len(selection)
    assert state_of(first.id) == state_of(second.id) == S.accepted
    assert db.session.get(Dossier, first.id).motivation == "Dossier complet"
    assert len(mails_to("applicant@example.org")) == 2  # the acceptance mail, as one by one
    assert batch.succeeded_ids(job) == [first.id, second.id]
    failures = dict(batch.failed_items(job))
    assert set(failures) == {submitted.id, other_group.id, elsewhere.id, draft.id, 999999}
    assert "Déposé" in failures[submitted.id]  # the state, in the agent's language
    for number in (other_group.id, elsewhere.id, draft.id, 999999):
        assert "existe pas" in failures[number]
    # nothing outside the scope, nor in the wrong state, was touched
    assert state_of(submitted.id) == S.submitted and transitions(submitted.id) == 0
    assert state_of(other_group.id) == S.in_review and transitions(other_group.id) == 0
    assert state_of(elsewhere.id) == S.in_review and transitions(elsewhere.id) == 0
    assert state_of(draft.id) == S.draft


def test_reasons_are_written_in_the_language_the_agent_asked_in(world, app):
    submitted = dossier(world.procedure, world.applicant, S.submitted)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from flask_babel import force_locale

        with force_locale("en"):
            job_id = queue(world, "accept", [submitted.id])
    job = batch.run(job_id)
    assert "not possible on a dossier in state" in job.failures[str(submitted.id)]


def test_refusing_needs_a_motivation_and_queues_nothing_without(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    with pytest.raises(BatchError) as refused:
        batch.request(world.me, world.procedure, "refuse", [item.id], motivation="  ")
    assert "motivation" in str(refused.value.message).lower()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BatchJob)) == 0


def test_a_refusal_batch_refuses_those_in_review_and_lists_the_others(world):
    in_review = dossier(world.procedure, world.applicant, S.in_review)
    accepted = dossier(world.procedure, world.applicant, S.accepted)
    job = batch.run(queue(world, "refuse", [in_review.id, accepted.id], motivation="Hors délai"))
    assert state_of(in_review.id) == S.refused
    assert list(job.failures) == [str(accepted.id)]
    assert state_of(accepted.id) == S.accepted


def test_more_than_500_dossiers_are_refused_with_a_clear_message(world):
    with pytest.raises(BatchError) as refused:
        batch.request(world.me, world.procedure, "follow", list(range(1, 502)))
    assert "500" in str(refused.value.message) and "501" in str(refused.value.message)


def test_nothing_selected_an_unknown_action_or_a_number_that_is_not_one_are_refused(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    for action, ids in (("follow", []), ("delete", [item.id]), ("follow", ["1; DROP"])):
        with pytest.raises(BatchError):
            batch.request(world.me, world.procedure, action, ids)


def test_the_same_form_posted_twice_makes_one_job(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    first = queue(world, "follow", [item.id], request_key="k" * 32)
    second = queue(world, "follow", [item.id], request_key="k" * 32)
    assert first == second
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BatchJob)) == 1
    # the job's start is an outbox event of the same transaction: a broker down loses nothing
    events = db.session.scalars(
        sa.select(OutboxEvent.payload).where(OutboxEvent.topic == batch.TOPIC)
    ).all()
    assert events == [{"job": first}]
    with pytest.raises(BatchError):  # someone else's key is not theirs to reuse
        batch.request(world.stranger, world.procedure, "follow", [item.id], request_key="k" * 32)


def test_follow_start_review_archive_and_message_go_through_their_single_actions(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    decided = dossier(world.procedure, world.applicant, S.accepted)
    batch.run(queue(world, "follow", [item.id]))
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Follow.dossier_id == item.id, Follow.user_id == world.me.id
            )
        )
        == 1
    )
    batch.run(queue(world, "start_review", [item.id]))
    assert state_of(item.id) == S.in_review
    batch.run(queue(world, "archive", [decided.id]))
    db.session.expire_all()
    assert db.session.get(Dossier, decided.id).archived
    batch.run(queue(world, "unarchive", [decided.id]))
    db.session.expire_all()
    assert not db.session.get(Dossier, decided.id).archived
    job = batch.run(queue(world, "message", [item.id, decided.id], body="Pièce manquante"))
    bodies = db.session.scalars(sa.select(Message.body).where(Message.dossier_id == item.id))
    assert list(bodies) == ["Pièce manquante"]
    assert list(job.failures) == []  # a message on a decided dossier is allowed


def test_an_empty_message_is_refused(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    with pytest.raises(BatchError):
        batch.request(world.me, world.procedure, "message", [item.id], body=" \n ")


def test_a_job_whose_worker_died_is_resumed_where_it_stopped_and_nothing_is_done_twice(world):
    items = [dossier(world.procedure, world.applicant, S.submitted) for _ in range(3)]
    job_id = queue(world, "start_review", [item.id for item in items])
    job = db.session.get(BatchJob, job_id)
    job.state, job.attempts, job.heartbeat_at = JobState.running, 1, utcnow()
    db.session.commit()
    assert batch._step(job_id)  # one dossier, then the worker is killed
    assert state_of(items[0].id) == S.in_review and state_of(items[1].id) == S.submitted

    assert batch.sweep() == 0  # alive a minute ago: left alone
    assert batch.sweep(now=utcnow() + batch.STALE_AFTER + timedelta(minutes=1)) == 1
    db.session.expire_all()
    assert db.session.get(BatchJob, job_id).state == JobState.running  # handed to a new run
    job = batch.run(job_id)
    assert job.state == JobState.done and job.done == 3 and not job.failures
    assert [transitions(item.id) for item in items] == [1, 1, 1]


def test_a_job_that_keeps_losing_its_worker_ends_failed_with_the_rest_listed(world):
    items = [dossier(world.procedure, world.applicant, S.submitted) for _ in range(2)]
    job_id = queue(world, "start_review", [item.id for item in items])
    job = db.session.get(BatchJob, job_id)
    job.state, job.attempts, job.done = JobState.running, batch.MAX_RUNS, 1
    job.heartbeat_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    batch.sweep()
    db.session.expire_all()
    job = db.session.get(BatchJob, job_id)
    assert job.state == JobState.failed and job.finished_at is not None
    assert list(job.failures) == [str(items[1].id)]
    assert batch.run(job_id).state == JobState.failed  # a late run does nothing


def test_a_finished_job_run_again_does_nothing(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    job_id = queue(world, "start_review", [item.id])
    batch.run(job_id)
    batch.run(job_id)
    assert transitions(item.id) == 1


def test_an_administrator_reads_but_acts_on_nothing(world):
    administrator = make.user(Roles.ADMINISTRATOR)
    item = dossier(world.procedure, world.applicant, S.submitted)
    job = batch.request(administrator, world.procedure, "start_review", [item.id])
    db.session.commit()
    job = batch.run(job.id)
    assert list(job.failures) == [str(item.id)] and state_of(item.id) == S.submitted


def test_two_runs_of_one_job_at_once_process_each_dossier_once(world):
    """A redelivered task while the first still runs: the job row's lock serialises them."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises whole transactions: the race needs PostgreSQL")
    items = [dossier(world.procedure, world.applicant, S.submitted) for _ in range(6)]
    numbers = [item.id for item in items]
    job_id = queue(world, "start_review", numbers)
    db.session.rollback()  # no transaction of this thread open while the runs race
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def work() -> None:
        with world.app.app_context():
            barrier.wait()
            try:
                batch.run(job_id)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    job = db.session.get(BatchJob, job_id)
    assert job.state == JobState.done and job.done == 6 and job.failures == {}
    assert [transitions(number) for number in numbers] == [1] * 6
    db.session.rollback()  # release the reads before the tables are emptied
