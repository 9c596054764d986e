"""The HTTP side: upload (script and no-script), download, removal, dossier ZIP."""

import io
import re
import zipfile

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Attachment, AuditEvent, ScanStatus
from plugins.attachments import services

from .conftest import EXECUTABLE, PDF, PNG, build_world, pdf_of

UPLOAD = "/attachments/upload"


def raw_upload(client, world, content: bytes, name: str, **params):
    query = {"use": "form_field", "dossier": world.draft_id, "field": "pj", **params}
    url = UPLOAD + "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return client.post(
        url,
        data=content,
        headers={"Content-Type": "application/octet-stream", "X-File-Name": name},
    )


@pytest.fixture
def owner(world):
    client = world.app.test_client()
    world.login(client, "owner")
    return client


def test_the_portal_script_uploads_a_raw_body_and_gets_json(world, owner):
    response = raw_upload(owner, world, PDF, "Relev%C3%A9%20d%27identit%C3%A9.pdf")
    assert response.status_code == 201
    (described,) = response.json["files"]
    assert described["name"] == "Relevé d'identité.pdf"
    assert described["type"] == "application/pdf" and described["size"] == len(PDF)
    assert described["scan_status"] == "not_scanned" and response.json["errors"] == []
    with world.app.app_context():
        assert (
            db.session.get(Attachment, described["id"]).declared_type == "application/octet-stream"
        )


def test_a_refused_file_gets_a_message_in_the_applicants_language(world, owner):
    response = raw_upload(owner, world, EXECUTABLE, "facture.pdf")
    assert response.status_code == 400
    assert "refusé" in response.json["error"]  # French by default
    owner.get("/lang/en")
    response = raw_upload(owner, world, EXECUTABLE, "facture.pdf")
    assert "is refused" in response.json["error"]


def test_a_declared_length_over_the_limit_is_refused_before_reading(world, owner):
    response = raw_upload(owner, world, PNG + b"\0" * (2 * 1024 * 1024), "plan.png", field="plan")
    assert response.status_code == 413
    assert "1 Mo" in response.json["error"] or "1 MB" in response.json["error"]


def test_without_script_a_form_posts_several_files_and_comes_back(world, owner):
    response = owner.post(
        UPLOAD,
        data={
            "use": "form_field",
            "dossier": str(world.draft_id),
            "field": "pj",
            "next": "/portail/dossier",
            "file": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(EXECUTABLE), "b.pdf")],
        },
        content_type="multipart/form-data",
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 302 and response.location == "/portail/dossier"
    with owner.session_transaction() as session:
        flashes = [message for _category, message in session["_flashes"]]
    assert any("a.pdf" in text for text in flashes) and any("b.pdf" in text for text in flashes)
    with world.app.app_context():
        assert [a.original_name for a in db.session.query(Attachment)] == ["a.pdf"]


def test_the_form_never_redirects_elsewhere(world, owner):
    response = owner.post(
        UPLOAD,
        data={
            "use": "form_field",
            "dossier": str(world.draft_id),
            "field": "pj",
            "next": "//evil.example/",
            "file": [(io.BytesIO(PDF), "a.pdf")],
        },
        content_type="multipart/form-data",
        headers={"Accept": "text/html"},
    )
    assert response.location == "/"


def test_a_script_may_post_a_form_and_ask_for_json(world, owner):
    response = owner.post(
        UPLOAD,
        data={
            "use": "form_field",
            "dossier": str(world.draft_id),
            "field": "pj",
            "file": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(pdf_of(90, "2")), "b.pdf")],
        },
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201 and len(response.json["files"]) == 2


def test_uploading_to_someone_elses_dossier_is_a_404(world):
    client = world.app.test_client()
    world.login(client, "stranger")
    assert raw_upload(client, world, PDF, "a.pdf").status_code == 404
    anonymous = world.app.test_client()
    assert raw_upload(anonymous, world, PDF, "a.pdf").status_code == 401


def test_with_csrf_on_a_post_without_token_is_refused_and_one_with_it_passes(make_app):
    world = build_world(make_app(WTF_CSRF_ENABLED=True))
    client = world.app.test_client()
    with world.app.app_context():
        world.app.appbuilder.sm.reset_password(world.people["owner"].id, "a-long-test-password")
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/login/",
        data={
            "username": world.people["owner"].username,
            "password": "a-long-test-password",
            "csrf_token": token,
        },
    )
    # Signing in starts a new session: the login page's token is void, a page gives one.
    page = client.get("/mes-dossiers").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    refused = raw_upload(client, world, PDF, "a.pdf")
    assert refused.status_code == 400 and "session" in refused.json["error"]
    url = f"{UPLOAD}?use=form_field&dossier={world.draft_id}&field=pj"
    accepted = client.post(
        url,
        data=PDF,
        headers={"X-File-Name": "a.pdf", "X-CSRFToken": token, "Content-Type": "application/pdf"},
    )
    assert accepted.status_code == 201
    file_id = accepted.json["files"][0]["id"]
    assert client.post(f"/attachments/{file_id}/remove").status_code == 400
    assert (
        client.post(f"/attachments/{file_id}/remove", headers={"X-CSRFToken": token}).status_code
        == 200
    )


