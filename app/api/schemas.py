"""Marshmallow schemas of the REST API v1: what it reads (``*Input``, ``*Query``) and what
it answers. The OpenAPI description (``/api/v1/_openapi``) is generated from them."""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates

from ..models import DossierState
from ..services.instruction import AGENT_EVENTS
from .auth import MAX_ID

PAGE_SIZE_MAX = 100
STATES = [state.value for state in DossierState if state != DossierState.draft]


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by field, when the input was refused."},
    )


class AdministrationRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ProcedureSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)
    administration = fields.Nested(AdministrationRefSchema, required=True)
    published_at = fields.DateTime(allow_none=True)
    opens_at = fields.DateTime(allow_none=True)
    deadline_at = fields.DateTime(allow_none=True)


class ProcedureListSchema(Schema):
    items = fields.List(fields.Nested(ProcedureSchema), required=True)
    total = fields.Integer(required=True)


class GroupRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class DossierSummarySchema(Schema):
    number = fields.Integer(required=True)
    procedure_id = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    group = fields.Nested(GroupRefSchema, allow_none=True, required=True)
    archived = fields.Boolean(required=True)
    is_test = fields.Boolean(required=True)
    version = fields.Integer(
        required=True,
        metadata={"description": "Changes with every change of the dossier (send it back)."},
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)


class DossierPageSchema(Schema):
    items = fields.List(fields.Nested(DossierSummarySchema), required=True)
    total = fields.Integer(required=True, metadata={"description": "Dossiers matching the filters"})
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass it as ``cursor`` for the next page; null on the last."},
    )


class FileSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    size = fields.Integer(required=True)
    field = fields.String(allow_none=True, required=True)
    scan_status = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "GET it with the same token"})


class AnswerSchema(Schema):
    stable_id = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True)
    value = fields.Raw(
        allow_none=True,
        required=True,
        metadata={"description": "The stored value, typed as the field type stores it"},
    )
    text = fields.String(required=True, metadata={"description": "The value as people read it"})
    files = fields.List(fields.Nested(FileSchema))


class TransitionSchema(Schema):
    event = fields.String(required=True)
    from_state = fields.String(allow_none=True, required=True, data_key="from")
    to_state = fields.String(required=True, data_key="to")
    at = fields.DateTime(required=True)
    actor = fields.String(allow_none=True, required=True)
    motivation = fields.String(allow_none=True, required=True)


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    author_kind = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    deleted = fields.Boolean(required=True)
    files = fields.List(fields.Nested(FileSchema), required=True)


class LabelSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class DossierSchema(DossierSummarySchema):
    identity = fields.Dict(required=True)
    motivation = fields.String(allow_none=True, required=True)
    answers = fields.List(fields.Nested(AnswerSchema), required=True)
    annotations = fields.List(fields.Nested(AnswerSchema), required=True)
    labels = fields.List(fields.Nested(LabelSchema), required=True)
    transitions = fields.List(fields.Nested(TransitionSchema), required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True)
    files = fields.List(fields.Nested(FileSchema), required=True)
    allowed_events = fields.List(fields.String(), required=True)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class DossierQuerySchema(Schema):
    """Filters of a procedure's dossier list (query string)."""

    class Meta:
        unknown = EXCLUDE

    state = fields.List(fields.String(validate=validate.OneOf(STATES)))
    group = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    submitted_after = fields.DateTime()
    submitted_before = fields.DateTime()
    updated_since = fields.DateTime()
    archived = fields.Boolean()
    cursor = fields.String(validate=validate.Length(max=200))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_SIZE_MAX))


class StateChangeInput(StrictSchema):
    event = fields.String(
        required=True, validate=validate.OneOf([event.value for event in AGENT_EVENTS])
    )
    motivation = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    version = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The dossier's version you read; a different one gets 409"},
    )


class StateChangeSchema(Schema):
    dossier = fields.Nested(DossierSummarySchema, required=True)
    notes = fields.List(fields.String(), required=True)


class MessageInput(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000))


class AnnotationInput(StrictSchema):
    values = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "New values by annotation stable_id"},
    )
    version = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class LabelInput(StrictSchema):
    label_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class PrefillInput(StrictSchema):
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "Answers by field stable_id, as the portal's form takes them"},
    )

    @validates("answers")
    def not_too_many(self, value: dict, **_kwargs) -> None:
        if len(value) > 500:
            raise ValidationError("Too many answers.")


class PrefillSchema(Schema):
    url = fields.String(required=True, metadata={"description": "Give it to the applicant"})
    expires_at = fields.DateTime(required=True)


COMPONENTS = (  # nested schemas before the schemas holding them
    ErrorSchema,
    AdministrationRefSchema,
    GroupRefSchema,
    FileSchema,
    LabelSchema,
    MessageSchema,
    AnswerSchema,
    TransitionSchema,
    ProcedureSchema,
    ProcedureListSchema,
    DossierSummarySchema,
    DossierPageSchema,
    DossierSchema,
    StateChangeInput,
    StateChangeSchema,
    MessageInput,
    AnnotationInput,
    LabelInput,
    PrefillInput,
    PrefillSchema,
)
