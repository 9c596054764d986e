"""Mails are written to the outbox folder, or sent through SMTP, after commit."""

import re
import socket
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services import mail


def written(app) -> list:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        BytesParser(policy=policy.default).parse(path.open("rb"))
        for path in sorted(folder.glob("*.eml"))
    ]


def test_a_mail_is_written_to_the_outbox_folder_after_commit(make_app):
    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context():
        mail.send(
            "marie@example.org",
            "Dossier n° 12 déposé",
            "Bonjour Marie,",
            attachments=[("recepisse.pdf", "application/pdf", b"%PDF-1.7 test")],
        )
        db.session.commit()
        assert written(app) == []
    [message] = written(app)
    assert message["To"] == "marie@example.org"
    assert message["Subject"] == "Dossier n° 12 déposé"
    assert "Bonjour Marie," in message.get_body(("plain",)).get_content()
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "recepisse.pdf"
    assert attachment.get_content() == b"%PDF-1.7 test"


def test_a_mail_of_a_rolled_back_transaction_is_never_written(make_app):
    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context():
        mail.send("marie@example.org", "Sujet", "Texte")
        db.session.rollback()
    assert written(app) == []


def test_the_same_mail_key_is_sent_once(make_app):
    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context():
        mail.send("marie@example.org", "Sujet", "Texte", key="receipt-12")
        db.session.commit()
    with app.app_context():
        mail.send("marie@example.org", "Sujet", "Texte", key="receipt-12")
        with pytest.raises(IntegrityError):  # the unique key refuses a second event
            db.session.commit()
        db.session.rollback()
    assert len(written(app)) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_mail_goes_through_smtp_when_a_server_is_configured(make_app):
    from aiosmtpd.controller import Controller

    received = []

    class Collect:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(CELERY_BROKER_URL=None, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        with app.app_context():
            mail.send(["a@example.org", "b@example.org"], "Décision", "Votre dossier est accepté.")
            db.session.commit()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()
    [envelope] = received
    assert envelope.rcpt_tos == ["a@example.org", "b@example.org"]
    assert "Votre dossier est accept" in envelope.content.decode()
    assert written(app) == []


def test_the_platform_admin_reads_written_mails(make_app):
    import factories as make
    from app.security import Roles

    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context():
        admin = make.user(Roles.ADMIN)
        app.appbuilder.sm.reset_password(admin.id, "a-long-test-password")
        username = admin.username
        mail.send("marie@example.org", "Votre dossier n° 7", "Bonjour")
        db.session.commit()
    client = app.test_client()
    client.post("/login/", data={"username": username, "password": "a-long-test-password"})
    page = client.get("/admin/mails/").get_data(as_text=True)
    assert "Votre dossier n° 7" in page
    [name] = re.findall(r"/admin/mails/([0-9]{8}-[0-9a-f]+\.eml)", page)
    assert "Bonjour" in client.get(f"/admin/mails/{name}").get_data(as_text=True)
    assert client.get("/admin/mails/..%2Fsecret_key").status_code == 404