def test_a_download_is_an_attachment_with_protective_headers(world, owner):
    file_id = raw_upload(owner, world, PDF, "Relevé.pdf").json["files"][0]["id"]
    response = owner.get(f"/attachments/{file_id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Releve.pdf\"; filename*=UTF-8''Relev%C3%A9.pdf"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Length"] == str(len(PDF))


def test_images_and_pdfs_only_may_be_shown_inline(world, owner):
    image = raw_upload(owner, world, PNG, "photo.png").json["files"][0]["id"]
    text = raw_upload(owner, world, b"juste du texte\n", "note.txt").json["files"][0]["id"]
    shown = owner.get(f"/attachments/{image}?inline=1")
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    kept = owner.get(f"/attachments/{text}?inline=1")
    assert kept.headers["Content-Disposition"].startswith("attachment;")


def test_people_who_may_not_see_a_file_get_the_same_404_as_for_a_missing_one(world, owner):
    file_id = raw_upload(owner, world, PDF, "a.pdf").json["files"][0]["id"]
    for name in ("stranger", "agent", "invited", "other_administrator"):
        client = world.app.test_client()
        world.login(client, name)
        assert client.get(f"/attachments/{file_id}").status_code == 404, name
    assert world.app.test_client().get(f"/attachments/{file_id}").status_code == 404
    assert owner.get("/attachments/999999").status_code == 404


def test_large_downloads_are_streamed(world, owner):
    content = pdf_of(3 * 1024 * 1024, "big")
    file_id = raw_upload(owner, world, content, "big.pdf").json["files"][0]["id"]
    response = owner.get(f"/attachments/{file_id}", buffered=False)
    assert response.is_streamed
    assert b"".join(response.response) == content


def test_an_uploader_removes_their_file_before_submitting(world, owner):
    file_id = raw_upload(owner, world, PDF, "a.pdf").json["files"][0]["id"]
    coeditor = world.app.test_client()
    world.login(coeditor, "coeditor")
    assert coeditor.delete(f"/attachments/{file_id}").status_code == 404
    assert owner.delete(f"/attachments/{file_id}").json == {"removed": file_id}
    assert owner.get(f"/attachments/{file_id}").status_code == 404


def test_agents_download_the_dossier_as_a_zip_with_a_pdf_of_its_answers(world):
    with world.app.app_context():
        first = world.store(PDF, "justificatif.pdf", dossier=world.submitted_id)
        world.store(pdf_of(120, "2"), "justificatif.pdf", dossier=world.submitted_id)
        infected = world.store(pdf_of(130, "3"), "virus.pdf", dossier=world.submitted_id)
        db.session.get(Attachment, infected).scan_status = ScanStatus.infected
        db.session.commit()
    agent = world.app.test_client()
    world.login(agent, "agent")
    response = agent.get(f"/attachments/dossier/{world.submitted_id}.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert int(response.headers["Content-Length"]) == len(response.data)
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = sorted(archive.namelist())
    assert names == [
        "Pièce justificative/justificatif (2).pdf",
        "Pièce justificative/justificatif.pdf",
        f"dossier-{world.submitted_id}.pdf",
    ]
    assert archive.read("Pièce justificative/justificatif.pdf") == PDF
    assert archive.read(f"dossier-{world.submitted_id}.pdf").startswith(b"%PDF")
    assert first
    with world.app.app_context():  # who took every file of the dossier is in the journal
        entry = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "dossier"))
        assert (entry.action, entry.object_id) == (
            "dossier.archive_downloaded",
            str(world.submitted_id),
        )


@pytest.mark.parametrize("name", ["owner", "expert", "other_agent", "stranger"])
def test_the_dossier_zip_is_for_those_who_instruct_it(world, name):
    client = world.app.test_client()
    world.login(client, name)
    assert client.get(f"/attachments/dossier/{world.submitted_id}.zip").status_code == 404


def test_constraints_tell_the_portal_the_rules_before_sending(world):
    with world.app.app_context():
        target = services.authorize_upload(
            world.user("owner"), "form_field", dossier_id=world.draft_id, field_stable_id="plan"
        )
        constraints = target.constraints()
        assert constraints["max_size"] == 1024 * 1024 and constraints["max_files"] == 1
        assert constraints["families"] == ["image"] and ".png" in constraints["accept"]


def test_the_whole_upload_download_remove_path_works_on_s3(make_app, s3_config):
    from plugins.attachments.storage import get_storage

    world = build_world(make_app(**s3_config))
    client = world.app.test_client()
    world.login(client, "owner")
    content = pdf_of(9 * 1024 * 1024, "s3")  # over one multipart part
    file_id = raw_upload(client, world, content, "gros.pdf").json["files"][0]["id"]
    download = client.get(f"/attachments/{file_id}")
    assert download.status_code == 200 and download.data == content
    with world.app.app_context():
        key = db.session.get(Attachment, file_id).storage_key
        assert get_storage().name == "s3" and get_storage().exists(key)
    assert client.post(f"/attachments/{file_id}/remove").status_code == 200
    with world.app.app_context():
        assert not get_storage().exists(key)
