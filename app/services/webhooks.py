"""Webhooks: a procedure's events posted to an administration's own URL, signed.

Events (``EVENTS``): ``dossier.submitted`` (a new dossier: its first submission),
``dossier.state_changed`` (every transition of the workflow, the first submission
included) and ``message.created`` (a message on a submitted dossier's thread).

Each event of a procedure becomes, in the transaction that made it, one
``WebhookDelivery`` row per subscribed webhook and one outbox event (``TOPIC``), so a
delivery is never lost when the broker is down and never sent for a rolled-back change
(docs/decisions/0002-transactional-outbox.md). The outbox's handler posts the JSON payload
with the headers

    X-Guichet-Event: dossier.state_changed
    X-Guichet-Delivery: <the event's unique id>
    X-Guichet-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>

and records the answer. A failed attempt (no answer, or a status outside 2xx) is retried
with exponential backoff over about a day (``RETRY_DELAYS``); ``WEBHOOK_MAX_FAILURES``
failed attempts in a row disable the webhook and mail the administration's administrators.

Targets must be public: an address that resolves to a loopback, private, link-local or
otherwise non-global address is refused, when the webhook is saved and again before each
delivery (the name may have changed meanwhile), unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS``.
Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from .. import signals
from ..extensions import db
from ..models import (
    AdministrationMember,
    Dossier,
    DossierState,
    Message,
    OutboxEvent,
    Procedure,
    User,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from ..security import administered_procedures
from . import mail, outbox

log = logging.getLogger(__name__)

TOPIC = "webhook.deliver"
SUBMITTED = "dossier.submitted"
STATE_CHANGED = "dossier.state_changed"
MESSAGE_CREATED = "message.created"
EVENTS: dict[str, Any] = {
    SUBMITTED: _l("New dossier (first submission)"),
    STATE_CHANGED: _l("State change of a dossier"),
    MESSAGE_CREATED: _l("New message on a dossier"),
}
RETRY_DELAYS = tuple(timedelta(seconds=90 * 2**n) for n in range(10))
"""Waits before each retry: 1.5 min, 3 min… about 13 h, about 25.6 h in all."""
DEFAULT_MAX_FAILURES = 15
TIMEOUT_SECONDS = 10
EXCERPT_MAX = 1000
URL_MAX = 2000
SIGNATURE_HEADER = "X-Guichet-Signature"


class WebhookError(Exception):
    """A webhook that cannot be saved; ``message`` is for the administrator."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# ---------------------------------------------------------------------------------------
# Targets


