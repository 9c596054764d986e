"""Attachments as the rest of Guichet uses them: store an upload, find who may see a file,
attach, remove, clean up, and tell the portal whether scans are still running.

Functions change the session and leave the commit to the caller, like the core's services.
Bytes are never removed inside a transaction: when attachment rows are deleted, their
storage keys are remembered and, once the deletion is committed, each key that no row
references any more is removed from storage (``_remove_released_objects``). Storing and
removing the same key are serialised (``_lock_storage_keys``), so a file uploaded again at
the very moment its last copy is deleted is never left without its bytes.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import chain
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from app.extensions import db
from app.models import (
    Attachment,
    AttachmentUse,
    Dossier,
    DossierState,
    FieldDefinition,
    Message,
    Opinion,
    Procedure,
    ProcedureState,
    ScanStatus,
    utcnow,
)
from app.security import Roles, can_administer_procedure, can_see_dossier, can_see_procedure

from . import names, scanning, sniffing
from .errors import UploadRefused
from .storage import CHUNK_SIZE, Received, get_storage

log = logging.getLogger(__name__)

MB = 1024 * 1024
ATTACHMENT_FIELD_TYPE = "attachment"

DEFAULT_LIMITS: dict[str, int] = {
    AttachmentUse.form_field: 200 * MB,
    AttachmentUse.message: 20 * MB,
    AttachmentUse.justification: 20 * MB,
    AttachmentUse.opinion: 20 * MB,
    AttachmentUse.attestation: 20 * MB,
    AttachmentUse.logo: 5 * MB,
    AttachmentUse.notice: 20 * MB,
    AttachmentUse.export: 2048 * MB,
    AttachmentUse.signature: 2 * MB,
}
"""Largest file per use, in bytes (``ATTACHMENT_LIMITS`` overrides, per use)."""

_F = sniffing.Family
_EXCHANGED = frozenset({_F.document, _F.spreadsheet, _F.presentation, _F.image, _F.archive})
USE_FAMILIES: dict[str, frozenset[str] | None] = {
    AttachmentUse.message: _EXCHANGED,
    AttachmentUse.justification: _EXCHANGED,
    AttachmentUse.opinion: _EXCHANGED,
    AttachmentUse.attestation: frozenset({_F.document}),
    AttachmentUse.logo: frozenset({_F.image}),
    AttachmentUse.notice: frozenset({_F.document}),
    AttachmentUse.export: None,
    AttachmentUse.signature: frozenset({_F.image}),
}
"""Families accepted per use; a form field's own options decide for ``form_field``."""

WEB_IMAGES = frozenset({"image/png", "image/jpeg"})
USE_TYPES: dict[str, frozenset[str]] = {
    AttachmentUse.logo: WEB_IMAGES,
    AttachmentUse.signature: WEB_IMAGES,
    AttachmentUse.notice: frozenset({"application/pdf"}),
}
"""Uses narrower than their family: the logo and the signature are shown on the portal
and drawn in PDFs, which PNG and JPEG suit everywhere (no SVG: it can carry scripts); the
notice is read by anyone, so it is a PDF."""

TYPE_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "application/pdf": "PDF"}

PROCEDURE_FILE_USES = (AttachmentUse.logo, AttachmentUse.notice, AttachmentUse.signature)
"""Files that belong to a procedure rather than to a dossier; its administrators send them."""

STAFF = frozenset({Roles.ADMIN, Roles.ADMINISTRATOR, Roles.AGENT})
"""Roles that instruct dossiers: they see private annotations and build dossier archives."""

APPLICANT_EDITABLE = frozenset({DossierState.draft, DossierState.submitted})
"""An applicant may change their files until review starts."""

PUBLIC_PROCEDURE_STATES = frozenset({ProcedureState.published, ProcedureState.closed})
"""Logos and notices of these procedures are public: their pages are."""


# ---------------------------------------------------------------------------------------
# Where a file goes, and whether this person may send it there


