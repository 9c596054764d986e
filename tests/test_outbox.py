"""Side effects go through the outbox: carried out after commit, once, even when the
broker was down."""

import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OutboxEvent
from app.services import outbox
from conftest import TEST_REDIS_URL

calls: list[dict] = []


@outbox.handler("test.record")
def record(payload, event):
    if payload.get("fail"):
        raise RuntimeError("the receiving end is down")
    calls.append(payload)


@pytest.fixture(autouse=True)
def no_calls():
    calls.clear()


@pytest.fixture
def eager_app(make_app):
    return make_app(CELERY_BROKER_URL=None)


def events():
    return db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id)).all()


def test_a_committed_event_is_carried_out_when_the_app_context_ends(eager_app):
    with eager_app.app_context():
        outbox.enqueue("test.record", {"n": 1})
        db.session.commit()
        assert calls == []
    assert calls == [{"n": 1}]
    with eager_app.app_context():
        [event] = events()
        assert event.processed_at is not None and event.attempts == 0


def test_an_event_of_a_rolled_back_change_is_never_carried_out(eager_app):
    with eager_app.app_context():
        outbox.enqueue("test.record", {"n": 1})
        db.session.rollback()
    with eager_app.app_context():
        assert events() == []
        outbox.relay()
    assert calls == []


def test_an_event_is_carried_out_once_however_often_it_is_delivered(eager_app):
    with eager_app.app_context():
        event = outbox.enqueue("test.record", {"n": 1})
        db.session.commit()
        event_id = event.id
    with eager_app.app_context():
        outbox.process(event_id)
        outbox.process(event_id)
    assert calls == [{"n": 1}]


def test_with_the_broker_down_the_change_is_kept_and_the_relay_delivers_later(make_app, eager_app):
    broken = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    with broken.app_context():
        outbox.enqueue("test.record", {"n": 1})
        db.session.commit()
    with broken.app_context():
        [event] = events()
        assert event.dispatched_at is None and event.last_error.startswith("broker")
    assert calls == []
    with eager_app.app_context():  # the broker is back
        assert outbox.relay() == 1
    assert calls == [{"n": 1}]


def test_a_failing_handler_is_retried_later_with_backoff(eager_app):
    with eager_app.app_context():
        outbox.enqueue("test.record", {"fail": True})
        db.session.commit()
    with eager_app.app_context():
        [event] = events()
        assert event.processed_at is None and event.dispatched_at is None
        assert event.attempts == 1 and "receiving end is down" in event.last_error
        assert event.available_at > event.created_at
        assert outbox.relay() == 0  # not due yet


def test_an_event_without_a_listener_is_marked_done(eager_app):
    with eager_app.app_context():
        outbox.enqueue("nobody.listens", {})
        db.session.commit()
    with eager_app.app_context():
        assert events()[0].processed_at is not None


@pytest.mark.skipif(not TEST_REDIS_URL, reason="needs GUICHET_TEST_REDIS_URL (a real broker)")
def test_a_real_worker_carries_out_events_through_redis(app):
    from celery.contrib.testing.worker import start_worker

    celery = app.extensions["celery"]
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with app.app_context():
            outbox.enqueue("test.record", {"n": 42})
            db.session.commit()
        deadline = time.monotonic() + 20
        while not calls and time.monotonic() < deadline:
            time.sleep(0.1)
    assert calls == [{"n": 42}]


def test_a_delayed_event_waits_for_the_relay(eager_app):
    from datetime import timedelta

    from app.models import utcnow

    with eager_app.app_context():
        outbox.enqueue("test.record", {"n": 7}, available_at=utcnow() + timedelta(minutes=5))
        db.session.commit()
    assert calls == []
    with eager_app.app_context():
        assert outbox.relay() == 0  # not due yet
        [event] = events()
        event.available_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert outbox.relay() == 1
    assert calls == [{"n": 7}]
