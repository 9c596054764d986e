"""The plugin registers its pages, filter, signal receiver, outbox handlers and task."""

from __future__ import annotations

from app import signals
from app.services import outbox
from plugins.messaging import configure, notifications, services, tasks


def test_the_plugin_brings_its_pages_filter_handlers_and_task(app):
    endpoints = set(app.view_functions)
    assert {"messaging.thread", "messaging.delete", "messaging.broadcast"} <= endpoints
    assert "message_html" in app.jinja_env.filters
    assert notifications.TOPIC in outbox.HANDLERS
    assert services.BROADCAST_TOPIC in outbox.HANDLERS
    assert tasks.BROADCAST_TASK in app.extensions["celery"].tasks
    assert services.resolve_corrections in signals.dossier_submitted.receivers_for(app)


def test_notifications_wait_for_grouping_only_when_a_beat_can_relay_them(make_app):
    assert make_app(CELERY_BROKER_URL=None).config["MESSAGING_NOTIFICATION_DELAY"] == 0
    with_broker = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert with_broker.config["MESSAGING_NOTIFICATION_DELAY"] == 300
    assert make_app(MESSAGING_NOTIFICATION_DELAY=60).config["MESSAGING_NOTIFICATION_DELAY"] == 60


def test_configure_keeps_a_delay_the_app_sets(app):
    app.config["MESSAGING_NOTIFICATION_DELAY"] = 12
    configure(app)
    assert app.config["MESSAGING_NOTIFICATION_DELAY"] == 12
