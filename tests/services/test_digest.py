"""The agents' daily digest: one mail a day per agent who opted in, only about the dossiers
they see, nothing when nothing is new, never twice a day; and its preference page."""

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, group, procedure_with_form

import factories as make
from app.extensions import db
from app.models import AuthorKind, Message, NotificationPreference, OutboxEvent
from app.services import digest, search

PARIS = ZoneInfo("Europe/Paris")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=PARIS)


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me, stranger = agent(email="me@example.org"), agent(email="stranger@example.org")
        applicant = make.user()
        procedure = procedure_with_form(me)
        quiet = procedure_with_form(me)
        group(procedure, "Groupe B").members.append(stranger)
        db.session.commit()
        yield SimpleNamespace(
            me=me, stranger=stranger, applicant=applicant, procedure=procedure, quiet=quiet
        )


def digests(to: str | None = None) -> list[dict]:
    payloads = db.session.scalars(
        sa.select(OutboxEvent.payload)
        .where(OutboxEvent.topic == "mail.send", OutboxEvent.key.like("digest-%"))
        .order_by(OutboxEvent.id)
    ).all()
    return [payload for payload in payloads if to is None or to in payload["to"]]


def opt_in(person, procedure, sent_at=None):
    item = digest.set_preferences(person, procedure, daily_digest=True, on_new_message=True)
    item.digest_sent_at = sent_at
    db.session.commit()


def submitted_on(procedure, owner, moment, **extra):
    item = dossier(procedure, owner, S.submitted, **extra)
    item.submitted_at = moment
    db.session.commit()
    return item


def test_one_mail_covers_the_opted_in_procedures_with_what_is_new_and_only_once_a_day(world):
    opt_in(world.me, world.procedure, sent_at=at(27, 8))
    opt_in(world.me, world.quiet, sent_at=at(27, 8))
    new = submitted_on(world.procedure, world.applicant, at(27, 15))
    submitted_on(world.procedure, world.applicant, at(26, 15))  # covered by the last digest
    submitted_on(
        world.procedure, world.applicant, at(27, 16), group_=group(world.procedure, "Groupe B")
    )  # another group's: not mine to see
    db.session.add(
        Message(
            dossier_id=new.id,
            author_id=world.applicant.id,
            author_kind=AuthorKind.applicant,
            body="Bonjour",
            created_at=at(27, 17),
        )
    )
    db.session.commit()

    [news, quiet] = digest.news(world.me, [world.procedure.id, world.quiet.id], at(27, 8))
    assert (news.new_dossiers, news.new_messages) == (1, 1)  # not the other group's
    assert not quiet.is_new
    assert digest.send_due(now=at(28, 5)) == 0  # before the digest hour
    assert digest.send_due(now=at(28, 8)) == 1
    [mail] = digests("me@example.org")
    assert world.procedure.title in mail["body"] and world.quiet.title not in mail["body"]
    assert f"/instruction/procedures/{world.procedure.id}/" in mail["body"]
    assert digest.send_due(now=at(28, 9)) == 0  # never twice the same day
    assert digest.send_due(now=at(28, 23)) == 0
    assert digest.send_due(now=at(29, 8)) == 0  # nothing new since: no mail
    assert len(digests()) == 1
    stamps = db.session.scalars(sa.select(NotificationPreference.digest_sent_at)).all()
    assert all(stamp == at(29, 8) for stamp in stamps)


def test_nobody_who_did_not_opt_in_gets_a_digest(world):
    submitted_on(world.procedure, world.applicant, at(28, 7))
    digest.set_preferences(world.me, world.procedure, daily_digest=False, on_new_message=True)
    db.session.commit()
    assert digest.send_due(now=at(28, 9)) == 0 and digests() == []


def test_only_the_dossiers_the_agent_sees_count(world):
    opt_in(world.stranger, world.procedure)
    submitted_on(world.procedure, world.applicant, at(28, 6))  # group A: not theirs
    assert digest.send_due(now=at(28, 9)) == 0
    submitted_on(
        world.procedure, world.applicant, at(29, 6), group_=group(world.procedure, "Groupe B")
    )
    assert digest.send_due(now=at(29, 9)) == 1
    assert len(digests("stranger@example.org")) == 1


def test_a_race_of_two_runs_sends_one_mail(world):
    opt_in(world.me, world.procedure)
    submitted_on(world.procedure, world.applicant, at(28, 6))
    assert digest.send_one(world.me.id, at(28, 9)) == 1
    db.session.commit()
    # the other run had read the preferences before the first committed
    db.session.execute(sa.update(NotificationPreference).values(digest_sent_at=None))
    with pytest.raises(sa.exc.IntegrityError):
        digest.send_one(world.me.id, at(28, 10))
    db.session.rollback()
    assert len(digests()) == 1


def test_pending_corrections_are_told_with_the_news(world):
    opt_in(world.me, world.procedure)
    item = submitted_on(world.procedure, world.applicant, at(28, 6))
    db.session.add(
        Message(
            dossier_id=item.id,
            author_id=world.me.id,
            author_kind=AuthorKind.agent,
            body="Il manque le devis",
            created_at=at(28, 7),
            correction_reason="incomplete",
        )
    )
    db.session.commit()
    [news] = digest.news(world.me, [world.procedure.id], at(28, 0))
    assert (news.new_dossiers, news.new_messages, news.pending_corrections) == (1, 0, 1)


def test_the_preference_page_saves_the_digest_opt_in(app, client, world):
    make.login(client, world.me.username)
    url = f"/instruction/procedures/{world.procedure.id}/notifications"
    html = client.get(url).get_data(as_text=True)
    assert (
        'name="daily_digest"' in html and "checked" not in html.split('name="daily_digest"')[1][:40]
    )
    response = client.post(url, data={"daily_digest": "1", "on_new_message": "1"})
    assert response.status_code == 302
    item = db.session.scalar(
        sa.select(NotificationPreference).where(NotificationPreference.user_id == world.me.id)
    )
    db.session.refresh(item)
    assert item.daily_digest and item.on_new_message
    client.post(url, data={})
    db.session.refresh(item)
    assert not item.daily_digest and not item.on_new_message
    table = client.get(f"/instruction/procedures/{world.procedure.id}/").get_data(as_text=True)
    assert url in table


def test_the_preference_page_of_a_procedure_one_does_not_see_is_404(client, world):
    make.login(client, world.stranger.username)
    other = procedure_with_form(agent())
    assert client.get(f"/instruction/procedures/{other.id}/notifications").status_code == 404


def test_the_digest_and_the_batch_sweep_are_scheduled_tasks(app):
    celery = app.extensions["celery"]
    schedule = {entry["task"] for entry in celery.conf.beat_schedule.values()}
    assert {digest.TASK, "guichet.sweep_batch_jobs"} <= schedule
    assert {digest.TASK, "guichet.sweep_batch_jobs", "guichet.run_batch_job"} <= set(celery.tasks)
