"""The REST API v1 (FAB ``BaseApi``): procedures, dossiers, decisions, messages,
annotations, labels, prefill. Thin: each method parses with ``app.api.schemas``, checks the
token's scope (``app.api.auth``) and calls the services the screens use.

Every path, its parameters and its answers are described in the docstrings' YAML, which
FAB turns into the OpenAPI description served at ``/api/v1/_openapi`` (``ApiDescription``).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, request, url_for
from flask_appbuilder.api import BaseApi, expose
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..conditions import visible_fields
from ..extensions import db
from ..fields import registry
from ..fields.base import field_specs
from ..models import (
    Administration,
    Attachment,
    AttachmentUse,
    AuthorKind,
    Dossier,
    DossierState,
    InstructorGroup,
    Label,
    Procedure,
    ScanStatus,
)
from ..services import api_tokens, audit, dossiers, instruction, prefill
from ..services.dossier_content import files_by_field, revision_fields
from ..workflow import Event
from . import schemas
from .auth import ApiError, current_token, scoped_dossier, scoped_procedure, token_required

# ---------------------------------------------------------------------------------------
# Helpers


def _load(schema: schemas.Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ApiError(
            422, "invalid", _l("Some values are not valid."), _flatten(error.messages)
        ) from None


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(messages, list):
        return {prefix or "_schema": [str(item) for item in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in (messages or {}).items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _json_body() -> Any:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(
            400, "bad_request", _l("Send a JSON object (Content-Type: application/json).")
        )
    return data


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(dossier: Dossier, groups: dict[int, str] | None = None) -> dict[str, Any]:
    if groups is None:
        group = dossier.group
        group_ref = {"id": group.id, "name": group.name} if group is not None else None
    else:
        group_ref = (
            {"id": dossier.group_id, "name": groups.get(dossier.group_id, "")}
            if dossier.group_id is not None
            else None
        )
    return {
        "number": dossier.id,
        "procedure_id": dossier.procedure_id,
        "state": dossier.state.value,
        "group": group_ref,
        "archived": bool(dossier.archived),
        "is_test": bool(dossier.is_test),
        "version": dossier.version,
        "created_at": _dt(dossier.created_at),
        "updated_at": _dt(dossier.updated_at),
        "submitted_at": _dt(dossier.submitted_at),
        "decided_at": _dt(dossier.decided_at),
    }


def _file(attachment: Attachment, number: int) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "name": attachment.original_name,
        "type": attachment.sniffed_type,
        "size": attachment.size,
        "field": attachment.field_stable_id,
        "scan_status": attachment.scan_status.value,
        "url": url_for("ApiV1.file", number=number, file_id=attachment.id, _external=True),
    }


def _answers(dossier: Dossier, *, private: bool, files: dict[str, list[Attachment]]) -> list:
    definitions = revision_fields(dossier)
    values = (dossier.annotations if private else dossier.answers) or {}
    shown = visible_fields(definitions, {**(dossier.answers or {}), **(dossier.annotations or {})})
    rows = []
    for spec in field_specs(definitions):
        if spec.private != private or spec.stable_id not in shown:
            continue
        try:
            field_type = registry.get(spec.type)
        except registry.UnknownFieldType:
            continue
        if not field_type.has_value:
            continue
        value = values.get(spec.stable_id)
        try:
            text = field_type.as_text(value, spec) if value is not None else ""
        except Exception:  # a broken type must not hide the rest of the dossier
            text = str(value)
        row = {
            "stable_id": spec.stable_id,
            "label": spec.label or spec.stable_id,
            "type": spec.type,
            "value": value,
            "text": text,
        }
        if spec.stable_id in files:
            row["files"] = [_file(item, dossier.id) for item in files[spec.stable_id]]
        rows.append(row)
    return rows


def _messages(dossier: Dossier) -> list[dict[str, Any]]:
    if "plugins.messaging" not in current_app.extensions.get("guichet_plugins", []):
        return []
    from plugins.messaging import services as messaging

    return [
        {
            "id": message.id,
            "author_kind": message.author_kind.value,
            "body": "" if message.deleted_at is not None else message.body,
            "created_at": _dt(message.created_at),
            "deleted": message.deleted_at is not None,
            "files": [_file(item, dossier.id) for item in message.attachments],
        }
        for message in messaging.thread(dossier)
    ]


def _detail(dossier: Dossier) -> dict[str, Any]:
    files = files_by_field(dossier)
    own_files = list(
        db.session.scalars(
            sa.select(Attachment)
            .where(
                Attachment.dossier_id == dossier.id,
                Attachment.message_id.is_(None),
                Attachment.use.not_in((AttachmentUse.logo, AttachmentUse.notice)),
            )
            .order_by(Attachment.id)
        )
    )
    return {
        **_summary(dossier),
        "identity": dossier.identity or {},
        "motivation": dossier.motivation,
        "answers": _answers(dossier, private=False, files=files),
        "annotations": _answers(dossier, private=True, files=files),
        "labels": [
            {"id": label.id, "name": label.name}
            for label in sorted(dossier.labels, key=lambda item: item.name)
        ],
        "transitions": [
            {
                "event": transition.event,
                "from": transition.from_state.value if transition.from_state else None,
                "to": transition.to_state.value,
                "at": _dt(transition.at),
                "actor": who or None,
                "motivation": transition.motivation,
            }
            for transition, who in instruction.history(dossier)
        ],
        "messages": _messages(dossier),
        "files": [_file(item, dossier.id) for item in own_files],
        "allowed_events": [event.value for event in instruction.available_events(dossier)],
    }


def _encode_cursor(dossier: Dossier) -> str:
    raw = json.dumps([dossier.updated_at.isoformat(), dossier.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated, number = json.loads(raw)
        at = datetime.fromisoformat(updated)
        if not isinstance(number, int) or at.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            400, "bad_cursor", _l("This cursor is not valid: start again without it.")
        ) from None
    return at, number


def _owner():
    """Who the token acts as: its owner (recorded in transitions and messages)."""
    return current_token().owner


# ---------------------------------------------------------------------------------------
# The API


class ApiV1(BaseApi):
    """Guichet's REST API, version 1 (bearer tokens, see docs/api.md)."""

    route_base = "/api/v1"
    version = "v1"
    openapi_spec_tag = "Guichet"
    openapi_spec_component_schemas = schemas.COMPONENTS
    base_permissions: list[str] = []

    @expose("/procedures", methods=["GET"])
    @token_required()
    def procedures(self) -> Response:
        """The procedures this token reaches.
        ---
        get:
          summary: List the token's procedures
          security:
          - bearer: []
          responses:
            200:
              description: The procedures
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/ProcedureListSchema'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        token = current_token()
        rows = db.session.execute(
            sa.select(Procedure, Administration)
            .join(Administration, Administration.id == Procedure.administration_id)
            .where(Procedure.id.in_(api_tokens.procedure_ids(token)))
            .order_by(Procedure.title, Procedure.id)
        ).all()
        items = [
            {
                "id": procedure.id,
                "slug": procedure.slug,
                "title": procedure.title,
                "state": procedure.state.value,
                "administration": {"id": administration.id, "name": administration.name},
                "published_at": _dt(procedure.published_at),
                "opens_at": _dt(procedure.opens_at),
                "deadline_at": _dt(procedure.deadline_at),
            }
            for procedure, administration in rows
        ]
        return self.response(200, items=items, total=len(items))

    @expose("/procedures/<int:procedure_id>/dossiers", methods=["GET"])
    @token_required()
    def dossiers(self, procedure_id: int) -> Response:
        """A procedure's dossiers (never drafts), oldest change first, a page at a time.
        ---
        get:
          summary: List a procedure's dossiers
          description: >-
            Sorted by last change (updated_at, then number), so that ``updated_since`` and
            the cursor give every change once: a dossier changed while you page comes again
            at the end.
          security:
          - bearer: []
          parameters:
          - procedure_id
          - in: query
            name: state
            schema:
              type: array
              items:
                type: string
                enum: [submitted, in_review, accepted, refused, closed_without_action]
            style: form
            explode: true
          - in: query
            name: group
            schema: {type: integer, minimum: 1, maximum: 2147483647}
          - in: query
            name: submitted_after
            schema: {type: string, format: date-time}
          - in: query
            name: submitted_before
            schema: {type: string, format: date-time}
          - in: query
            name: updated_since
            schema: {type: string, format: date-time}
          - in: query
            name: archived
            schema: {type: boolean}
          - in: query
            name: cursor
            schema: {type: string, maxLength: 200}
          - in: query
            name: page_size
            schema: {type: integer, minimum: 1, maximum: 100, default: 50}
          responses:
            200:
              description: One page of dossiers
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DossierPageSchema'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            422:
              $ref: '#/components/responses/Invalid'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        procedure = scoped_procedure(procedure_id)
        args = request.args.to_dict(flat=True)
        if "state" in request.args:
            args["state"] = request.args.getlist("state")
        query = _load(schemas.DossierQuerySchema(), args)
        where = [Dossier.procedure_id == procedure.id, Dossier.state != DossierState.draft]
        if query.get("state"):
            where.append(Dossier.state.in_([DossierState(item) for item in query["state"]]))
        if "group" in query:
            where.append(Dossier.group_id == query["group"])
        if "submitted_after" in query:
            where.append(Dossier.submitted_at >= _utc(query["submitted_after"]))
        if "submitted_before" in query:
            where.append(Dossier.submitted_at < _utc(query["submitted_before"]))
        if "updated_since" in query:
            where.append(Dossier.updated_at >= _utc(query["updated_since"]))
        if "archived" in query:
            where.append(Dossier.archived.is_(query["archived"]))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Dossier).where(*where))
        page = sa.select(Dossier).where(*where)
        if query.get("cursor"):
            at, number = _decode_cursor(query["cursor"])
            page = page.where(
                sa.or_(
                    Dossier.updated_at > at,
                    sa.and_(Dossier.updated_at == at, Dossier.id > number),
                )
            )
        size = query["page_size"]
        found = list(
            db.session.scalars(page.order_by(Dossier.updated_at, Dossier.id).limit(size + 1))
        )
        items = found[:size]
        groups = dict(
            db.session.execute(
                sa.select(InstructorGroup.id, InstructorGroup.name).where(
                    InstructorGroup.procedure_id == procedure.id
                )
            ).all()
        )
        return self.response(
            200,
            items=[_summary(item, groups) for item in items],
            total=total,
            next_cursor=_encode_cursor(items[-1]) if len(found) > size else None,
        )

    @expose("/dossiers/<int:number>", methods=["GET"])
    @token_required()
    def dossier(self, number: int) -> Response:
        """One dossier with everything about it.
        ---
        get:
          summary: Get a dossier
          security:
          - bearer: []
          parameters:
          - number
          responses:
            200:
              description: The dossier
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DossierSchema'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        return self.response(200, **_detail(scoped_dossier(number)))

    @expose("/dossiers/<int:number>/state", methods=["POST"])
    @token_required(write=True)
    def change_state(self, number: int) -> Response:
        """Apply an event of the workflow, as an agent does (mail, attestation…).
        ---
        post:
          summary: Change a dossier's state
          security:
          - bearer: []
          parameters:
          - number
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/StateChangeInput'
          responses:
            200:
              description: The state changed
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/StateChangeSchema'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            409:
              $ref: '#/components/responses/Conflict'
            422:
              $ref: '#/components/responses/Invalid'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        dossier = scoped_dossier(number)
        data = _load(schemas.StateChangeInput(), _json_body())
        version = data.get("version") or dossier.version
        try:
            outcome = instruction.decide(
                dossier,
                Event(data["event"]),
                _owner(),
                expected_version=version,
                motivation=data.get("motivation"),
            )
        except instruction.Conflict as conflict:
            raise ApiError(409, "conflict", conflict.message) from None
        except instruction.InstructionError as refusal:
            raise ApiError(409, "transition_not_allowed", refusal.message) from None
        db.session.commit()
        return self.response(200, dossier=_summary(dossier), notes=list(outcome.notes))

    @expose("/dossiers/<int:number>/messages", methods=["POST"])
    @token_required(write=True)
    def post_message(self, number: int) -> Response:
        """Write on the dossier's thread as the administration (the applicant is mailed).
        ---
        post:
          summary: Post a message
          security:
          - bearer: []
          parameters:
          - number
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/MessageInput'
          responses:
            201:
              description: The message
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/MessageSchema'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            409:
              $ref: '#/components/responses/Conflict'
            422:
              $ref: '#/components/responses/Invalid'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        dossier = scoped_dossier(number)
        data = _load(schemas.MessageInput(), _json_body())
        if "plugins.messaging" not in current_app.extensions.get("guichet_plugins", []):
            raise ApiError(409, "unavailable", _l("Messages are not available on this platform."))
        from plugins.messaging import services as messaging

        problem = messaging.writing_problem(dossier)
        if problem is not None:
            raise ApiError(409, "writing_closed", problem)
        body = messaging.clean_body(data["body"])
        if not body:
            raise ApiError(
                422, "invalid", _l("Write a message."), {"body": [_l("Write a message.")]}
            )
        if len(body) > messaging.MAX_LENGTH:
            message = _l("A message has at most %(max)s characters.", max=messaging.MAX_LENGTH)
            raise ApiError(422, "invalid", message, {"body": [message]})
        message = messaging.write(dossier, _owner(), AuthorKind.agent, body)
        db.session.commit()
        return self.response(
            201,
            id=message.id,
            author_kind=message.author_kind.value,
            body=message.body,
            created_at=_dt(message.created_at),
            deleted=False,
            files=[],
        )

    @expose("/dossiers/<int:number>/annotations", methods=["POST"])
    @token_required(write=True)
    def set_annotations(self, number: int) -> Response:
        """Set private annotations (the agents' fields), validated like on the dossier page.
        ---
        post:
          summary: Set annotations
          security:
          - bearer: []
          parameters:
          - number
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/AnnotationInput'
          responses:
            200:
              description: The dossier's summary after the change
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DossierSummarySchema'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            409:
              $ref: '#/components/responses/Conflict'
            422:
              $ref: '#/components/responses/Invalid'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        dossier = scoped_dossier(number)
        data = _load(schemas.AnnotationInput(), _json_body())
        editable = {
            spec.stable_id
            for spec in instruction.annotation_fields(dossier)
            if instruction.is_inline(spec)
        }
        unknown = sorted(key for key in data["values"] if key not in editable)
        if unknown:
            message = _l("This annotation does not exist or cannot be set through the API.")
            raise ApiError(422, "invalid", message, {key: [message] for key in unknown})
        try:
            errors = instruction.save_annotations(
                dossier,
                data["values"],
                _owner(),
                expected_version=data.get("version") or dossier.version,
            )
        except instruction.Conflict as conflict:
            raise ApiError(409, "conflict", conflict.message) from None
        if errors:
            raise ApiError(422, "invalid", _l("Some values are not valid."), errors)
        db.session.commit()
        return self.response(200, **_summary(dossier))

    @expose("/dossiers/<int:number>/labels", methods=["POST"])
    @token_required(write=True)
    def add_label(self, number: int) -> Response:
        """Put one of the procedure's labels on the dossier (nothing happens if it has it).
        ---
        post:
          summary: Add a label
          security:
          - bearer: []
          parameters:
          - number
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/LabelInput'
          responses:
            200:
              description: The label
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/LabelSchema'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            422:
              $ref: '#/components/responses/Invalid'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        dossier = scoped_dossier(number)
        data = _load(schemas.LabelInput(), _json_body())
        try:
            label: Label = instruction.set_label(dossier, data["label_id"], True)
        except instruction.InstructionError as refusal:
            raise ApiError(
                422, "invalid", refusal.message, {"label_id": [refusal.message]}
            ) from None
        db.session.commit()
        return self.response(200, id=label.id, name=label.name)

    @expose("/dossiers/<int:number>/labels/<int:label_id>", methods=["DELETE"])
    @token_required(write=True)
    def remove_label(self, number: int, label_id: int) -> Response:
        """Take one of the procedure's labels off the dossier (nothing happens if it does
        not have it).
        ---
        delete:
          summary: Remove a label
          security:
          - bearer: []
          parameters:
          - number
          - in: path
            name: label_id
            required: true
            schema: {type: integer, minimum: 1, maximum: 2147483647}
          responses:
            204:
              description: The dossier no longer has the label
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        dossier = scoped_dossier(number)
        try:
            instruction.set_label(dossier, label_id, False)
        except instruction.InstructionError as refusal:
            raise ApiError(404, "not_found", refusal.message) from None
        db.session.commit()
        return Response(status=204)

    @expose("/dossiers/<int:number>/files/<int:file_id>", methods=["GET"])
    @token_required()
    def file(self, number: int, file_id: int) -> Response:
        """Download one of the dossier's files.
        ---
        get:
          summary: Download a file
          security:
          - bearer: []
          parameters:
          - number
          - in: path
            name: file_id
            required: true
            schema: {type: integer, minimum: 1, maximum: 2147483647}
          responses:
            200:
              description: The file's content
              content:
                application/octet-stream:
                  schema:
                    type: string
                    format: binary
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            409:
              $ref: '#/components/responses/Conflict'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        dossier = scoped_dossier(number)
        attachment = None
        if file_id <= schemas.MAX_ID:
            attachment = db.session.scalar(
                sa.select(Attachment).where(
                    Attachment.id == file_id, Attachment.dossier_id == dossier.id
                )
            )
        if attachment is None:
            raise ApiError(404, "not_found", _l("This file does not exist."))
        if attachment.scan_status == ScanStatus.infected:
            raise ApiError(403, "infected", _l("This file contains a virus: it is quarantined."))
        if attachment.scan_status == ScanStatus.pending:
            raise ApiError(409, "scan_pending", _l("This file is still being checked for viruses."))
        if "plugins.attachments" not in current_app.extensions.get("guichet_plugins", []):
            raise ApiError(404, "not_found", _l("This file does not exist."))
        from plugins.attachments import names
        from plugins.attachments.storage import StorageError, get_storage

        try:
            stream = get_storage().open(attachment.storage_key)
        except StorageError:
            raise ApiError(404, "not_found", _l("This file does not exist.")) from None
        audit.record_access(
            audit.Action.ATTACHMENT_DOWNLOADED,
            "attachment",
            attachment.id,
            dossier_id=dossier.id,
            data={"use": attachment.use, "api_token": current_token().prefix},
        )

        def chunks():
            with stream:
                while chunk := stream.read(64 * 1024):
                    yield chunk

        response = Response(chunks(), mimetype="application/octet-stream", direct_passthrough=True)
        response.content_length = attachment.size
        response.headers["Content-Disposition"] = names.content_disposition(
            attachment.original_name, inline=False
        )
        response.headers["X-Content-Type"] = attachment.sniffed_type
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/procedures/<int:procedure_id>/prefill", methods=["POST"])
    @token_required(write=True)
    def prefill(self, procedure_id: int) -> Response:
        """Prepare a draft for an applicant, who opens the link, signs in and continues.
        ---
        post:
          summary: Prefill a draft
          security:
          - bearer: []
          parameters:
          - procedure_id
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/PrefillInput'
          responses:
            201:
              description: The link to give to the applicant (shown once)
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/PrefillSchema'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
            403:
              $ref: '#/components/responses/Forbidden'
            404:
              $ref: '#/components/responses/NotFound'
            409:
              $ref: '#/components/responses/Conflict'
            422:
              $ref: '#/components/responses/Invalid'
            429:
              $ref: '#/components/responses/TooManyRequests'
        """
        procedure = scoped_procedure(procedure_id)
        data = _load(schemas.PrefillInput(), _json_body())
        if "public_forms.prefilled_dossier" not in current_app.view_functions:
            raise ApiError(409, "unavailable", _l("The applicant portal is not available here."))
        try:
            prepared = prefill.prepare(procedure, data["answers"], _owner())
        except dossiers.ProcedureNotOpen as refusal:
            raise ApiError(409, "procedure_not_open", refusal.message) from None
        except prefill.PrefillRefused as refusal:
            raise ApiError(
                422, "invalid", _l("Some answers are not valid."), refusal.errors
            ) from None
        expires_at = prepared.dossier.expires_at
        db.session.commit()
        return self.response(
            201,
            url=url_for("public_forms.prefilled_dossier", token=prepared.token, _external=True),
            expires_at=_dt(expires_at),
        )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
