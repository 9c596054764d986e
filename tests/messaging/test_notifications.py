"""Notification mails: grouped, to the right people, once, through the outbox."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Follow,
    Message,
    NotificationPreference,
    OutboxEvent,
    instructor_group_member,
)
from app.services import outbox
from plugins.messaging import notifications, services
from plugins.messaging.models import MessageNotification

from .conftest import mails, make_due, text_of


def post(world, name: str, body: str, dossier: str = "in_review", **kwargs) -> int:
    """Post as ``name`` in a request-like app context of its own, committed."""
    with world.app.app_context():
        message = services.post_message(world.dossier(dossier), world.user(name), body, **kwargs)
        db.session.commit()
        return message.id


def test_an_agents_message_mails_the_owner_and_each_co_editor_separately(world):
    post(world, "agent", "Bonjour, il manque une pièce.")
    written = mails(world.app)
    assert sorted(mail["To"] for mail in written) == sorted(
        [world.people["owner"].email, world.people["coeditor"].email]
    )
    for mail in written:
        assert f"n° {world.dossiers['in_review']}" in mail["Subject"]
        assert "il manque une pièce" not in text_of(mail)  # read on the site, not by mail


def test_several_messages_within_the_delay_make_one_mail_per_person(delayed_world):
    world = delayed_world
    for text in ("Premier message", "Deuxième message", "Troisième message"):
        post(world, "agent", text)
    assert mails(world.app) == []  # nothing leaves before the delay
    with world.app.app_context():
        assert outbox.relay() == 0  # not due yet
    assert make_due(world.app) == 3
    written = mails(world.app)
    assert sorted(mail["To"] for mail in written) == sorted(
        [world.people["owner"].email, world.people["coeditor"].email]
    )
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MessageNotification.message_id))) == 0
        events = db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.topic == notifications.TOPIC)
        ).all()
        assert all(event.processed_at is not None for event in events)
    assert make_due(world.app) == 0
    assert len(mails(world.app)) == 2


def test_a_redelivered_event_sends_nothing_twice(delayed_world):
    world = delayed_world
    post(world, "agent", "Bonjour")
    make_due(world.app)
    with world.app.app_context():
        [event] = db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.topic == notifications.TOPIC)
        ).all()
        notifications.notify(event.payload, event)  # as if delivered again
        db.session.commit()
    assert len(mails(world.app)) == 2


def test_a_message_read_on_the_site_before_the_mail_leaves_is_not_mailed(delayed_world):
    world = delayed_world
    post(world, "agent", "Bonjour")
    with world.app.app_context():
        services.mark_seen(world.user("owner"), world.dossier())
        db.session.commit()
    make_due(world.app)
    assert [mail["To"] for mail in mails(world.app)] == [world.people["coeditor"].email]


def test_a_message_deleted_before_the_mail_leaves_is_not_mailed(delayed_world):
    world = delayed_world
    message_id = post(world, "agent", "Oups, pas le bon dossier")
    with world.app.app_context():
        services.delete_message(db.session.get(Message, message_id), world.user("agent"))
        db.session.commit()
    make_due(world.app)
    assert mails(world.app) == []


def test_a_correction_request_uses_the_correction_mail(world):
    post(world, "agent", "Le plan est illisible.", correction_reason="incorrect")
    [first, *_] = mails(world.app)
    assert "corriger" in text_of(first) or "corriger" in first["Subject"]


def test_an_applicants_message_mails_the_following_agents_who_want_it(world):
    with world.app.app_context():
        dossier = world.dossier()
        # The colleague follows too, but turned message mails off for this procedure.
        db.session.add(Follow(dossier_id=dossier.id, user_id=world.people["colleague"].id))
        db.session.add(
            NotificationPreference(
                user_id=world.people["colleague"].id,
                procedure_id=dossier.procedure_id,
                on_new_message=False,
            )
        )
        db.session.commit()
    post(world, "owner", "J'ai une question.")
    [mail] = mails(world.app)
    assert mail["To"] == world.people["agent"].email
    body = text_of(mail)
    with world.app.app_context():
        assert world.dossier().procedure.title in body
    assert f"/dossiers/{world.dossiers['in_review']}/messages" in body


def test_an_agent_who_left_the_group_is_not_mailed(world):
    with world.app.app_context():
        db.session.execute(
            sa.delete(instructor_group_member).where(
                instructor_group_member.c.user_id == world.people["agent"].id
            )
        )
        db.session.commit()
    post(world, "owner", "J'ai une question.")
    assert mails(world.app) == []


def test_nobody_is_mailed_about_their_own_message(world):
    post(world, "coeditor", "Je complète.")
    assert [mail["To"] for mail in mails(world.app)] == [world.people["agent"].email]


def test_the_link_in_agent_mails_uses_the_public_address(world):
    with world.app.app_context():
        link = notifications.thread_link(world.dossier())
    assert link == f"http://127.0.0.1:5000/dossiers/{world.dossiers['in_review']}/messages"
