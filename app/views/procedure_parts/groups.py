"""Instructor groups of a procedure: create, rename, reorder, default, close, delete, and
their members (agents added by email). Routing rules are edited elsewhere (form editor)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_babel import gettext, ngettext

from ...models import InstructorGroup, Procedure
from ...services import instructor_groups
from ...services.instructor_groups import GroupError
from .base import READ, WRITE, ProcedurePartView, commit, procedure_screen

TEMPLATE = "guichet/procedures/groups.html"


def _group(procedure: Procedure, group_id: int) -> InstructorGroup:
    group = next((item for item in procedure.groups if item.id == group_id), None)
    if group is None:
        abort(404)
    return group


class ProcedureGroupsView(ProcedurePartView):
    """``/procedures/<id>/groups``: the groups, in routing order, with their members."""

    class_permission_name = "ProcedureGroups"
    tab = "groups"

    def _list(self, procedure: Procedure, forms: dict[str, Any] | None = None, status=200):
        return self.page(
            TEMPLATE,
            procedure,
            status,
            groups=instructor_groups.ordered_groups(procedure),
            counts=instructor_groups.dossier_counts(procedure),
            forms=forms or {},
        )

    def _back(self, procedure: Procedure, group: InstructorGroup | None = None):
        anchor = f"group-{group.id}" if group is not None and group.id else None
        return redirect(url_for(".index", procedure_id=procedure.id, _anchor=anchor))

    def _refused(self, procedure: Procedure, form: str, value: dict, error: GroupError):
        """The page again, with what was typed and the message next to its field."""
        errors = {error.field or "form": error.message}
        return self._list(procedure, {form: {**value, "errors": errors}}, 422)

    @expose("/<int:procedure_id>/groups", methods=["GET"])
    @procedure_screen(READ)
    def index(self, procedure: Procedure):
        return self._list(procedure)

    @expose("/<int:procedure_id>/groups", methods=["POST"])
    @procedure_screen(WRITE)
    def create(self, procedure: Procedure):
        name = request.form.get("name", "")
        try:
            group = instructor_groups.create(procedure, name)
        except GroupError as error:
            return self._refused(procedure, "create", {"name": name}, error)
        if not commit():
            return self._refused(procedure, "create", {"name": name}, _taken(name))
        flash(gettext("The group “%(name)s” was created.", name=group.name), "success")
        return self._back(procedure, group)

    @expose("/<int:procedure_id>/groups/<int:group_id>/rename", methods=["POST"])
    @procedure_screen(WRITE)
    def rename(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        name = request.form.get("name", "")
        form = f"rename-{group.id}"
        try:
            instructor_groups.rename(group, name)
        except GroupError as error:
            return self._refused(procedure, form, {"name": name}, error)
        if not commit():
            return self._refused(procedure, form, {"name": name}, _taken(name))
        flash(gettext("The group was renamed “%(name)s”.", name=group.name), "success")
        return self._back(procedure, group)

    @expose("/<int:procedure_id>/groups/<int:group_id>/move", methods=["POST"])
    @procedure_screen(WRITE)
    def move(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
        if offset is None:
            abort(400)
        if instructor_groups.move(group, offset):
            commit()
            message = (
                gettext("The group “%(name)s” moved up.", name=group.name)
                if offset < 0
                else gettext("The group “%(name)s” moved down.", name=group.name)
            )
            flash(message, "success")
        return self._back(procedure, group)

    @expose("/<int:procedure_id>/groups/<int:group_id>/default", methods=["POST"])
    @procedure_screen(WRITE)
    def make_default(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        return self._act(
            procedure,
            group,
            instructor_groups.set_default,
            gettext("“%(name)s” is now the default group.", name=group.name),
        )

    @expose("/<int:procedure_id>/groups/<int:group_id>/close", methods=["POST"])
    @procedure_screen(WRITE)
    def close(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        return self._act(
            procedure,
            group,
            instructor_groups.close,
            gettext(
                "The group “%(name)s” is closed: it keeps its dossiers and receives no new ones.",
                name=group.name,
            ),
        )

    @expose("/<int:procedure_id>/groups/<int:group_id>/reopen", methods=["POST"])
    @procedure_screen(WRITE)
    def reopen(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        return self._act(
            procedure,
            group,
            instructor_groups.reopen,
            gettext("The group “%(name)s” is open again.", name=group.name),
        )

    def _act(self, procedure: Procedure, group: InstructorGroup, action, success: str):
        try:
            action(group)
        except GroupError as error:
            flash(str(error.message), "danger")
            return self._back(procedure, group)
        commit()
        flash(success, "success")
        return self._back(procedure, group)

    @expose("/<int:procedure_id>/groups/<int:group_id>/delete", methods=["GET"])
    @procedure_screen(READ)
    def confirm_delete(self, procedure: Procedure, group_id: int):
        return self._delete_page(procedure, _group(procedure, group_id))

    def _delete_page(self, procedure, group, errors=None, chosen=None, status=200):
        return self.page(
            "guichet/procedures/group_delete.html",
            procedure,
            status,
            group=group,
            count=instructor_groups.dossier_counts(procedure).get(group.id, 0),
            targets=instructor_groups.move_targets(group),
            errors=errors or {},
            chosen=chosen,
        )

    @expose("/<int:procedure_id>/groups/<int:group_id>/delete", methods=["POST"])
    @procedure_screen(WRITE)
    def delete(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        chosen = request.form.get("move_to", type=int)
        move_to = next((item for item in procedure.groups if item.id == chosen), None)
        name = group.name
        try:
            moved = instructor_groups.delete(group, move_to)
        except GroupError as error:
            errors = {error.field or "form": error.message}
            return self._delete_page(procedure, group, errors, chosen, 422)
        if not commit():  # a dossier was routed to the group meanwhile
            flash(gettext("Dossiers arrived in this group meanwhile: try again."), "danger")
            return redirect(
                url_for(".confirm_delete", procedure_id=procedure.id, group_id=group_id)
            )
        if moved:
            flash(
                ngettext(
                    "The group “%(name)s” was deleted; its %(num)d dossier went to “%(target)s”.",
                    "The group “%(name)s” was deleted; its %(num)d dossiers went to “%(target)s”.",
                    moved,
                    name=name,
                    target=move_to.name,
                ),
                "success",
            )
        else:
            flash(gettext("The group “%(name)s” was deleted.", name=name), "success")
        return self._back(procedure)

    @expose("/<int:procedure_id>/groups/<int:group_id>/members", methods=["POST"])
    @procedure_screen(WRITE)
    def add_member(self, procedure: Procedure, group_id: int):
        group = _group(procedure, group_id)
        email = request.form.get("email", "")
        form = f"member-{group.id}"
        try:
            user, created = instructor_groups.add_member(group, email)
        except GroupError as error:
            return self._refused(procedure, form, {"email": email}, error)
        if not commit():  # added by someone else at the same moment
            return self._back(procedure, group)
        if created:
            message = gettext(
                "%(email)s was invited: they received a mail to choose their password.",
                email=user.email,
            )
        else:
            message = gettext(
                "%(email)s was added to the group and told by mail.", email=user.email
            )
        flash(message, "success")
        return self._back(procedure, group)

    @expose(
        "/<int:procedure_id>/groups/<int:group_id>/members/<int:user_id>/remove",
        methods=["POST"],
    )
    @procedure_screen(WRITE)
    def remove_member(self, procedure: Procedure, group_id: int, user_id: int):
        group = _group(procedure, group_id)
        user = instructor_groups.remove_member(group, user_id)
        if user is None:
            abort(404)
        commit()
        flash(
            gettext(
                "%(email)s no longer belongs to the group “%(name)s”.",
                email=user.email,
                name=group.name,
            ),
            "success",
        )
        return self._back(procedure, group)


def _taken(name: str) -> GroupError:
    return GroupError(
        gettext("This procedure already has a group called “%(name)s”.", name=name), "name"
    )
