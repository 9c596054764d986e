"""The plugin's Celery tasks and their schedule."""

from datetime import timedelta

from app.extensions import db
from app.models import Attachment, ScanStatus, utcnow
from plugins.attachments import tasks

from .conftest import PDF


def test_the_orphan_cleanup_is_scheduled_every_hour(app):
    schedule = app.extensions["celery"].conf.beat_schedule["attachments-cleanup-orphans"]
    assert schedule == {"task": "attachments.cleanup_orphans", "schedule": 3600.0}
    assert "attachments.cleanup_orphans" in app.extensions["celery"].tasks


def test_the_cleanup_task_removes_old_orphans(world):
    with world.app.app_context():
        file_id = world.store(PDF, use="export", dossier=None)
        db.session.get(Attachment, file_id).created_at = utcnow() - timedelta(days=2)
        db.session.commit()
        assert tasks.cleanup_orphans.run() == 1


def test_the_rescan_task_records_its_result(world):
    with world.app.app_context():
        file_id = world.store(PDF)
        db.session.get(Attachment, file_id).scan_status = ScanStatus.error
        db.session.commit()
        assert tasks.scan.run(file_id) == "not_scanned"  # no CLAMD_URL in this app
        assert db.session.get(Attachment, file_id).scan_status == ScanStatus.not_scanned
