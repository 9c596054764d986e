"""The platform admin manages the administrators of each administration."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _

from ..extensions import db
from ..models import Administration
from ..services import administrations
from ..services.administrations import MembershipError


class AdministrationMembersView(BaseView):
    """Who administers an administration: add by email (with an invitation), remove."""

    route_base = "/admin/administrations"
    default_view = "members"

    def _administration(self, administration_id: int) -> Administration:
        administration = db.session.get(Administration, administration_id)
        if administration is None:
            abort(404)
        return administration

    @expose("/<int:administration_id>/members", methods=["GET"])
    @has_access
    def members(self, administration_id: int):
        administration = self._administration(administration_id)
        return self.render_template(
            "guichet/administration_members.html",
            administration=administration,
            members=sorted(administration.members, key=lambda m: m.user.email),
        )

    @expose("/<int:administration_id>/members", methods=["POST"])
    @has_access
    def add(self, administration_id: int):
        administration = self._administration(administration_id)
        email = request.form.get("email", "").strip()
        try:
            administrations.add_administrator(administration, email)
            db.session.commit()
            flash(
                _("%(email)s now administers %(name)s.", email=email, name=administration.name),
                "success",
            )
        except MembershipError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
        return redirect(
            url_for("AdministrationMembersView.members", administration_id=administration.id)
        )

    @expose("/<int:administration_id>/members/<int:user_id>/remove", methods=["POST"])
    @has_access
    def remove(self, administration_id: int, user_id: int):
        administration = self._administration(administration_id)
        administrations.remove_administrator(administration, user_id)
        db.session.commit()
        flash(_("The administrator was removed."), "success")
        return redirect(
            url_for("AdministrationMembersView.members", administration_id=administration.id)
        )
