"""API tokens: secrets an administrator gives to their administration's own systems.

A token is shown once, when it is created; only its SHA-256 is stored (``ApiToken``), so a
leaked database does not leak working tokens. A token belongs to one administration and
reaches only the procedures chosen for it (all of them that administration's); it is
read-only or read-write, may expire, may be limited to some IP addresses, and can be
revoked. The audit log records its creation and revocation (``app.services.audit``'s
flush receivers) and every request it makes outside its scope (``record_refusal``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Administration, ApiToken, Procedure, User, api_token_procedure, utcnow
from ..security import administered_administration_ids, is_platform_admin
from . import audit, mail

PREFIX = "gch_"
"""Every secret starts with it, so that secret scanners and people recognise one."""
REFUSED = "api_token.request_refused"
"""Audit action of a request refused to a known token (expired, revoked, out of scope)."""
REMINDER_DAYS = 7
"""How long before its expiry a token's owner is reminded."""
NAME_MAX = 120
INTEGRATIONS_PATH = "/admin/integrations/"
"""Where administrators manage tokens and webhooks (``app.views.integrations``)."""
IP_LIST_MAX = 50


class TokenError(Exception):
    """Why a token was refused or cannot be made; ``message`` is for the person."""

    def __init__(self, message: Any, status: int = 400, code: str = "invalid") -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.code = code


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


# ---------------------------------------------------------------------------------------
# Who manages which tokens


def manageable_administrations(user) -> list[Administration]:
    """The administrations whose tokens and webhooks this person manages."""
    statement = sa.select(Administration).order_by(Administration.name)
    if not is_platform_admin(user):
        statement = statement.where(Administration.id.in_(administered_administration_ids(user)))
    return list(db.session.scalars(statement))


def manageable_tokens(user) -> sa.ColumnElement[bool]:
    """Where-clause on ``ApiToken``: the tokens of the administrations one administers."""
    if is_platform_admin(user):
        return sa.true()
    return ApiToken.administration_id.in_(administered_administration_ids(user))


def token_for(user, token_id: int) -> ApiToken | None:
    return db.session.scalar(
        sa.select(ApiToken).where(ApiToken.id == token_id, manageable_tokens(user))
    )


def tokens_of(user) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(manageable_tokens(user))
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
        )
    )


# ---------------------------------------------------------------------------------------
# Making and revoking


def parse_ip_allowlist(text: str | Iterable[str] | None) -> list[str]:
    """Addresses and networks (``192.0.2.10``, ``198.51.100.0/24``, IPv6 too), one per line
    or separated by commas or spaces; normalised. Raises TokenError on a bad entry."""
    if text is None:
        return []
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    networks: list[str] = []
    for item in items:
        try:
            network = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise TokenError(
                _l("“%(value)s” is not an IP address or network.", value=item[:60])
            ) from None
        if str(network) not in networks:
            networks.append(str(network))
    if len(networks) > IP_LIST_MAX:
        raise TokenError(_l("At most %(num)d addresses or networks.", num=IP_LIST_MAX))
    return networks


def create(
    owner: User,
    administration_id: int,
    name: str,
    procedure_ids: Sequence[int],
    *,
    read_only: bool = True,
    expires_at: datetime | None = None,
    ip_allowlist: str | Iterable[str] | None = None,
) -> NewToken:
    """Make a token for procedures of an administration ``owner`` administers. Raises
    TokenError (nothing added). The caller commits."""
    if administration_id not in {item.id for item in manageable_administrations(owner)}:
        raise TokenError(_l("Choose one of your administrations."), status=404)
    name = (name or "").strip()
    if not name:
        raise TokenError(_l("Give the token a name (what uses it)."))
    if len(name) > NAME_MAX:
        raise TokenError(_l("The name has at most %(num)d characters.", num=NAME_MAX))
    wanted = {int(item) for item in procedure_ids}
    procedures = list(
        db.session.scalars(
            sa.select(Procedure).where(
                Procedure.id.in_(wanted), Procedure.administration_id == administration_id
            )
        )
    )
    if not wanted or len(procedures) != len(wanted):
        raise TokenError(_l("Choose at least one procedure of this administration."))
    if expires_at is not None and expires_at <= utcnow():
        raise TokenError(_l("The expiry date must be in the future."))
    allowlist = parse_ip_allowlist(ip_allowlist)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        owner_id=owner.id,
        administration_id=administration_id,
        name=name,
        prefix=secret[: len(PREFIX) + 6],
        token_hash=hash_secret(secret),
        read_only=read_only,
        ip_allowlist=allowlist,
        expires_at=expires_at,
        created_at=utcnow(),
    )
    token.procedures = procedures
    db.session.add(token)
    db.session.flush()
    return NewToken(token, secret)


