"""The thread's pages: who sees and writes what (404 for everyone else), posting with
several files without script, hostile text shown inert, deletion, the broadcast page, CSRF
and the rate limit."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from flask import url_for

from app.extensions import db
from app.models import Attachment, BatchJob, DossierState, Message
from plugins.messaging import services

from .conftest import PDF, build_world


def thread_url(world, name: str = "in_review") -> str:
    return f"/dossiers/{world.dossiers[name]}/messages"


def messages(world) -> list[Message]:
    with world.app.app_context():
        return db.session.scalars(sa.select(Message).order_by(Message.id)).all()


# ---------------------------------------------------------------------------------------
# Who sees, who writes

WRITERS = ["owner", "coeditor", "agent", "colleague"]
READERS = ["administrator", "admin"]
OUTSIDERS = ["invited", "stranger", "other_agent", "expert", "revoked_expert", "other_expert"]
OUTSIDERS += ["other_administrator"]


@pytest.mark.parametrize("name", WRITERS + READERS)
def test_the_thread_opens_for_those_who_take_part_or_oversee(world, name):
    client = world.client(name)
    page = client.get(thread_url(world))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ('name="body"' in html) == (name in WRITERS)


@pytest.mark.parametrize("name", OUTSIDERS)
def test_everyone_else_gets_the_same_404_as_for_a_missing_dossier(world, name):
    client = world.client(name)
    assert client.get(thread_url(world)).status_code == 404
    assert client.post(thread_url(world), data={"body": "Bonjour"}).status_code == 404
    assert client.get("/dossiers/999999/messages").status_code == 404
    assert messages(world) == []


@pytest.mark.parametrize("name", READERS)
def test_overseers_read_but_a_forged_post_is_refused(world, name):
    client = world.client(name)
    assert client.post(thread_url(world), data={"body": "Bonjour"}).status_code == 404
    assert messages(world) == []


def test_a_stranger_does_not_reach_another_administrations_thread(world):
    client = world.client("agent")
    assert client.get(thread_url(world, "foreign")).status_code == 404
    owner = world.client("owner")
    assert owner.get(thread_url(world, "foreign")).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in_whatever_the_number(world):
    client = world.app.test_client()
    with world.app.test_request_context():
        login = url_for("public_forms.login")
    for url in (thread_url(world), "/dossiers/999999/messages"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == f"{login}?next={url}"
    assert client.post(thread_url(world), data={"body": "x"}).status_code == 302
    assert messages(world) == []


def test_an_expert_writes_only_when_the_procedure_allows_it(world):
    client = world.client("expert")
    assert client.get(thread_url(world)).status_code == 404
    with world.app.app_context():
        world.dossier().procedure.experts_can_message = True
        db.session.commit()
    page = client.get(thread_url(world))
    assert page.status_code == 200 and "appbuilder" in page.get_data(as_text=True)
    response = client.post(thread_url(world), data={"body": "Mon avis"})
    assert response.status_code == 303
    [message] = messages(world)
    assert message.author_kind.value == "expert"


@pytest.mark.parametrize("name", ["draft", "archived", "hidden"])
def test_a_draft_an_archived_or_a_deleted_dossier_takes_no_message(world, name):
    client = world.client("owner")
    page = client.get(thread_url(world, name))
    assert page.status_code == 200
    assert 'name="body"' not in page.get_data(as_text=True)
    response = client.post(thread_url(world, name), data={"body": "Bonjour"})
    assert response.status_code == 409
    assert messages(world) == []


def test_applicants_get_the_portal_and_agents_the_back_office(world):
    applicant = world.client("owner").get(thread_url(world)).get_data(as_text=True)
    agent = world.client("agent").get(thread_url(world)).get_data(as_text=True)
    assert "uswds" in applicant and "appbuilder" not in applicant
    assert "appbuilder" in agent and "uswds" not in agent


# ---------------------------------------------------------------------------------------
# Posting


def test_a_message_is_posted_by_a_plain_form_and_shown_at_the_bottom(world):
    client = world.client("owner")
    client.post(thread_url(world), data={"body": "Premier"})
    response = client.post(thread_url(world), data={"body": "Second"})
    assert response.status_code == 303
    [first, second] = messages(world)
    assert response.headers["Location"].endswith(f"#message-{second.id}")
    html = client.get(thread_url(world)).get_data(as_text=True)
    assert html.index("Premier") < html.index("Second")


def test_several_files_go_with_one_message_in_the_same_request(world):
    client = world.client("owner")
    response = client.post(
        thread_url(world),
        data={
            "body": "Voici les pièces",
            "files": [
                (io.BytesIO(PDF + b"1"), "plan.pdf"),
                (io.BytesIO(PDF + b"2"), "devis.pdf"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    [message] = messages(world)
    with world.app.app_context():
        names = db.session.scalars(
            sa.select(Attachment.original_name).where(Attachment.message_id == message.id)
        ).all()
    assert sorted(names) == ["devis.pdf", "plan.pdf"]
    html = world.client("agent").get(thread_url(world)).get_data(as_text=True)
    assert "plan.pdf" in html and "devis.pdf" in html


def test_a_refused_file_sends_nothing_and_keeps_the_typed_text(world):
    client = world.client("owner")
    response = client.post(
        thread_url(world),
        data={
            "body": "Mon texte précieux",
            "files": [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"MZ\x90\x00" * 64), "virus.exe")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Mon texte précieux" in html and 'id="error-summary"' in html
    assert messages(world) == []
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_a_too_long_message_is_refused_with_a_clear_message_and_kept(world):
    client = world.client("owner")
    text = "x" * (services.MAX_LENGTH + 5)
    response = client.post(thread_url(world), data={"body": text})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert text in html
    assert 'aria-invalid="true"' in html and 'id="thread-body-error"' in html
    assert messages(world) == []


HOSTILE = [
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">clic</a> javascript:alert(2)',
    "</textarea><script>alert(3)</script>",
    "&lt;script&gt;alert(4)&lt;/script&gt;",
]


@pytest.mark.parametrize("side", ["owner", "agent"])
def test_hostile_text_is_shown_inert_on_both_sides(world, side):
    writer = world.client("owner")
    for text in HOSTILE:
        assert writer.post(thread_url(world), data={"body": text}).status_code == 303
    html = world.client(side).get(thread_url(world)).get_data(as_text=True)
    thread = html[html.index('id="thread-title"') : html.index('id="write-title"')]
    assert "<script" not in thread and "<img" not in thread
    assert "javascript:" not in "".join(re.findall(r'href="([^"]*)"', thread))
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in thread
    assert "&amp;lt;script&amp;gt;alert(4)" in thread  # entities shown as typed


def test_hostile_text_kept_after_an_error_stays_inside_the_textarea(world):
    client = world.client("owner")
    text = "</textarea><script>alert(1)</script>" + "x" * services.MAX_LENGTH
    html = client.post(thread_url(world), data={"body": text}).get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


def test_an_agent_asks_for_a_correction_and_the_applicant_sees_what_to_fix(world):
    agent = world.client("agent")
    response = agent.post(
        thread_url(world),
        data={"body": "Le plan de masse manque.", "correction_reason": "incomplete"},
    )
    assert response.status_code == 303
    with world.app.app_context():
        assert world.dossier().state == DossierState.submitted
    html = world.client("owner").get(thread_url(world)).get_data(as_text=True)
    banner = html[html.index('id="correction-title"') : html.index('id="thread-title"')]
    assert "Le plan de masse manque." in banner
    assert "/formulaire" in banner  # the way to correct the dossier
    agent_page = agent.get(thread_url(world)).get_data(as_text=True)
    assert "alert-warning" in agent_page  # the agent sees it pending


def test_only_agents_are_offered_correction_requests(world):
    assert 'name="correction_reason"' in world.client("agent").get(thread_url(world)).text
    assert 'name="correction_reason"' not in world.client("owner").get(thread_url(world)).text
    response = world.client("owner").post(
        thread_url(world), data={"body": "Corrigez-vous", "correction_reason": "incorrect"}
    )
    assert response.status_code == 400
    assert messages(world) == []


def test_opening_the_thread_marks_new_messages_read(world):
    world.client("agent").post(thread_url(world), data={"body": "Bonjour"})
    owner = world.client("owner")
    assert "guichet-new" in owner.get(thread_url(world)).text
    assert "guichet-new" not in owner.get(thread_url(world)).text
    with world.app.app_context():
        assert services.unread_count(world.user("owner"), world.dossier()) == 0


def test_hidden_agent_identities_show_as_agent_to_applicants(world):
    with world.app.app_context():
        world.dossier().procedure.hide_agent_identity = True
        db.session.commit()
    world.client("agent").post(thread_url(world), data={"body": "Bonjour"})
    email = world.people["agent"].email
    assert email not in world.client("owner").get(thread_url(world)).text
    assert email in world.client("colleague").get(thread_url(world)).text


# ---------------------------------------------------------------------------------------
# Deleting


def test_an_agent_deletes_their_message_after_confirming(world):
    agent = world.client("agent")
    agent.post(
        thread_url(world),
        data={"body": "Texte à retirer", "files": [(io.BytesIO(PDF), "erreur.pdf")]},
        content_type="multipart/form-data",
    )
    [message] = messages(world)
    confirm = agent.get(f"{thread_url(world)}/{message.id}/delete")
    assert confirm.status_code == 200 and "Texte à retirer" in confirm.text
    response = agent.post(f"{thread_url(world)}/{message.id}/delete")
    assert response.status_code == 303
    html = world.client("owner").get(thread_url(world)).text
    assert "Texte à retirer" not in html and "erreur.pdf" not in html
    assert "guichet-message__deleted" in html
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


@pytest.mark.parametrize("name", ["colleague", "owner", "stranger"])
def test_nobody_else_deletes_an_agents_message(world, name):
    world.client("agent").post(thread_url(world), data={"body": "À moi"})
    [message] = messages(world)
    client = world.client(name)
    assert client.get(f"{thread_url(world)}/{message.id}/delete").status_code == 404
    assert client.post(f"{thread_url(world)}/{message.id}/delete").status_code == 404
    assert messages(world)[0].deleted_at is None


def test_a_message_is_deleted_only_through_its_own_dossier(world):
    world.client("agent").post(thread_url(world), data={"body": "À moi"})
    [message] = messages(world)
    url = f"{thread_url(world, 'submitted')}/{message.id}/delete"
    assert world.client("agent").post(url).status_code == 404


# ---------------------------------------------------------------------------------------
# Broadcast


def broadcast_url(world, procedure_id: int | None = None) -> str:
    return f"/instruction/procedures/{procedure_id or world.procedure_id}/messages"


def test_an_agent_writes_to_every_draft_and_sees_the_progress(world):
    client = world.client("agent")
    page = client.get(broadcast_url(world))
    assert page.status_code == 200 and 'name="body"' in page.text
    response = client.post(broadcast_url(world), data={"body": "La démarche ferme le 31."})
    assert response.status_code == 303
    page = client.get(broadcast_url(world))
    assert "La démarche ferme le 31." in page.text
    [message] = messages(world)
    assert message.dossier_id == world.dossiers["draft"]
    html = world.client("owner").get(thread_url(world, "draft")).text
    assert "La démarche ferme le 31." in html and 'name="body"' not in html


@pytest.mark.parametrize("name", ["other_agent", "owner", "expert", "other_administrator"])
def test_the_broadcast_page_is_404_for_those_who_do_not_see_the_procedure(world, name):
    client = world.client(name)
    assert client.get(broadcast_url(world)).status_code == 404
    assert client.post(broadcast_url(world), data={"body": "Bonjour"}).status_code == 404
    assert client.get(broadcast_url(world, 999999)).status_code == 404
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BatchJob.id))) == 0


def test_an_empty_broadcast_is_refused(world):
    response = world.client("agent").post(broadcast_url(world), data={"body": "  "})
    assert response.status_code == 400 and 'id="error-summary"' in response.text


# ---------------------------------------------------------------------------------------
# CSRF and rate limit


@pytest.fixture
def protected_world(make_app):
    return build_world(make_app(CELERY_BROKER_URL=None, WTF_CSRF_ENABLED=True))


def _token(html: str) -> str:
    """The CSRF token of a page's form (ours, or FAB's login form)."""
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def test_a_post_without_the_csrf_token_is_refused(protected_world):
    world = protected_world
    client = world.app.test_client()
    with world.app.app_context():
        world.app.appbuilder.sm.reset_password(world.people["owner"].id, "a-long-test-password")
    login = client.get("/login/").text
    client.post(
        "/login/",
        data={
            "username": world.people["owner"].username,
            "password": "a-long-test-password",
            "csrf_token": _token(login),
        },
    )
    page = client.get(thread_url(world))
    assert page.status_code == 200
    assert client.post(thread_url(world), data={"body": "Sans jeton"}).status_code == 400
    assert messages(world) == []
    response = client.post(
        thread_url(world), data={"body": "Avec", "csrf_token": _token(page.text)}
    )
    assert response.status_code == 303
    assert [m.body for m in messages(world)] == ["Avec"]


def test_posting_is_rate_limited_per_person(world):
    client = world.client("owner")
    statuses = [
        client.post(thread_url(world), data={"body": f"Message {n}"}).status_code for n in range(21)
    ]
    assert statuses[:20] == [303] * 20 and statuses[20] == 429
