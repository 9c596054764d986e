"""Signing in to the back office, the second factor, and the account's security page.

``GuichetSecurityManager`` (``FAB_SECURITY_MANAGER_CLASS`` in config.py) is FAB's SQLA
security manager with:

- ``auth_user_db`` going through ``services.authentication.check_password`` (lockout),
  for FAB's ``/login/`` and the portal's ``/connexion`` alike;
- its login view, ``GuichetAuthDBView``: rate limited per address and per typed username,
  a new session at sign-in (no session fixation), then ``/login/two-factor`` for a person
  with a second factor;
- a guard on every request (``before_request``): a session ended elsewhere ("log out
  everywhere", a password change, a reset second factor) or too old is closed; a session
  whose second factor is owed reaches only the code page; a person whose role requires a
  second factor and who has none reaches only the enrolment page. Whatever login page
  was used, nothing else is reachable before.
- password rules (``services.accounts.check_new_password``) on FAB's own password forms
  (a user created or reset by the platform admin, "reset my password"), and the end of
  other sessions when a password changes.

``AccountSecurityView`` (``/account/security``): a person's second factor (enrol with a QR
code, recovery codes shown once, turn off), "log out everywhere", and the platform admin's
reset of someone else's second factor.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user, user_logged_in
from werkzeug.security import check_password_hash

from ..extensions import db, limiter
from ..models import Role, User, UserSecurity
from ..security import Roles, is_platform_admin, role_names
from ..services import accounts, authentication

STAFF_ROLES = frozenset({Roles.ADMIN, Roles.ADMINISTRATOR, Roles.AGENT, Roles.EXPERT})
PORTAL_LOGIN = "public_forms.login"


def _limit(name: str, default: str):
    return lambda: current_app.config.get(name) or default


LOGIN_LIMIT = _limit("BACKOFFICE_LOGIN_RATE_LIMIT", "10/minute")
"""Per IP address and per typed username, on the password and on the code pages."""


def _typed_username() -> str:
    return "username:" + (request.form.get("username") or "").strip().lower()[:320]


def _current_user_key() -> str:
    return f"user:{getattr(current_user, 'id', None)}"


def start_session(user: User) -> None:
    """Sign in on a fresh session: what the session held before (a fixed session id, a
    CSRF token seen by someone else) is dropped; only the language is kept."""
    locale = session.get("locale")
    session.clear()
    login_user(user, remember=False)
    if locale:
        session["locale"] = locale


def end_session() -> None:
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale


def _is_staff(user: Any) -> bool:
    return bool(role_names(user) & STAFF_ROLES)


def _login_url_for(user: Any) -> str:
    """Applicants sign in on the portal, everybody else on the back office."""
    if _is_staff(user) or PORTAL_LOGIN not in current_app.view_functions:
        return url_for(f"{current_app.appbuilder.sm.auth_view.endpoint}.login")
    return url_for(PORTAL_LOGIN)


# ---------------------------------------------------------------------------------------
# The back office's login


class GuichetAuthDBView(AuthDBView):
    """FAB's database login, with limits, lockout and the second factor."""

    @expose("/login/", methods=["GET", "POST"])
    @limiter.limit(LOGIN_LIMIT, methods=["POST"])
    @limiter.limit(LOGIN_LIMIT, methods=["POST"], key_func=_typed_username)
    def login(self):
        if current_user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                until = g.get("login_locked_until")
                if until is not None:
                    flash(authentication.login_locked_message(until), "danger")
                else:
                    flash(str(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            start_session(user)
            if authentication.second_factor_pending():
                return redirect(url_for(".two_factor", next=next_url or None))
            return redirect(next_url or self.appbuilder.get_url_for_index)
        return self.render_template(
            self.login_template, title=self.title, form=form, appbuilder=self.appbuilder
        )

    @expose("/login/two-factor", methods=["GET", "POST"])
    @limiter.limit(LOGIN_LIMIT, methods=["POST"])
    @limiter.limit(LOGIN_LIMIT, methods=["POST"], key_func=_current_user_key)
    def two_factor(self):
        """The second step: a code of the authenticator app, or a recovery code."""
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        next_url = get_safe_redirect(request.args.get("next", ""))
        if not authentication.second_factor_pending():
            return redirect(next_url or self.appbuilder.get_url_for_index)
        error = None
        if request.method == "POST":
            user = db.session.get(User, current_user.id)
            used = authentication.verify_second_factor(user, request.form.get("code", ""))
            if used is not None:
                db.session.commit()
                authentication.second_factor_done()
                if used == "recovery":
                    flash(
                        gettext(
                            "You signed in with a recovery code; %(num)d are left. If you "
                            "lost your device, set up the second factor again.",
                            num=authentication.recovery_codes_left(user),
                        ),
                        "warning",
                    )
                return redirect(next_url or self.appbuilder.get_url_for_index)
            until = authentication.register_failure(user, authentication.Action.TWO_FACTOR_FAILED)
            if until is not None:
                end_session()
                flash(authentication.login_locked_message(until), "danger")
                return redirect(self.appbuilder.get_url_for_login)
            error = gettext("This code is not right. Type the code your app shows now.")
        html = self.render_template(
            "guichet/account/two_factor_verify.html", error=error, next_url=next_url
        )
        return html, (401 if error else 200)


class GuichetSecurityManager(SecurityManager):
    authdbview = GuichetAuthDBView

    def __init__(self, appbuilder) -> None:
        super().__init__(appbuilder)
        config = current_app.config
        config.setdefault("FAB_PASSWORD_COMPLEXITY_ENABLED", True)
        config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", accounts.check_new_password)
        user_logged_in.connect(_on_signed_in, current_app._get_current_object())

    def register_views(self) -> None:
        super().register_views()
        self.appbuilder.add_view_no_menu(AccountSecurityView)
        self.appbuilder.add_link(
            "Security of my account",
            href="/account/security/",
            label=_l("Security of my account"),
            icon="fa-shield",
        )
        self.appbuilder.add_link(
            "Two-factor authentication",
            href="/account/security/people",
            label=_l("Two-factor authentication"),
            icon="fa-mobile",
            category="Security",
        )

    def _has_view_access(self, user: object, permission_name: str, view_name: str) -> bool:
        """A person's permissions read once per request: FAB asks the database once per
        check, and a page's menu alone makes about ten checks."""
        if not has_request_context():
            return super()._has_view_access(user, permission_name, view_name)
        known = g.__dict__.setdefault("guichet_permissions", {})
        key = getattr(user, "id", None)
        if key not in known:
            known[key] = self.get_user_permissions(user)
        return (permission_name, view_name) in known[key]

    def auth_user_db(self, username, password):
        """FAB's check with lockout; a locked attempt leaves its end in
        ``g.login_locked_until`` for the login page to say."""
        attempt = authentication.check_password(username, password)
        g.login_locked_until = attempt.locked_until
        return attempt.user

    def reset_password(self, userid, password) -> None:
        super().reset_password(userid, password)
        user = self.get_user_by_id(userid)
        authentication.on_password_changed(user)
        db.session.commit()

    @staticmethod
    def before_request():
        g.user = current_user
        return guard()


def _on_signed_in(_app: Any, user: User, **_: Any) -> None:
    authentication.on_signed_in(user)


# ---------------------------------------------------------------------------------------
# The guard


_ALWAYS_REACHABLE = {"static", "appbuilder.static", "health.live", "health.ready"}


def _reachable_while(kind: str, endpoint: str) -> bool:
    if endpoint in _ALWAYS_REACHABLE or endpoint.endswith(".static"):
        return True
    auth = current_app.appbuilder.sm.auth_view.endpoint
    if endpoint in (f"{auth}.logout", "public_forms.logout", "AccountSecurityView.sign_out"):
        return True
    if kind == "pending":
        return endpoint == f"{auth}.two_factor"
    return endpoint in ("AccountSecurityView.enrol", "AccountSecurityView.recovery_codes")


def guard():
    """Run before every request (FAB's ``before_request`` hook); a response ends it."""
    if not current_user.is_authenticated or request.endpoint is None:
        return None
    problem = authentication.session_problem(current_user)
    if problem is not None:
        target = _login_url_for(current_user)
        end_session()
        flash(
            gettext("Your session has ended. Please sign in again.")
            if problem != "revoked"
            else gettext("You were signed out. Please sign in again."),
            "warning",
        )
        return redirect(target)
    endpoint = request.endpoint
    if authentication.second_factor_pending():
        if not _reachable_while("pending", endpoint):
            auth = current_app.appbuilder.sm.auth_view.endpoint
            return redirect(url_for(f"{auth}.two_factor"))
    elif _must_enrol(current_user) and not _reachable_while("enrol", endpoint):
        flash(
            gettext(
                "Your role requires a second factor. Set it up to continue: it takes a "
                "minute with an authenticator app."
            ),
            "info",
        )
        return redirect(url_for("AccountSecurityView.enrol"))
    return None


def _must_enrol(user: User) -> bool:
    return authentication.two_factor_required(user) and not authentication.has_two_factor(user)


# ---------------------------------------------------------------------------------------
# The account's security page


class AccountSecurityView(BaseView):
    """A person's second factor and sessions; the platform admin's resets."""

    route_base = "/account/security"
    default_view = "index"

    def _me(self) -> User:
        if not current_user.is_authenticated:
            abort(404)
        return db.session.get(User, current_user.id)

    def _staff(self) -> User:
        user = self._me()
        if not _is_staff(user):
            abort(404)
        return user

    @expose("/")
    def index(self):
        user = self._staff()
        state = authentication.state_of(user, create=False)
        return self.render_template(
            "guichet/account/security.html",
            user=user,
            enabled_at=state.totp_enabled_at if state else None,
            required=authentication.two_factor_required(user),
            codes_left=authentication.recovery_codes_left(user),
        )

    @expose("/two-factor/enrol", methods=["GET", "POST"])
    @limiter.limit(LOGIN_LIMIT, methods=["POST"], key_func=_current_user_key)
    def enrol(self):
        """Scan the QR code (or type the secret), then confirm with a code."""
        user = self._staff()
        if authentication.has_two_factor(user):
            return redirect(url_for(".index"))
        error = None
        if request.method == "POST":
            codes = authentication.confirm_enrolment(user, request.form.get("code", ""))
            if codes is not None:
                db.session.commit()
                authentication.second_factor_done()
                session["recovery_codes"] = codes
                return redirect(url_for(".recovery_codes"))
            error = gettext(
                "This code is not right. Check that the clock of your device is on time, "
                "and type the code your app shows now."
            )
        secret = authentication.enrolment_secret(user)
        if secret is None or request.method == "GET":
            secret = authentication.start_enrolment(user)
            db.session.commit()
        uri = authentication.provisioning_uri(user, secret)
        html = self.render_template(
            "guichet/account/two_factor_enrol.html",
            secret=secret,
            grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr_code=authentication.qr_code_data_uri(uri),
            required=authentication.two_factor_required(user),
            error=error,
        )
        return html, (422 if error else 200)

    @expose("/two-factor/recovery-codes")
    def recovery_codes(self):
        """The recovery codes, shown once (they are not kept in clear anywhere)."""
        self._staff()
        codes = session.pop("recovery_codes", None)
        if not codes:
            return redirect(url_for(".index"))
        return self.render_template("guichet/account/recovery_codes.html", codes=codes)

    @expose("/two-factor/recovery-codes/new", methods=["POST"])
    def new_recovery_codes(self):
        user = self._staff()
        if not authentication.has_two_factor(user):
            abort(404)
        if not check_password_hash(user.password or "", request.form.get("password", "")):
            flash(gettext("The password is not right."), "danger")
            return redirect(url_for(".index"))
        session["recovery_codes"] = authentication.new_recovery_codes(user)
        db.session.commit()
        return redirect(url_for(".recovery_codes"))

    @expose("/two-factor/off", methods=["POST"])
    def turn_off(self):
        """Turn the second factor off (not possible when the role requires it); the
        password is asked again."""
        user = self._staff()
        if authentication.two_factor_required(user):
            flash(gettext("Your role requires a second factor: it cannot be turned off."), "danger")
            return redirect(url_for(".index"))
        if not check_password_hash(user.password or "", request.form.get("password", "")):
            flash(gettext("The password is not right."), "danger")
            return redirect(url_for(".index"))
        authentication.turn_off_two_factor(user)
        db.session.commit()
        flash(gettext("Two-factor authentication is off."), "success")
        return redirect(url_for(".index"))

    @expose("/logout-everywhere", methods=["POST"])
    def sign_out(self):
        """End every session of the signed-in person, on every device, this one too."""
        user = self._me()
        target = _login_url_for(user)
        authentication.log_out_everywhere(user)
        db.session.commit()
        end_session()
        flash(gettext("You are signed out on every device."), "success")
        return redirect(target)

    # The platform admin's view of everyone's second factor

    def _platform_admin(self) -> User:
        user = self._me()
        if not is_platform_admin(user):
            abort(404)
        return user

    @expose("/people")
    def people(self):
        """Staff accounts and whether each has a second factor."""
        self._platform_admin()
        staff = (
            db.session.scalars(
                sa.select(User)
                .join(User.roles)
                .where(Role.name.in_(sorted(STAFF_ROLES)))
                .order_by(User.email)
                .distinct()
            )
            .unique()
            .all()
        )
        states = {
            state.user_id: state
            for state in db.session.scalars(
                sa.select(UserSecurity).where(UserSecurity.user_id.in_([u.id for u in staff]))
            )
        }
        return self.render_template(
            "guichet/account/two_factor_people.html",
            people=[(person, states.get(person.id)) for person in staff],
            required=authentication.two_factor_required,
        )

    @expose("/people/<int:user_id>/reset-two-factor", methods=["POST"])
    def reset_two_factor(self, user_id: int):
        """Remove someone's second factor (a lost phone): they enrol again at their next
        sign-in if their role requires it; their sessions end."""
        admin = self._platform_admin()
        person = db.session.get(User, user_id)
        if person is None or not authentication.has_two_factor(person):
            abort(404)
        authentication.turn_off_two_factor(person, by=admin)
        db.session.commit()
        flash(gettext("The second factor of %(email)s is removed.", email=person.email), "success")
        return redirect(url_for(".people"))
