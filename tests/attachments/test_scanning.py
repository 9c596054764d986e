"""Every file is scanned by clamd after upload; an infected file is quarantined.

These tests start their own clamd (fixture ``clamd``) whose only signature is the EICAR
test file's MD5. The "whole path" tests use an eager app (``CELERY_BROKER_URL=None``): the
scan's outbox event then runs when the upload's app context ends, as a worker would run it.
"""

import io
import socket

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Attachment, OutboxEvent, ScanStatus
from app.services import outbox
from plugins.attachments import scanning, services
from plugins.attachments.scanning import (
    ClamdClient,
    ClamdError,
    ClamdUnavailable,
    ScanResult,
    parse_answer,
)

from .conftest import EICAR, PDF, build_world, free_port


def test_answers_are_parsed():
    assert parse_answer("stream: OK") == ScanResult(infected=False)
    assert parse_answer("stream: Eicar-Test-Signature.UNOFFICIAL FOUND") == ScanResult(
        infected=True, signature="Eicar-Test-Signature.UNOFFICIAL"
    )
    with pytest.raises(ClamdError, match="size limit"):
        parse_answer("INSTREAM size limit exceeded. ERROR")


def test_only_tcp_and_unix_addresses_are_understood():
    with pytest.raises(ValueError):
        ClamdClient("http://127.0.0.1:3310")


def test_an_unreachable_clamd_is_worth_a_retry():
    client = ClamdClient(f"tcp://127.0.0.1:{free_port()}", timeout=2)
    assert not client.ping()
    with pytest.raises(ClamdUnavailable):
        client.instream([b"hello"])


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_clamd_finds_eicar_and_passes_a_clean_file(clamd, transport):
    client = ClamdClient(clamd[transport])
    assert client.ping()
    assert client.instream([EICAR[:20], EICAR[20:]]) == ScanResult(
        infected=True, signature="Eicar-Test-Signature.UNOFFICIAL"
    )
    assert client.instream([PDF]) == ScanResult(infected=False)


