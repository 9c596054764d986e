"""Security headers: the portal's strict Content-Security-Policy and pages that obey it,
the back office's nonce policy, files keeping their own policy, HSTS only over HTTPS and
the proxy's headers trusted only when configured (issue G9)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from audit_helpers import wire
from flask import request

import factories as make
from app import security_headers
from app.extensions import db
from app.models import DossierState, User
from app.security import Roles

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'"
)
EXECUTABLE_TYPES = {"", "text/javascript", "application/javascript", "module"}


class InlineCode(HTMLParser):
    """What a strict policy would block in a page: inline scripts (data blocks such as
    ``type="application/json"`` are not run, so they may stay), event handler attributes,
    ``javascript:`` addresses, ``<style>`` elements and ``style`` attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        script_type = (values.get("type") or "").strip().lower()
        if tag == "script" and "src" not in values and script_type in EXECUTABLE_TYPES:
            self.found.append(f"<script> without src: {self.getpos()}")
        if tag == "style":
            self.found.append(f"<style> element: {self.getpos()}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= handler on <{tag}>: {self.getpos()}")
            elif name == "style":
                self.found.append(f"style= attribute on <{tag}>: {self.getpos()}")
            elif name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"javascript: address on <{tag}>: {self.getpos()}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def app(make_app):
    return wire(make_app())


@pytest.fixture
def portal(app):
    """A published procedure and an applicant who may sign in."""
    with app.app_context():
        procedure = make.procedure(make.administration())
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        return {"slug": procedure.slug, "applicant": applicant.email}


def portal_pages(portal) -> list[str]:
    return ["/", f"/commencer/{portal['slug']}", "/connexion"]


def test_portal_pages_carry_the_strict_policy_and_the_other_headers(app, portal):
    client = app.test_client()
    for url in portal_pages(portal):
        response = client.get(url)
        assert response.status_code == 200, url
        headers = response.headers
        assert headers["Content-Security-Policy"] == STRICT, url
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert "camera=()" in headers["Permissions-Policy"]
        assert "geolocation=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers  # plain HTTP


def test_portal_pages_hold_no_inline_code_the_strict_policy_would_block(app, portal):
    client = app.test_client()
    problems = {}
    for url in portal_pages(portal):
        found = inline_code(client.get(url).get_data(as_text=True))
        if found:
            problems[url] = found
    assert not problems, f"inline code the portal's policy blocks: {problems}"


def test_the_inline_code_detector_finds_what_it_looks_for():
    page = (
        '<script type="application/json">{"a": 1}</script><script src="/a.js"></script>'
        '<script>alert(1)</script><a href="javascript:go()" onclick="go()">x</a>'
        '<p style="color: red"></p><style>p {}</style>'
    )
    assert [item.split(":")[0] for item in inline_code(page)] == [
        "<script> without src",
        "javascript",
        "onclick= handler on <a>",
        "style= attribute on <p>",
        "<style> element",
    ]


def test_back_office_pages_allow_their_inline_scripts_by_a_fresh_nonce(app):
    with app.app_context():
        admin = make.user(Roles.ADMIN, can_log_in=True)
        email = admin.email
    client = app.test_client()
    make.login(client, email)
    nonces = []
    for url in ("/admin/", "/users/list/"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        match = re.search(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{24})';", policy)
        assert match, policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        html = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert all(f'nonce="{match.group(1)}"' in attributes for attributes in inline), url
        nonces.append(match.group(1))
    assert len(set(nonces)) == 2
    assert client.get("/users/list/").headers["Content-Security-Policy"] != policy


def test_the_back_office_login_is_a_back_office_page_and_the_portal_one_is_not(app):
    client = app.test_client()
    assert "'nonce-" in client.get("/login/").headers["Content-Security-Policy"]
    assert client.get("/connexion").headers["Content-Security-Policy"] == STRICT


def test_a_downloaded_file_keeps_its_own_stricter_policy(app):
    from plugins.attachments import services as attachments

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with app.app_context():
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        procedure = make.procedure(make.administration())
        dossier = make.dossier(procedure, applicant, DossierState.submitted)
        owner = db.session.get(User, applicant.id)
        stored = attachments.store_upload(
            io.BytesIO(pdf), "piece.pdf", "application/pdf",
            attachments.target_for("justification", dossier=dossier), owner,
        )  # fmt: skip
        db.session.commit()
        file_id, email = stored.id, applicant.email
    client = app.test_client()
    make.login(client, email)
    response = client.get(f"/attachments/{file_id}")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_hsts_is_sent_over_https_only(app, make_app):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://guichet.example.org")
    assert secure.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    forged = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers  # no proxy is trusted
    configured = wire(make_app(PREFERRED_URL_SCHEME="https")).test_client()
    assert "Strict-Transport-Security" in configured.get("/").headers


def test_behind_a_trusted_proxy_the_scheme_and_address_come_from_it(make_app):
    proxied = wire(make_app(PROXY_FIX="1"))
    seen = {}

    @proxied.get("/test-remote-address")
    def remote_address():
        seen["address"] = request.remote_addr
        return "ok"

    response = proxied.test_client().get(
        "/test-remote-address",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.23"},
    )
    assert "Strict-Transport-Security" in response.headers
    assert seen["address"] == "198.51.100.23"


def test_proxy_settings_are_read_as_counts_or_pairs():
    assert security_headers.proxy_fix_options("1") == {"x_for": 1, "x_proto": 1}
    assert security_headers.proxy_fix_options("x_for=2, x_proto=1,x_host=1") == {
        "x_for": 2,
        "x_proto": 1,
        "x_host": 1,
    }
    with pytest.raises(ValueError, match="x_forwarded"):
        security_headers.proxy_fix_options("x_forwarded=1")


def test_wiring_twice_adds_the_headers_once(app):
    security_headers.init_app(app)
    response = app.test_client().get("/")
    assert response.headers.getlist("Content-Security-Policy") == [STRICT]
