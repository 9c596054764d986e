"""The exchange format of a procedure definition: settings, form, annotations, rules,
groups (without their members), labels and templates — what one instance exports and
another imports. Versioned by ``format``; dossiers are never part of it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..models import DeclarativeMode, FilerKind, MailEvent

FORMAT = "guichet.procedure/1"

_text = fields.String
_short = {"validate": validate.Length(max=255)}


class FieldSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    stable_id = _text(required=True, validate=validate.Length(min=1, max=40))
    type = _text(required=True, validate=validate.Length(min=1, max=40))
    label = _text(required=True)
    help = _text(allow_none=True, load_default=None)
    required = fields.Boolean(load_default=False)
    options = fields.Dict(load_default=dict)
    condition = fields.Dict(allow_none=True, load_default=None)
    children = fields.List(fields.Nested(lambda: FieldSchema()), load_default=list)


class RuleSchema(Schema):
    condition = fields.Dict(required=True)
    message = _text(required=True, validate=validate.Length(min=1))


class GroupSchema(Schema):
    name = _text(required=True, validate=validate.Length(min=1, max=255))
    is_default = fields.Boolean(load_default=False)
    routing_rule = fields.Dict(allow_none=True, load_default=None)


class LabelSchema(Schema):
    name = _text(required=True, validate=validate.Length(min=1, max=80))
    color = _text(load_default="gray", validate=validate.Length(max=20))


class MailTemplateSchema(Schema):
    event = _text(required=True, validate=validate.OneOf([e.value for e in MailEvent]))
    subject = _text(required=True, **_short)
    body = _text(required=True)


class AttestationSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    title = _text(required=True, **_short)
    body = _text(required=True)
    footer = _text(allow_none=True, load_default=None)


class SettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = _text(required=True, validate=validate.Length(min=1, max=255))
    description = _text(load_default="")
    audience = _text(allow_none=True, load_default=None)
    documents_to_prepare = _text(allow_none=True, load_default=None)
    legal_basis = _text(allow_none=True, load_default=None)
    service_name = _text(allow_none=True, load_default=None, **_short)
    service_email = _text(allow_none=True, load_default=None, **_short)
    service_phone = _text(allow_none=True, load_default=None, validate=validate.Length(max=40))
    service_address = _text(allow_none=True, load_default=None)
    service_hours = _text(allow_none=True, load_default=None, **_short)
    retention_months = fields.Integer(load_default=12, validate=validate.Range(1, 60))
    draft_retention_days = fields.Integer(load_default=180, validate=validate.Range(1, 3650))
    declarative_mode = _text(
        load_default="none", validate=validate.OneOf([m.value for m in DeclarativeMode])
    )
    filer_kind = _text(load_default="person", validate=validate.OneOf([k.value for k in FilerKind]))
    allow_on_behalf = fields.Boolean(load_default=False)
    hide_agent_identity = fields.Boolean(load_default=False)
    experts_can_message = fields.Boolean(load_default=False)
    sections_as_steps = fields.Boolean(load_default=False)


class ProcedureDocument(Schema):
    """A whole procedure definition."""

    format = _text(required=True)
    settings = fields.Nested(SettingsSchema, required=True)
    fields_ = fields.List(fields.Nested(FieldSchema), data_key="fields", load_default=list)
    annotations = fields.List(fields.Nested(FieldSchema), load_default=list)
    eligibility_rules = fields.List(fields.Nested(RuleSchema), load_default=list)
    groups = fields.List(fields.Nested(GroupSchema), validate=validate.Length(min=1))
    labels = fields.List(fields.Nested(LabelSchema), load_default=list)
    mail_templates = fields.List(fields.Nested(MailTemplateSchema), load_default=list)
    attestation = fields.Nested(AttestationSchema, allow_none=True, load_default=None)

    @validates_schema
    def check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("format") != FORMAT:
            raise ValidationError(
                str(
                    _l(
                        "This file is not a Guichet procedure (format %(format)s expected).",
                        format=FORMAT,
                    )
                ),
                "format",
            )
        defaults = [group for group in data.get("groups", []) if group["is_default"]]
        if len(defaults) != 1:
            raise ValidationError(str(_l("Exactly one group must be the default group.")), "groups")