@dataclass(frozen=True)
class UploadTarget:
    """Where an upload goes and the rules it must pass there."""

    use: AttachmentUse
    max_size: int
    families: frozenset[str] | None = None
    types: frozenset[str] | None = None
    max_files: int | None = None
    dossier_id: int | None = None
    field_stable_id: str | None = None
    procedure_id: int | None = None
    message_id: int | None = None

    def constraints(self) -> dict[str, Any]:
        """What the portal's file input needs to know before sending anything."""
        return {
            "max_size": self.max_size,
            "max_files": self.max_files,
            "families": sorted(self.families or sniffing.Family.ALL),
            "accept": sniffing.accept_attribute(self.families, self.types),
        }


def use_limit(use: AttachmentUse | str) -> int:
    """The configured size limit of a use, in bytes."""
    return int(current_app.config["ATTACHMENT_LIMITS"][AttachmentUse(use).value])


def target_for(
    use: AttachmentUse | str,
    *,
    dossier: Dossier | None = None,
    field: FieldDefinition | None = None,
    procedure: Procedure | None = None,
    message: Message | None = None,
) -> UploadTarget:
    """The rules of an upload, without any check of who sends it (server-made files, and
    plugins that authorise by themselves).

    A form field's options (``app.fields.contrib.links.AttachmentOptions``) decide its
    families (``families``), its own size limit (``max_size_mb``, capped by the use's
    limit) and how many files it takes (``max_files``, default 1). ``field`` is a
    ``FieldDefinition`` or a ``FieldSpec``.
    """
    use = AttachmentUse(use)
    limit = use_limit(use)
    if use == AttachmentUse.form_field:
        if field is None or dossier is None:
            raise ValueError("a form_field upload needs its dossier and field")
        options = field.options or {}
        if options.get("max_size_mb"):
            limit = min(limit, int(float(options["max_size_mb"]) * MB))
        families = frozenset(options.get("families") or ()) or None
        return UploadTarget(
            use=use,
            max_size=limit,
            families=families,
            max_files=int(options.get("max_files") or 1),
            dossier_id=dossier.id,
            field_stable_id=field.stable_id,
        )
    return UploadTarget(
        use=use,
        max_size=limit,
        families=USE_FAMILIES.get(use),
        types=USE_TYPES.get(use),
        dossier_id=dossier.id if dossier is not None else None,
        procedure_id=procedure.id if procedure is not None else None,
        message_id=message.id if message is not None else None,
    )


def _not_found() -> UploadRefused:
    return UploadRefused(_l("This file or its dossier does not exist."), status=404)


def authorize_upload(
    user,
    use: str,
    *,
    dossier_id: int | None = None,
    field_stable_id: str | None = None,
    procedure_id: int | None = None,
) -> UploadTarget:
    """The target of an upload that ``user`` asks for, or ``UploadRefused``.

    What cannot be seen answers 404, like everywhere in Guichet; what can be seen but not
    changed now answers 400 with the reason.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        raise UploadRefused(_l("Sign in to send files."), status=401)
    try:
        use = AttachmentUse(use)
    except ValueError:
        use = None
    if use in PROCEDURE_FILE_USES:
        procedure = db.session.get(Procedure, procedure_id) if procedure_id else None
        if procedure is None or not can_administer_procedure(user, procedure):
            raise _not_found()
        return target_for(use, procedure=procedure)
    if use not in (
        AttachmentUse.form_field,
        AttachmentUse.message,
        AttachmentUse.justification,
        AttachmentUse.opinion,
    ):
        raise UploadRefused(_l("This kind of file cannot be sent here."))
    dossier = db.session.get(Dossier, dossier_id) if dossier_id else None
    if dossier is None or not can_see_dossier(user, dossier):
        raise _not_found()
    if use == AttachmentUse.form_field:
        return _authorize_field_upload(user, dossier, field_stable_id)
    if use == AttachmentUse.message:
        if dossier.state == DossierState.draft or dossier.archived:
            raise UploadRefused(_l("Messages cannot be sent on this dossier."))
    elif use == AttachmentUse.justification:
        if not sees_dossier_as(user, dossier.id, STAFF):
            raise _not_found()
    elif not sees_dossier_as(user, dossier.id, STAFF | {Roles.EXPERT}):
        raise _not_found()
    return target_for(use, dossier=dossier)


def _authorize_field_upload(user, dossier: Dossier, stable_id: str | None) -> UploadTarget:
    field = attachment_field(dossier, stable_id)
    if field is None:
        raise _not_found()
    if field.private:  # an annotation: the agents' own
        if not sees_dossier_as(user, dossier.id, STAFF):
            raise _not_found()
    else:
        if not sees_dossier_as(user, dossier.id, {Roles.APPLICANT}):
            raise _not_found()
        if dossier.state not in APPLICANT_EDITABLE:
            raise UploadRefused(_l("This dossier is being reviewed and can no longer be changed."))
    target = target_for(AttachmentUse.form_field, dossier=dossier, field=field)
    if _field_files(dossier.id, field.stable_id) >= target.max_files:
        if target.max_files == 1:
            raise UploadRefused(
                _l("This field takes a single file: remove it before adding another.")
            )
        raise UploadRefused(
            _l(
                "This field takes at most %(num)d files: remove one before adding another.",
                num=target.max_files,
            )
        )
    return target


def attachment_field(dossier: Dossier, stable_id: str | None) -> FieldDefinition | None:
    """The attachment field ``stable_id`` of the dossier's revision, if there is one."""
    if not stable_id:
        return None
    return db.session.scalar(
        sa.select(FieldDefinition).where(
            FieldDefinition.revision_id == dossier.revision_id,
            FieldDefinition.stable_id == stable_id,
            FieldDefinition.type == ATTACHMENT_FIELD_TYPE,
        )
    )


