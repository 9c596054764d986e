"""The back office's "API and webhooks" screens (``/admin/integrations/…``).

An administrator manages here the API tokens of the administrations they administer and
the webhooks of those administrations' procedures; the platform admin all of them. Every
object is looked up through ``app.services.api_tokens`` / ``webhooks`` scoping, so a
guessed id of someone else's token or webhook gets a 404. The forms carry the CSRF token
(the global ``CSRFProtect``), unlike the bearer-token API itself.

``register`` also brings up the API (``app.api``), the webhooks' signal receivers and the
daily reminder of expiring tokens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from .. import integration_tasks
from ..extensions import db
from ..models import Administration, Procedure, WebhookDelivery
from ..security import administered_procedures
from ..services import api_tokens, webhooks

DAY = 24 * 3600.0
REMIND_BEAT_ENTRY = "api-tokens-remind-expiring"


def _procedures(user) -> list[tuple[Procedure, Administration]]:
    return list(
        db.session.execute(
            sa.select(Procedure, Administration)
            .join(Administration, Administration.id == Procedure.administration_id)
            .where(administered_procedures(user))
            .order_by(Administration.name, Procedure.title)
        ).all()
    )


def _expiry(text: str | None) -> datetime | None:
    """The end of the chosen day (UTC), or None for a token that does not expire."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise api_tokens.TokenError(_l("Give the expiry date as YYYY-MM-DD.")) from None
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def _int_list(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit() and len(value) < 10]


class IntegrationsView(BaseView):
    """API tokens and webhooks of the administrations one administers."""

    route_base = "/admin/integrations"
    class_permission_name = "Integrations"
    method_permission_name = {
        "index": "read",
        "new_token": "write",
        "revoke_token": "write",
        "new_webhook": "write",
        "webhook": "read",
        "toggle_webhook": "write",
        "delete_webhook": "write",
        "redeliver": "write",
    }
    base_permissions = ["can_read", "can_write"]
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            "guichet/integrations/index.html",
            tokens=api_tokens.tokens_of(g.user),
            token_status=api_tokens.status,
            hooks=webhooks.webhooks_of(g.user),
            events=webhooks.EVENTS,
        )

    @expose("/tokens/new", methods=["GET", "POST"])
    @has_access
    def new_token(self):
        choices = _procedures(g.user)
        form = request.form
        error = None
        if request.method == "POST":
            chosen = set(_int_list(form.getlist("procedures")))
            administrations = {
                procedure.administration_id
                for procedure, _administration in choices
                if procedure.id in chosen
            }
            try:
                if len(administrations) != 1:
                    raise api_tokens.TokenError(
                        _l("Choose procedures of one administration (at least one).")
                    )
                made = api_tokens.create(
                    g.user,
                    administrations.pop(),
                    form.get("name", ""),
                    sorted(chosen),
                    read_only=form.get("access") != "read_write",
                    expires_at=_expiry(form.get("expires_on")),
                    ip_allowlist=form.get("ip_allowlist", ""),
                )
            except api_tokens.TokenError as refusal:
                db.session.rollback()
                error = str(refusal.message)
            else:
                db.session.commit()
                return self.render_template(
                    "guichet/integrations/token_created.html",
                    token=made.token,
                    secret=made.secret,
                )
        return self.render_template(
            "guichet/integrations/token_form.html",
            choices=choices,
            form=form,
            error=error,
            default_expiry=(datetime.now(UTC) + timedelta(days=365)).date().isoformat(),
        ), (422 if error else 200)

    @expose("/tokens/<int:token_id>/revoke", methods=["POST"])
    @has_access
    def revoke_token(self, token_id: int):
        token = api_tokens.token_for(g.user, token_id)
        if token is None:
            abort(404)
        if api_tokens.revoke(token):
            db.session.commit()
            flash(gettext("The token “%(name)s” was revoked.", name=token.name), "success")
        return redirect(url_for("IntegrationsView.index"))

    @expose("/webhooks/new", methods=["GET", "POST"])
    @has_access
    def new_webhook(self):
        choices = _procedures(g.user)
        form = request.form
        error = None
        if request.method == "POST":
            procedure_id = request.form.get("procedure", type=int)
            procedure = next(
                (item for item, _administration in choices if item.id == procedure_id), None
            )
            try:
                if procedure is None:
                    raise webhooks.WebhookError(_l("Choose one of your procedures."))
                hook = webhooks.create(
                    procedure, form.get("url", ""), form.getlist("events"), g.user
                )
            except webhooks.WebhookError as refusal:
                db.session.rollback()
                error = str(refusal.message)
            else:
                db.session.commit()
                flash(gettext("The webhook was created."), "success")
                return redirect(url_for("IntegrationsView.webhook", webhook_id=hook.id))
        return self.render_template(
            "guichet/integrations/webhook_form.html",
            choices=choices,
            form=form,
            error=error,
            events=webhooks.EVENTS,
        ), (422 if error else 200)

    @expose("/webhooks/<int:webhook_id>")
    @has_access
    def webhook(self, webhook_id: int):
        hook = webhooks.webhook_for(g.user, webhook_id)
        if hook is None:
            abort(404)
        return self.render_template(
            "guichet/integrations/webhook.html",
            hook=hook,
            deliveries=webhooks.deliveries(hook),
            events=webhooks.EVENTS,
            max_failures=webhooks.max_failures(),
        )

    @expose("/webhooks/<int:webhook_id>/toggle", methods=["POST"])
    @has_access
    def toggle_webhook(self, webhook_id: int):
        hook = webhooks.webhook_for(g.user, webhook_id)
        if hook is None:
            abort(404)
        webhooks.set_enabled(hook, request.form.get("enabled") == "1")
        db.session.commit()
        return redirect(url_for("IntegrationsView.webhook", webhook_id=hook.id))

    @expose("/webhooks/<int:webhook_id>/delete", methods=["POST"])
    @has_access
    def delete_webhook(self, webhook_id: int):
        hook = webhooks.webhook_for(g.user, webhook_id)
        if hook is None:
            abort(404)
        db.session.delete(hook)
        db.session.commit()
        flash(gettext("The webhook was deleted."), "success")
        return redirect(url_for("IntegrationsView.index"))

    @expose("/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
    @has_access
    def redeliver(self, delivery_id: int):
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or webhooks.webhook_for(g.user, delivery.webhook_id) is None:
            abort(404)
        webhook_id = delivery.webhook_id
        webhooks.redeliver(delivery)
        db.session.commit()
        flash(gettext("The event is being delivered again."), "success")
        return redirect(url_for("IntegrationsView.webhook", webhook_id=webhook_id))


def register(appbuilder: AppBuilder) -> None:
    """The screens, the REST API, the webhooks' receivers and the reminder task."""
    from .. import api

    appbuilder.add_view(
        IntegrationsView,
        "API and webhooks",
        label=_l("API and webhooks"),
        icon="fa-plug",
        category="Build",
        category_label=_l("Build"),
    )
    api.register(appbuilder)
    app = current_app._get_current_object()
    webhooks.init_app(app)
    app.extensions["celery"].conf.beat_schedule[REMIND_BEAT_ENTRY] = {
        "task": integration_tasks.REMIND_TASK,
        "schedule": DAY,
    }
