"""The files of a procedure itself: its logo and explanatory notice (shown on the portal)
and its attestation's signature image (drawn in the attestation PDF).

Each procedure holds at most one file per use. Sending a new one replaces the old one,
whose row is deleted in the same transaction (its bytes go after commit if nothing else
uses them). A file is shown or drawn only once its scan allows it (``showable``): a file
still being scanned, infected, or whose scan failed stays out of the portal and the PDF.
Functions change the session and leave the commit to the caller.
"""

from __future__ import annotations

import base64
from typing import Any, BinaryIO

from app.extensions import db
from app.models import Attachment, AttachmentUse, Procedure, ScanStatus
from app.services import attestations

from . import services
from .storage import StorageError, get_storage

SHOWABLE = frozenset({ScanStatus.clean, ScanStatus.not_scanned})
"""Scan statuses of a file that may be shown: clean, or no antivirus configured."""

DRAWN = (AttachmentUse.logo, AttachmentUse.signature)
"""Procedure files drawn in PDFs (PNG or JPEG only)."""


def current_id(procedure: Procedure, use: AttachmentUse) -> int | None:
    """The id of the procedure's file for ``use`` (logo, notice or signature)."""
    if use == AttachmentUse.logo:
        return procedure.logo_id
    if use == AttachmentUse.notice:
        return procedure.notice_id
    if use == AttachmentUse.signature:
        return attestations.signature_id(procedure)
    raise ValueError(f"not a procedure file: {use}")


def current(procedure: Procedure, use: AttachmentUse) -> Attachment | None:
    attachment_id = current_id(procedure, use)
    return db.session.get(Attachment, attachment_id) if attachment_id else None


def _set(procedure: Procedure, use: AttachmentUse, attachment_id: int | None) -> int | None:
    """Point the procedure's ``use`` at ``attachment_id``; return the previous id."""
    if use == AttachmentUse.signature:
        return attestations.set_signature(procedure, attachment_id)
    column = "logo_id" if use == AttachmentUse.logo else "notice_id"
    previous = getattr(procedure, column)
    setattr(procedure, column, attachment_id)
    return previous


def _delete_previous(procedure: Procedure, use: AttachmentUse, previous: int | None) -> None:
    """Delete the replaced file's row when it was this procedure's own."""
    if previous is None:
        return
    row = db.session.get(Attachment, previous)
    if row is not None and row.procedure_id == procedure.id and row.use == use:
        db.session.delete(row)


def replace(
    procedure: Procedure,
    use: AttachmentUse | str,
    stream: BinaryIO,
    filename: str | None,
    declared_type: str | None,
    user,
) -> Attachment:
    """Store an uploaded file as the procedure's ``use``, replacing the previous one.
    The caller has checked that ``user`` administers the procedure. Raises
    ``UploadRefused`` (wrong type, too large, empty) and then changes nothing."""
    use = AttachmentUse(use)
    if use not in services.PROCEDURE_FILE_USES:
        raise ValueError(f"not a procedure file: {use}")
    target = services.target_for(use, procedure=procedure)
    attachment = services.store_upload(stream, filename, declared_type, target, user)
    db.session.flush()
    previous = _set(procedure, use, attachment.id)
    db.session.flush()
    _delete_previous(procedure, use, previous)
    return attachment


def remove(procedure: Procedure, use: AttachmentUse | str) -> bool:
    """Remove the procedure's file for ``use``; False when it had none."""
    use = AttachmentUse(use)
    previous = _set(procedure, use, None)
    if previous is None:
        return False
    db.session.flush()
    _delete_previous(procedure, use, previous)
    return True


def copy_files(source: Procedure, copy: Procedure) -> None:
    """Give a procedure's copy the source's logo, notice and signature image: rows of its
    own sharing the stored bytes (``signals.procedure_cloned``; the caller commits)."""
    for use in services.PROCEDURE_FILE_USES:
        original = current(source, use)
        if original is not None:
            _set(
                copy, use, services.duplicate(original, services.target_for(use, procedure=copy)).id
            )


def showable(attachment: Attachment | None) -> bool:
    """Whether a procedure's file may be shown on the portal or drawn in a PDF now."""
    return attachment is not None and attachment.scan_status in SHOWABLE


def describe(attachment: Attachment) -> dict[str, Any]:
    """What the portal and the settings screen say of a procedure's file."""
    return {
        **services.describe(attachment),  # its size_text among the rest
        "format": services.TYPE_NAMES.get(attachment.sniffed_type, attachment.sniffed_type),
        "showable": showable(attachment),
        "inline_url": services.download_url(attachment, inline=True),
    }


def portal_files(procedure: Procedure, user) -> dict[str, dict[str, Any] | None]:
    """The logo and notice the portal shows ``user`` for this procedure: None for either
    when there is none, when its scan does not allow showing it yet, or when ``user`` may
    not download it (a procedure not published yet: its administrators only)."""
    result: dict[str, dict[str, Any] | None] = {}
    for use in (AttachmentUse.logo, AttachmentUse.notice):
        attachment = current(procedure, use)
        shown = showable(attachment) and services.can_download(user, attachment)
        result[use.value] = describe(attachment) if shown else None
    return result


def image_data_url(attachment_id: int) -> str | None:
    """A ``data:`` URL of a stored PNG or JPEG that may be drawn (the attestation's image
    source), else None. Its size is bounded by the logo and signature limits."""
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or not showable(attachment)
        or attachment.sniffed_type not in services.WEB_IMAGES
        or attachment.size > max(services.use_limit(use) for use in DRAWN)
    ):
        return None
    try:
        with get_storage().open(attachment.storage_key) as stream:
            content = stream.read(attachment.size + 1)
    except StorageError:
        return None
    encoded = base64.b64encode(content).decode("ascii")
    return f"data:{attachment.sniffed_type};base64,{encoded}"