def _field_files(dossier_id: int, stable_id: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Attachment.id)).where(
            Attachment.dossier_id == dossier_id,
            Attachment.field_stable_id == stable_id,
            Attachment.use == AttachmentUse.form_field,
        )
    )


class _SomeRoles:
    """A person seen through some of their roles only (``app.security`` scopes by role)."""

    is_authenticated = True

    def __init__(self, user, roles: Iterable[str]) -> None:
        wanted = set(roles)
        self.id = user.id
        self.roles = [role for role in user.roles if role.name in wanted]


def sees_dossier_as(user, dossier_id: int, roles: Iterable[str]) -> bool:
    """Whether ``user`` sees the dossier through one of ``roles`` (e.g. as an agent, not
    merely as its applicant)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return can_see_dossier(_SomeRoles(user, roles), dossier_id)


# ---------------------------------------------------------------------------------------
# Storing


def store_upload(
    stream: BinaryIO,
    filename: str | None,
    declared_type: str | None,
    target: UploadTarget,
    user=None,
) -> Attachment:
    """Check and store one uploaded file; return its new ``Attachment`` (the caller commits).

    The content is read in chunks and never held whole in memory: its first bytes decide
    its type (refused before anything is kept), the byte count is checked against the
    target's limit as it streams, and it is hashed on the way to a temporary place in
    storage. Once the row is flushed the bytes move to their content key, and a virus scan
    is scheduled in the same transaction. Raises ``UploadRefused``.
    """
    verdicts: list[sniffing.Verdict] = []
    chunks = _checked_chunks(stream, filename, target, verdicts)
    storage = get_storage()
    received = storage.receive(chunks)
    try:
        attachment = _record(received, verdicts[0], filename, declared_type, target, user)
        _lock_storage_keys([received.key])
        db.session.flush()
        storage.commit(received)
        db.session.info.setdefault(_STORED, set()).add(received.key)
        scanning.request_scan(attachment)
    except BaseException:
        storage.discard(received)
        raise
    return attachment


def store_generated(
    stream: BinaryIO, filename: str, mime: str, family: str, target: UploadTarget, user=None
) -> Attachment:
    """Store a file the platform made itself (an agent's export); the caller commits.

    Its type is the one its maker states, not sniffed (JSON is no upload type), and it is
    not scanned: it holds text from the database, or files scanned on their way in. Read
    in chunks like an upload, checked against the target's size limit as it streams.
    """
    name = names.normalise_name(filename)

    def chunks() -> Iterator[bytes]:
        size = 0
        for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
            size += len(chunk)
            if size > target.max_size:
                raise UploadRefused(_too_large(name, target.max_size), status=413)
            yield chunk

    storage = get_storage()
    received = storage.receive(chunks())
    try:
        verdict = sniffing.Verdict(mime=mime, family=family, extension="")
        attachment = _record(received, verdict, name, mime, target, user)
        attachment.scan_status = ScanStatus.not_scanned
        _lock_storage_keys([received.key])
        db.session.flush()
        storage.commit(received)
        db.session.info.setdefault(_STORED, set()).add(received.key)
    except BaseException:
        storage.discard(received)
        raise
    return attachment


def duplicate(attachment: Attachment, target: UploadTarget) -> Attachment:
    """A new row for ``target`` holding the same stored bytes as ``attachment`` (its scan
    verdict included): bytes stay in storage while any row references their key. The
    caller commits."""
    _lock_storage_keys([attachment.storage_key])
    copy = Attachment(
        use=target.use,
        storage_key=attachment.storage_key,
        sha256=attachment.sha256,
        size=attachment.size,
        original_name=attachment.original_name,
        declared_type=attachment.declared_type,
        sniffed_type=attachment.sniffed_type,
        family=attachment.family,
        scan_status=attachment.scan_status,
        scan_detail=attachment.scan_detail,
        scanned_at=attachment.scanned_at,
        uploaded_by_id=attachment.uploaded_by_id,
        dossier_id=target.dossier_id,
        field_stable_id=target.field_stable_id,
        procedure_id=target.procedure_id,
        message_id=target.message_id,
    )
    db.session.add(copy)
    db.session.flush()
    return copy


def _checked_chunks(
    stream: BinaryIO, filename: str | None, target: UploadTarget, verdicts: list
) -> Iterator[bytes]:
    """The stream's chunks, refused on the fly: type from the first bytes, then size."""
    shown = names.normalise_name(filename)
    head = b""
    while len(head) < sniffing.SNIFF_BYTES and (chunk := stream.read(CHUNK_SIZE)):
        head += chunk
    if not head:
        raise UploadRefused(_l("The file “%(name)s” is empty.", name=shown))
    verdict = sniffing.classify(head, shown, target.families)
    if target.types is not None and verdict.mime not in target.types:
        raise UploadRefused(
            _l(
                "The file “%(name)s” is refused: only %(formats)s files are accepted here.",
                name=shown,
                formats=", ".join(sorted(TYPE_NAMES.get(t, t) for t in target.types)),
            )
        )
    verdicts.append(verdict)
    size = 0
    for chunk in chain([head], iter(lambda: stream.read(CHUNK_SIZE), b"")):
        size += len(chunk)
        if size > target.max_size:
            raise UploadRefused(_too_large(shown, target.max_size), status=413)
        yield chunk


def _too_large(name: str, limit: int):
    return _l(
        "The file “%(name)s” is too large: files sent here are limited to %(limit)s.",
        name=name,
        limit=megabytes(limit),
    )


def megabytes(size: int) -> str:
    """A size for people: ``20 MB`` (``20 Mo`` in French)."""
    value = size / MB
    shown = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return str(_l("%(size)s MB", size=shown))


def file_size(size: int) -> str:
    """A file's size for people: ``45 kB`` under a megabyte (not ``0.0 MB``), else
    ``1.2 MB``."""
    if size < MB:
        return str(_l("%(size)s kB", size=max(1, round(size / 1024))))
    return megabytes(size)


_PRINTABLE = set(string.printable) - set("\r\n\t\x0b\x0c")


def _record(
    received: Received,
    verdict: sniffing.Verdict,
    filename: str | None,
    declared_type: str | None,
    target: UploadTarget,
    user,
) -> Attachment:
    declared = "".join(ch for ch in (declared_type or "") if ch in _PRINTABLE)[:255] or None
    attachment = Attachment(
        use=target.use,
        storage_key=received.key,
        sha256=received.sha256,
        size=received.size,
        original_name=names.normalise_name(filename, verdict.extension),
        declared_type=declared,
        sniffed_type=verdict.mime,
        family=verdict.family,
        scan_status=ScanStatus.pending,
        uploaded_by_id=getattr(user, "id", None),
        dossier_id=target.dossier_id,
        field_stable_id=target.field_stable_id,
        procedure_id=target.procedure_id,
        message_id=target.message_id,
    )
    db.session.add(attachment)
    return attachment


def _lock_storage_keys(keys: Iterable[str], connection: sa.Connection | None = None) -> None:
    """Serialise, until the transaction ends, everyone storing or removing these keys.

    PostgreSQL: one advisory transaction lock per key. SQLite: its single writer lock,
    taken by an update that changes nothing.
    """
    execute = connection.execute if connection is not None else db.session.execute
    dialect = (connection.engine if connection is not None else db.engine).dialect.name
    if dialect == "postgresql":
        for key in sorted(set(keys)):  # one order everywhere: no deadlock
            lock_id = int(key.rsplit("/", 1)[-1][:15], 16)
            execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    else:
        table = Attachment.__table__
        execute(sa.update(table).where(sa.false()).values(size=table.c.size))


# ---------------------------------------------------------------------------------------
# Attaching


def attach_to_message(attachment_ids: Iterable[int], message: Message, user) -> list[Attachment]:
    """Attach files uploaded by ``user`` for ``message``'s dossier to the message, once it
    is written (the caller commits). Files of someone else, of another dossier, already
    attached, or infected are refused."""
    attachments = []
    for attachment_id in attachment_ids:
        attachment = db.session.get(Attachment, attachment_id)
        if (
            attachment is None
            or attachment.uploaded_by_id != getattr(user, "id", None)
            or attachment.use != AttachmentUse.message
            or attachment.message_id is not None
            or attachment.dossier_id not in (None, message.dossier_id)
        ):
            raise _not_found()
        if attachment.scan_status == ScanStatus.infected:
            raise UploadRefused(_infected_message(attachment))
        attachment.message_id = message.id
        attachment.dossier_id = message.dossier_id
        attachments.append(attachment)
    return attachments


def field_attachments_checker(dossier: Dossier, user) -> Callable[[list[int], Any], None]:
    """The ``CleanContext.check_attachments`` hook for saving ``dossier``'s answers.

    An attachment answer is a list of attachment ids; each must be a form file of this
    dossier's field (or a fresh upload of ``user`` for it), within the field's families
    and size limit, and not infected. Raises marshmallow's ``ValidationError``.
    """

    def check(ids: list[int], spec: Any) -> None:
        target = target_for(AttachmentUse.form_field, dossier=dossier, field=spec)
        rows = {
            row.id: row
            for row in db.session.scalars(sa.select(Attachment).where(Attachment.id.in_(ids)))
        }
        for attachment_id in ids:
            row = rows.get(attachment_id)
            if (
                row is None
                or row.use != AttachmentUse.form_field
                or not _belongs(row, dossier, spec, user)
            ):
                raise ValidationError(str(_l("These files are not valid: send them again.")))
            if row.scan_status == ScanStatus.infected:
                raise ValidationError(str(_infected_message(row)))
            if target.families is not None and row.family not in target.families:
                raise ValidationError(
                    str(
                        _l(
                            "The file “%(name)s” is refused: only %(families)s are accepted here.",
                            name=row.original_name,
                            families=sniffing.families_text(target.families),
                        )
                    )
                )
            if row.size > target.max_size:
                raise ValidationError(str(_too_large(row.original_name, target.max_size)))

    return check


def _belongs(row: Attachment, dossier: Dossier, spec: Any, user) -> bool:
    if row.dossier_id == dossier.id:
        return row.field_stable_id in (None, spec.stable_id)
    fresh = row.dossier_id is None and row.message_id is None and row.procedure_id is None
    return fresh and user is not None and row.uploaded_by_id == getattr(user, "id", None)


# ---------------------------------------------------------------------------------------
# Who may download what


def dossier_of(attachment: Attachment) -> int | None:
    """The dossier a file belongs to, directly or through its message."""
    if attachment.dossier_id is not None:
        return attachment.dossier_id
    if attachment.message_id is not None:
        return db.session.scalar(
            sa.select(Message.dossier_id).where(Message.id == attachment.message_id)
        )
    return None


def can_download(user, attachment: Attachment) -> bool:
    """Whether ``user`` may see this file at all (its scan status aside).

    - a file of a dossier: whoever sees the dossier (owner, accepted co-editors, agents of
      its group, experts asked about it, administrators of its procedure, platform admin),
      except private annotations (agents only), opinions (agents, and the expert of the
      opinion that holds the file) and message files not sent yet (their uploader only);
    - a logo or notice: anyone once the procedure is published or closed, else those who
      see the procedure in the back office;
    - an attestation's signature image: the procedure's administrators only (it is drawn
      in the attestation PDF, never served to the public);
    - any other file (a fresh upload, an export): its uploader only.
    """
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    is_uploader = authenticated and attachment.uploaded_by_id == user.id
    dossier_id = dossier_of(attachment)
    if dossier_id is not None:
        if not authenticated:
            return False
        if attachment.use == AttachmentUse.message and attachment.message_id is None:
            return is_uploader
        if attachment.use == AttachmentUse.opinion:
            return (
                is_uploader
                or sees_dossier_as(user, dossier_id, STAFF)
                or _expert_of_opinion_holding(user, attachment)
            )
        if attachment.field_stable_id and _is_private_field(dossier_id, attachment):
            return sees_dossier_as(user, dossier_id, STAFF)
        return can_see_dossier(user, dossier_id)
    if attachment.procedure_id is not None and attachment.use in (
        AttachmentUse.logo,
        AttachmentUse.notice,
    ):
        procedure = db.session.get(Procedure, attachment.procedure_id)
        if procedure is None:
            return is_uploader
        if procedure.state in PUBLIC_PROCEDURE_STATES:
            return True
        return authenticated and (
            can_see_procedure(user, procedure) or can_administer_procedure(user, procedure)
        )
    if attachment.procedure_id is not None and attachment.use == AttachmentUse.signature:
        procedure = db.session.get(Procedure, attachment.procedure_id)
        if procedure is None:
            return is_uploader
        return authenticated and can_administer_procedure(user, procedure)
    return is_uploader


def _is_private_field(dossier_id: int, attachment: Attachment) -> bool:
    return bool(
        db.session.scalar(
            sa.select(FieldDefinition.private)
            .join(Dossier, Dossier.revision_id == FieldDefinition.revision_id)
            .where(
                Dossier.id == dossier_id, FieldDefinition.stable_id == attachment.field_stable_id
            )
        )
    )


def _expert_of_opinion_holding(user, attachment: Attachment) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                Opinion.expert_id == user.id,
                Opinion.revoked_at.is_(None),
                sa.or_(
                    Opinion.question_attachment_id == attachment.id,
                    Opinion.answer_attachment_id == attachment.id,
                ),
            )
        )
    )


