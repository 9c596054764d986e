"""Support: the contact form (``/contact``, anyone, in the portal's look) and the platform
admin's screens that list the requests and answer them (``/admin/support``).

The form is prefilled for a signed-in person and rate limited per IP address; like every
POST it carries the CSRF token (``app.extensions.csrf``). An answer is mailed to the
address the person typed and stamps the request's first answer, whose delay ``/stats``
shows.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import get_locale, gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..extensions import db, limiter
from ..models import SupportRequest
from ..services import support

blueprint = Blueprint("support", __name__)

CONTACT_LIMIT = "5/minute;20/day"
"""Requests one IP address may send: enough for a person, too few to flood the team."""
REQUESTS_PER_PAGE = 50


@blueprint.context_processor
def portal_helpers() -> dict[str, Any]:
    """What the portal's base template expects from a page's blueprint."""
    return {
        "has_endpoint": lambda name: name in current_app.view_functions,
        "limits": {
            "name": support.NAME_MAX_LENGTH,
            "subject": support.SUBJECT_MAX_LENGTH,
            "body": support.BODY_MAX_LENGTH,
        },
    }


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    html = render_template("portal/error.html", status=status, title=title, message=message)
    return html, status


@blueprint.errorhandler(429)
def too_many_requests(_error: Exception) -> tuple[str, int]:
    return _error_page(
        429,
        gettext("Too many attempts"),
        gettext(
            "For your security, this form is locked for a short while after many attempts. "
            "Wait a few minutes, then try again."
        ),
    )


@blueprint.errorhandler(CSRFError)
def session_expired(_error: CSRFError) -> tuple[str, int]:
    return _error_page(
        400,
        gettext("Your session has expired"),
        gettext(
            "For your security, forms expire after a while. Go back to the page, reload it "
            "and send the form again."
        ),
    )


def _prefilled() -> dict[str, str]:
    if not current_user.is_authenticated:
        return {"name": "", "email": "", "subject": "", "body": ""}
    name = f"{current_user.first_name or ''} {current_user.last_name or ''}".strip()
    return {"name": name, "email": current_user.email or "", "subject": "", "body": ""}


@blueprint.route("/contact", methods=["GET", "POST"])
@limiter.limit(CONTACT_LIMIT, methods=["POST"])
def contact():
    """Ask the platform team a question; the answer comes by email."""
    if request.method == "GET":
        return render_template("guichet/support/contact.html", values=_prefilled(), errors={})
    values = {
        name: (request.form.get(name) or "")[: limit * 2]
        for name, limit in (
            ("name", support.NAME_MAX_LENGTH),
            ("email", 320),
            ("subject", support.SUBJECT_MAX_LENGTH),
            ("body", support.BODY_MAX_LENGTH),
        )
    }
    draft = support.Draft(**values)
    errors = support.check(draft)
    if errors:
        html = render_template("guichet/support/contact.html", values=values, errors=errors)
        return html, 422
    item = support.create(draft, author=current_user, locale=str(get_locale() or "fr"))
    db.session.commit()
    session["support_request_sent"] = item.id
    return redirect(url_for("support.sent"))


@blueprint.route("/contact/envoye")
def sent():
    """The confirmation after sending (only right after: the number stays private)."""
    number = session.pop("support_request_sent", None)
    if number is None:
        return redirect(url_for("support.contact"))
    return render_template("guichet/support/sent.html", number=number)


# ---------------------------------------------------------------------------------------
# The platform admin's screens


class SupportRequestView(BaseView):
    """``/admin/support``: the requests by tab (open, not answered yet, closed, all);
    one request with its answers, the answer form and close / reopen."""

    route_base = "/admin/support"
    class_permission_name = "SupportRequests"
    method_permission_name = {
        "index": "read",
        "show": "read",
        "answer": "write",
        "close": "write",
        "reopen": "write",
    }
    base_permissions = ["can_read", "can_write"]
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        tab = request.args.get("tab", "open")
        if tab not in support.FILTERS:
            tab = "open"
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        requests = db.session.scalars(
            support.listing(tab).limit(REQUESTS_PER_PAGE + 1).offset((page - 1) * REQUESTS_PER_PAGE)
        ).all()
        return self.render_template(
            "guichet/support/list.html",
            requests=requests[:REQUESTS_PER_PAGE],
            has_next=len(requests) > REQUESTS_PER_PAGE,
            page=page,
            tab=tab,
            tabs=support.FILTERS,
            counts=support.counts(),
        )

    def _request(self, request_id: int) -> SupportRequest:
        item = db.session.get(SupportRequest, request_id)
        if item is None:
            abort(404)
        return item

    def _show(self, item: SupportRequest, typed: str = "", error: str | None = None):
        status = 422 if error else 200
        html = self.render_template(
            "guichet/support/show.html", item=item, typed=typed, error=error
        )
        return html, status

    @expose("/<int:request_id>", methods=["GET"])
    @has_access
    def show(self, request_id: int):
        return self._show(self._request(request_id))

    @expose("/<int:request_id>/answer", methods=["POST"])
    @has_access
    def answer(self, request_id: int):
        item = self._request(request_id)
        body = request.form.get("body", "")
        try:
            support.answer(item, g.user, body)
        except support.SupportError as error:
            db.session.rollback()
            return self._show(item, body, error.message)
        db.session.commit()
        flash(gettext("Your answer was sent to %(email)s.", email=item.email), "success")
        return redirect(url_for(".show", request_id=item.id))

    @expose("/<int:request_id>/close", methods=["POST"])
    @has_access
    def close(self, request_id: int):
        item = self._request(request_id)
        support.close(item)
        db.session.commit()
        flash(gettext("The request was closed."), "success")
        return redirect(url_for(".index"))

    @expose("/<int:request_id>/reopen", methods=["POST"])
    @has_access
    def reopen(self, request_id: int):
        item = self._request(request_id)
        support.reopen(item)
        db.session.commit()
        flash(gettext("The request was reopened."), "success")
        return redirect(url_for(".show", request_id=item.id))
