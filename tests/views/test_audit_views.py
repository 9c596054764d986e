"""The journals: a procedure's administrators read its audit log, nobody else does; the
platform admin reads the whole log with addresses; filters and pages (issue G9)."""

from __future__ import annotations

import pytest
from audit_helpers import wire

import factories as make
from app import workflow
from app.extensions import db
from app.models import DossierState, FieldDefinition
from app.security import Roles
from app.services import audit


@pytest.fixture
def world(make_app):
    app = wire(make_app())
    with app.app_context():
        administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        other_administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        agent = make.user(Roles.AGENT, can_log_in=True)
        admin = make.user(Roles.ADMIN, can_log_in=True)
        applicant = make.user(Roles.APPLICANT)
        procedure = make.procedure(make.administration(administrator), agent)
        other = make.procedure(make.administration(other_administrator))
        db.session.add(
            FieldDefinition(
                revision_id=procedure.published_revision_id,
                stable_id="revenu",
                type="integer",
                label="Revenu fiscal de référence",
            )
        )
        dossier = make.dossier(procedure, applicant, DossierState.submitted)
        foreign = make.dossier(other, applicant, DossierState.submitted)
        workflow.apply(dossier, workflow.Event.start_review, agent)
        workflow.apply(foreign, workflow.Event.start_review, None)
        db.session.commit()
        dossier.answers = {"revenu": 23456}
        db.session.commit()
        with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.44"}):
            audit.record("test.from_address", "thing", 1, procedure_id=procedure.id)
            db.session.commit()
        return {
            "app": app,
            "administrator": administrator.email,
            "other_administrator": other_administrator.email,
            "agent": agent.email,
            "admin": admin.email,
            "procedure": procedure.id,
            "other": other.id,
            "dossier": dossier.id,
            "foreign": foreign.id,
        }


def client_of(world, who: str):
    client = world["app"].test_client()
    make.login(client, world[who])
    return client


def test_an_administrator_reads_the_journal_of_their_procedure_only(world):
    client = client_of(world, "administrator")
    page = client.get(f"/procedures/{world['procedure']}/journal")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Dossier n° {world['dossier']}" in html
    assert f"Dossier n° {world['foreign']}" not in html
    assert "Revenu fiscal de référence" in html  # the field's label …
    assert "23456" not in html  # … never its value
    assert "192.0.2.44" not in html  # addresses are for the platform admin
    assert client.get(f"/procedures/{world['other']}/journal").status_code == 404
    assert client.get("/procedures/999999/journal").status_code == 404


def test_people_without_the_permission_do_not_read_a_journal(world):
    agent = client_of(world, "agent")
    denied = agent.get(f"/procedures/{world['procedure']}/journal")
    assert denied.status_code in (302, 403)
    assert f"Dossier n° {world['dossier']}" not in denied.get_data(as_text=True)
    assert agent.get("/admin/journal/").status_code in (302, 403)
    administrator = client_of(world, "administrator")
    assert administrator.get("/admin/journal/").status_code in (302, 403)
    anonymous = world["app"].test_client().get(f"/procedures/{world['procedure']}/journal")
    assert anonymous.status_code == 302 and "/login/" in anonymous.headers["Location"]


def test_the_platform_admin_reads_the_whole_log_with_addresses(world):
    client = client_of(world, "admin")
    html = client.get("/admin/journal/").get_data(as_text=True)
    assert f"Dossier n° {world['dossier']}" in html
    assert f"Dossier n° {world['foreign']}" in html
    assert "192.0.2.44" in html
    assert "Guichet (automatic)" in html or "Guichet (automatique)" in html
    assert client.get(f"/procedures/{world['other']}/journal").status_code == 200


def test_the_journal_filters_by_action_and_by_dossier(world):
    client = client_of(world, "admin")
    changes = client.get(
        "/admin/journal/", query_string={"action": audit.Action.ANSWERS_CHANGED}
    ).get_data(as_text=True)
    assert changes.count("<tr>") == 2  # the header and the one change of answers
    assert "Revenu fiscal de référence" in changes
    one = client.get("/admin/journal/", query_string={"dossier": world["foreign"]})
    html = one.get_data(as_text=True)
    assert f"Dossier n° {world['foreign']}" in html
    assert f"Dossier n° {world['dossier']}" not in html


def test_the_journal_reads_newest_first_fifty_a_page(world):
    app = world["app"]
    with app.app_context():
        for number in range(60):
            audit.record("test.page", "thing", number, procedure_id=world["procedure"])
        db.session.commit()
    client = client_of(world, "administrator")
    url = f"/procedures/{world['procedure']}/journal"
    first = client.get(url, query_string={"action": "test.page"}).get_data(as_text=True)
    assert "thing 59<" in first and "thing 10<" in first and "thing 9<" not in first
    assert first.count("<tr>") == 51
    assert "before=" in first
    next_url = first.split('class="next"><a href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert second.count("<tr>") == 11
    assert "thing 9<" in second and "thing 0<" in second and "thing 10<" not in second