def _infected_message(attachment: Attachment):
    return _l(
        "The file “%(name)s” contains a virus and has been quarantined: it cannot be "
        "downloaded. Remove it and send a clean copy.",
        name=attachment.original_name,
    )


def get_for_download(user, attachment_id: int) -> Attachment:
    """The attachment ``user`` asks to download, or ``UploadRefused``: 404 when they may
    not see it (existence is not revealed), 403 when it is infected, 409 while its scan
    is running (except for its uploader, who has the file already)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not can_download(user, attachment):
        raise _not_found()
    if attachment.scan_status == ScanStatus.infected:
        raise UploadRefused(_infected_message(attachment), status=403)
    if attachment.scan_status == ScanStatus.pending and attachment.uploaded_by_id != getattr(
        user, "id", None
    ):
        raise UploadRefused(
            _l("This file is still being checked for viruses: try again in a moment."),
            status=409,
        )
    return attachment


def download_url(attachment: Attachment, *, inline: bool = False, external: bool = False) -> str:
    """The address of the authorising download view for this file."""
    values: dict[str, Any] = {"attachment_id": attachment.id}
    if inline:
        values["inline"] = 1
    return url_for("attachments.download", _external=external, **values)


SCAN_LABELS = {
    ScanStatus.pending: _l("Virus scan in progress"),
    ScanStatus.clean: _l("No virus found"),
    ScanStatus.infected: _l("Virus found: file quarantined"),
    ScanStatus.error: _l("Virus scan failed"),
    ScanStatus.not_scanned: _l("Not scanned for viruses"),
}


def describe(attachment: Attachment) -> dict[str, Any]:
    """What the portal and the agent screens show of a file (JSON-ready)."""
    return {
        "id": attachment.id,
        "name": attachment.original_name,
        "size": attachment.size,
        "size_text": file_size(attachment.size),
        "type": attachment.sniffed_type,
        "family": attachment.family,
        "scan_status": attachment.scan_status.value,
        "scan_label": str(SCAN_LABELS[attachment.scan_status]),
        "downloadable": attachment.downloadable,
        "download_url": download_url(attachment),
        "remove_url": url_for("attachments.remove", attachment_id=attachment.id, _method="POST"),
    }


# ---------------------------------------------------------------------------------------
# Submission


def pending_scans(dossier_id: int) -> int:
    """How many files of the dossier's form still wait for their virus scan."""
    return db.session.scalar(
        sa.select(sa.func.count(Attachment.id)).where(
            Attachment.dossier_id == dossier_id,
            Attachment.use == AttachmentUse.form_field,
            Attachment.scan_status == ScanStatus.pending,
        )
    )


