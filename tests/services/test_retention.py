"""Retention: a decision starts the retention period, the owner is warned two weeks
before and may extend it, expired dossiers and abandoned drafts are deleted with their
files, leaving a tombstone and an audit entry; running twice deletes nothing more
(issue G9)."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from audit_helpers import entries, wire

import factories as make
from app import signals, workflow
from app.extensions import db
from app.models import (
    Attachment,
    AuthorKind,
    Dossier,
    DossierState,
    DossierTombstone,
    Message,
    StateTransition,
    User,
)
from app.security import Roles
from app.services import retention
from app.services.audit import Action

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app):
    """Mails go to the outbox folder when the app context ends (eager Celery)."""
    return wire(make_app(CELERY_BROKER_URL=None))


def mails(app) -> list:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        BytesParser(policy=policy.default).parse(path.open("rb"))
        for path in sorted(folder.glob("*.eml"))
    ]


def decided(procedure, owner, *, expires_at: datetime, warned_at: datetime | None = None):
    dossier = make.dossier(procedure, owner, DossierState.accepted)
    dossier.decided_at = expires_at - timedelta(days=365)
    dossier.expires_at = expires_at
    dossier.expiry_warned_at = warned_at
    db.session.commit()
    return dossier


def people():
    agent = make.user(Roles.AGENT)
    owner = make.user(Roles.APPLICANT, can_log_in=True)
    procedure = make.procedure(make.administration(), agent)
    procedure.retention_months = 6
    db.session.commit()
    return agent, owner, procedure


# ---------------------------------------------------------------------------------------
# Expiry


def test_months_are_added_to_the_same_day_or_the_last_of_a_shorter_month():
    assert retention.add_months(datetime(2026, 1, 31, 10, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, 10, tzinfo=UTC
    )
    assert retention.add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(
        2028, 1, 15, tzinfo=UTC
    )


def test_a_decision_sets_the_expiry_and_reopening_clears_it(app):
    with app.app_context():
        agent, owner, procedure = people()
        dossier = make.dossier(procedure, owner, DossierState.in_review)
        workflow.apply(dossier, workflow.Event.accept, agent, at=NOW)
        assert dossier.expires_at == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
        dossier.expiry_warned_at, dossier.retention_extensions = NOW, 1
        workflow.apply(dossier, workflow.Event.reopen, agent, at=NOW)
        assert (dossier.expires_at, dossier.expiry_warned_at) == (None, None)
        workflow.apply(dossier, workflow.Event.refuse, agent, motivation="Non", at=NOW)
        assert (dossier.expires_at, dossier.retention_extensions) == (
            datetime(2026, 12, 15, 9, 0, tzinfo=UTC),
            0,
        )
        workflow.apply(dossier, workflow.Event.archive, agent, at=NOW + timedelta(days=3))
        assert dossier.expires_at == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)


def test_dossiers_decided_before_retention_existed_get_an_expiry(app):
    with app.app_context():
        _agent, owner, procedure = people()
        old = make.dossier(procedure, owner, DossierState.refused)
        old.decided_at = NOW
        draft = make.dossier(procedure, owner, DossierState.draft)
        draft.updated_at = NOW
        db.session.commit()
        assert retention.schedule_missing() == 2
        assert old.expires_at == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
        assert draft.expires_at == NOW + timedelta(days=procedure.draft_retention_days)


# ---------------------------------------------------------------------------------------
# Warning


def test_the_owner_is_warned_once_two_weeks_before_with_the_extension_link(app):
    with app.app_context():
        _agent, owner, procedure = people()
        soon = decided(procedure, owner, expires_at=NOW + timedelta(days=10))
        later = decided(procedure, owner, expires_at=NOW + timedelta(days=20))
        ids = (soon.id, later.id)
        assert retention.warn_expiring(NOW) == 1
        db.session.commit()
        assert retention.warn_expiring(NOW + timedelta(hours=1)) == 0
        db.session.commit()
        assert db.session.get(Dossier, ids[0]).expiry_warned_at == NOW
        assert db.session.get(Dossier, ids[1]).expiry_warned_at is None
        warned = entries(Action.EXPIRY_WARNED)
        assert [(row.object_id, row.data["mailed"]) for row in warned] == [(str(ids[0]), True)]
        email = owner.email
    sent = mails(app)
    assert len(sent) == 1
    assert sent[0]["To"] == email
    assert f"n° {ids[0]} sera bientôt supprimé" in sent[0]["Subject"]
    assert f"/dossiers/{ids[0]}/prolonger" in sent[0].get_content()


def test_a_dossier_without_owner_address_is_marked_warned_all_the_same(app):
    with app.app_context():
        _agent, owner, procedure = people()
        dossier = decided(procedure, owner, expires_at=NOW + timedelta(days=3))
        dossier.owner_id = None
        db.session.commit()
        assert retention.warn_expiring(NOW) == 1
        db.session.commit()
        assert dossier.expiry_warned_at == NOW
    assert mails(app) == []


# ---------------------------------------------------------------------------------------
# Extension


def owner_client(app, owner_email: str):
    client = app.test_client()
    make.login(client, owner_email)
    return client


def test_the_owner_extends_by_one_retention_period_at_most_n_times(app):
    with app.app_context():
        _agent, owner, procedure = people()
        expiry = datetime.now(UTC) + timedelta(days=10)
        dossier = decided(procedure, owner, expires_at=expiry, warned_at=datetime.now(UTC))
        number, email = dossier.id, owner.email
    client = owner_client(app, email)
    page = client.get(f"/dossiers/{number}/prolonger")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    assert client.post(f"/dossiers/{number}/prolonger").status_code == 302
    with app.app_context():
        dossier = db.session.get(Dossier, number)
        assert dossier.expires_at == retention.add_months(expiry, 6)
        assert (dossier.retention_extensions, dossier.expiry_warned_at) == (1, None)
        extended = entries(Action.RETENTION_EXTENDED)
        assert [(row.object_id, row.data["extensions"]) for row in extended] == [(str(number), 1)]
        # Back in the warning period, a second time, then no more.
        dossier.expires_at = datetime.now(UTC) + timedelta(days=5)
        db.session.commit()
    assert client.post(f"/dossiers/{number}/prolonger").status_code == 302
    with app.app_context():
        dossier = db.session.get(Dossier, number)
        assert dossier.retention_extensions == 2
        dossier.expires_at = datetime.now(UTC) + timedelta(days=5)
        db.session.commit()
    refused = client.post(f"/dossiers/{number}/prolonger", follow_redirects=True)
    assert refused.status_code == 200 and "usa-alert--error" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Dossier, number).retention_extensions == 2


def test_an_extension_waits_for_the_warning_period(app):
    with app.app_context():
        _agent, owner, procedure = people()
        far = datetime.now(UTC) + timedelta(days=100)
        dossier = decided(procedure, owner, expires_at=far)
        number, email = dossier.id, owner.email
        with pytest.raises(retention.ExtensionRefused):
            retention.extend(dossier, owner)
    client = owner_client(app, email)
    client.post(f"/dossiers/{number}/prolonger")
    with app.app_context():
        assert db.session.get(Dossier, number).expires_at == far


def test_only_the_owner_may_extend_and_others_get_a_404(app):
    with app.app_context():
        _agent, owner, procedure = people()
        stranger = make.user(Roles.APPLICANT, can_log_in=True)
        soon = datetime.now(UTC) + timedelta(days=5)
        dossier = decided(procedure, owner, expires_at=soon, warned_at=datetime.now(UTC))
        number, stranger_email = dossier.id, stranger.email
        with pytest.raises(PermissionError):
            retention.extend(dossier, stranger)
    anonymous = app.test_client().get(f"/dossiers/{number}/prolonger")
    assert anonymous.status_code == 302 and "next=" in anonymous.headers["Location"]
    client = owner_client(app, stranger_email)
    assert client.get(f"/dossiers/{number}/prolonger").status_code == 404
    assert client.post(f"/dossiers/{number}/prolonger").status_code == 404
    assert client.get("/dossiers/999999/prolonger").status_code == 404
    with app.app_context():
        assert db.session.get(Dossier, number).retention_extensions == 0


# ---------------------------------------------------------------------------------------
# Deletion


def with_history(procedure, owner, agent, *, expires_at, warned_at):
    """A decided dossier with a history, a message and a file of its own."""
    from plugins.attachments import services as attachments

    dossier = make.dossier(procedure, owner, DossierState.in_review)
    workflow.apply(dossier, workflow.Event.accept, agent)
    dossier.expires_at, dossier.expiry_warned_at = expires_at, warned_at
    db.session.add(
        Message(dossier=dossier, author_id=agent.id, author_kind=AuthorKind.agent, body="Bonjour")
    )
    stored = attachments.store_upload(
        io.BytesIO(PDF + str(dossier.id).encode()), "piece.pdf", "application/pdf",
        attachments.target_for("justification", dossier=dossier), db.session.get(User, agent.id),
    )  # fmt: skip
    db.session.commit()
    return dossier, stored


def test_an_expired_dossier_is_deleted_with_its_history_leaving_a_tombstone(app):
    deleting = []

    def remember(sender, dossier, reason, **_):
        deleting.append((dossier.id, reason, db.session.get(Dossier, dossier.id) is not None))

    signals.dossier_deleting.connect(remember)
    try:
        with app.app_context():
            agent, owner, procedure = people()
            expired, _ = with_history(
                procedure, owner, agent, expires_at=NOW, warned_at=NOW - timedelta(days=15)
            )
            kept, _ = with_history(
                procedure, owner, agent, expires_at=NOW + timedelta(days=1), warned_at=NOW
            )
            number, kept_id = expired.id, kept.id
            created, decided_at = expired.created_at, expired.decided_at
            report = retention.purge(NOW)
            assert (report.expired, report.drafts) == (1, 0)
            assert db.session.get(Dossier, number) is None
            assert db.session.get(Dossier, kept_id) is not None
            tombstone = db.session.scalar(
                sa.select(DossierTombstone).where(DossierTombstone.number == number)
            )
            assert (tombstone.procedure_id, tombstone.state, tombstone.reason) == (
                procedure.id,
                DossierState.accepted,
                retention.EXPIRED,
            )
            assert (tombstone.created_at, tombstone.decided_at) == (created, decided_at)
            for model in (StateTransition, Message):
                left = db.session.scalar(
                    sa.select(sa.func.count()).where(model.dossier_id == number)
                )
                assert left == 0, model.__name__
            deleted = entries(Action.DOSSIER_DELETED)
            assert [(row.object_id, row.data) for row in deleted] == [
                (str(number), {"reason": retention.EXPIRED, "state": "accepted"})
            ]
    finally:
        signals.dossier_deleting.disconnect(remember)
    assert deleting == [(number, retention.EXPIRED, True)]


def test_the_files_of_a_deleted_dossier_are_removed_from_storage(app):
    """Needs the attachments plugin to delete a dossier's files on ``dossier_deleting``
    (``plugins/attachments/__init__.py``)."""
    from plugins.attachments.storage import get_storage

    with app.app_context():
        agent, owner, procedure = people()
        expired, stored = with_history(
            procedure, owner, agent, expires_at=NOW, warned_at=NOW - timedelta(days=15)
        )
        key, file_id = stored.storage_key, stored.id
        assert get_storage().exists(key)
        retention.purge(NOW)
        assert db.session.get(Attachment, file_id) is None, "the file's row was kept"
        assert not get_storage().exists(key), "the file's bytes were kept"


def test_an_expired_dossier_waits_two_weeks_after_a_late_warning(app):
    with app.app_context():
        _agent, owner, procedure = people()
        late = decided(procedure, owner, expires_at=NOW - timedelta(days=3))
        number = late.id
        assert retention.purge(NOW).expired == 0  # never warned: not deleted
        retention.warn_expiring(NOW)
        db.session.commit()
        assert retention.purge(NOW + timedelta(days=13)).expired == 0
        assert retention.purge(NOW + timedelta(days=14)).expired == 1
        assert db.session.get(Dossier, number) is None


def test_abandoned_drafts_are_deleted_and_drafts_in_progress_kept(app):
    with app.app_context():
        _agent, owner, procedure = people()
        abandoned = make.dossier(procedure, owner, DossierState.draft)
        abandoned.updated_at = NOW - timedelta(days=181)
        abandoned.expires_at = NOW - timedelta(days=1)
        touched = make.dossier(procedure, owner, DossierState.draft)
        touched.updated_at = NOW - timedelta(days=20)
        touched.expires_at = NOW - timedelta(days=1)  # set at creation, long ago
        db.session.commit()
        ids = (abandoned.id, touched.id)
        report = retention.purge(NOW)
        assert (report.drafts, report.drafts_kept) == (1, 1)
        assert db.session.get(Dossier, ids[0]) is None
        still = db.session.get(Dossier, ids[1])
        assert still.expires_at == NOW - timedelta(days=20) + timedelta(days=180)
        tombstone = db.session.scalar(
            sa.select(DossierTombstone).where(DossierTombstone.number == ids[0])
        )
        assert (tombstone.reason, tombstone.state) == (retention.DRAFT_EXPIRED, DossierState.draft)


def test_purging_twice_deletes_nothing_more(app):
    with app.app_context():
        _agent, owner, procedure = people()
        for _ in range(3):
            decided(procedure, owner, expires_at=NOW, warned_at=NOW - timedelta(days=20))
        assert retention.purge(NOW, batch=2).expired == 3
        assert retention.purge(NOW).expired == 0
        assert db.session.scalar(sa.select(sa.func.count(DossierTombstone.id))) == 3
        assert len(entries(Action.DOSSIER_DELETED)) == 3


def test_two_purges_at_once_share_the_work(app):
    with app.app_context():
        _agent, owner, procedure = people()
        for _ in range(12):
            decided(procedure, owner, expires_at=NOW, warned_at=NOW - timedelta(days=20))
    barrier = threading.Barrier(2)
    reports, failures = [], []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                reports.append(retention.purge(NOW, batch=3))
                db.session.remove()
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures
    assert sum(report.expired for report in reports) == 12
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(DossierTombstone.id))) == 12
        assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 0


def test_the_daily_tasks_are_scheduled_and_work_through_a_backlog(app, monkeypatch):
    from functools import partial

    from app import retention_tasks

    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["retention-warn"]["task"] == retention_tasks.WARN_TASK
    assert schedule["retention-purge"]["task"] == retention_tasks.PURGE_TASK
    monkeypatch.setattr(retention, "schedule_missing", partial(retention.schedule_missing, 1))
    monkeypatch.setattr(retention, "warn_expiring", partial(retention.warn_expiring, batch=1))
    with app.app_context():
        _agent, owner, procedure = people()
        for _ in range(3):
            old = make.dossier(procedure, owner, DossierState.accepted)
            old.decided_at = datetime.now(UTC) - timedelta(days=800)
        db.session.commit()
        assert retention_tasks.warn_expiring_dossiers() == 3
        warned = db.session.scalars(sa.select(Dossier.expiry_warned_at)).all()
        assert len(warned) == 3 and None not in warned
        assert retention_tasks.purge_expired_dossiers().startswith("0 expired dossiers")
