"""Back-office accounts created by invitation, and the link that sets their password.

Flask-AppBuilder has no "set your password by email" flow (its reset screens are for a
signed-in person or for the platform admin), so an invited agent gets a signed link here:
an itsdangerous token made with the app's ``SECRET_KEY``, valid seven days. The token also
carries a fingerprint of the account's current password hash, so it works once: setting the
password (or any other password change) changes the hash and voids every earlier link.

An invited account holds an *unusable* password hash (``!`` + random text) until then:
nobody can sign in with it, and ``has_usable_password`` tells an account that has never
been activated from one that has.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import User
from ..security import Roles
from . import authentication

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
"""Long passphrases are welcome; the ceiling only stops absurd request bodies."""
PASSWORD_TOKEN_MAX_AGE = timedelta(days=7)
EMAIL_MAX_LENGTH = 128
"""FAB's ``ab_user.username`` holds 128 characters and an invited agent's username is
their email address."""

_UNUSABLE_PREFIX = "!"
_TOKEN_SALT = "guichet.set-password"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class AccountError(Exception):
    """Input about an account that cannot be accepted; ``message`` is shown to the person."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class InvalidPasswordToken(AccountError):
    """A set-password link that was tampered with, or already used."""


class ExpiredPasswordToken(InvalidPasswordToken):
    """A genuine set-password link older than ``PASSWORD_TOKEN_MAX_AGE``."""


def normalise_email(email: str) -> str:
    """The address as stored: trimmed and lower-cased (mailboxes are case-insensitive in
    practice, and two accounts differing only by case would be a trap).

    Raises AccountError when it is not an address or is too long for a username.
    """
    email = (email or "").strip().lower()
    if not email:
        raise AccountError(_l("Enter the email address of the agent."))
    if not _EMAIL.match(email):
        raise AccountError(_l("Enter an email address like name@example.org."))
    if len(email) > EMAIL_MAX_LENGTH:
        raise AccountError(
            _l("An email address has at most %(num)d characters here.", num=EMAIL_MAX_LENGTH)
        )
    return email


def find_user_by_email(email: str) -> User | None:
    """The account whose email, or else whose username, is this address (any case)."""
    email = email.strip().lower()
    for column in (User.email, User.username):
        user = db.session.scalar(sa.select(User).where(sa.func.lower(column) == email).limit(1))
        if user is not None:
            return user
    return None


def unusable_password_hash() -> str:
    """A stored password hash that no password matches (werkzeug rejects its format)."""
    return _UNUSABLE_PREFIX + secrets.token_urlsafe(24)


def has_usable_password(user: User) -> bool:
    """False for an invited account whose owner has not set a password yet."""
    return bool(user.password) and not user.password.startswith(_UNUSABLE_PREFIX)


def ensure_agent(email: str) -> tuple[User, bool]:
    """The agent account of this address, created if there is none; ``(user, created)``."""
    return ensure_user_with_role(email, Roles.AGENT)


def ensure_user_with_role(email: str, role_name: str) -> tuple[User, bool]:
    """The account of this address with ``role_name``, created if there is none;
    ``(user, created)``.

    A new account gets the role, ``username = email`` and an unusable password (its owner
    sets one through the link of the invitation); an existing one gets the role added if it
    lacks it (an applicant may also become an agent). Nothing is committed.
    """
    email = normalise_email(email)
    sm = current_app.appbuilder.sm
    role = sm.find_role(role_name)
    user = find_user_by_email(email)
    if user is not None:
        if role not in user.roles:
            user.roles.append(role)
        return user, False
    user = sm.add_user(
        username=email,
        first_name="",
        last_name="",
        email=email,
        role=role,
        hashed_password=unusable_password_hash(),
        commit=False,
    )
    if not user:  # FAB logs the cause and rolls the session back
        raise RuntimeError(f"could not create the account of {email}")
    return user, True


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password or "").encode()).hexdigest()[:20]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def make_password_token(user: User) -> str:
    """A link token that lets its holder set this account's password, once, for 7 days."""
    return _serializer().dumps({"user": user.id, "password": _fingerprint(user)})


