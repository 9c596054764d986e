"""Bearer-token authentication of the REST API, its scope checks and its rate limit.

Every API method is wrapped in ``token_required``: it reads ``Authorization: Bearer
<token>``, checks the token (``app.services.api_tokens.authenticate``: 401 when missing,
unknown, expired or revoked; 403 from an address outside its allow-list), refuses writes
to a read-only token (403), and puts the token in ``g.api_token``. A procedure or dossier
outside the token's procedures answers 404, exactly as one that does not exist; such
refusals of a known token are written to the audit log.

Rate limit: ``API_RATE_LIMIT`` per token (per address for requests without one), with
``Retry-After`` on the 429 answer.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address

from ..extensions import db
from ..models import ApiToken, Dossier, DossierState, Procedure
from ..services import api_tokens

DEFAULT_RATE_LIMIT = "600/minute"
MAX_ID = 2**31 - 1
MAX_NUMBER = 2**63 - 1


class ApiError(Exception):
    """An answer other than success: ``status``, a machine ``code`` and a message."""

    def __init__(
        self, status: int, code: str, message: Any, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(str(message))
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


def error_response(status: int, code: str, message: Any, errors: dict[str, Any] | None = None):
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if errors:
        body["errors"] = {key: [str(item) for item in value] for key, value in errors.items()}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="guichet"'
    return response


def rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE_LIMIT


def rate_limit_key() -> str:
    """One bucket per token (by a hash of its secret: no database look-up before the
    limit), one per address for requests without a token."""
    secret = api_tokens.bearer_secret(request.headers.get("Authorization"))
    if secret:
        return "api-token:" + hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()[:32]
    return "api-ip:" + (get_remote_address() or "")


def current_token() -> ApiToken:
    return g.api_token


def token_required(write: bool = False) -> Callable:
    """Authenticate the request's token (and its right to write) before the method."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any):
            try:
                token = api_tokens.authenticate(
                    api_tokens.bearer_secret(request.headers.get("Authorization")),
                    request.remote_addr,
                )
            except api_tokens.TokenError as refusal:
                return error_response(refusal.status, refusal.code, refusal.message)
            if write and token.read_only:
                api_tokens.record_refusal(token, 403, "read_only")
                return error_response(
                    403, "read_only", _l("This token is read-only: it cannot change anything.")
                )
            api_tokens.record_use(token, request.remote_addr)
            g.api_token = db.session.get(ApiToken, token.id)
            try:
                return method(*args, **kwargs)
            except ApiError as error:
                db.session.rollback()
                return error_response(error.status, error.code, error.message, error.errors)

        return wrapper

    return decorate


def not_found(what: str, object_id: int) -> ApiError:
    """The 404 of an object outside the token's scope or missing, logged with the token
    (in the platform's journal: the token's administration may not own the object)."""
    token = g.get("api_token")
    if token is not None:
        api_tokens.record_refusal(token, 404, f"{what}_out_of_scope", **{what: object_id})
    message = (
        _l("This procedure does not exist.")
        if what == "procedure"
        else _l("This dossier does not exist.")
    )
    return ApiError(404, "not_found", message)


def scoped_procedure(procedure_id: int) -> Procedure:
    token = current_token()
    if procedure_id > MAX_ID:  # exists nowhere (PostgreSQL's integer would refuse it)
        raise not_found("procedure", procedure_id)
    procedure = db.session.scalar(
        sa.select(Procedure).where(
            Procedure.id == procedure_id, Procedure.id.in_(api_tokens.procedure_ids(token))
        )
    )
    if procedure is None:
        raise not_found("procedure", procedure_id)
    return procedure


def scoped_dossier(number: int) -> Dossier:
    """A submitted (not draft) dossier of one of the token's procedures, else 404."""
    token = current_token()
    if number > MAX_NUMBER:
        raise not_found("dossier", number)
    dossier = db.session.scalar(
        sa.select(Dossier).where(
            Dossier.id == number,
            Dossier.state != DossierState.draft,
            Dossier.procedure_id.in_(api_tokens.procedure_ids(token)),
        )
    )
    if dossier is None:
        raise not_found("dossier", number)
    return dossier