def submission_blockers(dossier_id: int) -> list[str]:
    """Why the dossier's files prevent its submission now, in the applicant's language
    (empty: nothing prevents it). The portal shows these and lets the applicant retry:
    files still being scanned make them wait; infected files must be replaced."""
    problems = []
    if pending_scans(dossier_id):
        problems.append(
            str(
                _l(
                    "Your files are still being checked for viruses. This usually takes less "
                    "than a minute: please submit again in a moment."
                )
            )
        )
    infected = db.session.scalars(
        sa.select(Attachment).where(
            Attachment.dossier_id == dossier_id,
            Attachment.use == AttachmentUse.form_field,
            Attachment.scan_status == ScanStatus.infected,
        )
    )
    problems.extend(str(_infected_message(attachment)) for attachment in infected)
    return problems


# ---------------------------------------------------------------------------------------
# Removing


def remove_upload(user, attachment_id: int) -> None:
    """Remove a file its uploader has not submitted yet: a fresh upload, a file of a form
    they may still change, a file of a message not sent. Others: 404. The caller commits;
    the bytes go once nothing references them."""
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or user is None
        or not getattr(user, "is_authenticated", False)
        or attachment.uploaded_by_id != user.id
    ):
        raise _not_found()
    if not _still_removable(attachment):
        raise UploadRefused(_l("This file has been submitted and can no longer be removed."))
    db.session.delete(attachment)


