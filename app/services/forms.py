"""Editing a procedure's form and private annotations, field by field.

Every change goes to the procedure's editable revision (a published revision is never
touched: ``procedures.editable_revision`` makes a draft from it first). Positions count
among siblings: the top-level fields of the form (or of the annotations), or the children
of one repeated block.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ..fields import registry
from ..fields.definitions import check_type_change
from ..models import FieldDefinition, Procedure, ProcedureRevision
from .procedures import ProcedureError, editable_revision, form_order


def new_stable_id() -> str:
    """Random, so that an id deleted in one revision never comes back meaning another field."""
    return "f" + secrets.token_hex(5)


def find_field(revision: ProcedureRevision, stable_id: str) -> FieldDefinition:
    for field in revision.fields:
        if field.stable_id == stable_id:
            return field
    raise ProcedureError(_l("This field does not exist (any more)."))


def siblings(field: FieldDefinition) -> list[FieldDefinition]:
    revision = field.revision
    return sorted(
        (f for f in revision.fields if f.parent is field.parent and f.private == field.private),
        key=lambda f: (f.position is None, f.position or 0),  # a new field goes last
    )


def _renumber(fields: list[FieldDefinition]) -> None:
    for position, field in enumerate(fields):
        field.position = position


def add_field(
    procedure: Procedure,
    type_name: str,
    label: str,
    *,
    private: bool = False,
    parent: str | None = None,
    after: str | None = None,
) -> FieldDefinition:
    """Add a field at the end (or after ``after``), inside the block ``parent`` if given."""
    field_type = registry.get(type_name)
    if not label.strip():
        raise ProcedureError(_l("Give the field a label."))
    revision = editable_revision(procedure)
    block = find_field(revision, parent) if parent else None
    if block is not None and block.type != "repetition":
        raise ProcedureError(_l("Fields can only be placed inside a repeated block."))
    if block is not None and not field_type.can_be_repeated:
        raise ProcedureError(
            _l("A “%(type)s” cannot be placed inside a repeated block.", type=field_type.label)
        )
    field = FieldDefinition(
        stable_id=new_stable_id(),
        type=type_name,
        label=label.strip(),
        private=private if block is None else block.private,
        options={},
        parent=block,
    )
    revision.fields.append(field)
    order = [f for f in siblings(field) if f is not field]
    index = len(order)
    if after:
        anchor = find_field(revision, after)
        if anchor in order:
            index = order.index(anchor) + 1
    order.insert(index, field)
    _renumber(order)
    return field


def update_field(
    procedure: Procedure,
    stable_id: str,
    *,
    label: str,
    help_text: str | None,
    required: bool,
    type_name: str,
    options: dict[str, Any],
    condition: dict[str, Any] | None,
) -> dict[str, list[str]]:
    """Change a field; return the problems by part ("label", "type", "options",
    "condition"). Nothing is changed when there is a problem."""
    from .. import conditions

    revision = editable_revision(procedure)
    field = find_field(revision, stable_id)
    problems: dict[str, list[str]] = {}
    if not label.strip():
        problems["label"] = [str(_l("Give the field a label."))]
    published = procedure.published_revision
    before = (
        next((f for f in published.fields if f.stable_id == stable_id), None)
        if (published is not None)
        else None
    )
    if type_name != field.type:
        if type_name not in registry.names():
            problems["type"] = [str(_l("Choose a type from the list."))]
        elif before is not None and (reason := check_type_change(before.type, type_name)):
            problems["type"] = [reason]
    if "type" not in problems:
        try:
            options = registry.get(type_name).validate_options(options)
        except ValidationError as error:
            problems["options"] = _messages(error.messages)
    if condition:
        fields = form_order(revision, private=field.private)
        found = conditions.validate(condition, field, fields)
        if found:
            problems["condition"] = found
    if problems:
        return problems
    field.label = label.strip()
    field.help = (help_text or "").strip() or None
    field.required = required and registry.get(type_name).has_value
    field.type = type_name
    field.options = options
    field.condition = condition or None
    return {}


def _messages(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [m for key, value in messages.items() for m in _messages(value, f"{key}: ")]
    if isinstance(messages, list):
        return [m for value in messages for m in _messages(value, prefix)]
    return [f"{prefix}{messages}" if prefix and prefix != "_schema: " else str(messages)]


def move_field(procedure: Procedure, stable_id: str, offset: int) -> None:
    """Move a field up (-1) or down (+1) among its siblings."""
    field = find_field(editable_revision(procedure), stable_id)
    order = siblings(field)
    index = order.index(field)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    _renumber(order)


def duplicate_field(procedure: Procedure, stable_id: str) -> FieldDefinition:
    """A copy right after the field (a block is copied with its children)."""
    revision = editable_revision(procedure)
    field = find_field(revision, stable_id)
    copy = _copy(field, field.parent)
    revision.fields.append(copy)
    for child in sorted(
        (f for f in revision.fields if f.parent is field), key=lambda f: f.position
    ):
        revision.fields.append(_copy(child, copy))
    order = [f for f in siblings(field) if f is not copy]
    order.insert(order.index(field) + 1, copy)
    _renumber(order)
    return copy


def _copy(field: FieldDefinition, parent: FieldDefinition | None) -> FieldDefinition:
    return FieldDefinition(
        stable_id=new_stable_id(),
        type=field.type,
        label=str(_l("%(label)s (copy)", label=field.label))
        if parent is field.parent
        else (field.label),
        help=field.help,
        required=field.required,
        private=field.private,
        options=dict(field.options or {}),
        condition=field.condition,
        parent=parent,
        position=field.position,
    )


def referring(procedure: Procedure, revision: ProcedureRevision, stable_ids: set[str]) -> list[str]:
    """The labels of what refers to these fields: conditions, routing and eligibility rules."""

    def mentions(condition: Any) -> bool:
        if isinstance(condition, dict):
            if condition.get("field") in stable_ids:
                return True
            return any(mentions(c) for c in condition.get("all", []) + condition.get("any", []))
        return False

    found = [
        str(_l("the field “%(label)s”", label=f.label))
        for f in revision.fields
        if f.stable_id not in stable_ids and mentions(f.condition)
    ]
    found += [
        str(_l("the routing rule of the group “%(name)s”", name=g.name))
        for g in procedure.groups
        if mentions(g.routing_rule)
    ]
    found += [
        str(_l("an eligibility rule"))
        for rule in revision.eligibility_rules or []
        if mentions(rule.get("condition"))
    ]
    return found


def delete_field(procedure: Procedure, stable_id: str) -> None:
    """Delete a field (a block with its children), unless something still refers to it."""
    revision = editable_revision(procedure)
    field = find_field(revision, stable_id)
    children = [f for f in revision.fields if f.parent is field]
    users = referring(procedure, revision, {field.stable_id, *(c.stable_id for c in children)})
    if users:
        raise ProcedureError(
            _l(
                "This field is used by %(users)s: change that first.",
                users=", ".join(users),
            )
        )
    remaining = [f for f in siblings(field) if f is not field]
    for item in [*children, field]:
        revision.fields.remove(item)  # delete-orphan: the row goes at the next flush
    _renumber(remaining)
