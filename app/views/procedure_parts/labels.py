"""Labels of a procedure: create, rename, recolour from the palette, delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext, ngettext

from ...models import Label, Procedure
from ...services import procedure_labels
from ...services.procedure_labels import LabelError
from .base import READ, WRITE, ProcedurePartView, commit, procedure_screen


def _label(procedure: Procedure, label_id: int) -> Label:
    label = next((item for item in procedure.labels if item.id == label_id), None)
    if label is None:
        abort(404)
    return label


class ProcedureLabelsView(ProcedurePartView):
    """``/procedures/<id>/labels``: the labels agents may put on the dossiers."""

    class_permission_name = "ProcedureLabels"
    tab = "labels"

    def _list(self, procedure: Procedure, forms: dict[str, Any] | None = None, status=200):
        return self.page(
            "guichet/procedures/labels.html",
            procedure,
            status,
            labels=procedure_labels.ordered_labels(procedure),
            counts=procedure_labels.usage_counts(procedure),
            palette=procedure_labels.PALETTE,
            colour=procedure_labels.colour,
            forms=forms or {},
        )

    def _refused(self, procedure: Procedure, form: str, error: LabelError):
        typed = {"name": request.form.get("name", ""), "color": request.form.get("color")}
        return self._list(procedure, {form: {**typed, "errors": {error.field: error.message}}}, 422)

    def _taken(self) -> LabelError:
        return LabelError(
            gettext(
                "This procedure already has a label called “%(name)s”.",
                name=request.form.get("name", ""),
            ),
            "name",
        )

    @expose("/<int:procedure_id>/labels", methods=["GET"])
    @procedure_screen(READ)
    def index(self, procedure: Procedure):
        return self._list(procedure)

    @expose("/<int:procedure_id>/labels", methods=["POST"])
    @procedure_screen(WRITE)
    def create(self, procedure: Procedure):
        try:
            label = procedure_labels.create(
                procedure, request.form.get("name", ""), request.form.get("color", "")
            )
        except LabelError as error:
            return self._refused(procedure, "create", error)
        if not commit():
            return self._refused(procedure, "create", self._taken())
        flash(gettext("The label “%(name)s” was created.", name=label.name), "success")
        return redirect(url_for(".index", procedure_id=procedure.id, _anchor=f"label-{label.id}"))

    @expose("/<int:procedure_id>/labels/<int:label_id>", methods=["POST"])
    @procedure_screen(WRITE)
    def update(self, procedure: Procedure, label_id: int):
        label = _label(procedure, label_id)
        form = f"label-{label.id}"
        try:
            procedure_labels.update(
                label, request.form.get("name", ""), request.form.get("color", "")
            )
        except LabelError as error:
            return self._refused(procedure, form, error)
        if not commit():
            return self._refused(procedure, form, self._taken())
        flash(gettext("The label “%(name)s” was saved.", name=label.name), "success")
        return redirect(url_for(".index", procedure_id=procedure.id, _anchor=form))

    @expose("/<int:procedure_id>/labels/<int:label_id>/delete", methods=["GET"])
    @procedure_screen(READ)
    def confirm_delete(self, procedure: Procedure, label_id: int):
        label = _label(procedure, label_id)
        return self.page(
            "guichet/procedures/label_delete.html",
            procedure,
            label=label,
            colour=procedure_labels.colour(label.color),
            count=procedure_labels.usage_counts(procedure).get(label.id, 0),
        )

    @expose("/<int:procedure_id>/labels/<int:label_id>/delete", methods=["POST"])
    @procedure_screen(WRITE)
    def delete(self, procedure: Procedure, label_id: int):
        label = _label(procedure, label_id)
        name = label.name
        removed = procedure_labels.delete(label)
        commit()
        flash(
            ngettext(
                "The label “%(name)s” was deleted and taken off %(num)d dossier.",
                "The label “%(name)s” was deleted and taken off %(num)d dossiers.",
                removed,
                name=name,
            )
            if removed
            else gettext("The label “%(name)s” was deleted.", name=name),
            "success",
        )
        return redirect(url_for(".index", procedure_id=procedure.id))