def test_a_stream_over_clamds_limit_is_an_error_not_a_clean_file(tmp_path):
    """A fake clamd that, like the real one, stops at its StreamMaxLength and says so."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    import threading

    def serve():
        connection, _ = server.accept()
        connection.recv(64)
        connection.sendall(b"INSTREAM size limit exceeded. ERROR\0")
        connection.close()

    thread = threading.Thread(target=serve)
    thread.start()
    with pytest.raises(ClamdError) as error:
        ClamdClient(f"tcp://127.0.0.1:{port}").instream(iter([b"x" * 65536] * 200))
    thread.join()
    server.close()
    assert not isinstance(error.value, ClamdUnavailable)


def test_without_clamd_url_files_are_marked_not_scanned(world):
    with world.app.app_context():
        attachment = db.session.get(Attachment, world.store(PDF))
        assert attachment.scan_status == ScanStatus.not_scanned
        assert services.submission_blockers(world.draft_id) == []


def test_an_uploaded_eicar_file_is_quarantined_and_never_served(make_app, clamd):
    world = build_world(make_app(CLAMD_URL=clamd["tcp"], CELERY_BROKER_URL=None))
    client = world.app.test_client()
    world.login(client, "owner")
    response = client.post(
        f"/attachments/upload?use=form_field&dossier={world.draft_id}&field=pj",
        data=EICAR,
        headers={"Content-Type": "text/plain", "X-File-Name": "eicar.txt"},
    )
    assert response.status_code == 201, response.json
    file_id = response.json["files"][0]["id"]
    # The upload answered "pending"; the scan ran when the request's app context ended.
    assert response.json["files"][0]["scan_status"] == "pending"
    with world.app.app_context():
        attachment = db.session.get(Attachment, file_id)
        assert attachment.scan_status == ScanStatus.infected
        assert attachment.scan_detail == "Eicar-Test-Signature.UNOFFICIAL"
        assert attachment.scanned_at is not None
        blockers = services.submission_blockers(world.draft_id)
        assert len(blockers) == 1 and "eicar.txt" in blockers[0]
    download = client.get(f"/attachments/{file_id}")
    assert download.status_code == 403  # not even its owner
    assert b"virus" in download.data


def test_a_clean_upload_is_marked_clean(make_app, clamd):
    world = build_world(make_app(CLAMD_URL=clamd["unix"], CELERY_BROKER_URL=None))
    with world.app.app_context():
        file_id = world.store(PDF)
    with world.app.app_context():
        assert db.session.get(Attachment, file_id).scan_status == ScanStatus.clean


def test_the_scan_is_an_outbox_event_of_the_uploads_transaction(make_app, clamd):
    """Whatever the broker, the event is written with the file and its handler scans it."""
    world = build_world(make_app(CLAMD_URL=clamd["tcp"]))
    with world.app.app_context():
        file_id = world.store(EICAR, "eicar.txt", declared="text/plain")
        event = db.session.scalar(
            sa.select(OutboxEvent).where(OutboxEvent.key == f"attachment-scan-{file_id}")
        )
        assert event.topic == scanning.SCAN_TOPIC and event.payload == {"attachment": file_id}
        if event.processed_at is None:  # a real broker: no worker runs in tests
            outbox.process(event.id)
        assert db.session.get(Attachment, file_id).scan_status == ScanStatus.infected


def test_submission_waits_while_a_scan_is_pending(make_app, clamd):
    world = build_world(make_app(CLAMD_URL=clamd["tcp"]))
    with world.app.app_context():
        file_id = world.store(PDF)
        db.session.get(Attachment, file_id).scan_status = ScanStatus.pending
        db.session.commit()
        assert services.pending_scans(world.draft_id) == 1
        (message,) = services.submission_blockers(world.draft_id)
        assert "en cours de vérification" in message or "checked for viruses" in message
        assert scanning.scan_attachment(file_id) == ScanStatus.clean
        db.session.commit()
        assert services.submission_blockers(world.draft_id) == []


def test_every_attachment_sharing_infected_bytes_is_quarantined(make_app, clamd):
    world = build_world(make_app(CLAMD_URL=clamd["tcp"]))
    with world.app.app_context():
        first = world.store(EICAR, "a.txt", declared="text/plain")
        second = world.store(EICAR, "b.txt", declared="text/plain", dossier=world.submitted_id)
        db.session.get(Attachment, first).scan_status = ScanStatus.pending
        db.session.get(Attachment, second).scan_status = ScanStatus.clean
        db.session.commit()
        scanning.scan_attachment(first)
        db.session.commit()
        assert db.session.get(Attachment, second).scan_status == ScanStatus.infected


def test_clamd_down_is_retried_then_marked_error(make_app):
    world = build_world(make_app(CLAMD_URL=f"tcp://127.0.0.1:{free_port()}", CLAMD_TIMEOUT=2))
    with world.app.app_context():
        file_id = world.store(PDF)
        with pytest.raises(ClamdUnavailable):
            scanning.scan_attachment(file_id, retry_when_unavailable=True)
        assert scanning.scan_attachment(file_id) == ScanStatus.error
        db.session.commit()
        attachment = db.session.get(Attachment, file_id)
        assert "cannot reach clamd" in attachment.scan_detail
        assert attachment.downloadable  # an error is shown, not hidden


def test_the_scan_event_gives_up_after_its_attempts(make_app):
    world = build_world(make_app(CLAMD_URL=f"tcp://127.0.0.1:{free_port()}", CLAMD_TIMEOUT=2))
    with world.app.app_context():
        file_id = world.store(PDF)
        event = OutboxEvent(topic=scanning.SCAN_TOPIC, key="x", payload={"attachment": file_id})
        event.attempts = 0
        with pytest.raises(ClamdUnavailable):
            scanning._scan_event({"attachment": file_id}, event)
        event.attempts = scanning.SCAN_ATTEMPTS - 1
        scanning._scan_event({"attachment": file_id}, event)
        assert db.session.get(Attachment, file_id).scan_status == ScanStatus.error
        db.session.rollback()


def test_streams_are_sent_in_bounded_pieces(clamd):
    client = ClamdClient(clamd["tcp"])
    big = io.BytesIO(b"A" * (3 * 1024 * 1024))
    assert client.instream(iter(lambda: big.read(1024 * 1024), b"")).infected is False
