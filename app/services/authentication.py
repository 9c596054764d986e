"""Signing in safely: account lockout, two-factor authentication (TOTP), sessions that end.

What FAB gives (``AUTH_DB``: a username, a scrypt password hash, ``fail_login_count``) is
kept; this module adds, for both login pages (the back office's ``/login/`` and the
portal's ``/connexion``, which both call ``SecurityManager.auth_user_db``):

- **lockout**: after ``LOGIN_LOCKOUT_THRESHOLD`` failed attempts in a row (wrong password
  or wrong second-factor code) an account is locked for ``LOGIN_LOCKOUT_MINUTES``; its
  owner gets a mail; a success resets the count. The answer never tells whether an
  account exists: a username nobody has is "locked" after as many failures too (counted in
  the rate limiter's storage, Redis in production);
- **TOTP** (RFC 6238, 30-second steps, six digits, one step of clock skew either way): a
  code is accepted once (the last step used is stored), recovery codes work once each.
  The secret is stored encrypted with Fernet under a key derived (HKDF) from the first of
  ``TWO_FACTOR_KEYS``, else from ``SECRET_KEY``; recovery codes are kept as HMACs under
  the same key: a copy of the database alone does not give anyone's codes. The other keys
  of the list (and ``SECRET_KEY``) still open what they made, and a secret is encrypted
  again under the current key each time its code is accepted, so keys can be rotated
  without anyone enrolling again (docs/security.md);
- **sessions**: each session carries the person's ``session_generation`` as it was at
  sign-in and the time of sign-in; ``log_out_everywhere`` (also done on a password change
  and a reset of the second factor) bumps the generation, which ends every other session
  at its next request (``session_problem``). A session also ends after
  ``SESSION_MAX_HOURS`` whatever its activity; idle ones end after
  ``PERMANENT_SESSION_LIFETIME`` (Flask refuses an older cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, g, session
from flask_babel import gettext
from werkzeug.security import check_password_hash

from ..extensions import db, limiter
from ..models import User, UserSecurity, utcnow
from . import audit, mail

log = logging.getLogger(__name__)

TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_SKEW_STEPS = 1
"""Codes of the previous and the next 30-second step are accepted too (clocks drift)."""
RECOVERY_CODE_COUNT = 10
PENDING_TWO_FACTOR_MAX_AGE = timedelta(minutes=5)
"""Time allowed between the password and the second factor."""

SESSION_GENERATION = "_guichet_generation"
SESSION_SIGNED_IN_AT = "_guichet_signed_in_at"
SESSION_TWO_FACTOR = "_guichet_second_factor"
"""``"pending"`` until the code is given, ``"done"`` after; absent without 2FA."""


class Action:
    LOGIN_FAILED = "user.login_failed"
    LOCKED = "user.locked"
    TWO_FACTOR_ENABLED = "user.two_factor_enabled"
    TWO_FACTOR_DISABLED = "user.two_factor_disabled"
    TWO_FACTOR_RESET = "user.two_factor_reset"
    TWO_FACTOR_FAILED = "user.two_factor_failed"
    RECOVERY_CODE_USED = "user.recovery_code_used"
    LOGGED_OUT_EVERYWHERE = "user.logged_out_everywhere"


# ---------------------------------------------------------------------------------------
# Per-person state


def state_of(user: User, create: bool = True) -> UserSecurity | None:
    """The person's sign-in state; a new (unsaved until commit) row when ``create``."""
    state = db.session.get(UserSecurity, user.id)
    if state is None and create:
        state = UserSecurity(user_id=user.id, session_generation=0)
        db.session.add(state)
    return state


def has_two_factor(user: User) -> bool:
    state = state_of(user, create=False)
    return state is not None and state.totp_enabled_at is not None


def two_factor_required(user: User) -> bool:
    """Whether this person's roles oblige them to use a second factor
    (``TWO_FACTOR_REQUIRED_ROLES``: the platform admin and administrators by default)."""
    required = set(current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or ())
    return bool(required & {role.name for role in user.roles})


