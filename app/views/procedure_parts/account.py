"""``/account/set-password/<token>``: an invited person chooses their password.

Reached from the invitation mail without being signed in; the token alone says whose
account it is (``services.accounts``). The page never says whether an address has an
account: a bad link only says the link is not valid.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext

from ...extensions import db
from ...services import accounts

TEMPLATE = "guichet/account/set_password.html"


class SetPasswordView(BaseView):
    route_base = "/account"
    default_view = "set_password"

    def _page(self, token: str, status: int = 200, **context):
        html = self.render_template(
            TEMPLATE,
            token=token,
            min_length=accounts.PASSWORD_MIN_LENGTH,
            **context,
        )
        return html, status

    @expose("/set-password/<token>", methods=["GET", "POST"])
    def set_password(self, token: str):
        try:
            user = accounts.user_for_password_token(token)
        except accounts.ExpiredPasswordToken as error:
            return self._page(token, 410, link_error=error.message)
        except accounts.InvalidPasswordToken as error:
            return self._page(token, 404, link_error=error.message)
        if request.method == "GET":
            return self._page(token, user=user, errors={})
        password = request.form.get("password", "")
        errors = accounts.new_password_problems(
            password, request.form.get("confirmation", ""), user.email
        )
        if errors:
            return self._page(token, 422, user=user, errors=errors)
        accounts.set_password(user, password)
        db.session.commit()
        flash(gettext("Your password is set. You can now sign in."), "success")
        login = f"{self.appbuilder.sm.auth_view.endpoint}.login"
        return redirect(url_for(login))
