"""The link of a draft an administration's system prepared (``app.services.prefill``).

``/commencer/prerempli/<token>``: the applicant signs in (or creates an account), sees what
they are about to take over and confirms with a POST (a link alone must not put a dossier
into someone's account); the draft becomes theirs and they continue at its first step.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db, limiter
from app.services import prefill

from .. import blueprint
from .filing import NEW_DOSSIER_LIMIT, _login_redirect, per_user


@blueprint.route("/commencer/prerempli/<token>", methods=["GET", "POST"])
@limiter.limit(NEW_DOSSIER_LIMIT, key_func=per_user, methods=["POST"])
def prefilled_dossier(token: str):
    """Take over a prefilled draft. An unknown or spent link is a 404."""
    dossier = prefill.find(token)
    if dossier is None:
        abort(404)
    if not current_user.is_authenticated:
        return _login_redirect(url_for("public_forms.prefilled_dossier", token=token))
    if request.method == "GET":
        return render_template(
            "portal/filing/prefilled.html",
            procedure=dossier.procedure,
            action=url_for("public_forms.prefilled_dossier", token=token),
        )
    claimed = prefill.claim(token, current_user)
    if claimed is None:
        abort(404)
    db.session.commit()
    return redirect(url_for("public_forms.identity", number=claimed.id))