def user_for_password_token(token: str) -> User:
    """The account a set-password token was made for.

    Raises ExpiredPasswordToken for an old genuine link, InvalidPasswordToken for a forged,
    mangled or already used one.
    """
    try:
        data = _serializer().loads(token, max_age=int(PASSWORD_TOKEN_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise ExpiredPasswordToken(
            _l("This link has expired. Ask your administrator to invite you again.")
        ) from None
    except BadSignature:
        raise InvalidPasswordToken(_l("This link is not valid.")) from None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) else None
    if user is None or data.get("password") != _fingerprint(user):
        raise InvalidPasswordToken(
            _l("This link has already been used. Sign in with your password.")
        )
    return user


def password_problems(password: str, confirmation: str) -> dict[str, Any]:
    """What is wrong with a new password, keyed by form field (empty when it is fine)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return {
            "password": _l(
                "Choose a password of at least %(num)d characters.", num=PASSWORD_MIN_LENGTH
            )
        }
    if len(password) > PASSWORD_MAX_LENGTH:
        return {
            "password": _l(
                "Choose a password of at most %(num)d characters.", num=PASSWORD_MAX_LENGTH
            )
        }
    if password != confirmation:
        return {"confirmation": _l("The two passwords are not the same.")}
    return {}


def set_password(user: User, password: str) -> None:
    """Hash and store a new password the way FAB does (its configured method). Nothing is
    committed. The caller checks ``password_problems`` first; this refuses a short one too."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise AccountError(password_problems(password, password)["password"])
    config = current_app.config
    user.password = generate_password_hash(
        password,
        method=config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )
    authentication.on_password_changed(user)  # other sessions of the account end


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for a mail: ``PUBLIC_URL`` followed by the endpoint's path."""
    path = url_for(endpoint, _external=False, **values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def set_password_url(user: User) -> str:
    """The absolute link of the page where this account's owner sets their password."""
    return absolute_url("SetPasswordView.set_password", token=make_password_token(user))


# ---------------------------------------------------------------------------------------
# Applicant accounts (the public portal): sign-up confirmed by email, password reset,
# change of email. Applicants live in FAB's user table with the Applicant role and
# ``username = email``. Every link is an itsdangerous token signed with ``SECRET_KEY``, with
# its own salt per purpose (a token made for one purpose never works for another) and a
# short life; nothing about links is stored.

CONFIRMATION_MAX_AGE = timedelta(days=2)
RESET_MAX_AGE = timedelta(hours=1)
EMAIL_CHANGE_MAX_AGE = timedelta(days=1)
NAME_MAX_LENGTH = 64
"""FAB's ``first_name`` and ``last_name`` columns hold 64 characters."""

COMMON_PASSWORDS = frozenset(
    {
        "000000000000",
        "0123456789ab",
        "111111111111",
        "123123123123",
        "123456123456",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "1234567891011",
        "123456789abc",
        "123456abcdef",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abc123456789",
        "abcdef123456",
        "administrateur",
        "administrator",
        "azerty123456",
        "azertyazerty",
        "azertyuiop12",
        "azertyuiop123",
        "azertyuiopqsd",
        "batman123456",
        "bienvenue123",
        "bienvenue1234",
        "bonjour12345",
        "bonjourbonjour",
        "changeme1234",
        "chouchou1234",
        "doudou123456",
        "football1234",
        "iloveyou1234",
        "jetaime12345",
        "jetaimejetaime",
        "letmein12345",
        "liverpool123",
        "manchester123",
        "monmotdepasse",
        "mot de passe",
        "motdepasse12",
        "motdepasse123",
        "motdepasse1234",
        "motdepasse2024",
        "motdepasse2025",
        "motdepasse2026",
        "motdepassemotdepasse",
        "password1234",
        "password12345",
        "password123456",
        "password2024",
        "password2025",
        "password2026",
        "passwordpassword",
        "princess1234",
        "qazwsxedcrfv",
        "qwerty123456",
        "qwertyqwerty",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwertyuiopasd",
        "soleil123456",
        "sunshine1234",
        "superman1234",
        "welcome12345",
        "zaq12wsxcde3",
    }
)
"""Passwords of 12 characters or more found at the top of public leak lists (French and
English). Shorter ones are refused by length already; runs and repetitions are caught by
``is_guessable_password``."""

_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "azertyuiopqsdfghjklmwxcvbn",
         "qwertyuiopasdfghjklzxcvbnm")  # fmt: skip


class InvalidLink(AccountError):
    """A link of an account mail that was tampered with, or already used."""


class ExpiredLink(InvalidLink):
    """A genuine link of an account mail, older than its purpose allows."""


def _signer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"guichet.{purpose}")


