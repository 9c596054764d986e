"""The REST API (FAB ``BaseApi``) for an administration's own systems.

- ``views.ApiV1``: ``/api/v1/…``, authenticated by bearer tokens (``auth``), never by the
  session cookie, so it is exempt from CSRF (FAB exempts a ``BaseApi`` blueprint when
  ``csrf_exempt``, its default);
- ``ApiDescription``: ``/api/v1/_openapi``, the OpenAPI 3 description, public (it tells
  nothing a token would not).

FAB's own security API (``/api/v1/security/login``, JWT) is closed
(``_close_fab_security_api``), so that a password never becomes a way round tokens.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, current_app, request
from flask_appbuilder import AppBuilder
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.api.manager import resolver
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..extensions import limiter
from .auth import error_response, rate_limit, rate_limit_key
from .views import ApiV1

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorSchema"}}}
RESPONSES: dict[str, dict[str, Any]] = {
    "BadRequest": {"description": "The request is malformed", "content": _ERROR},
    "Unauthorized": {
        "description": "Missing, unknown, expired or revoked token",
        "content": _ERROR,
    },
    "Forbidden": {
        "description": "Read-only token, or an address the token does not allow",
        "content": _ERROR,
    },
    "NotFound": {"description": "Does not exist, or not in the token's scope", "content": _ERROR},
    "Conflict": {
        "description": "The dossier changed meanwhile, or its state does not allow it",
        "content": _ERROR,
    },
    "Invalid": {"description": "Values refused (errors by field)", "content": _ERROR},
    "TooManyRequests": {
        "description": "Rate limit of the token reached",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait",
                "schema": {"type": "integer"},
            }
        },
        "content": _ERROR,
    },
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "procedure_id": {
        "in": "path",
        "name": "procedure_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
    },
    "number": {
        "in": "path",
        "name": "number",
        "required": True,
        "description": "The dossier's number",
        "schema": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807},
    },
}


def openapi_description() -> dict[str, Any]:
    spec = APISpec(
        title="Guichet API",
        version="v1",
        openapi_version="3.0.2",
        info={"description": "Procedures and dossiers of an administration (docs/api.md)."},
        plugins=[MarshmallowPlugin(schema_name_resolver=resolver)],
        servers=[{"url": request.host_url.rstrip("/")}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    api = next(view for view in current_app.appbuilder.baseviews if isinstance(view, ApiV1))
    api.add_api_spec(spec)
    description = spec.to_dict()
    # FAB adds its own generic responses; only Guichet's are used.
    responses = description.get("components", {}).get("responses", {})
    for name in list(responses):
        if name not in RESPONSES:
            del responses[name]
    return description


class ApiDescription(BaseApi):
    """The OpenAPI description of the API v1 (what integrators and the tests read)."""

    route_base = "/api/v1"
    version = "v1"
    base_permissions: list[str] = []

    @expose("/_openapi", methods=["GET"])
    def openapi(self) -> Response:
        return self.response(200, **openapi_description())


def _json_errors(app: Any, blueprint_name: str) -> None:
    """JSON bodies for the HTTP errors of the API's own routes (Flask-Limiter adds the
    ``Retry-After`` header to the 429). The blueprint is registered by FAB already, so
    its handlers go straight into the app's table, where ``errorhandler`` would put them."""

    def handle(error: HTTPException) -> Response:
        if error.code == 429:
            return error_response(
                429, "rate_limited", _l("Too many requests: wait before trying again.")
            )
        return error_response(error.code or 500, "http_error", error.description or error.name)

    for code in (400, 404, 405, 413, 415, 429):  # nested defaultdicts: name → code → class
        app.error_handler_spec[blueprint_name][code][HTTPException] = handle


def _close_fab_security_api(app: Any) -> None:
    """FAB 5.3 registers its JWT login (``/api/v1/security/login`` and ``/refresh``) with
    its security views, whatever ``FAB_ADD_SECURITY_API`` says: a password alone (no
    second factor, no login rate limit) would get a JWT. Guichet's API takes its own
    tokens only, so those routes answer 404."""

    def gone(*_args: Any, **_kwargs: Any) -> Response:
        return error_response(404, "not_found", _l("This address does not exist."))

    for endpoint in ("SecurityApi.login", "SecurityApi.refresh"):
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = gone


def register(appbuilder: AppBuilder) -> None:
    """Register the API and its description on one app (inside its app context)."""
    app = current_app._get_current_object()
    api = appbuilder.add_api(ApiV1)
    appbuilder.add_api(ApiDescription)
    limiter.limit(rate_limit, key_func=rate_limit_key)(api.blueprint)
    _json_errors(app, api.blueprint.name)
    _close_fab_security_api(app)