def _still_removable(attachment: Attachment) -> bool:
    if attachment.use == AttachmentUse.message:
        return attachment.message_id is None
    if attachment.use == AttachmentUse.form_field and attachment.dossier_id is not None:
        if _is_private_field(attachment.dossier_id, attachment):
            return True  # an agent's annotation file, theirs to manage
        state = db.session.scalar(
            sa.select(Dossier.state).where(Dossier.id == attachment.dossier_id)
        )
        return state in APPLICANT_EDITABLE
    return attachment.dossier_id is None and attachment.procedure_id is None


def delete_dossier_files(dossier_id: int) -> int:
    """Delete every file of a dossier, its messages' included: call it when a draft is
    deleted or a dossier purged, before deleting the dossier (the caller commits; the
    bytes go once nothing references them). Returns how many rows were deleted."""
    message_ids = sa.select(Message.id).where(Message.dossier_id == dossier_id)
    rows = db.session.scalars(
        sa.select(Attachment).where(
            sa.or_(Attachment.dossier_id == dossier_id, Attachment.message_id.in_(message_ids))
        )
    ).all()
    for row in rows:
        db.session.delete(row)
    return len(rows)


def delete_message_files(message_id: int) -> int:
    """Delete the files of a message (an agent deleting their message). Caller commits."""
    rows = db.session.scalars(sa.select(Attachment).where(Attachment.message_id == message_id))
    count = 0
    for row in rows:
        db.session.delete(row)
        count += 1
    return count


