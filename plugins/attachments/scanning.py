"""Virus scanning with clamd, after upload, in the background.

No maintained Python clamd client exists, and the protocol is small, so it is here:
``zINSTREAM``, then chunks each prefixed with their length as a 4-byte big-endian integer,
then a zero length; clamd answers ``stream: OK`` or ``stream: <signature> FOUND``
(or ``… ERROR``), terminated by a NUL byte. It speaks over TCP (``tcp://host:3310``) or a
unix socket (``unix:///run/clamav/clamd.ctl``), set with ``CLAMD_URL``.

A scan is an outbox event (``attachment.scan``) written in the upload's transaction, so it
runs in a Celery worker once the upload is committed and is retried while clamd is
unreachable. An infected content is quarantined: every attachment sharing its bytes is
marked infected, and an infected attachment is never served.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Attachment, OutboxEvent, ScanStatus, utcnow
from app.services import outbox

from .storage import StorageError, get_storage

log = logging.getLogger(__name__)

SCAN_TOPIC = "attachment.scan"
SCAN_ATTEMPTS = 5
"""Deliveries of a scan event while clamd is unreachable before the file is marked error."""

_STREAM_CHUNK = 256 * 1024


class ClamdError(Exception):
    """clamd answered with an error (e.g. the stream exceeds its ``StreamMaxLength``)."""


class ClamdUnavailable(ClamdError):
    """clamd could not be reached or stopped answering: worth retrying later."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str | None = None


class ClamdClient:
    """A minimal clamd client: ``ping`` and ``instream``."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        parts = urlsplit(url)
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            self.family, self.address = socket.AF_INET, (parts.hostname, parts.port)
            if ":" in parts.hostname:
                self.family = socket.AF_INET6
        elif parts.scheme == "unix" and parts.path:
            self.family, self.address = socket.AF_UNIX, parts.path
        else:
            raise ValueError(f"CLAMD_URL must be tcp://host:port or unix:///path, not {url!r}")
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        connection = socket.socket(self.family, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self.address)
        except OSError as error:
            connection.close()
            raise ClamdUnavailable(f"cannot reach clamd at {self.address}: {error}") from error
        return connection

    @staticmethod
    def _answer(connection: socket.socket) -> str:
        data = bytearray()
        while not data.endswith(b"\0"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.rstrip(b"\0").decode("utf-8", "replace").strip()

    def ping(self) -> bool:
        """Whether clamd answers ``PONG``."""
        try:
            with self._connect() as connection:
                connection.sendall(b"zPING\0")
                return self._answer(connection) == "PONG"
        except (ClamdUnavailable, OSError):
            return False

    def instream(self, chunks: Iterable[bytes]) -> ScanResult:
        """Send a content to clamd and read its verdict."""
        with self._connect() as connection:
            try:
                connection.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), _STREAM_CHUNK):
                        piece = chunk[start : start + _STREAM_CHUNK]
                        connection.sendall(struct.pack("!L", len(piece)) + piece)
                connection.sendall(struct.pack("!L", 0))
            except ConnectionError as error:
                # clamd stops reading when a stream exceeds its StreamMaxLength, after
                # saying why: read that answer if it is there.
                try:
                    answer = self._answer(connection)
                except OSError:
                    answer = ""
                if not answer:
                    raise ClamdUnavailable(f"clamd closed the connection: {error}") from error
                return parse_answer(answer)
            except OSError as error:  # timeouts
                raise ClamdUnavailable(f"clamd did not answer: {error}") from error
            try:
                return parse_answer(self._answer(connection))
            except OSError as error:
                raise ClamdUnavailable(f"clamd did not answer: {error}") from error


def parse_answer(answer: str) -> ScanResult:
    """``stream: OK`` → clean; ``stream: Name FOUND`` → infected; anything else raises."""
    if answer.endswith(" FOUND"):
        signature = answer.removeprefix("stream:").removesuffix(" FOUND").strip()
        return ScanResult(infected=True, signature=signature)
    if answer == "stream: OK":
        return ScanResult(infected=False)
    if not answer:
        raise ClamdUnavailable("clamd closed the connection without answering")
    raise ClamdError(answer)


def scanning_enabled() -> bool:
    return bool(current_app.config.get("CLAMD_URL"))


def client() -> ClamdClient:
    return ClamdClient(current_app.config["CLAMD_URL"], current_app.config["CLAMD_TIMEOUT"])


def request_scan(attachment: Attachment) -> None:
    """Schedule the scan of a new attachment, in the caller's transaction (or mark it
    "not scanned" when no antivirus is configured)."""
    if not scanning_enabled():
        attachment.scan_status = ScanStatus.not_scanned
        return
    attachment.scan_status = ScanStatus.pending
    db.session.flush()  # the event needs the attachment's id
    outbox.enqueue(
        SCAN_TOPIC, {"attachment": attachment.id}, key=f"attachment-scan-{attachment.id}"
    )


def scan_attachment(attachment_id: int, *, retry_when_unavailable: bool = False) -> ScanStatus:
    """Scan one attachment now and record the result in the session (the caller commits).

    When clamd is unreachable: raise ``ClamdUnavailable`` if ``retry_when_unavailable``
    (the outbox retries later), else mark the file "error".
    """
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        return ScanStatus.not_scanned
    if not scanning_enabled():
        _record(attachment, ScanStatus.not_scanned, None)
        return attachment.scan_status
    try:
        result = client().instream(get_storage().iter_chunks(attachment.storage_key, _STREAM_CHUNK))
    except ClamdUnavailable as error:
        if retry_when_unavailable:
            raise
        log.warning("Attachment %s not scanned: %s", attachment_id, error)
        _record(attachment, ScanStatus.error, str(error))
        return attachment.scan_status
    except (ClamdError, StorageError) as error:
        log.warning("Attachment %s could not be scanned: %s", attachment_id, error)
        _record(attachment, ScanStatus.error, str(error))
        return attachment.scan_status
    if result.infected:
        quarantine(attachment.storage_key, result.signature or "unknown")
    else:
        _record(attachment, ScanStatus.clean, None)
    return attachment.scan_status


def quarantine(storage_key: str, signature: str) -> int:
    """Mark every attachment holding this content as infected; none of them can be served
    any more. The bytes stay stored (for an operator's investigation) until no row
    references them. Returns how many attachments were marked."""
    log.warning("Infected content %s quarantined: %s", storage_key, signature)
    rows = list(
        db.session.scalars(sa.select(Attachment).where(Attachment.storage_key == storage_key))
    )
    for row in rows:
        _record(row, ScanStatus.infected, signature)
    return len(rows)


def _record(attachment: Attachment, status: ScanStatus, detail: str | None) -> None:
    attachment.scan_status = status
    attachment.scan_detail = detail[:255] if detail else None
    attachment.scanned_at = utcnow()


@outbox.handler(SCAN_TOPIC)
def _scan_event(payload: dict, event: OutboxEvent) -> None:
    """Carry out a scan event; the outbox commits, or retries with backoff when raising."""
    scan_attachment(
        payload["attachment"], retry_when_unavailable=event.attempts < SCAN_ATTEMPTS - 1
    )