# ---------------------------------------------------------------------------------------
# Lockout


@dataclass
class Attempt:
    """The outcome of a password check: the person, or why not."""

    user: User | None
    locked_until: datetime | None = None


def _threshold() -> int:
    return int(current_app.config.get("LOGIN_LOCKOUT_THRESHOLD", 10))


def _lock_period() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("LOGIN_LOCKOUT_MINUTES", 15)))


def locked_until(user: User) -> datetime | None:
    state = state_of(user, create=False)
    if state is None or state.locked_until is None or state.locked_until <= utcnow():
        return None
    return state.locked_until


def check_password(username: str, password: str) -> Attempt:
    """Check a username (or email) and password, counting failures and honouring locks.

    A locked account is refused without looking at the password (so guessing goes on
    failing while it is locked); its lock time is returned. An unknown username is
    answered the same way after as many failures. The attempt that reaches the threshold
    is answered as a plain failure; the next ones get the lock. Commits the counters.
    """
    sm = current_app.appbuilder.sm
    username = (username or "").strip()
    user = sm.find_user(username=username) or sm.find_user(email=username) if username else None
    if user is None or not user.is_active or not password:
        # The same work as for a real account: a hash check, and a counter.
        check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
        until = _count_unknown_failure(username) if username else None
        return Attempt(None, until)
    until = locked_until(user)
    if until is not None:
        check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")
        return Attempt(None, until)
    if check_password_hash(user.password or "", password):
        sm.update_user_auth_stat(user, True)  # counts the login, resets fail_login_count
        state = state_of(user, create=False)
        if state is not None:
            state.locked_until = None
        db.session.commit()
        return Attempt(user)
    register_failure(user, Action.LOGIN_FAILED)
    return Attempt(None)  # this failure is answered as one; the lock applies from the next


def register_failure(user: User, action: str) -> datetime | None:
    """Count a failed attempt (a password or a second-factor code); lock the account
    and mail its owner when the count reaches a multiple of the threshold. Returns the
    end of the lock it set, if any. Commits."""
    user.fail_login_count = (user.fail_login_count or 0) + 1
    # Whoever typed it is unknown: no actor, the address is recorded.
    audit.record(
        action, "user", user.id, actor=audit.SYSTEM, data={"failures": user.fail_login_count}
    )
    until = None
    if user.fail_login_count % _threshold() == 0:
        until = utcnow() + _lock_period()
        state_of(user).locked_until = until
        audit.record(
            Action.LOCKED,
            "user",
            user.id,
            actor=audit.SYSTEM,
            data={"failures": user.fail_login_count, "minutes": _minutes(_lock_period())},
        )
        _mail_locked(user)
    db.session.commit()
    return until


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)


def _mail_locked(user: User) -> None:
    from flask import render_template

    if not user.email:
        return
    body = render_template(
        "guichet/mails/account_locked.txt", user=user, minutes=_minutes(_lock_period())
    )
    mail.send(user.email, gettext("Your Guichet account is locked for a while"), body)


def _unknown_key(username: str) -> str:
    digest = hashlib.sha256(username.lower().encode()).hexdigest()[:32]
    return f"guichet/login-failures/{digest}"


def _count_unknown_failure(username: str) -> datetime | None:
    """Failures on a username that has no account, kept in the rate limiter's storage
    for one lock period: past the threshold, such a name is "locked" like a real one."""
    storage = limiter.storage
    key = _unknown_key(username)
    try:
        if storage.get(key) >= _threshold():
            return datetime.fromtimestamp(storage.get_expiry(key), tz=UTC)
        storage.incr(key, int(_lock_period().total_seconds()))
    except Exception:  # the limiter's Redis down: the rate limits are off too, say so
        log.warning("Login failure counter unavailable", exc_info=True)
    return None


def login_locked_message(until: datetime) -> str:
    """The same words for every username, known or not."""
    minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
    return gettext(
        "Too many failed attempts. If an account has this username, it is locked for "
        "%(num)d more minutes and its owner has been sent an email. Try again later.",
        num=minutes,
    )