def _references_to_attachments() -> list[sa.Column]:
    """Every column of another table that points to ``attachment.id`` (justifications,
    logos, opinions, exports…), found in the metadata so that a new one counts at once."""
    table = Attachment.__table__
    return [
        fk.parent
        for other in db.metadata.tables.values()
        if other is not table
        for fk in other.foreign_keys
        if fk.column.table is table
    ]


def orphans_clause(older_than: timedelta) -> sa.ColumnElement[bool]:
    """Where-clause on ``Attachment``: rows older than ``older_than`` that nothing keeps.

    A form field's file is kept by its dossier, a message's file by its message, any file
    by a row that references it (a decision's justification, a procedure's logo, an
    opinion's file, an export). Everything else is an orphan: uploads never saved, message
    files never sent, files of a dossier deleted without ``delete_dossier_files``.
    """
    kept_by_place = sa.or_(
        sa.and_(
            Attachment.use == AttachmentUse.form_field,
            sa.exists().where(Dossier.id == Attachment.dossier_id),
        ),
        sa.and_(
            Attachment.use == AttachmentUse.message,
            sa.exists().where(Message.id == Attachment.message_id),
        ),
    )
    referenced = [
        sa.exists().where(column == Attachment.id) for column in _references_to_attachments()
    ]
    return sa.and_(
        Attachment.created_at < utcnow() - older_than,
        sa.not_(kept_by_place),
        *[sa.not_(clause) for clause in referenced],
    )


