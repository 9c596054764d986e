"""Exports through HTTP: the table's export form, the exports page, the download."""

import csv
import io
import re

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, group, procedure_with_form

import factories as make
from app.extensions import db
from app.models import ExportFormat, ExportJob, JobState, SavedView, User
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
        applicant = make.user()
        procedure = procedure_with_form(me)
        group(procedure, "Groupe B").members.append(stranger)
        other = procedure_with_form(stranger)
        mine = dossier(procedure, applicant, S.submitted, answers={"title": "Médiathèque"})
        kermesse = dossier(procedure, applicant, S.in_review, answers={"title": "Kermesse"})
        theirs = dossier(
            procedure,
            applicant,
            S.submitted,
            group_=group(procedure, "Groupe B"),
            answers={"title": "Secret"},
        )
        db.session.add(
            SavedView(
                user_id=me.id,
                procedure_id=procedure.id,
                columns=["number", "field:title"],
                filters=[],
                sort={"column": "number", "direction": "asc"},
                tab="all",
            )
        )
        db.session.commit()
        names = {
            "me": me.username,
            "stranger": stranger.username,
            "procedure": procedure.id,
            "other": other.id,
            "mine": mine.id,
            "kermesse": kermesse.id,
            "theirs": theirs.id,
        }
    # Outside the app context: each request has its own, whose end hands the export to
    # (eager) Celery, as in production.
    return names


def ask(client, world, **form):
    data = {"format": "csv", "tab": "all", "sort": "number", "dir": "asc", **form}
    return client.post(f"/instruction/procedures/{world['procedure']}/export", data=data)


def only_job(app) -> ExportJob:
    with app.app_context():
        return db.session.scalars(sa.select(ExportJob)).one()


def test_the_table_offers_the_export_form_with_its_state(client, world):
    make.login(client, world["me"])
    page = client.get(f"/instruction/procedures/{world['procedure']}/?tab=all&q=kermesse")
    html = page.get_data(as_text=True)
    assert f'action="/instruction/procedures/{world["procedure"]}/export"' in html
    assert 'name="format"' in html and 'value="xlsx"' in html
    assert re.search(r'name="q" value="kermesse"', html)


def test_an_export_is_made_listed_and_downloaded_by_its_requester(app, client, world):
    make.login(client, world["me"])
    response = ask(client, world)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/instruction/exports/")
    job = only_job(app)
    assert job.state == JobState.done  # eager Celery ran it when the request ended
    listing = client.get("/instruction/exports/").get_data(as_text=True)
    download = f"/instruction/exports/{job.id}/download"
    assert download in listing and 'value="100"' in listing
    file = client.get(download)
    assert file.status_code == 200
    assert "attachment" in file.headers["Content-Disposition"]
    assert file.headers["Cache-Control"] == "private, no-store"
    rows = list(csv.reader(io.StringIO(file.get_data().decode("utf-8-sig")), delimiter=";"))
    assert [row[1] for row in rows[1:]] == ["Médiathèque", "Kermesse"]


def test_the_export_follows_the_search_and_sort_of_the_address(app, client, world):
    make.login(client, world["me"])
    ask(client, world, q="kermesse")
    job = only_job(app)
    file = client.get(f"/instruction/exports/{job.id}/download")
    rows = list(csv.reader(io.StringIO(file.get_data().decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows[1:]] == [str(world["kermesse"])]


def test_another_agent_gets_404_on_the_job_its_download_and_the_procedure(app, client, world):
    make.login(client, world["me"])
    ask(client, world)
    job = only_job(app)
    client.get("/logout/")
    make.login(client, world["stranger"])
    assert client.get(f"/instruction/exports/{job.id}/download").status_code == 404
    assert f"/instruction/exports/{job.id}/download" not in client.get(
        "/instruction/exports/"
    ).get_data(as_text=True)
    assert client.get("/instruction/exports/status").get_json() == {"jobs": []}
    # the stranger's own export of the same procedure holds their group's dossier only
    ask(client, world)
    with app.app_context():
        theirs = db.session.scalars(sa.select(ExportJob).where(ExportJob.id != job.id)).one()
    text = client.get(f"/instruction/exports/{theirs.id}/download").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [row[0] for row in rows[1:]] == [str(world["theirs"])]
    client.get("/logout/")
    make.login(client, world["me"])
    assert client.get(f"/instruction/exports/{theirs.id}/download").status_code == 404
    other = client.post(f"/instruction/procedures/{world['other']}/export", data={"format": "csv"})
    assert other.status_code == 404


def test_a_bad_format_is_refused_with_a_message_and_no_job(app, client, world):
    make.login(client, world["me"])
    response = ask(client, world, format="exe")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/instruction/procedures/{world['procedure']}/")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ExportJob.id))) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "alert-danger" in page


def test_the_status_route_gives_progress_as_json(app, client, world):
    make.login(client, world["me"])
    ask(client, world, format="json")
    status = client.get("/instruction/exports/status")
    assert status.headers["Cache-Control"] == "private, no-store"
    (job,) = status.get_json()["jobs"]
    assert job["state"] == "done" and job["done"] == job["total"] == 2
    assert job["percent"] == 100 and job["downloadable"] is True


def test_an_expired_export_is_no_longer_downloadable(app, client, world):
    make.login(client, world["me"])
    ask(client, world)
    job = only_job(app)
    with app.app_context():
        stored = db.session.get(ExportJob, job.id)
        stored.expires_at = stored.finished_at
        db.session.commit()
    assert client.get(f"/instruction/exports/{job.id}/download").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get("/instruction/exports/")
    assert response.status_code in (302, 401)


def test_a_running_export_shows_its_progress_and_a_reload_link_without_script(app, client, world):
    with app.app_context():
        me = db.session.scalar(sa.select(User).where(User.username == world["me"]))
        db.session.add(
            ExportJob(
                procedure_id=world["procedure"],
                requested_by_id=me.id,
                format=ExportFormat.xlsx,
                query={"procedure_id": world["procedure"]},
                state=JobState.running,
                total=10,
                done=5,
            )
        )
        db.session.commit()
    make.login(client, world["me"])
    html = client.get("/instruction/exports/").get_data(as_text=True)
    assert 'value="50"' in html
    assert 'data-status="/instruction/exports/status"' in html
    assert 'href="/instruction/exports/">' in html  # the reload link
    assert "/download" not in html
    assert re.search(r'<script src="[^"]*guichet/exports\.js" nonce="[^"]+"', html)