def make_link_token(purpose: str, data: dict[str, Any]) -> str:
    """A signed, timestamped token carrying ``data``, valid for ``purpose`` only."""
    return _signer(purpose).dumps(data)


def read_link_token(purpose: str, token: str, max_age: timedelta) -> dict[str, Any]:
    """The data of a token made by ``make_link_token`` for the same purpose.

    Raises ExpiredLink when it is genuine but older than ``max_age``, InvalidLink when it
    is forged, mangled or made for another purpose."""
    try:
        data = _signer(purpose).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise ExpiredLink(_l("This link has expired.")) from None
    except BadSignature:
        raise InvalidLink(_l("This link is not valid.")) from None
    if not isinstance(data, dict):
        raise InvalidLink(_l("This link is not valid."))
    return data


def is_guessable_password(password: str, email: str = "") -> bool:
    """Whether a long enough password is still easy to guess: a well-known one, the email
    address or its name part, one or two characters repeated, or a run of keyboard keys,
    letters or digits."""
    folded = password.casefold().strip()
    email = (email or "").strip().casefold()
    if folded in COMMON_PASSWORDS or len(set(folded)) <= 2:
        return True
    if email and folded in (email, email.split("@", 1)[0]):
        return True
    return any(folded in run or folded in run[::-1] for run in _RUNS)


def new_password_problems(password: str, confirmation: str, email: str = "") -> dict[str, Any]:
    """What is wrong with a password an applicant chooses, keyed by form field: the rules
    of ``password_problems`` plus a refusal of guessable passwords."""
    problems = password_problems(password, confirmation)
    if "password" in problems:
        return problems
    if is_guessable_password(password, email):
        return {
            "password": _l(
                "This password is too easy to guess. Choose another one, for example a "
                "sentence of several words."
            )
        }
    return problems


def check_new_password(password: str) -> None:
    """FAB's ``FAB_PASSWORD_COMPLEXITY_VALIDATOR``: the rules of ``new_password_problems``
    on FAB's own password forms (a user added or reset by the platform admin, "reset my
    password"). The account's address, when the form tells it, must not be the password.

    Raises PasswordComplexityValidationError with the message to show."""
    email = request.form.get("email", "") if has_request_context() else ""
    if not email and has_request_context():
        pk = request.args.get("pk", type=int)
        owner = db.session.get(User, pk) if pk else current_user
        email = getattr(owner, "email", "") or ""
    problems = new_password_problems(password, password, email)
    if problems:
        raise PasswordComplexityValidationError(str(problems["password"]))