# ---------------------------------------------------------------------------------------
# TOTP


def _keys() -> list[str]:
    """The second factor's keys: ``TWO_FACTOR_KEYS`` (the first one encrypts and keys new
    recovery codes, the others still open what they made), then ``SECRET_KEY``, which
    keyed everything before a dedicated key was set."""
    keys = list(current_app.config.get("TWO_FACTOR_KEYS") or ())
    return [*keys, current_app.config["SECRET_KEY"]]


def _fernet() -> MultiFernet:
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    HKDF(
                        algorithm=hashes.SHA256(),
                        length=32,
                        salt=b"guichet",
                        info=b"guichet.totp-secret",
                    ).derive(key.encode())
                )
            )
            for key in _keys()
        ]
    )


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:  # made under a key no longer configured
        return None


def start_enrolment(user: User) -> str:
    """A new secret for this person, stored (encrypted) until they confirm it with a code.
    Replaces an unconfirmed one; refused while a second factor is on. Nothing committed."""
    state = state_of(user)
    if state.totp_enabled_at is not None:
        raise ValueError("two-factor authentication is already on")
    secret = pyotp.random_base32()
    state.totp_secret = _encrypt(secret)
    return secret


def enrolment_secret(user: User) -> str | None:
    """The secret being enrolled (not yet confirmed), if any."""
    state = state_of(user, create=False)
    if state is None or state.totp_enabled_at is not None:
        return None
    return _decrypt(state.totp_secret)


