"""Security headers on every response, and the reverse proxy's headers when trusted.

Two Content-Security-Policies, chosen by the page's frame:

- the **portal** (the applicant's pages: ``public_forms``, the messaging thread's applicant
  side, ``/stats``, ``/contact``, the extension page — and anything else not rendered in
  the back office's frame) gets the strict one: scripts, styles, fonts and images from
  Guichet itself only, no inline script or style, no framing. An injected ``<script>``
  or ``onclick=`` does not run there.
- **back-office** pages, rendered in Flask-AppBuilder's frame, carry inline scripts.
  FAB marks every one of them with ``nonce="{{ csp_nonce() }}"`` when a ``csp_nonce``
  function exists, so scripts are allowed by a nonce drawn per response rather than by
  ``'unsafe-inline'``: an injected script still does not run. FAB's templates and
  widgets (select2, the datepicker) use inline styles, hence ``style-src
  'unsafe-inline'`` there only.

A page is a back-office page when a template rendered for it received FAB's
``appbuilder`` object (FAB's ``render_template`` always passes it, and so do the views
that draw the back office's frame themselves). Every other response gets the portal's
policy: forgetting to classify a new page makes it stricter, never weaker.

A response that brings its own policy keeps it: attachment downloads carry a stricter one
(``default-src 'none'; sandbox``) and their own ``Referrer-Policy: no-referrer``.

HSTS is sent only over HTTPS: when the request is secure, or when the app is configured
to be served over HTTPS (``PREFERRED_URL_SCHEME=https``). Behind a reverse proxy that
terminates TLS, set ``PROXY_FIX`` (how many proxies to trust: ``1``; or
``x_for=1,x_proto=1,x_host=1``) so that the request's scheme and the client's address
(used by rate limits and the audit log) come from the proxy's ``X-Forwarded-*`` headers.
Without it those headers are ignored: trusting them when no proxy sets them would let
anyone pick their own address.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, before_render_template, current_app, has_request_context, request
from jinja2 import Template
from werkzeug.middleware.proxy_fix import ProxyFix

PORTAL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'"
)
BACK_OFFICE_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
HSTS = "max-age=63072000; includeSubDomains"
"""Two years, subdomains included (``SECURITY_HSTS`` overrides it; empty: none)."""

PROXY_FIX_KEYS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")
_NONCE = "guichet.csp_nonce"
_BACK_OFFICE = "guichet.back_office_page"


def csp_nonce() -> str:
    """This response's nonce (``csp_nonce()`` in templates; FAB's look it up by name).
    Kept in the request's environ, not in ``g``: an app context may outlive a request."""
    if not has_request_context():
        return ""
    return request.environ.setdefault(_NONCE, secrets.token_urlsafe(18))


def _mark_back_office(sender: Flask, template: Template, context: Mapping[str, Any]) -> None:
    """``before_render_template``: a page drawn in FAB's frame gets the back office's
    policy."""
    if context.get("appbuilder") is not None and has_request_context():
        request.environ[_BACK_OFFICE] = True


def content_security_policy() -> str:
    if request.environ.get(_BACK_OFFICE):
        return BACK_OFFICE_CSP.format(nonce=csp_nonce())
    return PORTAL_CSP


def framable_by_self(response: Response) -> Response:
    """Let pages of Guichet itself show ``response`` in a frame, and no one else: the
    portal's policy with ``frame-ancestors 'self'`` and ``X-Frame-Options: SAMEORIGIN``.
    Only the form preview needs it (the form editor shows it beside the field list)."""
    response.headers["Content-Security-Policy"] = PORTAL_CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _served_over_https() -> bool:
    return request.is_secure or current_app.config.get("PREFERRED_URL_SCHEME") == "https"


def add_headers(response: Response) -> Response:
    """``after_request``: the headers above, without overriding a response's own."""
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = content_security_policy()
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    hsts = current_app.config.get("SECURITY_HSTS", HSTS)
    if hsts and _served_over_https():
        headers.setdefault("Strict-Transport-Security", hsts)
    return response


def proxy_fix_options(setting: Any) -> dict[str, int]:
    """``PROXY_FIX`` as ProxyFix's arguments: a number of proxies (trusted for the
    client's address and the scheme), or ``key=count`` pairs, or a mapping."""
    if isinstance(setting, Mapping):
        pairs = dict(setting)
    elif isinstance(setting, int) or str(setting).strip().isdigit():
        count = int(setting)
        pairs = {"x_for": count, "x_proto": count}
    else:
        pairs = {}
        for item in str(setting).split(","):
            key, _, value = item.partition("=")
            pairs[key.strip()] = value.strip()
    unknown = set(pairs) - set(PROXY_FIX_KEYS)
    if unknown:
        raise ValueError(f"PROXY_FIX: unknown keys {sorted(unknown)} (use {PROXY_FIX_KEYS})")
    return {key: int(value) for key, value in pairs.items()}


def init_app(app: Flask) -> None:
    """Add the headers to every response of ``app`` and trust its proxies (``PROXY_FIX``).
    Calling it twice for one app changes nothing."""
    if app.extensions.get("guichet_security_headers"):
        return
    app.extensions["guichet_security_headers"] = True
    app.config.setdefault("PROXY_FIX", os.environ.get("PROXY_FIX") or None)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, **proxy_fix_options(app.config["PROXY_FIX"]))
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    before_render_template.connect(_mark_back_office, app)
    app.after_request(add_headers)
