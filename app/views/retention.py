"""The owner's extension page: ``/dossiers/<number>/prolonger`` (blueprint ``retention``).

The expiry warning mail links here. GET shows when the dossier will be deleted and what an
extension would give (or why none is possible now); POST, with the CSRF token checked by
Flask-WTF, extends it (``app.services.retention.extend``). Only the dossier's owner gets
the page: anyone else signed in gets a 404, as for a number that does not exist; an
anonymous visitor is sent to log in first. The page wears the portal's look.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from .. import retention_tasks
from ..extensions import db
from ..models import Dossier
from ..services import retention, template_tags

blueprint = Blueprint("retention", __name__)

PURGE_BEAT_ENTRY = "retention-purge"
WARN_BEAT_ENTRY = "retention-warn"
DAY = 24 * 3600.0


@blueprint.context_processor
def portal_helpers() -> dict[str, Any]:
    """What the portal's base template expects from a page's blueprint."""
    return {"has_endpoint": lambda name: name in current_app.view_functions}


def _login() -> Any:
    back = request.full_path.rstrip("?") if request.method == "GET" else request.path
    if "public_forms.login" in current_app.view_functions:
        return redirect(url_for("public_forms.login", next=back))
    sm = current_app.appbuilder.sm
    return redirect(url_for(f"{sm.auth_view.endpoint}.login", next=back))


def _dossier_page(number: int) -> str:
    if "public_forms.dossier" in current_app.view_functions:
        return url_for("public_forms.dossier", number=number)
    return url_for("retention.extend", number=number)


@blueprint.route(retention.EXTEND_PATH.replace("{number}", "<int:number>"), methods=["GET", "POST"])
def extend(number: int):
    """Show the dossier's retention and the extension it may get; POST extends it."""
    if not current_user.is_authenticated:
        return _login()
    dossier = db.session.get(Dossier, number)
    if dossier is None or dossier.owner_id != current_user.id:
        abort(404)
    if request.method == "POST":
        try:
            new_expiry = retention.extend(dossier, current_user)
        except retention.ExtensionRefused as refusal:
            db.session.rollback()
            flash(str(refusal.message), "error")
            return redirect(url_for("retention.extend", number=number))
        db.session.commit()
        flash(
            gettext(
                "Dossier n° %(number)d will be kept until %(date)s.",
                number=number,
                date=template_tags.local_date(new_expiry),
            ),
            "success",
        )
        return redirect(_dossier_page(number))
    return render_template(
        "guichet/retention/extend.html",
        dossier=dossier,
        offer=retention.offer(dossier),
        dossier_url=_dossier_page(number),
    )


def register_retention(app: Flask) -> None:
    """The extension page, the expiry receiver and the daily beat tasks (warning, then
    deletion). Called once by ``create_app``, after the plugins (the page extends the
    portal's base template)."""
    retention.init_app(app)
    app.register_blueprint(blueprint)
    schedule = app.extensions["celery"].conf.beat_schedule
    schedule[WARN_BEAT_ENTRY] = {"task": retention_tasks.WARN_TASK, "schedule": DAY}
    schedule[PURGE_BEAT_ENTRY] = {"task": retention_tasks.PURGE_TASK, "schedule": DAY}
