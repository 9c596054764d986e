"""Batch actions through HTTP, as agents use them: the table's checkboxes and chooser, the
job page with its per-dossier results, and what is refused."""

import re

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, group, procedure_with_form

import factories as make
from app.extensions import db
from app.models import AdministrationMember, BatchJob, Dossier, StateTransition
from app.security import Roles
from app.services import search


@pytest.fixture
def app(make_app):
    """Jobs run as they are asked (Celery eager), whatever broker the suite is given."""
    return make_app(CELERY_BROKER_URL=None)


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context():
        me, stranger = agent(), agent()
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        procedure = procedure_with_form(me)
        group(procedure, "Groupe B").members.append(stranger)
        db.session.add(
            AdministrationMember(
                administration_id=procedure.administration_id, user_id=administrator.id
            )
        )
        first = dossier(procedure, applicant, S.in_review)
        second = dossier(procedure, applicant, S.in_review)
        submitted = dossier(procedure, applicant, S.submitted)
        theirs = dossier(procedure, applicant, S.in_review, group_=group(procedure, "Groupe B"))
        return {
            "me": me.username,
            "stranger": stranger.username,
            "administrator": administrator.username,
            "pid": procedure.id,
            "first": first.id,
            "second": second.id,
            "submitted": submitted.id,
            "theirs": theirs.id,
        }


def state_of(app, number: int) -> S:
    with app.app_context():
        return db.session.get(Dossier, number).state


def post_batch(client, world, **data):
    return client.post(f"/instruction/procedures/{world['pid']}/batch", data=data)


def test_the_table_offers_a_labelled_checkbox_per_row_select_all_and_the_actions(client, world):
    make.login(client, world["me"])
    html = client.get(f"/instruction/procedures/{world['pid']}/?tab=all").get_data(as_text=True)
    for number in (world["first"], world["second"], world["submitted"]):
        assert f'id="select-{number}"' in html
        assert re.search(rf'<label for="select-{number}"[^>]*>[^<]*{number}', html)
    assert f'id="select-{world["theirs"]}"' not in html
    assert 'id="batch-all"' in html and 'name="action"' in html
    assert 'value="refuse"' in html and 'value="message"' in html
    assert "guichet/batch.js" in html and "<script>" not in html


def test_an_administrator_reads_the_table_without_batch_actions(client, world):
    make.login(client, world["administrator"])
    html = client.get(f"/instruction/procedures/{world['pid']}/?tab=all").get_data(as_text=True)
    assert 'id="batch-form"' not in html and "batch-select" not in html
    response = post_batch(client, world, action="follow", dossiers=[world["first"]])
    assert response.status_code in (302, 403)
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BatchJob)) == 0


def test_a_batch_with_failures_shows_each_failure_and_touches_nothing_outside_scope(
    app, client, world
):
    make.login(client, world["me"])
    response = post_batch(
        client,
        world,
        action="accept",
        motivation="Complet",
        dossiers=[world["first"], world["submitted"], world["theirs"], world["second"]],
        request_key="once-" + "x" * 20,
    )
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert "/instruction/batches/" in job_url
    html = client.get(job_url).get_data(as_text=True)
    assert f'<th scope="row">{world["submitted"]}</th>' in html
    assert f'<th scope="row">{world["theirs"]}</th>' in html
    assert "existe pas" in html and "Déposé" in html  # the reasons, in French
    assert state_of(app, world["first"]) == state_of(app, world["second"]) == S.accepted
    assert state_of(app, world["theirs"]) == S.in_review
    with app.app_context():
        assert not db.session.scalar(
            sa.select(sa.func.count()).where(StateTransition.dossier_id == world["theirs"])
        )
    # the same form posted again (a double click) shows the same job, runs nothing more
    again = post_batch(
        client,
        world,
        action="accept",
        motivation="Complet",
        dossiers=[world["first"]],
        request_key="once-" + "x" * 20,
    )
    assert again.headers["Location"] == job_url


def test_refusing_without_motivation_is_refused_on_the_table_with_the_reason(app, client, world):
    make.login(client, world["me"])
    response = post_batch(client, world, action="refuse", dossiers=[world["first"]])
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/instruction/procedures/{world['pid']}/"
    )
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "motivation est obligatoire" in html or "motivation" in html
    assert state_of(app, world["first"]) == S.in_review


def test_more_than_500_dossiers_are_refused_with_a_clear_message(app, client, world):
    make.login(client, world["me"])
    response = post_batch(client, world, action="follow", dossiers=list(range(1, 502)))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "500" in html and "501" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BatchJob)) == 0


def test_select_all_on_this_page_takes_the_pages_dossiers_without_script(app, client, world):
    make.login(client, world["me"])
    response = post_batch(
        client,
        world,
        action="follow",
        all_on_page="1",
        page_dossiers=[world["first"], world["second"]],
    )
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"n° {world['first']}" in html and f"n° {world['second']}" in html


def test_another_agents_job_and_another_groups_procedure_answer_404(app, client, world):
    make.login(client, world["me"])
    response = post_batch(client, world, action="follow", dossiers=[world["first"]])
    job_url = response.headers["Location"]
    assert client.get(job_url).status_code == 200
    client.get("/logout/")
    make.login(client, world["stranger"])
    assert client.get(job_url).status_code == 404
    with app.app_context():
        other = procedure_with_form(agent())
        other_id = other.id
    response = client.post(
        f"/instruction/procedures/{other_id}/batch",
        data={"action": "follow", "dossiers": [world["first"]]},
    )
    assert response.status_code == 404


def test_the_job_page_names_the_state_and_reloads_by_a_link_while_running(app, client, world):
    make.login(client, world["me"])
    response = post_batch(client, world, action="start_review", dossiers=[world["submitted"]])
    with app.app_context():
        job = db.session.scalar(sa.select(BatchJob))
        job.state, job.done = "running", 0
        db.session.commit()
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'role="status"' in html and "data-refresh" in html
    assert "<progress" in html and 'for="batch-bar"' in html