def cleanup_orphans(older_than: timedelta | None = None, batch: int = 500) -> int:
    """Delete orphan files older than ``older_than`` (default ``ATTACHMENT_ORPHAN_AGE_HOURS``)
    and temporary uploads left in storage by crashes. Commits per batch. Returns how many
    attachment rows were deleted."""
    if older_than is None:
        older_than = timedelta(hours=current_app.config["ATTACHMENT_ORPHAN_AGE_HOURS"])
    removed = 0
    while True:
        rows = db.session.scalars(
            sa.select(Attachment)
            .where(orphans_clause(older_than))
            .order_by(Attachment.id)
            .limit(batch)
        ).all()
        for row in rows:
            db.session.delete(row)
        db.session.commit()
        removed += len(rows)
        if len(rows) < batch:
            break
    purged = get_storage().purge_incoming(older_than)
    if removed or purged:
        log.info("Removed %s orphan attachments and %s temporary uploads", removed, purged)
    return removed


# ---------------------------------------------------------------------------------------
# Removing bytes once their rows are gone for good (or were never committed)


_RELEASED = "attachments_released_keys"
_STORED = "attachments_stored_keys"


def _remember_released_keys(session, _flush_context) -> None:
    for instance in session.deleted:
        if isinstance(instance, Attachment):
            session.info.setdefault(_RELEASED, set()).add(instance.storage_key)


def _after_commit(session) -> None:
    session.info.pop(_STORED, None)
    _remove_quietly(session.info.pop(_RELEASED, None))


def _after_transaction_end(session, transaction) -> None:
    """A transaction rolled back (or closed) after storing uploads: their rows are gone,
    so are their bytes unless another row holds the same content."""
    if transaction.parent is None:
        session.info.pop(_RELEASED, None)
        _remove_quietly(session.info.pop(_STORED, None))


def _remove_quietly(keys: set[str] | None) -> None:
    if keys:
        try:
            remove_unreferenced_objects(keys)
        except Exception:  # the rows are settled already; leftover bytes are only a leak
            log.exception("Could not remove stored objects no longer referenced")


def remove_unreferenced_objects(keys: Iterable[str]) -> list[str]:
    """Remove from storage each of ``keys`` that no attachment row references (in its own
    transaction, serialised with uploads of the same keys). Returns the removed keys."""
    keys = set(keys)
    storage = get_storage()
    with db.engine.begin() as connection:
        _lock_storage_keys(keys, connection)
        referenced = set(
            connection.scalars(
                sa.select(Attachment.storage_key).where(Attachment.storage_key.in_(keys)).distinct()
            )
        )
        removed = sorted(keys - referenced)
        for key in removed:
            storage.delete(key)
    return removed


def listen_for_deletions() -> None:
    """Hook the session so that deleting attachment rows removes their bytes after commit."""
    session = db.session
    if not sa.event.contains(session, "after_flush", _remember_released_keys):
        sa.event.listen(session, "after_flush", _remember_released_keys)
        sa.event.listen(session, "after_commit", _after_commit)
        sa.event.listen(session, "after_transaction_end", _after_transaction_end)
