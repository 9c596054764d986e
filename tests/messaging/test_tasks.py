"""The broadcast's background task, released through the outbox."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import BatchJob, JobState, Message, OutboxEvent, Procedure
from app.services import outbox
from plugins.messaging import services, tasks

from .conftest import build_world


def request_broadcast(app, world, body: str = "La démarche ferme.") -> int:
    with app.app_context():
        procedure = db.session.get(Procedure, world.procedure_id)
        job = services.broadcast_to_drafts(procedure, world.user("agent"), body)
        db.session.commit()
        return job.id


def test_the_task_writes_the_messages_of_a_job(world):
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure_id)
        job = BatchJob(
            procedure_id=procedure.id,
            requested_by_id=world.people["agent"].id,
            action=services.BROADCAST_ACTION,
            params={"body": "Bonjour"},
            dossier_ids=[world.dossiers["draft"]],
            failures={},
        )
        db.session.add(job)
        db.session.commit()
        assert tasks.broadcast_to_drafts.run(job.id) == 1
        assert db.session.get(BatchJob, job.id).state == JobState.done


def test_with_the_broker_down_the_broadcast_waits_in_the_outbox(make_app):
    broken = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0", MESSAGING_NOTIFICATION_DELAY=0)
    world = build_world(broken)
    job_id = request_broadcast(broken, world)
    with broken.app_context():
        event = db.session.scalar(
            sa.select(OutboxEvent).where(OutboxEvent.topic == services.BROADCAST_TOPIC)
        )
        assert event.dispatched_at is None and event.last_error.startswith("broker")
        assert db.session.get(BatchJob, job_id).state == JobState.pending
        assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0
    eager = make_app(CELERY_BROKER_URL=None, MESSAGING_NOTIFICATION_DELAY=0)
    with eager.app_context():  # the broker is back: the relay hands the job over
        assert outbox.relay() >= 1
    with eager.app_context():
        assert db.session.get(BatchJob, job_id).state == JobState.done
        [message] = db.session.scalars(sa.select(Message)).all()
        assert message.dossier_id == world.dossiers["draft"]
