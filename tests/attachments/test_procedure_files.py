"""A procedure's own files through HTTP: its logo and notice (settings screen, portal, the
attestation's header) and its attestation's signature image. Uploads are never trusted:
type from the content, size limits, scan status; only the procedure's administrators
send them, and only published procedures' logo and notice are public."""

from __future__ import annotations

import io
import re
import zlib
from html import unescape

import pytest
import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.models import Attachment, AttestationTemplate, Procedure, ProcedureState, ScanStatus
from app.security import Roles
from app.services import attestations
from plugins.attachments import procedure_files

from .conftest import EXECUTABLE, PDF

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
    b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def png(width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    """A real PNG (WeasyPrint draws it), different per seed."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([seed % 256, 80, 160]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def setup(app):
    """An administrator of the procedure's administration, one of another, an agent, and
    a published procedure; plus a procedure still in test mode."""
    with app.app_context():
        me = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        other = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        agent = make.user(Roles.AGENT, can_log_in=True)
        administration = make.administration(me)
        administration.name = "Mairie de Trifouilly"
        procedure = make.procedure(administration, agent)
        draft = make.procedure(administration, state=ProcedureState.draft)
        make.administration(other)
        db.session.commit()
        return {
            "me": me.username,
            "other": other.username,
            "agent": agent.username,
            "pid": procedure.id,
            "slug": procedure.slug,
            "draft": draft.id,
        }


def send(client, pid, use, content: bytes, name: str):
    return client.post(
        f"/procedures/{pid}/fichiers/{use}",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def page(response) -> str:
    return unescape(response.get_data(as_text=True))


def procedure_file(app, pid, use):
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        attachment = procedure_files.current(procedure, use)
        if attachment is None:
            return None
        return {
            "id": attachment.id,
            "name": attachment.original_name,
            "type": attachment.sniffed_type,
        }


def image_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Subtype\s*/Image", pdf))


# ---------------------------------------------------------------------------------------
# Logo and notice: the settings screen


def test_an_administrator_sends_a_logo_and_a_notice_and_sees_them_on_the_screen(app, client, setup):
    make.login(client, setup["me"])
    pid = setup["pid"]
    hub = page(client.get(f"/procedures/{pid}/"))
    assert f"/procedures/{pid}/fichiers" in hub
    screen = page(client.get(f"/procedures/{pid}/fichiers"))
    assert 'accept=".jpeg,.jfif,.jpg,.png"' in screen or 'accept=".jfif,.jpeg,.jpg,.png"' in screen
    assert 'accept=".pdf"' in screen

    response = send(client, pid, "logo", png(), "logo mairie.png")
    assert response.status_code == 302 and response.location.endswith("#logo")
    response = send(client, pid, "notice", PDF, "notice.pdf")
    assert response.status_code == 302

    logo, notice = procedure_file(app, pid, "logo"), procedure_file(app, pid, "notice")
    assert (logo["name"], logo["type"]) == ("logo mairie.png", "image/png")
    assert (notice["name"], notice["type"]) == ("notice.pdf", "application/pdf")
    screen = page(client.get(f"/procedures/{pid}/fichiers"))
    assert "logo mairie.png" in screen and "notice.pdf" in screen
    assert f"/attachments/{logo['id']}?inline=1" in screen


def test_a_new_logo_replaces_the_old_one_whose_row_is_deleted(app, client, setup):
    make.login(client, setup["me"])
    pid = setup["pid"]
    send(client, pid, "logo", png(seed=1), "ancien.png")
    old = procedure_file(app, pid, "logo")
    send(client, pid, "logo", png(seed=2), "nouveau.png")
    new = procedure_file(app, pid, "logo")
    assert new["name"] == "nouveau.png" and new["id"] != old["id"]
    with app.app_context():
        assert db.session.get(Attachment, old["id"]) is None


def test_the_logo_and_the_notice_are_removed(app, client, setup):
    make.login(client, setup["me"])
    pid = setup["pid"]
    send(client, pid, "logo", png(), "logo.png")
    send(client, pid, "notice", PDF, "notice.pdf")
    logo_id = procedure_file(app, pid, "logo")["id"]
    for use in ("logo", "notice"):
        response = client.post(f"/procedures/{pid}/fichiers/{use}/supprimer")
        assert response.status_code == 302
        assert procedure_file(app, pid, use) is None
    with app.app_context():
        assert db.session.get(Attachment, logo_id) is None
    start = page(client.get(f"/commencer/{setup['slug']}"))
    assert "guichet-logo" not in start and "notice explicative" not in start


@pytest.mark.parametrize(
    ("use", "content", "name", "reason"),
    [
        ("logo", EXECUTABLE, "logo.png", "refusé"),  # a program renamed as an image
        ("logo", PDF, "logo.pdf", "refusé"),  # a document is not an image
        ("logo", GIF, "logo.gif", "PNG"),  # an image, but only PNG and JPEG are drawn
        (
            "logo",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "logo.svg",
            "refusé",
        ),
        ("notice", EXECUTABLE, "notice.pdf", "refusé"),
        ("notice", b"Texte brut de la notice.\n" * 20, "notice.txt", "PDF"),
        ("notice", b"", "vide.pdf", "vide"),
    ],
)
def test_a_file_of_the_wrong_type_is_refused_next_to_its_input_and_nothing_changes(
    app, client, setup, use, content, name, reason
):
    make.login(client, setup["me"])
    pid = setup["pid"]
    send(
        client,
        pid,
        use,
        png() if use == "logo" else PDF,
        "valide." + ("png" if use == "logo" else "pdf"),
    )
    before = procedure_file(app, pid, use)
    response = send(client, pid, use, content, name)
    assert response.status_code == 422
    text = page(response)
    assert reason in text
    assert f'aria-describedby="file-{use}-hint file-{use}-error"' in text
    assert 'aria-invalid="true"' in text
    assert procedure_file(app, pid, use) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 1


def test_a_file_over_the_limit_is_refused(make_app):
    app = make_app(ATTACHMENT_LIMITS={"logo": 2000})
    client = app.test_client()
    with app.app_context():
        me = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        procedure = make.procedure(make.administration(me))
        db.session.commit()
        pid, username = procedure.id, me.username
    make.login(client, username)
    response = send(client, pid, "logo", png() + b"\0" * 5000, "grand.png")
    assert response.status_code == 422
    assert "trop volumineux" in page(response)
    assert procedure_file(app, pid, "logo") is None


def test_choosing_no_file_says_so(client, setup):
    make.login(client, setup["me"])
    response = client.post(
        f"/procedures/{setup['pid']}/fichiers/logo", data={}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Choisissez un fichier" in page(response) or "Choose a file" in page(response)


# ---------------------------------------------------------------------------------------
# Who may do what


@pytest.mark.parametrize("who", ["other", "agent"])
def test_anyone_but_the_procedures_administrators_gets_a_404(app, client, setup, who):
    make.login(client, setup["me"])
    send(client, setup["pid"], "logo", png(), "logo.png")
    client.get("/logout/")
    make.login(client, setup[who])
    pid = setup["pid"]
    assert client.get(f"/procedures/{pid}/fichiers").status_code == 404
    assert send(client, pid, "logo", png(seed=3), "pirate.png").status_code == 404
    assert send(client, pid, "signature", png(seed=3), "pirate.png").status_code == 404
    assert client.post(f"/procedures/{pid}/fichiers/logo/supprimer").status_code == 404
    assert procedure_file(app, pid, "logo")["name"] == "logo.png"


def test_an_unknown_use_or_procedure_gets_a_404(client, setup):
    make.login(client, setup["me"])
    assert send(client, setup["pid"], "form_field", PDF, "x.pdf").status_code == 404
    assert send(client, 999999, "logo", png(), "x.png").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, setup):
    response = client.get(f"/procedures/{setup['pid']}/fichiers")
    assert response.status_code == 302 and "/login/" in response.location


# ---------------------------------------------------------------------------------------
# The portal


def test_the_portal_shows_the_logo_and_the_notice_of_a_published_procedure(app, client, setup):
    make.login(client, setup["me"])
    send(client, setup["pid"], "logo", png(), "logo.png")
    send(client, setup["pid"], "notice", PDF, "notice.pdf")
    client.get("/logout/")
    logo, notice = (
        procedure_file(app, setup["pid"], "logo"),
        procedure_file(app, setup["pid"], "notice"),
    )

    start = page(client.get(f"/commencer/{setup['slug']}"))
    logo_src = f"/attachments/{logo['id']}?inline=1"
    assert f'<img class="guichet-logo" src="{logo_src}" alt="Mairie de Trifouilly">' in start
    assert re.search(
        rf'href="/attachments/{notice["id"]}">'
        r"Télécharger la notice explicative \(PDF, 1 (ko|kB)\)</a>",
        start,
    ), start
    image = client.get(f"/attachments/{logo['id']}?inline=1")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert client.get(f"/attachments/{notice['id']}").status_code == 200


def test_the_form_shows_the_logo_and_the_notice_too(app, client, setup):
    make.login(client, setup["me"])
    send(client, setup["pid"], "logo", png(), "logo.png")
    send(client, setup["pid"], "notice", PDF, "notice.pdf")
    form = page(client.get(f"/apercu/{setup['pid']}"))
    assert 'class="guichet-logo"' in form and 'alt="Mairie de Trifouilly"' in form
    assert "notice explicative (PDF" in form


@pytest.mark.parametrize("status", [ScanStatus.pending, ScanStatus.infected, ScanStatus.error])
def test_a_file_not_scanned_clean_is_not_shown_on_the_portal(app, client, setup, status):
    make.login(client, setup["me"])
    send(client, setup["pid"], "logo", png(), "logo.png")
    send(client, setup["pid"], "notice", PDF, "notice.pdf")
    client.get("/logout/")
    with app.app_context():
        for row in db.session.scalars(sa.select(Attachment)):
            row.scan_status = status
        db.session.commit()
    start = page(client.get(f"/commencer/{setup['slug']}"))
    assert "guichet-logo" not in start and "notice explicative" not in start
    logo = procedure_file(app, setup["pid"], "logo")
    assert client.get(f"/attachments/{logo['id']}?inline=1").status_code != 200 or (
        status == ScanStatus.error
    )


def test_a_procedure_in_test_mode_keeps_its_logo_private(app, client, setup):
    make.login(client, setup["me"])
    send(client, setup["draft"], "logo", png(), "logo.png")
    logo = procedure_file(app, setup["draft"], "logo")
    assert client.get(f"/attachments/{logo['id']}?inline=1").status_code == 200
    client.get("/logout/")
    assert client.get(f"/attachments/{logo['id']}?inline=1").status_code == 404
    make.login(client, setup["other"])
    assert client.get(f"/attachments/{logo['id']}?inline=1").status_code == 404


# ---------------------------------------------------------------------------------------
# The attestation: signature image, and the logo in its header


def preview_pdf(client, pid) -> bytes:
    current = {"title": "Attestation n° --numéro du dossier--", "body": "Dossier accepté."}
    response = client.post(f"/procedures/{pid}/attestation/preview", data=current)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def test_the_signature_is_sent_from_the_attestation_screen_and_drawn_in_its_pdf(app, client, setup):
    make.login(client, setup["me"])
    pid = setup["pid"]
    screen = page(client.get(f"/procedures/{pid}/attestation"))
    assert "A signature image will be possible" not in screen
    assert f'action="/procedures/{pid}/fichiers/signature"' in screen
    assert 'enctype="multipart/form-data"' in screen
    assert image_count(preview_pdf(client, pid)) == 0

    response = send(client, pid, "signature", png(seed=9), "signature.png")
    assert response.status_code == 302 and response.location.endswith("/attestation#signature")
    signature = procedure_file(app, pid, "signature")
    assert signature["name"] == "signature.png"
    with app.app_context():  # a template was made with the default texts, not issued yet
        template = db.session.scalar(
            sa.select(AttestationTemplate).where(AttestationTemplate.procedure_id == pid)
        )
        assert template.enabled is False and template.signature_id == signature["id"]
    assert "signature.png" in page(client.get(f"/procedures/{pid}/attestation"))
    assert image_count(preview_pdf(client, pid)) == 1
    with app.app_context():  # the attestation issued on acceptance is the same PDF
        procedure = db.session.get(Procedure, pid)
        assert image_count(attestations.render_pdf(procedure)) == 1

    client.post(f"/procedures/{pid}/fichiers/signature/supprimer")
    assert procedure_file(app, pid, "signature") is None
    assert image_count(preview_pdf(client, pid)) == 0


def test_a_copy_of_the_procedure_has_the_same_files_of_its_own(app, client, setup):
    make.login(client, setup["me"])
    pid = setup["pid"]
    for use, content, name in (
        ("logo", png(seed=3), "logo.png"),
        ("notice", PDF, "notice.pdf"),
        ("signature", png(seed=4), "signature.png"),
    ):
        assert send(client, pid, use, content, name).status_code == 302
    with app.app_context():
        administration_id = db.session.get(Procedure, pid).administration_id
    response = client.post(f"/procedures/{pid}/clone", data={"administration": administration_id})
    copy_id = int(re.search(r"/procedures/(\d+)/", response.location).group(1))
    assert copy_id != pid
    for use in ("logo", "notice", "signature"):
        original, copied = procedure_file(app, pid, use), procedure_file(app, copy_id, use)
        assert copied["id"] != original["id"]
        assert (copied["name"], copied["type"]) == (original["name"], original["type"])
        downloaded = client.get(f"/attachments/{copied['id']}")
        assert downloaded.status_code == 200, use
        assert downloaded.data == client.get(f"/attachments/{original['id']}").data
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Attachment).where(Attachment.procedure_id == copy_id)
        ).all()
        assert {row.use.value for row in rows} == {"logo", "notice", "signature"}
        assert all(row.scan_status == ScanStatus.not_scanned for row in rows)

    # removing the copy's logo leaves the original's bytes where they are
    client.post(f"/procedures/{copy_id}/fichiers/logo/supprimer")
    assert procedure_file(app, copy_id, "logo") is None
    original = procedure_file(app, pid, "logo")
    assert client.get(f"/attachments/{original['id']}").data == png(seed=3)


def test_the_logo_is_printed_on_the_attestation(client, setup):
    make.login(client, setup["me"])
    send(client, setup["pid"], "logo", png(seed=5), "logo.png")
    assert image_count(preview_pdf(client, setup["pid"])) == 1
    send(client, setup["pid"], "signature", png(seed=6), "signature.png")
    assert image_count(preview_pdf(client, setup["pid"])) == 2


def test_a_refused_signature_is_explained_on_the_attestation_screen(app, client, setup):
    make.login(client, setup["me"])
    response = send(client, setup["pid"], "signature", EXECUTABLE, "signature.png")
    assert response.status_code == 302
    assert "refusé" in page(client.get(response.location))
    assert procedure_file(app, setup["pid"], "signature") is None


def test_an_infected_signature_is_not_drawn(app, client, setup):
    make.login(client, setup["me"])
    send(client, setup["pid"], "signature", png(seed=4), "signature.png")
    with app.app_context():
        for row in db.session.scalars(sa.select(Attachment)):
            row.scan_status = ScanStatus.infected
        db.session.commit()
    assert image_count(preview_pdf(client, setup["pid"])) == 0


def test_the_signature_is_never_public(app, client, setup):
    make.login(client, setup["me"])
    send(client, setup["pid"], "signature", png(), "signature.png")
    signature = procedure_file(app, setup["pid"], "signature")
    assert client.get(f"/attachments/{signature['id']}?inline=1").status_code == 200
    client.get("/logout/")
    assert client.get(f"/attachments/{signature['id']}").status_code == 404
    make.login(client, setup["agent"])
    assert client.get(f"/attachments/{signature['id']}").status_code == 404
