"""Export a procedure's definition as a versioned JSON document, and import one on another
instance. An invalid document is refused whole, with every problem listed."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from .. import conditions
from ..extensions import db
from ..fields.definitions import validate_definitions
from ..models import (
    Administration,
    AttestationTemplate,
    FieldDefinition,
    InstructorGroup,
    Label,
    MailTemplate,
    Procedure,
)
from ..schemas import flatten
from ..schemas.procedure import FORMAT, ProcedureDocument, SettingsSchema
from .procedures import form_order, initialise


def export_document(procedure: Procedure) -> dict[str, Any]:
    """The definition of a procedure (its draft form if it has one, else the published)."""
    revision = procedure.draft_revision or procedure.published_revision
    settings = {name: getattr(procedure, name) for name in SettingsSchema().fields}
    settings["declarative_mode"] = procedure.declarative_mode.value
    settings["filer_kind"] = procedure.filer_kind.value
    template = procedure.attestation_template
    return {
        "format": FORMAT,
        "settings": settings,
        "fields": _nested(form_order(revision, private=False)) if revision else [],
        "annotations": _nested(form_order(revision, private=True)) if revision else [],
        "eligibility_rules": list(revision.eligibility_rules or []) if revision else [],
        "groups": [
            {"name": g.name, "is_default": g.is_default, "routing_rule": g.routing_rule}
            for g in procedure.groups
        ],
        "labels": [{"name": label.name, "color": label.color} for label in procedure.labels],
        "mail_templates": [
            {"event": t.event.value, "subject": t.subject, "body": t.body}
            for t in procedure.mail_templates
        ],
        "attestation": None
        if template is None
        else {
            "enabled": template.enabled,
            "title": template.title,
            "body": template.body,
            "footer": template.footer,
        },
    }


def _nested(ordered: list[FieldDefinition]) -> list[dict[str, Any]]:
    def plain(field: FieldDefinition) -> dict[str, Any]:
        return {
            "stable_id": field.stable_id,
            "type": field.type,
            "label": field.label,
            "help": field.help,
            "required": field.required,
            "options": dict(field.options or {}),
            "condition": field.condition,
        }

    top = []
    for field in ordered:
        if field.parent is None:
            top.append({**plain(field), "children": []})
        else:
            top[-1]["children"].append(plain(field))
    return top


def document_problems(document: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The loaded document and every problem found in it (empty when it can be imported)."""
    try:
        data = ProcedureDocument().load(document if isinstance(document, dict) else {})
    except ValidationError as error:
        return None, flatten(error.messages)
    if not isinstance(document, dict):
        return None, [str(_l("The file must hold one JSON object."))]
    problems: list[str] = []
    for part, items in (("fields", data["fields_"]), ("annotations", data["annotations"])):
        definitions = _as_definitions(items, private=part == "annotations")
        for stable_id, messages in validate_definitions(definitions).items():
            problems.extend(f"{part} › {stable_id}: {message}" for message in messages)
    form = _as_definitions(data["fields_"])
    for index, rule in enumerate(data["eligibility_rules"]):
        problems.extend(
            f"eligibility_rules[{index}]: {p}"
            for p in conditions.validate(rule["condition"], None, form)
        )
    for group in data["groups"]:
        if group["routing_rule"]:
            problems.extend(
                f"groups › {group['name']}: {p}"
                for p in conditions.validate(group["routing_rule"], None, form)
            )
    return data, problems


def _as_definitions(items: list[dict[str, Any]], private: bool = False) -> list[dict[str, Any]]:
    return [
        {
            **item,
            "private": private,
            "children": [{**child, "private": private} for child in item.get("children", [])],
        }
        for item in items
    ]


def import_document(
    document: Any, administration: Administration
) -> tuple[Procedure | None, list[str]]:
    """A new procedure in test mode from a document; nothing is created on any problem."""
    data, problems = document_problems(document)
    if data is None or problems:
        return None, problems
    procedure = Procedure(administration=administration, **data["settings"])
    procedure.groups = [
        InstructorGroup(
            name=g["name"],
            is_default=g["is_default"],
            routing_rule=g["routing_rule"],
            position=position,
        )
        for position, g in enumerate(data["groups"])
    ]
    procedure.labels = [Label(**label) for label in data["labels"]]
    procedure.mail_templates = [MailTemplate(**t) for t in data["mail_templates"]]
    if data["attestation"]:
        procedure.attestation_template = AttestationTemplate(**data["attestation"])
    initialise(procedure)
    db.session.add(procedure)
    revision = procedure.draft_revision
    revision.eligibility_rules = data["eligibility_rules"]
    for private, items in ((False, data["fields_"]), (True, data["annotations"])):
        for position, item in enumerate(items):
            block = _field(item, private, position, None)
            revision.fields.append(block)
            for child_position, child in enumerate(item.get("children", [])):
                revision.fields.append(_field(child, private, child_position, block))
    return procedure, []


def _field(
    item: dict[str, Any], private: bool, position: int, parent: FieldDefinition | None
) -> FieldDefinition:
    return FieldDefinition(
        stable_id=item["stable_id"],
        type=item["type"],
        label=item["label"],
        help=item["help"],
        required=item["required"],
        private=private,
        options=item["options"],
        condition=item["condition"],
        position=position,
        parent=parent,
    )