def provisioning_uri(user: User, secret: str) -> str:
    issuer = current_app.config.get("TWO_FACTOR_ISSUER") or current_app.config["APP_NAME"]
    return pyotp.TOTP(secret).provisioning_uri(name=user.email or user.username, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG ``data:`` URI (the pages' CSP allows ``img-src
    data:``; no script draws it)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _matching_step(
    secret: str, code: str, after: int | None, now: float | None = None
) -> int | None:
    """The time step whose code is ``code``, within the allowed skew and later than
    ``after`` (a code already used, or an older one, never matches)."""
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP)
    current = int((now if now is not None else time.time()) // TOTP_STEP)
    for step in range(current - TOTP_SKEW_STEPS, current + TOTP_SKEW_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            return step
    return None


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Switch the second factor on if ``code`` matches the secret being enrolled; returns
    the recovery codes (to show once) or None for a wrong code. Nothing committed."""
    state = state_of(user, create=False)
    secret = enrolment_secret(user)
    if state is None or secret is None:
        return None
    step = _matching_step(secret, _normalise_code(code), None)
    if step is None:
        return None
    state.totp_last_step = step
    state.totp_enabled_at = utcnow()
    codes = new_recovery_codes(user)
    audit.record(Action.TWO_FACTOR_ENABLED, "user", user.id)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Fresh recovery codes (the previous ones stop working); only keyed hashes are kept."""
    codes = [
        f"{secrets.token_hex(3)[:5]}-{secrets.token_hex(3)[:5]}" for _ in range(RECOVERY_CODE_COUNT)
    ]
    state_of(user).recovery_codes = [_recovery_hash(code) for code in codes]
    return codes


def _recovery_hash(code: str, key: str | None = None) -> str:
    """A recovery code's keyed hash: under the current key, or ``key``."""
    return hmac.new(
        (key or _keys()[0]).encode(),
        b"guichet.recovery:" + _normalise_code(code).encode(),
        "sha256",
    ).hexdigest()


def verify_second_factor(user: User, code: str) -> str | None:
    """Check a code typed after the password: a TOTP code (``"totp"``) or a recovery code
    (``"recovery"``, then spent); None when it is neither. Nothing committed."""
    state = state_of(user, create=False)
    if state is None or state.totp_enabled_at is None:
        return None
    normalised = _normalise_code(code)
    secret = _decrypt(state.totp_secret)
    if secret is not None:
        step = _matching_step(secret, normalised, state.totp_last_step)
        if step is not None:
            state.totp_last_step = step
            state.totp_secret = _encrypt(secret)  # under the current key, if it changed
            return "totp"
    if len(normalised) == 10:
        wanted = {_recovery_hash(normalised, key) for key in _keys()}
        left = list(state.recovery_codes or [])
        for stored in left:
            if any(hmac.compare_digest(stored, hashed) for hashed in wanted):
                left.remove(stored)
                state.recovery_codes = left  # a new list: JSON columns track assignment
                audit.record(
                    Action.RECOVERY_CODE_USED, "user", user.id, actor=user, data={"left": len(left)}
                )
                return "recovery"
    return None


def recovery_codes_left(user: User) -> int:
    state = state_of(user, create=False)
    return len(state.recovery_codes or []) if state else 0


def turn_off_two_factor(user: User, *, by: User | None = None) -> None:
    """Remove the second factor: by its owner (``by`` None) or reset by a platform admin,
    which also ends the person's sessions. Nothing committed."""
    state = state_of(user)
    state.totp_secret = None
    state.totp_enabled_at = None
    state.totp_last_step = None
    state.recovery_codes = None
    if by is None:
        audit.record(Action.TWO_FACTOR_DISABLED, "user", user.id)
    else:
        audit.record(Action.TWO_FACTOR_RESET, "user", user.id, actor=by)
        state.session_generation = (state.session_generation or 0) + 1


# ---------------------------------------------------------------------------------------
# Sessions


def on_signed_in(user: User) -> None:
    """Mark a new session (flask-login's ``user_logged_in``): its generation, its start,
    and whether a second factor is still owed."""
    state = state_of(user, create=False)
    session[SESSION_GENERATION] = state.session_generation if state else 0
    session[SESSION_SIGNED_IN_AT] = int(time.time())
    session.permanent = True  # PERMANENT_SESSION_LIFETIME applies: the idle timeout
    if state is not None and state.totp_enabled_at is not None:
        session[SESSION_TWO_FACTOR] = "pending"
    else:
        session.pop(SESSION_TWO_FACTOR, None)


def second_factor_done() -> None:
    session[SESSION_TWO_FACTOR] = "done"


def second_factor_pending() -> bool:
    return session.get(SESSION_TWO_FACTOR) == "pending"


def session_problem(user: User) -> str | None:
    """Why this signed-in session must end, or None: ``"revoked"`` (logged out
    everywhere, password changed, second factor reset), ``"expired"`` (older than
    ``SESSION_MAX_HOURS``) or ``"pending-expired"`` (the second factor not given in time)."""
    state = state_of(user, create=False)
    if session.get(SESSION_GENERATION) != (state.session_generation if state else 0):
        return "revoked"
    started = session.get(SESSION_SIGNED_IN_AT) or 0
    age = time.time() - started
    if age > float(current_app.config.get("SESSION_MAX_HOURS", 12)) * 3600:
        return "expired"
    if second_factor_pending() and age > PENDING_TWO_FACTOR_MAX_AGE.total_seconds():
        return "pending-expired"
    return None


def end_other_sessions(user: User) -> None:
    """Bump the generation (every session made before ends) and keep the current one
    when it is this person's. Nothing committed."""
    state = state_of(user)
    state.session_generation = (state.session_generation or 0) + 1
    if _is_current(user):
        session[SESSION_GENERATION] = state.session_generation


def log_out_everywhere(user: User) -> None:
    """End every session of this person, this one included (the caller logs out).
    Nothing committed."""
    state = state_of(user)
    state.session_generation = (state.session_generation or 0) + 1
    audit.record(Action.LOGGED_OUT_EVERYWHERE, "user", user.id)


def _is_current(user: User) -> bool:
    current = g.get("_login_user")
    return current is not None and getattr(current, "id", None) == user.id


def on_password_changed(user: User) -> None:
    """A new password ends the person's other sessions. Nothing committed."""
    end_other_sessions(user)
