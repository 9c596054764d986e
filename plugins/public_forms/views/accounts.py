"""Applicants' accounts on the portal: sign up (confirmed by email), log in and out, reset a
forgotten password, change the account's email address.

Accounts are Flask-AppBuilder users (role Applicant, ``username`` = the address in lower
case); agents and administrators may log in here too. No answer ever tells whether an
address has an account: signing up with a known address mails its owner instead of showing
an error, and "forgot password" always says a mail was sent if an account exists. The
forms that can be abused (log in, sign up, forgot, reset, change of address) are rate
limited per IP address and, where an address is typed, per address.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash

from app.extensions import db, limiter
from app.models import User
from app.security import Roles, role_names
from app.services import accounts, authentication, mail

from .. import blueprint
from .catalogue import portal_error, safe_next


def _configured_limit(name: str, default: str) -> Callable[[], str]:
    """A rate limit read from the app's config at each request, ``default`` otherwise: a
    deployment whose applicants share one address (a public service counter behind one
    router) may raise the per-address limits."""
    return lambda: current_app.config.get(name) or default


LOGIN_LIMIT = _configured_limit("PORTAL_LOGIN_RATE_LIMIT", "10/minute")
"""Per IP address and per typed address: enough for someone who mistypes, far too few to
guess a password."""
MAIL_LIMIT_PER_ADDRESS = _configured_limit("PORTAL_MAIL_RATE_LIMIT", "5/hour")
"""Mails that one address may be sent by sign-up or "forgot password" (no mail bombing)."""
FORM_LIMIT = _configured_limit("PORTAL_FORM_RATE_LIMIT", "10/minute")
"""Other forms that create accounts, send mails or try link tokens, per IP address."""

STAFF_ROLES = frozenset({Roles.ADMIN, Roles.ADMINISTRATOR, Roles.AGENT, Roles.EXPERT})


def _typed_address() -> str:
    """The rate-limit key of the address typed in the form (lower-cased)."""
    return "address:" + (request.form.get("email") or "").strip().lower()[:320]


@blueprint.errorhandler(429)
def too_many_requests(_error: Exception) -> tuple[str, int]:
    return portal_error(
        429,
        gettext("Too many attempts"),
        gettext(
            "For your security, this form is locked for a short while after many attempts. "
            "Wait a few minutes, then try again."
        ),
    )


@blueprint.context_processor
def account_rules() -> dict[str, Any]:
    return {"password_min_length": accounts.PASSWORD_MIN_LENGTH}


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send an anonymous visitor to the login page, then back here (pages read by GET)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            back = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("public_forms.login", next=back))
        return view(*args, **kwargs)

    return wrapped


def _send(to: str, subject: str, template: str, **context: Any) -> None:
    """Mail a text made from ``portal/mails/<template>.txt`` (through the outbox: it
    leaves once the current transaction commits)."""
    body = render_template(f"portal/mails/{template}.txt", **context)
    mail.send(to, subject, body)


def _link(endpoint: str, **values: Any) -> str:
    return accounts.absolute_url(endpoint, **values)


def _home_after_login(user: User) -> str:
    """Applicants go to their dossiers; agents and administrators to the back office."""
    roles = role_names(user)
    if roles & STAFF_ROLES and Roles.APPLICANT not in roles:
        return current_app.appbuilder.get_url_for_index
    return url_for("public_forms.my_dossiers")


def _start_session(user: User) -> None:
    """Log in on a new session: whatever the session held before (a fixed session, a CSRF
    token seen by someone else) is dropped; only the chosen language is kept."""
    locale = session.get("locale")
    session.clear()
    login_user(user)
    if locale:
        session["locale"] = locale


def _end_session() -> None:
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale


def _email_problem(value: str) -> tuple[str, Any | None]:
    """The normalised address, or the message that says what is wrong with it."""
    if not value.strip():
        return "", gettext("Enter your email address.")
    try:
        return accounts.normalise_email(value), None
    except accounts.AccountError as error:
        return value.strip(), error.message


def _mail_sent(reason: str, address: str):
    """Say a mail is on its way (the same words whether or not the address is known)."""
    session["mail_sent_to"] = address
    return redirect(url_for("public_forms.check_mailbox", reason=reason))


def _send_confirmation(user: User, next_page: str = "") -> None:
    """Mail the link that confirms the account; ``next_page`` (a safe path: the procedure
    the person was starting) comes back with it, to lead them there once logged in."""
    token = accounts.make_confirmation_token(user)
    _send(
        user.email,
        gettext("Confirm your Guichet account"),
        "confirm_account",
        user=user,
        link=_link("public_forms.confirm", token=token, next=next_page or None),
        hours=int(accounts.CONFIRMATION_MAX_AGE.total_seconds() // 3600),
    )


# ---------------------------------------------------------------------------------------
# Sign up and confirmation


@blueprint.route("/inscription", methods=["GET", "POST"])
@limiter.limit(FORM_LIMIT, methods=["POST"])
@limiter.limit(MAIL_LIMIT_PER_ADDRESS, methods=["POST"], key_func=_typed_address)
def signup():
    """Create an applicant account, inactive until its address is confirmed. A ``next``
    page (the procedure the person was starting) follows the confirmation link and the
    login, which then lead there."""
    next_page = safe_next("")
    if current_user.is_authenticated:
        return redirect(next_page or url_for("public_forms.my_dossiers"))
    values = {name: request.form.get(name, "").strip() for name in ("first_name", "last_name")}
    if request.method == "GET":
        return render_template(
            "portal/accounts/signup.html", values=values, errors={}, next_page=next_page
        )
    errors: dict[str, Any] = {}
    for name, message in (
        ("first_name", gettext("Enter your first name.")),
        ("last_name", gettext("Enter your last name.")),
    ):
        if not values[name]:
            errors[name] = message
        elif len(values[name]) > accounts.NAME_MAX_LENGTH:
            errors[name] = gettext(
                "Enter at most %(num)d characters.", num=accounts.NAME_MAX_LENGTH
            )
    values["email"], problem = _email_problem(request.form.get("email", ""))
    if problem:
        errors["email"] = problem
    password = request.form.get("password", "")
    errors.update(
        accounts.new_password_problems(
            password, request.form.get("confirmation", ""), values["email"]
        )
    )
    if errors:
        html = render_template(
            "portal/accounts/signup.html", values=values, errors=errors, next_page=next_page
        )
        return html, 422
    user, created = accounts.sign_up(
        values["email"], values["first_name"], values["last_name"], password
    )
    if created:
        _send_confirmation(user, next_page)
    else:
        _send(
            user.email,
            gettext("You already have a Guichet account"),
            "already_registered",
            user=user,
            unconfirmed=accounts.is_unconfirmed(user),
            login=_link("public_forms.login", next=next_page or None),
            reset=_link("public_forms.reset", token=accounts.make_reset_token(user))
            if accounts.can_reset_password(user)
            else None,
        )
    db.session.commit()
    return _mail_sent("signup", values["email"])


@blueprint.route("/verifiez-votre-messagerie")
def check_mailbox():
    """After a form that mails a link: what to do next, and what to do if nothing comes.
    The address is shown once (the next person at a shared computer does not see it)."""
    reason = request.args.get("reason", "signup")
    if reason not in ("signup", "forgot", "email"):
        reason = "signup"
    return render_template(
        "portal/accounts/check_mailbox.html",
        reason=reason,
        address=session.pop("mail_sent_to", None),
    )


def _link_error(error: accounts.InvalidLink, expired_message: str) -> tuple[str, int]:
    if isinstance(error, accounts.ExpiredLink):
        return portal_error(410, gettext("This link has expired"), expired_message)
    return portal_error(
        404,
        gettext("This link is not valid"),
        gettext(
            "It may have been used already, or been cut in your mail: copy the whole "
            "address of the link into your browser."
        ),
    )


@blueprint.route("/confirmer/<token>", methods=["GET", "POST"])
@limiter.limit(FORM_LIMIT, methods=["POST"])
def confirm(token: str):
    """Confirm a new account's address. Reading the link is not enough (mail scanners open
    links): the owner presses the button, which is the POST."""
    try:
        user = accounts.user_for_confirmation_token(token)
    except accounts.InvalidLink as error:
        return _link_error(
            error,
            gettext(
                "Log in with your email address and your password: if your account is not "
                "confirmed yet, we will send you a new link."
            ),
        )
    next_page = safe_next("") or None
    if not accounts.is_unconfirmed(user):
        flash(gettext("Your account is already confirmed. You can log in."), "info")
        return redirect(url_for("public_forms.login", next=next_page))
    if request.method == "GET":
        return render_template(
            "portal/accounts/confirm.html", user=user, token=token, next_page=next_page
        )
    accounts.confirm(user)
    db.session.commit()
    session["login_email"] = user.email
    flash(gettext("Your account is confirmed. You can now log in."), "success")
    return redirect(url_for("public_forms.login", next=next_page))


# ---------------------------------------------------------------------------------------
# Log in and out


@blueprint.route("/connexion", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], key_func=_typed_address)
def login():
    """Log in with an email address and a password (FAB's database authentication)."""
    if current_user.is_authenticated:
        return redirect(safe_next(_home_after_login(current_user)))
    next_page = safe_next("")
    if request.method == "GET":
        values = {"email": session.pop("login_email", "")}
        return render_template(
            "portal/accounts/login.html", values=values, errors={}, next_page=next_page
        )
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    values = {"email": email}
    errors: dict[str, Any] = {}
    if not email:
        errors["email"] = gettext("Enter your email address.")
    if not password:
        errors["password"] = gettext("Enter your password.")
    if errors:
        return _login_page(values, errors, next_page, 422)
    user = current_app.appbuilder.sm.auth_user_db(email, password)
    if user is None and g.get("login_locked_until") is not None:
        errors["email"] = authentication.login_locked_message(g.login_locked_until)
        return _login_page(values, errors, next_page, 429)
    if user is None:
        waiting = accounts.find_user_by_email(email)
        if (
            waiting is not None
            and accounts.is_unconfirmed(waiting)
            and check_password_hash(waiting.password or "", password)
        ):
            _send_confirmation(waiting, next_page)
            db.session.commit()
            errors["email"] = gettext(
                "Your account is not confirmed yet. We have sent you a new confirmation "
                "link: open it, then log in."
            )
            return _login_page(values, errors, next_page, 403)
        errors["email"] = gettext(
            "The email address or the password is not right. Check them and try again."
        )
        return _login_page(values, errors, next_page, 401)
    _start_session(user)
    return redirect(safe_next(_home_after_login(user)))


def _login_page(values: dict, errors: dict, next_page: str, status: int) -> tuple[str, int]:
    html = render_template(
        "portal/accounts/login.html", values=values, errors=errors, next_page=next_page
    )
    return html, status


@blueprint.route("/deconnexion", methods=["POST"])
def logout():
    """Log out (a POST with its CSRF token: a link or an image cannot log anyone out)."""
    _end_session()
    flash(gettext("You are logged out."), "success")
    return redirect(url_for("public_forms.home"))


# ---------------------------------------------------------------------------------------
# Forgotten password


@blueprint.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(FORM_LIMIT, methods=["POST"])
@limiter.limit(MAIL_LIMIT_PER_ADDRESS, methods=["POST"], key_func=_typed_address)
def forgot():
    """Ask for a reset link. The answer is the same whether the address is known or not."""
    if request.method == "GET":
        values = {"email": request.args.get("email", "")[:320]}
        return render_template("portal/accounts/forgot.html", values=values, errors={})
    email, problem = _email_problem(request.form.get("email", ""))
    if problem:
        html = render_template(
            "portal/accounts/forgot.html", values={"email": email}, errors={"email": problem}
        )
        return html, 422
    user = accounts.find_user_by_email(email)
    if user is not None and accounts.can_reset_password(user):
        _send(
            user.email,
            gettext("Choose a new Guichet password"),
            "reset_password",
            user=user,
            link=_link("public_forms.reset", token=accounts.make_reset_token(user)),
            minutes=int(accounts.RESET_MAX_AGE.total_seconds() // 60),
        )
        db.session.commit()
    return _mail_sent("forgot", email)


@blueprint.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@limiter.limit(FORM_LIMIT, methods=["POST"])
def reset(token: str):
    """Choose a new password from a reset link (it works once, for an hour)."""
    try:
        user = accounts.user_for_reset_token(token)
    except accounts.InvalidLink as error:
        return _link_error(
            error,
            gettext(
                "For your security, a reset link works for one hour. Ask for a new one: it "
                "only takes your email address."
            ),
        )
    if request.method == "GET":
        return render_template("portal/accounts/reset.html", user=user, token=token, errors={})
    password = request.form.get("password", "")
    errors = accounts.new_password_problems(
        password, request.form.get("confirmation", ""), user.email
    )
    if errors:
        html = render_template("portal/accounts/reset.html", user=user, token=token, errors=errors)
        return html, 422
    accounts.reset_password(user, password)
    _send(
        user.email,
        gettext("Your Guichet password was changed"),
        "password_changed",
        user=user,
        forgot=_link("public_forms.forgot"),
    )
    db.session.commit()
    if current_user.is_authenticated:
        _end_session()
    session["login_email"] = user.email
    flash(gettext("Your new password is saved. Log in with it."), "success")
    return redirect(url_for("public_forms.login"))


# ---------------------------------------------------------------------------------------
# Change of email address


@blueprint.route("/compte/adresse", methods=["GET", "POST"])
@login_required
@limiter.limit(FORM_LIMIT, methods=["POST"])
def change_email():
    """Ask to move the account to another address: a link goes to the new address, and
    nothing changes until it is opened. The current password is asked again."""
    if request.method == "GET":
        return render_template("portal/accounts/change_email.html", values={}, errors={})
    email, problem = _email_problem(request.form.get("email", ""))
    values = {"email": email}
    errors: dict[str, Any] = {}
    if problem:
        errors["email"] = problem
    elif email == (current_user.email or "").lower():
        errors["email"] = gettext("This is already the address of your account.")
    password = request.form.get("password", "")
    if not password:
        errors["password"] = gettext("Enter your password.")
    elif not check_password_hash(current_user.password or "", password):
        errors["password"] = gettext("The password is not right.")
    if errors:
        html = render_template("portal/accounts/change_email.html", values=values, errors=errors)
        return html, 422
    other = accounts.find_user_by_email(email)
    if other is not None:
        _send(
            email,
            gettext("Your address and Guichet"),
            "address_taken",
            login=_link("public_forms.login"),
        )
    else:
        _send(
            email,
            gettext("Confirm your new address on Guichet"),
            "confirm_new_address",
            user=current_user,
            link=_link(
                "public_forms.confirm_email",
                token=accounts.make_email_change_token(current_user, email),
            ),
        )
    db.session.commit()
    return _mail_sent("email", email)


@blueprint.route("/compte/adresse/<token>", methods=["GET", "POST"])
@limiter.limit(FORM_LIMIT, methods=["POST"])
def confirm_email(token: str):
    """Move the account to the new address of the link (after a button press)."""
    try:
        user, new_email = accounts.read_email_change_token(token)
    except accounts.InvalidLink as error:
        return _link_error(
            error,
            gettext(
                "For your security, this link works for one day. Log in and ask for the "
                "change again."
            ),
        )
    if request.method == "GET":
        return render_template(
            "portal/accounts/confirm_email.html", user=user, new_email=new_email, token=token
        )
    try:
        former = accounts.change_email(user, new_email)
    except accounts.AccountError as error:
        db.session.rollback()
        return portal_error(409, gettext("This address cannot be used"), str(error.message))
    _send(
        former,
        gettext("The address of your Guichet account was changed"),
        "address_changed",
        user=user,
        new_email=new_email,
        forgot=_link("public_forms.forgot"),
    )
    db.session.commit()
    flash(gettext("Your account now uses the address %(email)s.", email=new_email), "success")
    if current_user.is_authenticated:
        return redirect(url_for("public_forms.my_dossiers"))
    session["login_email"] = new_email
    return redirect(url_for("public_forms.login"))