def hash_password(password: str) -> str:
    """The stored form of a password, made the way FAB makes it."""
    config = current_app.config
    return generate_password_hash(
        password,
        method=config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


def is_unconfirmed(user: User) -> bool:
    """Whether this is an applicant's account waiting for its email confirmation.

    FAB's user table has no column for it, so a sign-up creates the account inactive with
    ``login_count`` NULL, and confirming sets ``active`` and ``login_count = 0`` (FAB then
    counts sign-ins there). An account deactivated by an administrator after it was
    confirmed, or holding any other role than Applicant, is never "unconfirmed": a
    confirmation or reset link cannot switch it back on.
    """
    return (
        not user.active
        and user.login_count is None
        and {role.name for role in user.roles} == {Roles.APPLICANT}
    )


def sign_up(email: str, first_name: str, last_name: str, password: str) -> tuple[User, bool]:
    """The account of this address and whether it was just created (inactive until its
    owner confirms it). An address that has an account already creates nothing: the caller
    mails its owner instead, so the page never tells whether an address is known.

    The password is hashed in both cases so that both answers take the same time. Nothing
    is committed. Raises AccountError for an address that is not one.
    """
    email = normalise_email(email)
    hashed = hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        return existing, False
    sm = current_app.appbuilder.sm
    user = sm.add_user(
        username=email,
        first_name=first_name.strip()[:NAME_MAX_LENGTH],
        last_name=last_name.strip()[:NAME_MAX_LENGTH],
        email=email,
        role=sm.find_role(Roles.APPLICANT),
        hashed_password=hashed,
        commit=False,
    )
    if not user:  # the same address signed up at the same instant (FAB rolled back)
        existing = find_user_by_email(email)
        if existing is None:
            raise RuntimeError(f"could not create the account of {email}")
        return existing, False
    user.active = False
    user.login_count = None
    return user, True


def make_confirmation_token(user: User) -> str:
    """The token of the link that confirms a new account's address (valid two days)."""
    return make_link_token("confirm-account", {"user": user.id, "email": user.email.lower()})


def user_for_confirmation_token(token: str) -> User:
    """The account a confirmation link was made for (confirmed already or not).

    Raises ExpiredLink or InvalidLink (also when the account's address changed since)."""
    data = read_link_token("confirm-account", token, CONFIRMATION_MAX_AGE)
    user = db.session.get(User, data.get("user"))
    if user is None or (user.email or "").lower() != data.get("email"):
        raise InvalidLink(_l("This link is not valid."))
    return user


def confirm(user: User) -> None:
    """Switch on an account whose owner proved they read its mailbox. Nothing is
    committed; an account that is not waiting for confirmation is left as it is."""
    if is_unconfirmed(user):
        user.active = True
        user.login_count = 0


def make_reset_token(user: User) -> str:
    """The token of a password reset link: one hour, once (it carries a fingerprint of
    the current password hash, which the reset changes)."""
    return make_link_token("reset-password", {"user": user.id, "password": _fingerprint(user)})


def can_reset_password(user: User) -> bool:
    """Active accounts and accounts waiting for confirmation; not those an administrator
    switched off."""
    return bool(user.active) or is_unconfirmed(user)


def user_for_reset_token(token: str) -> User:
    """The account a reset link was made for. Raises ExpiredLink, or InvalidLink for a
    forged link, a link used already, or an account switched off since."""
    data = read_link_token("reset-password", token, RESET_MAX_AGE)
    user = db.session.get(User, data.get("user"))
    if user is None or data.get("password") != _fingerprint(user) or not can_reset_password(user):
        raise InvalidLink(_l("This link has already been used."))
    return user


def reset_password(user: User, password: str) -> None:
    """Set a new password from a reset link. Reading the link proves the mailbox, so an
    account still waiting for its confirmation is confirmed too. Nothing is committed."""
    set_password(user, password)
    confirm(user)


def make_email_change_token(user: User, new_email: str) -> str:
    """The token of the link sent to a new address: it moves the account there, once (it
    carries the current address, which the change replaces), within a day."""
    return make_link_token(
        "change-email",
        {"user": user.id, "from": (user.email or "").lower(), "to": normalise_email(new_email)},
    )


def read_email_change_token(token: str) -> tuple[User, str]:
    """The account and the new address of an email change link. Raises ExpiredLink or
    InvalidLink (also once the change is made)."""
    data = read_link_token("change-email", token, EMAIL_CHANGE_MAX_AGE)
    user = db.session.get(User, data.get("user"))
    if user is None or (user.email or "").lower() != data.get("from") or not data.get("to"):
        raise InvalidLink(_l("This link has already been used."))
    return user, data["to"]


def change_email(user: User, new_email: str) -> str:
    """Move an account to a new address (and its username, when it was the address);
    returns the former address. Raises AccountError when another account took the new
    address meanwhile. Nothing is committed."""
    new_email = normalise_email(new_email)
    other = find_user_by_email(new_email)
    if other is not None and other.id != user.id:
        raise AccountError(_l("This address is now used by another account."))
    former = user.email
    if (user.username or "").lower() == (former or "").lower():
        user.username = new_email
    user.email = new_email
    return former