def check_url(url: str) -> str:
    """The URL if it may receive deliveries, else WebhookError."""
    url = (url or "").strip()
    if len(url) > URL_MAX:
        raise WebhookError(_l("The address has at most %(num)d characters.", num=URL_MAX))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(_l("Give an address starting with https:// (or http://)."))
    if parts.username or parts.password:
        raise WebhookError(_l("The address must not hold a user name or password."))
    problem = target_problem(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    if problem is not None:
        raise WebhookError(problem)
    return url


def target_problem(host: str, port: int) -> Any | None:
    """Why deliveries may not go to ``host`` (None when they may)."""
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        return _l("The address’s host name cannot be resolved.")
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        return None
    for *_rest, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return _l(
                "The address leads to a private or local network (%(ip)s): webhooks only "
                "go to public addresses.",
                ip=str(address),
            )
    return None


# ---------------------------------------------------------------------------------------
# Managing (the integrations screens)


def webhooks_of(user) -> list[Webhook]:
    return list(
        db.session.scalars(
            sa.select(Webhook)
            .join(Procedure, Procedure.id == Webhook.procedure_id)
            .where(administered_procedures(user))
            .order_by(Procedure.title, Webhook.id)
        )
    )


def webhook_for(user, webhook_id: int) -> Webhook | None:
    return db.session.scalar(
        sa.select(Webhook)
        .join(Procedure, Procedure.id == Webhook.procedure_id)
        .where(Webhook.id == webhook_id, administered_procedures(user))
    )


def create(procedure: Procedure, url: str, events: list[str], user) -> Webhook:
    """A new, enabled webhook with a fresh secret. The caller checked that ``user``
    administers ``procedure``, and commits."""
    chosen = [event for event in EVENTS if event in set(events or ())]
    if not chosen:
        raise WebhookError(_l("Choose at least one event."))
    webhook = Webhook(
        procedure_id=procedure.id,
        url=check_url(url),
        secret=secrets.token_hex(32),
        events=chosen,
        enabled=True,
        consecutive_failures=0,
        created_by_id=getattr(user, "id", None),
        created_at=utcnow(),
    )
    db.session.add(webhook)
    db.session.flush()
    return webhook


def set_enabled(webhook: Webhook, enabled: bool) -> None:
    webhook.enabled = enabled
    if enabled:
        webhook.consecutive_failures = 0
        webhook.disabled_at = None
    else:
        webhook.disabled_at = utcnow()


def deliveries(webhook: Webhook, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def redeliver(delivery: WebhookDelivery) -> OutboxEvent:
    """Send a delivery again now, whatever happened to it before (the caller commits)."""
    delivery.next_attempt_at = utcnow()
    return outbox.enqueue(
        TOPIC, {"delivery": delivery.id, "manual": True}, key=f"webhook-{uuid.uuid4().hex}"
    )


# ---------------------------------------------------------------------------------------
# Announcing events (in the transaction of the change)


def announce(event: str, dossier: Dossier, at: datetime | None = None, **extra: Any) -> int:
    """Add one delivery per enabled webhook of the dossier's procedure that wants
    ``event``; returns how many. Test dossiers are not announced."""
    if dossier.is_test:
        return 0
    with db.session.no_autoflush:  # inside the sender's change: its flush is the sender's
        hooks = [
            hook
            for hook in db.session.scalars(
                sa.select(Webhook).where(
                    Webhook.procedure_id == dossier.procedure_id, Webhook.enabled.is_(True)
                )
            )
            if event in (hook.events or [])
        ]
        if not hooks:
            return 0
        procedure = db.session.get(Procedure, dossier.procedure_id)
    at = at or utcnow()
    for hook in hooks:
        event_id = uuid.uuid4().hex
        payload = {
            "id": event_id,
            "event": event,
            "created_at": at.isoformat(),
            "procedure": {"id": procedure.id, "slug": procedure.slug, "title": procedure.title},
            "dossier": {"number": dossier.id, "state": dossier.state.value},
            **extra,
        }
        delivery = WebhookDelivery(
            webhook=hook,
            event_id=event_id,
            event=event,
            payload=payload,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
        db.session.add(delivery)
        outbox.enqueue(TOPIC, {"webhook": hook.id, "event_id": event_id}, key=f"webhook-{event_id}")
    return len(hooks)


def on_state_changed(sender: Flask, dossier: Dossier, transition: Any, **_: Any) -> None:
    if transition.from_state == transition.to_state:
        return  # archiving: not a change of state
    announce(
        STATE_CHANGED,
        dossier,
        transition.at,
        transition={
            "event": transition.event,
            "from": _value(transition.from_state),
            "to": _value(transition.to_state),
        },
    )


def on_submitted(sender: Flask, dossier: Dossier, first: bool = True, **_: Any) -> None:
    if first:
        announce(SUBMITTED, dossier, dossier.submitted_at)


def on_message_posted(sender: Flask, message: Message, dossier: Dossier, **_: Any) -> None:
    if dossier.state == DossierState.draft:
        return
    announce(
        MESSAGE_CREATED,
        dossier,
        message.created_at,
        message={"id": message.id, "author_kind": _value(message.author_kind)},
    )


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


# ---------------------------------------------------------------------------------------
# Delivering (the outbox's handler)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver checks (docs/api.md shows the same in a few lines)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the answer, not a new target


_opener = urllib.request.build_opener(_NoRedirect)


@outbox.handler(TOPIC)
def deliver(payload: Mapping[str, Any], event: OutboxEvent) -> None:
    """Carry out one attempt of one delivery; never raises (its own retries)."""
    if "delivery" in payload:
        delivery = db.session.get(WebhookDelivery, payload["delivery"])
    else:
        delivery = db.session.scalar(
            sa.select(WebhookDelivery).where(
                WebhookDelivery.webhook_id == payload.get("webhook"),
                WebhookDelivery.event_id == payload.get("event_id"),
            )
        )
    if delivery is None:
        return
    manual = bool(payload.get("manual"))
    webhook = delivery.webhook
    if delivery.delivered_at is not None and not manual:
        return
    if not webhook.enabled and not manual:
        delivery.error = "webhook disabled"
        delivery.next_attempt_at = None
        return
    attempt(delivery, retry=not manual)


def attempt(delivery: WebhookDelivery, *, retry: bool = True) -> bool:
    """Post the delivery once, record the answer, schedule a retry if it failed."""
    webhook = delivery.webhook
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    now = utcnow()
    delivery.attempts += 1
    status_code = None
    excerpt = None
    error = None
    parts = urlsplit(webhook.url)
    problem = target_problem(
        parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    )
    if problem is not None:
        error = str(problem)
    else:
        request = urllib.request.Request(
            webhook.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Guichet-Webhooks/1",
                "X-Guichet-Event": delivery.event,
                "X-Guichet-Delivery": delivery.event_id,
                SIGNATURE_HEADER: sign(webhook.secret, int(time.time()), body),
            },
        )
        try:
            with _opener.open(request, timeout=_timeout()) as response:
                status_code = response.status
                excerpt = response.read(EXCERPT_MAX).decode("utf-8", "replace")
        except urllib.error.HTTPError as answer:
            status_code = answer.code
            excerpt = answer.read(EXCERPT_MAX).decode("utf-8", "replace") if answer.fp else None
        except (OSError, ValueError) as failure:  # refused, timeout, TLS, bad URL
            error = f"{type(failure).__name__}: {failure}"[:EXCERPT_MAX]
    delivery.status_code = status_code
    delivery.response_excerpt = excerpt
    delivery.error = error
    succeeded = status_code is not None and 200 <= status_code < 300
    if succeeded:
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        webhook.consecutive_failures = 0
        return True
    webhook.consecutive_failures = (webhook.consecutive_failures or 0) + 1
    if webhook.consecutive_failures >= max_failures() and webhook.enabled:
        _disable_after_failures(webhook)
    if retry and webhook.enabled and delivery.attempts <= len(RETRY_DELAYS):
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
        outbox.enqueue(
            TOPIC,
            {"delivery": delivery.id},
            key=f"webhook-{delivery.event_id}-{delivery.attempts}",
            available_at=delivery.next_attempt_at,
        )
    else:
        delivery.next_attempt_at = None
    return False


def _timeout() -> float:
    return float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", TIMEOUT_SECONDS))


def max_failures() -> int:
    return int(current_app.config.get("WEBHOOK_MAX_FAILURES", DEFAULT_MAX_FAILURES))


def _disable_after_failures(webhook: Webhook) -> None:
    set_enabled(webhook, False)
    procedure = db.session.get(Procedure, webhook.procedure_id)
    emails = list(
        db.session.scalars(
            sa.select(User.email)
            .join(AdministrationMember, AdministrationMember.user_id == User.id)
            .where(
                AdministrationMember.administration_id == procedure.administration_id,
                User.email.is_not(None),
            )
            .order_by(User.email)
        )
    )
    log.warning("Webhook %s disabled after %s failures", webhook.id, webhook.consecutive_failures)
    if not emails:
        return
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")):
        subject = gettext("Webhook disabled: %(title)s", title=procedure.title)
        body = gettext(
            "Hello,\n\nThe webhook of the procedure “%(title)s” that posts to\n%(url)s\nfailed "
            "%(num)d times in a row and has been disabled: no more events are sent to it. "
            "Look at its delivery log, fix the receiving side, then enable it again:\n%(link)s\n",
            title=procedure.title,
            url=webhook.url,
            num=webhook.consecutive_failures,
            link=current_app.config.get("PUBLIC_URL", "").rstrip("/")
            + f"/admin/integrations/webhooks/{webhook.id}",
        )
    for email in emails:
        mail.send(email, subject, body, key=f"webhook-disabled-{webhook.id}-{uuid.uuid4().hex}")


def init_app(app: Flask) -> None:
    """Connect the receivers that turn the core's signals into deliveries."""
    signals.dossier_state_changed.connect(on_state_changed)
    signals.dossier_submitted.connect(on_submitted)
    signals.message_posted.connect(on_message_posted)
