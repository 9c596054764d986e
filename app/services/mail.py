"""Emails, always sent through the outbox.

``send`` writes a ``mail.send`` event in the caller's transaction; its handler builds the
message and hands it to the SMTP server (``MAIL_SERVER``) or, when none is configured,
writes it as an ``.eml`` file into ``MAIL_OUTBOX_DIR`` (the embedded default), where the
platform admin reads it in the admin screens.
"""

from __future__ import annotations

import base64
import logging
import os
import smtplib
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app

from ..models import OutboxEvent, utcnow
from . import outbox, pdf

log = logging.getLogger(__name__)


def send(
    to: str | list[str],
    subject: str,
    body: str,
    *,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    pdfs: list[tuple[str, str]] | None = None,
    key: str | None = None,
) -> OutboxEvent:
    """Send a mail once the current transaction commits.

    ``attachments`` are (file name, MIME type, content) triples, kept small (an
    attestation); ``pdfs`` are (file name, HTML) pairs made into PDF files when the mail
    is delivered — by the worker, not in the web request (a receipt: its HTML is the
    snapshot taken now); ``key`` makes the mail idempotent (never sent twice).
    """
    payload: dict[str, Any] = {
        "to": [to] if isinstance(to, str) else list(to),
        "subject": subject,
        "body": body,
        "html": html,
        "attachments": [
            {"name": name, "type": mime, "data": base64.b64encode(content).decode()}
            for name, mime, content in attachments or []
        ]
        + [{"name": name, "type": "application/pdf", "html": html} for name, html in pdfs or []],
    }
    return outbox.enqueue("mail.send", payload, key=key)


def build_message(payload: dict[str, Any], message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(payload["to"])
    message["Subject"] = payload["subject"]
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message.set_content(payload["body"])
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html")
    for item in payload.get("attachments", []):
        if "html" in item:
            try:
                content = pdf.from_html(item["html"])
            except Exception:  # a PDF engine failure must not hold the mail back
                log.exception("The PDF %s of a mail could not be made: sent without it", item)
                continue
        else:
            content = base64.b64decode(item["data"])
        maintype, _, subtype = item["type"].partition("/")
        message.add_attachment(
            content,
            maintype=maintype,
            subtype=subtype,
            filename=item["name"],
        )
    return message


@outbox.handler("mail.send")
def deliver(payload: dict[str, Any], event: OutboxEvent) -> None:
    """Hand the mail to SMTP, or write it into the outbox folder."""
    config = current_app.config
    message = build_message(payload, make_msgid(idstring=event.key, domain="guichet"))
    if config["MAIL_SERVER"]:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
        return
    write_to_folder(message, Path(config["MAIL_OUTBOX_DIR"]), f"{event.id:08d}-{event.key}")


def write_to_folder(message: EmailMessage, folder: Path, name: str) -> Path:
    """Write atomically: a reader never sees half a mail, a retry overwrites the same file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.eml"
    fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes())
    os.replace(temporary, path)
    return path