def revoke(token: ApiToken) -> bool:
    """Revoke for good; False when it was revoked already. The caller commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    return True


def status(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


# ---------------------------------------------------------------------------------------
# Using


def bearer_secret(header: str | None) -> str | None:
    """The secret of an ``Authorization: Bearer <secret>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


def authenticate(secret: str | None, ip: str | None) -> ApiToken:
    """The token of this secret, if it is usable from ``ip``. Raises TokenError: 401 for a
    missing, unknown, expired or revoked token, 403 for an address not allowed."""
    if not secret:
        raise TokenError(_l("Authentication required: send Authorization: Bearer <token>."), 401)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None:
        raise TokenError(_l("This token is not valid."), 401, "invalid_token")
    state = status(token)
    if state != "active":
        record_refusal(token, 401, state)
        raise TokenError(
            _l("This token was revoked.") if state == "revoked" else _l("This token has expired."),
            401,
            "invalid_token",
        )
    if not ip_allowed(token, ip):
        record_refusal(token, 403, "ip_not_allowed")
        raise TokenError(_l("This token cannot be used from this address."), 403, "forbidden")
    return token


def ip_allowed(token: ApiToken, ip: str | None) -> bool:
    if not token.ip_allowlist:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(item) for item in token.ip_allowlist)


def procedure_ids(token: ApiToken) -> sa.Select:
    """The procedures the token reaches: those chosen, still of its administration."""
    return (
        sa.select(api_token_procedure.c.procedure_id)
        .join(Procedure, Procedure.id == api_token_procedure.c.procedure_id)
        .where(
            api_token_procedure.c.token_id == token.id,
            Procedure.administration_id == token.administration_id,
        )
    )


def record_use(token: ApiToken, ip: str | None) -> None:
    """Note when and from where the token was last used (committed at once, apart from the
    request's own work; at most once a minute per token, to spare writes)."""
    now = utcnow()
    recent = token.last_used_at is not None and now - token.last_used_at < timedelta(minutes=1)
    if recent and token.last_used_ip == (ip or None):
        return
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(last_used_at=now, last_used_ip=(ip or None) and ip[:45])
    )
    db.session.commit()


def record_refusal(
    token: ApiToken, status_code: int, reason: str, *, procedure_id: int | None = None, **data: Any
) -> None:
    """Write a refused request of a known token into the audit log (committed at once)."""
    from flask import has_request_context, request

    details: dict[str, Any] = {"status": status_code, "reason": reason, "token": token.prefix}
    if has_request_context():
        details["method"] = request.method
        details["path"] = request.path[:200]
    details.update(data)
    token_id, owner_id = token.id, token.owner_id
    db.session.rollback()
    audit.record(
        REFUSED, "api_token", token_id, actor=owner_id, procedure_id=procedure_id, data=details
    )
    db.session.commit()


# ---------------------------------------------------------------------------------------
# Expiry reminders (Celery beat)


def remind_expiring(now: datetime | None = None) -> int:
    """Mail the owners of active tokens that expire within ``REMINDER_DAYS`` days, once per
    token; returns how many were reminded. The caller commits."""
    now = now or utcnow()
    tokens = list(
        db.session.scalars(
            sa.select(ApiToken).where(
                ApiToken.revoked_at.is_(None),
                ApiToken.expiry_reminded_at.is_(None),
                ApiToken.expires_at.is_not(None),
                ApiToken.expires_at > now,
                ApiToken.expires_at <= now + timedelta(days=REMINDER_DAYS),
            )
        )
    )
    for token in tokens:
        owner = token.owner
        if owner is not None and owner.email:
            with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")):
                subject = gettext("Your API token “%(name)s” expires soon", name=token.name)
                body = gettext(
                    "Hello,\n\nThe API token “%(name)s” (%(prefix)s…) expires on %(date)s UTC. "
                    "The systems that use it will then be refused. Create a new token and "
                    "replace this one before that date:\n%(url)s\n",
                    name=token.name,
                    prefix=token.prefix,
                    date=token.expires_at.strftime("%Y-%m-%d %H:%M"),
                    url=_integrations_url(),
                )
            mail.send(owner.email, subject, body, key=f"api-token-expiry-{token.id}")
        token.expiry_reminded_at = now
    return len(tokens)


def _integrations_url() -> str:
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + INTEGRATIONS_PATH
