"""Webhooks: a procedure's events posted, signed, to a real local HTTP server through the
outbox; failures retried with exponential backoff, then the webhook disabled with a mail;
the delivery log and "redeliver" in the back office; private targets refused (issue G8)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
import sqlalchemy as sa

import factories as make
from app import signals
from app.extensions import db
from app.models import OutboxEvent, Webhook, WebhookDelivery, utcnow
from app.services import outbox, webhooks

from .conftest import build_world, dossier, mails


def add_webhook(world, url: str, events: list[str] | None = None) -> int:
    client = world.client()
    make.login(client, world.administrator)
    response = client.post(
        "/admin/integrations/webhooks/new",
        data={
            "procedure": str(world.procedure),
            "url": url,
            "events": events or list(webhooks.EVENTS),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with world.app.app_context():
        return db.session.scalar(sa.select(Webhook.id).order_by(Webhook.id.desc()))


def start_review(world, name: str = "submitted") -> None:
    response = world.client().post(
        f"/api/v1/dossiers/{world.dossiers[name]}/state",
        json={"event": "start_review"},
        headers=world.headers(),
    )
    assert response.status_code == 200, response.json


def deliveries(world) -> list[WebhookDelivery]:
    with world.app.app_context():
        rows = list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def relay_due(world) -> None:
    """Play the beat's relay as if the retries' waits had passed."""
    with world.app.app_context():
        db.session.execute(
            sa.update(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None))
            .values(available_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        outbox.relay()


def test_a_state_change_is_delivered_signed_to_a_real_server(world, receiver):
    hook_id = add_webhook(world, receiver.url)
    start_review(world)
    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    assert received.headers["X-Guichet-Event"] == "dossier.state_changed"
    payload = received.json()
    assert payload["event"] == "dossier.state_changed"
    assert payload["dossier"] == {"number": world.dossiers["submitted"], "state": "in_review"}
    assert payload["procedure"]["id"] == world.procedure
    assert payload["transition"] == {
        "event": "start_review",
        "from": "submitted",
        "to": "in_review",
    }
    assert payload["id"] == received.headers["X-Guichet-Delivery"]
    # the receiver's check, written independently of the service
    with world.app.app_context():
        secret = db.session.get(Webhook, hook_id).secret
    parts = dict(item.split("=", 1) for item in received.headers["X-Guichet-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert webhooks.verify(secret, received.headers["X-Guichet-Signature"], received.body)
    assert not webhooks.verify(
        "wrong-secret", received.headers["X-Guichet-Signature"], received.body
    )
    assert not webhooks.verify(
        secret, received.headers["X-Guichet-Signature"], received.body + b" "
    )
    [delivery] = deliveries(world)
    assert delivery.status_code == 200 and delivery.delivered_at is not None
    assert delivery.attempts == 1


def test_only_the_chosen_events_are_sent_and_messages_and_submissions_have_theirs(world, receiver):
    add_webhook(world, receiver.url, [webhooks.MESSAGE_CREATED, webhooks.SUBMITTED])
    start_review(world)
    assert receiver.requests == []
    response = world.client().post(
        f"/api/v1/dossiers/{world.dossiers['in_review']}/messages",
        json={"body": "Bonjour"},
        headers=world.headers(),
    )
    assert response.status_code == 201
    assert [r.json()["event"] for r in receiver.requests] == ["message.created"]
    assert receiver.requests[0].json()["message"]["author_kind"] == "agent"
    with world.app.app_context():
        signals.dossier_submitted.send(world.app, dossier=dossier(world, "submitted"), first=True)
        db.session.commit()
    assert [r.json()["event"] for r in receiver.requests][-1] == "dossier.submitted"


def test_a_failing_receiver_is_retried_with_growing_waits_then_succeeds(world, receiver):
    add_webhook(world, receiver.url)
    receiver.status = 500
    before = utcnow()
    start_review(world)
    [delivery] = deliveries(world)
    assert (delivery.attempts, delivery.status_code, delivery.delivered_at) == (1, 500, None)
    first_wait = delivery.next_attempt_at - before
    assert timedelta(seconds=85) < first_wait < timedelta(seconds=100)
    relay_due(world)
    [delivery] = deliveries(world)
    assert delivery.attempts == 2
    second_wait = delivery.next_attempt_at - utcnow()
    assert timedelta(seconds=170) < second_wait < timedelta(seconds=185)
    receiver.status = 204
    relay_due(world)
    [delivery] = deliveries(world)
    assert delivery.attempts == 3 and delivery.status_code == 204
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert len(receiver.requests) == 3
    assert len({r.headers["X-Guichet-Delivery"] for r in receiver.requests}) == 1
    with world.app.app_context():
        assert db.session.scalar(sa.select(Webhook.consecutive_failures)) == 0
    assert sum(webhooks.RETRY_DELAYS, timedelta()) > timedelta(hours=24)


def test_repeated_failures_disable_the_webhook_and_mail_the_administrators(make_app, receiver):
    world = build_world(
        make_app(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_MAX_FAILURES=3, CELERY_BROKER_URL=None)
    )
    add_webhook(world, receiver.url)
    receiver.status = 503
    start_review(world)
    relay_due(world)
    relay_due(world)
    with world.app.app_context():
        hook = db.session.scalar(sa.select(Webhook))
        assert not hook.enabled and hook.disabled_at is not None
        assert hook.consecutive_failures == 3
    [delivery] = deliveries(world)
    assert delivery.attempts == 3 and delivery.next_attempt_at is None
    relay_due(world)
    assert len(receiver.requests) == 3  # nothing more is sent
    sent = [text for text in mails(world.app) if "Webhook" in text]
    assert len(sent) == 1 and world.administrator in sent[0]
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 1


def test_the_delivery_log_shows_status_codes_and_redelivers(world, receiver):
    hook_id = add_webhook(world, receiver.url)
    receiver.status = 418
    start_review(world)
    client = world.client()
    make.login(client, world.administrator)
    page = client.get(f"/admin/integrations/webhooks/{hook_id}").get_data(as_text=True)
    assert "418" in page and "dossier.state_changed" in page
    [delivery] = deliveries(world)
    receiver.status = 200
    assert client.post(f"/admin/integrations/deliveries/{delivery.id}/redeliver").status_code == 302
    assert len(receiver.requests) == 2
    [delivery] = deliveries(world)
    assert delivery.status_code == 200 and delivery.delivered_at is not None
    page = client.get(f"/admin/integrations/webhooks/{hook_id}").get_data(as_text=True)
    assert ">200<" in page


def test_another_administrator_cannot_see_or_touch_the_webhook(world, receiver):
    hook_id = add_webhook(world, receiver.url)
    start_review(world)
    [delivery] = deliveries(world)
    client = world.client()
    make.login(client, world.other_administrator)
    assert client.get(f"/admin/integrations/webhooks/{hook_id}").status_code == 404
    assert client.post(f"/admin/integrations/webhooks/{hook_id}/delete").status_code == 404
    assert client.post(f"/admin/integrations/deliveries/{delivery.id}/redeliver").status_code == 404
    refused = client.post(
        "/admin/integrations/webhooks/new",
        data={
            "procedure": str(world.procedure),
            "url": receiver.url,
            "events": ["message.created"],
        },
    )
    assert refused.status_code in (404, 422)
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Webhook)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.org/hook",
        "https://user:pass@example.org/hook",
    ],
)
def test_private_and_odd_targets_are_refused(make_app, url):
    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context(), pytest.raises(webhooks.WebhookError):
        webhooks.check_url(url)


def test_the_form_refuses_a_private_target_and_delivery_rechecks_it(make_app, receiver):
    world = build_world(make_app(CELERY_BROKER_URL=None))
    client = world.client()
    make.login(client, world.administrator)
    response = client.post(
        "/admin/integrations/webhooks/new",
        data={
            "procedure": str(world.procedure),
            "url": receiver.url,
            "events": ["dossier.state_changed"],
        },
    )
    assert response.status_code == 422
    assert "127.0.0.1" in response.get_data(as_text=True)
    # one saved while allowed, delivered once it no longer is: refused, nothing sent
    with world.app.app_context():
        db.session.add(
            Webhook(
                procedure_id=world.procedure,
                url=receiver.url,
                secret="s" * 64,
                events=["dossier.state_changed"],
            )
        )
        db.session.commit()
    start_review(world)
    assert receiver.requests == []
    [delivery] = deliveries(world)
    assert delivery.status_code is None and "(127.0.0.1)" in delivery.error
