"""In a real browser, no page breaks the Content-Security-Policy it is served with: the
portal under the strict policy, the back office (FAB's scripts, select2, the datepicker,
Guichet's editors) under the nonce policy (issue G9). The browser reports every blocked
script, style or image as a ``securitypolicyviolation`` event; there must be none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from audit_helpers import wire
from werkzeug.serving import make_server

import factories as make
from app import create_app
from app.extensions import db
from app.security import Roles
from conftest import _empty_tables, _overrides

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  window.__violations.push(`${event.effectiveDirective} blocked ${blocked} at ${event.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app with its security headers, served on a free port, with an administrator's
    procedure; wiped when the module ends."""
    app = wire(
        create_app(
            _overrides(
                database_url,
                tmp_path_factory.mktemp("csp"),
                CELERY_BROKER_URL=None,
                PUBLIC_URL="http://127.0.0.1",
            )
        )
    )
    with app.app_context():
        admin = make.user(Roles.ADMIN, can_log_in=True)
        procedure = make.procedure(make.administration(admin))
        world = SimpleNamespace(email=admin.email, slug=procedure.slug, procedure=procedure.id)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="csp-server", daemon=True)
    thread.start()
    world.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield world
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


@pytest.fixture
def tab(browser: Any, site: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url, locale="fr-FR")
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def violations(page: Any, paths: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        blocked = page.evaluate("window.__violations")
        if blocked:
            found[path] = blocked
    return found


def test_portal_pages_break_nothing_under_the_strict_policy(tab, site):
    paths = ["/", f"/commencer/{site.slug}", "/connexion", "/inscription"]
    assert violations(tab, paths) == {}


def test_back_office_pages_break_nothing_under_the_nonce_policy(tab, site):
    tab.goto("/login/")
    tab.fill("#username", site.email)
    tab.fill("#password", make.PASSWORD)
    tab.click("[type=submit]")
    tab.wait_for_load_state("networkidle")
    procedure = site.procedure
    paths = [
        "/admin/",
        "/users/list/",
        "/users/add",
        "/administrationview/add",
        f"/procedures/{procedure}/",
        f"/procedures/{procedure}/form",
        f"/procedures/{procedure}/rules",
        f"/procedures/{procedure}/journal",
        "/admin/journal/",
    ]
    assert violations(tab, paths) == {}
