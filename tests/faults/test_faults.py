"""Faults in the services Guichet leans on (issue G9): the mail server down then back, and
the database's connections cut in the middle of traffic. Nothing is lost, nothing is done
twice, nothing is half written. (The broker down then back: tests/test_outbox.py; a worker
killed mid-export or mid-batch: tests/services/test_exports.py, test_batch.py; the same
faults under load, with gunicorn: ``python -m bench load``.)"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from filing_helpers import form_procedure, sign_in

import factories as make
from app.extensions import db
from app.models import Dossier, DossierState, OutboxEvent, utcnow
from app.security import Roles
from app.services import mail, outbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_due() -> None:
    """Play the wait of the retries as if it had passed."""
    db.session.execute(
        sa.update(OutboxEvent)
        .where(OutboxEvent.processed_at.is_(None))
        .values(available_at=utcnow() - timedelta(seconds=1), dispatched_at=None)
    )
    db.session.commit()


def test_with_the_mail_server_down_mails_wait_and_leave_once_it_is_back(make_app):
    from aiosmtpd.controller import Controller

    received = []
    delivered = threading.Event()

    class Collect:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            delivered.set()
            return "250 OK"

    port = free_port()  # nothing listens there yet: the server is down
    app = make_app(CELERY_BROKER_URL=None, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        mail.send("camille@example.org", "Accusé de dépôt", "Votre dossier est déposé.", key="k1")
        db.session.commit()  # the commit succeeds; the mail is tried when the context ends
    with app.app_context():
        [event] = db.session.scalars(sa.select(OutboxEvent)).all()
        assert event.processed_at is None and event.attempts == 1 and event.last_error
        assert event.available_at > utcnow()  # retried later, not hammered
        make_due()
        outbox.relay()  # still down: one more failed attempt, nothing lost
        db.session.expire_all()
        assert db.session.get(OutboxEvent, event.id).attempts == 2

        controller = Controller(Collect(), hostname="127.0.0.1", port=port)
        controller.start()  # the server is back
        try:
            make_due()
            outbox.relay()
            assert delivered.wait(5)
            make_due()
            outbox.relay()  # nothing left to send: the mail is not sent twice
            db.session.expire_all()
            assert db.session.get(OutboxEvent, event.id).processed_at is not None
        finally:
            controller.stop()
    [envelope] = received
    assert envelope.rcpt_tos == ["camille@example.org"]


def test_connections_cut_during_traffic_fail_cleanly_then_the_pool_recovers(make_app):
    """PostgreSQL restarting looks like this to the app: every connection is cut at once,
    some requests in flight. Each request succeeds or fails whole, and the next ones
    succeed on fresh connections."""
    app = make_app(CELERY_BROKER_URL=None)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("cutting the server's connections needs PostgreSQL")
    with app.app_context():
        procedure = form_procedure([{"stable_id": "nom", "type": "text", "label": "Nom"}])
        owner = make.user(Roles.APPLICANT, can_log_in=True)
        dossier = make.dossier(procedure, owner, DossierState.draft)
        number, owner_id, version = dossier.id, owner.id, dossier.version
        database = db.engine.url.database

    def cut_every_connection() -> int:
        with sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"]).connect() as admin:
            return admin.scalar(
                sa.text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )

    client = app.test_client()
    sign_in(client, owner_id)
    statuses = []
    for round_ in range(6):
        if round_ in (2, 4):
            assert cut_every_connection() >= 1  # the app's pooled connection, at least
        response = client.post(
            f"/dossiers/{number}/formulaire/brouillon",
            data={"version": version, "present": ["nom"], "champ_nom": f"Martin {round_}"},
        )
        statuses.append(response.status_code)
        if response.status_code == 200:
            version = response.get_json()["version"]
    # pool_pre_ping replaces the dead connections: no request even sees the cut
    assert statuses == [200] * 6, statuses
    with app.app_context():
        saved = db.session.get(Dossier, number)
        assert saved.answers == {"nom": "Martin 5"} and saved.version == version
