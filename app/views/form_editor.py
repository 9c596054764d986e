"""The form editor: administrators compose a procedure's form and private annotations,
and set its routing and eligibility rules, without code.

Every action is a plain form post (it works without JavaScript and with the keyboard
alone: moving a field is a "move up" / "move down" button, not only drag and drop); a
little script filters the condition editor's operators by the chosen field's type.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import conditions
from ..extensions import db
from ..fields import registry
from ..fields.registry import GROUPS
from ..models import Procedure
from ..services import forms, procedures
from ..services.procedures import ProcedureError
from .field_options import option_inputs, read_options
from .procedure_admin import administered_procedure_or_404

EDITORS = {
    False: {"endpoint": "FormEditorView.form", "title": _l("Form")},
    True: {"endpoint": "FormEditorView.annotations", "title": _l("Private annotations")},
}


def shown_revision(procedure: Procedure):
    """What the editor shows: the draft if there is one, else the published revision
    (the first change makes a draft from it)."""
    return procedure.draft_revision or procedure.published_revision


def type_menu() -> list[tuple[Any, list]]:
    types = registry.all_types()
    return [(label, [t for t in types if t.group == group]) for group, label in GROUPS.items()]


def condition_fields(revision, private: bool, before=None) -> list[dict[str, Any]]:
    """Fields a condition may use, with the operators their type allows (for the editor)."""
    ordered = procedures.form_order(revision, private=private)
    if before is not None and before in ordered:
        anchor = before.parent if before.parent is not None else before
        ordered = ordered[: ordered.index(anchor)]
    result = []
    for field in ordered:
        field_type = registry.get(field.type)
        if not field_type.has_value or field.parent is not None:
            continue
        result.append(
            {
                "id": field.stable_id,
                "label": field.label,
                "ops": list(field_type.condition_operators),
                "choices": _choices(field),
            }
        )
    return result


def condition_kinds(revision) -> dict[str, str | None]:
    return {f.stable_id: registry.get(f.type).condition_kind for f in revision.fields}


def _choices(field) -> list[str]:
    if field.type in ("drop_down", "multiple_drop_down"):
        return list((field.options or {}).get("choices") or [])
    if field.type == "linked_drop_down":
        return [c.get("primary", "") for c in (field.options or {}).get("choices") or []]
    if field.type in ("yes_no", "checkbox"):
        return ["true", "false"]
    return []


def condition_rows(condition: dict | None) -> tuple[str, list[dict], bool]:
    """(mode, rows, guided) for the editor; ``guided`` is False for nested trees, which are
    edited as JSON."""
    if not condition:
        return "all", [], True
    if "field" in condition:
        return "all", [condition], True
    mode = "all" if "all" in condition else "any"
    rows = condition.get(mode) or []
    if all(isinstance(row, dict) and "field" in row for row in rows):
        return mode, rows, True
    return mode, [], False


GEO_OPS = {"in_department", "not_in_department", "in_region", "not_in_region"}


TRUE_WORDS = {"true", "oui", "yes", "1"}
FALSE_WORDS = {"false", "non", "no", "0"}


def typed_value(value: str, kind: str | None) -> Any:
    """A value typed in the guided editor, as the condition language compares it."""
    word = value.strip()
    if kind in ("boolean", "checkbox"):
        if word.lower() in TRUE_WORDS:
            return True
        if word.lower() in FALSE_WORDS:
            return False
    if kind == "number":
        try:
            number = float(word.replace(",", "."))
            return int(number) if number.is_integer() else number
        except ValueError:
            pass
    return word


def read_condition(form, kinds: dict[str, str | None]) -> tuple[dict | None, list[str]]:
    """The condition posted by the editor (guided rows or JSON), and parsing problems.
    ``kinds`` gives the condition kind of each field (``FieldType.condition_kind``)."""
    if "cond-json" in form:
        text = form.get("cond-json", "").strip()
        if not text:
            return None, []
        try:
            return json.loads(text), []
        except ValueError:
            return None, [_("The condition is not valid JSON.")]
    leaves = []
    for field, op, value in zip(
        form.getlist("cond-field"),
        form.getlist("cond-op"),
        form.getlist("cond-value"),
        strict=False,
    ):
        if not field:
            continue
        leaf: dict[str, Any] = {"field": field, "op": op}
        if op in GEO_OPS:
            leaf["value"] = [
                code.strip() for code in value.replace(";", ",").split(",") if code.strip()
            ]
        elif op not in ("empty", "not_empty"):
            leaf["value"] = typed_value(value, kinds.get(field))
        leaves.append(leaf)
    if not leaves:
        return None, []
    if len(leaves) == 1:
        return leaves[0], []
    return {form.get("cond-mode", "all"): leaves}, []


class FormEditorView(BaseView):
    """Form, private annotations, routing and eligibility rules of one procedure."""

    route_base = "/procedures"
    class_permission_name = "ProcedureHub"
    method_permission_name = {
        "form": "read",
        "annotations": "read",
        "field": "read",
        "rules": "read",
        "add": "write",
        "edit": "write",
        "move": "write",
        "duplicate": "write",
        "delete": "write",
        "save_routing": "write",
        "save_eligibility": "write",
    }
    base_permissions = ["can_read", "can_write"]
    default_view = "form"

    def _editor(self, procedure_id: int, private: bool):
        procedure = administered_procedure_or_404(procedure_id)
        revision = shown_revision(procedure)
        fields = procedures.form_order(revision, private=private) if revision else []
        problems = {}
        if revision is not None:
            from ..fields.definitions import validate_definitions

            problems = validate_definitions(fields)
        return self.render_template(
            "guichet/procedures/form_editor.html",
            procedure=procedure,
            revision=revision,
            fields=fields,
            private=private,
            editor=EDITORS[private],
            problems=problems,
            registry=registry,
            type_menu=type_menu(),
            endpoints=current_app.view_functions,
        )

    @expose("/<int:procedure_id>/form")
    @has_access
    def form(self, procedure_id: int):
        return self._editor(procedure_id, private=False)

    @expose("/<int:procedure_id>/annotations")
    @has_access
    def annotations(self, procedure_id: int):
        return self._editor(procedure_id, private=True)

    def _back(self, procedure: Procedure, private: bool, anchor: str | None = None):
        url = url_for(EDITORS[private]["endpoint"], procedure_id=procedure.id)
        return redirect(f"{url}#field-{anchor}" if anchor else url)

    def _change(self, procedure_id: int, action, success: str | None = None):
        procedure = administered_procedure_or_404(procedure_id)
        private = request.form.get("private") == "1"
        try:
            anchor = action(procedure)
            db.session.commit()
            if success:
                flash(success, "success")
        except ProcedureError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            anchor = None
        return self._back(procedure, private, anchor)

    @expose("/<int:procedure_id>/fields/add", methods=["POST"])
    @has_access
    def add(self, procedure_id: int):
        form = request.form
        administered_procedure_or_404(procedure_id)  # someone else's procedure: 404 first
        if form.get("type") not in registry.names():
            flash(_("Choose a type from the list."), "danger")
            return redirect(
                request.referrer or url_for("FormEditorView.form", procedure_id=procedure_id)
            )

        def action(procedure):
            field = forms.add_field(
                procedure,
                form["type"],
                form.get("label", ""),
                private=form.get("private") == "1",
                parent=form.get("parent") or None,
                after=form.get("after") or None,
            )
            return field.stable_id

        return self._change(procedure_id, action, _("The field was added."))

    @expose("/<int:procedure_id>/fields/<stable_id>/move", methods=["POST"])
    @has_access
    def move(self, procedure_id: int, stable_id: str):
        offset = -1 if request.form.get("direction") == "up" else 1
        return self._change(
            procedure_id, lambda p: forms.move_field(p, stable_id, offset) or stable_id
        )

    @expose("/<int:procedure_id>/fields/<stable_id>/duplicate", methods=["POST"])
    @has_access
    def duplicate(self, procedure_id: int, stable_id: str):
        return self._change(
            procedure_id,
            lambda p: forms.duplicate_field(p, stable_id).stable_id,
            _("The field was duplicated."),
        )

    @expose("/<int:procedure_id>/fields/<stable_id>/delete", methods=["POST"])
    @has_access
    def delete(self, procedure_id: int, stable_id: str):
        return self._change(
            procedure_id,
            lambda p: forms.delete_field(p, stable_id),
            _("The field was deleted."),
        )

    @expose("/<int:procedure_id>/fields/<stable_id>", methods=["GET"])
    @has_access
    def field(self, procedure_id: int, stable_id: str):
        procedure = administered_procedure_or_404(procedure_id)
        try:
            field = forms.find_field(shown_revision(procedure), stable_id)
        except ProcedureError:
            return self._back(procedure, False)
        return self._field_page(
            procedure, field, dict(field.options or {}), field.type, field.condition, {}
        )

    def _field_page(self, procedure, field, options, type_name, condition, problems, form=None):
        revision = shown_revision(procedure)
        mode, rows, guided = condition_rows(condition)
        published = procedure.published_revision
        was_published = published is not None and any(
            f.stable_id == field.stable_id for f in published.fields
        )
        allowed_types = [
            t
            for t in registry.all_types()
            if t.name == field.type
            or not was_published
            or t.name in registry.get(field.type).compatible_types
        ]
        return self.render_template(
            "guichet/procedures/field_editor.html",
            procedure=procedure,
            field=field,
            form=form,
            type_name=type_name,
            field_type=registry.get(type_name),
            allowed_types=allowed_types,
            option_inputs=option_inputs(registry.get(type_name).Options, options),
            condition_mode=mode,
            condition_rows=rows,
            condition_guided=guided,
            condition_json=json.dumps(condition, ensure_ascii=False, indent=2) if condition else "",
            condition_fields=condition_fields(revision, field.private, before=field),
            operators=conditions.OPERATORS,
            problems=problems,
            editor=EDITORS[field.private],
        )

    @expose("/<int:procedure_id>/fields/<stable_id>", methods=["POST"])
    @has_access
    def edit(self, procedure_id: int, stable_id: str):
        procedure = administered_procedure_or_404(procedure_id)
        form = request.form
        type_name = form.get("type", "")
        if type_name not in registry.names():
            type_name = forms.find_field(shown_revision(procedure), stable_id).type
        condition, problems_parsing = read_condition(
            form, condition_kinds(shown_revision(procedure))
        )
        options = read_options(registry.get(type_name).Options, form)
        try:
            problems = forms.update_field(
                procedure,
                stable_id,
                label=form.get("label", ""),
                help_text=form.get("help"),
                required="required" in form,
                type_name=type_name,
                options=options,
                condition=condition,
            )
        except ProcedureError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return self._back(procedure, False)
        if problems_parsing:
            problems.setdefault("condition", []).extend(problems_parsing)
        if problems or form.get("refresh"):
            db.session.rollback()
            field = forms.find_field(shown_revision(procedure), stable_id)
            if problems:
                flash(_("The field was not saved: see the messages below."), "danger")
            return self._field_page(
                procedure, field, options, type_name, condition, problems, form=form
            )
        field = forms.find_field(procedure.draft_revision, stable_id)
        db.session.commit()
        flash(_("The field “%(label)s” was saved.", label=field.label), "success")
        return self._back(procedure, field.private, stable_id)

    @expose("/<int:procedure_id>/rules")
    @has_access
    def rules(self, procedure_id: int):
        procedure = administered_procedure_or_404(procedure_id)
        revision = shown_revision(procedure)
        groups = []
        for group in procedure.groups:
            mode, rows, guided = condition_rows(group.routing_rule)
            groups.append({"group": group, "mode": mode, "rows": rows, "guided": guided})
        eligibility = []
        for index, rule in enumerate(revision.eligibility_rules or [] if revision else []):
            mode, rows, guided = condition_rows(rule.get("condition"))
            eligibility.append(
                {
                    "index": index,
                    "message": rule.get("message", ""),
                    "mode": mode,
                    "rows": rows,
                    "guided": guided,
                    "json": json.dumps(rule.get("condition"), ensure_ascii=False),
                }
            )
        return self.render_template(
            "guichet/procedures/rules.html",
            procedure=procedure,
            groups=groups,
            eligibility=eligibility,
            condition_fields=condition_fields(revision, False) if revision else [],
            operators=conditions.OPERATORS,
        )

    @expose("/<int:procedure_id>/rules/routing/<int:group_id>", methods=["POST"])
    @has_access
    def save_routing(self, procedure_id: int, group_id: int):
        procedure = administered_procedure_or_404(procedure_id)
        group = next((g for g in procedure.groups if g.id == group_id), None)
        if group is None:
            return self._rules_back(procedure)
        revision = shown_revision(procedure)
        condition, problems = read_condition(request.form, condition_kinds(revision))
        fields = procedures.form_order(revision, private=False)
        problems += conditions.validate(condition, None, fields) if condition else []
        if problems:
            for problem in problems:
                flash(problem, "danger")
            return self._rules_back(procedure)
        group.routing_rule = condition
        db.session.commit()
        flash(_("The routing rule of “%(name)s” was saved.", name=group.name), "success")
        return self._rules_back(procedure)

    @expose("/<int:procedure_id>/rules/eligibility", methods=["POST"])
    @has_access
    def save_eligibility(self, procedure_id: int):
        """Add (no index), change or delete (``delete``) one eligibility rule."""
        procedure = administered_procedure_or_404(procedure_id)
        form = request.form
        revision = procedures.editable_revision(procedure)
        rules = list(revision.eligibility_rules or [])
        index = form.get("index", type=int)
        if index is not None and not 0 <= index < len(rules):
            return self._rules_back(procedure)
        if "delete" in form and index is not None:
            rules.pop(index)
        else:
            condition, problems = read_condition(form, condition_kinds(revision))
            message = form.get("message", "").strip()
            if not condition:
                problems.append(_("Set the condition that makes a dossier ineligible."))
            else:
                fields = procedures.form_order(revision, private=False)
                problems += conditions.validate(condition, None, fields)
            if not message:
                problems.append(_("Write the message shown to applicants who are not eligible."))
            if problems:
                db.session.rollback()
                for problem in problems:
                    flash(problem, "danger")
                return self._rules_back(procedure)
            rule = {"condition": condition, "message": message}
            if index is None:
                rules.append(rule)
            else:
                rules[index] = rule
        revision.eligibility_rules = rules
        db.session.commit()
        flash(_("The eligibility rules were saved."), "success")
        return self._rules_back(procedure)

    def _rules_back(self, procedure):
        return redirect(url_for("FormEditorView.rules", procedure_id=procedure.id))
