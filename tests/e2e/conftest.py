"""Browser tests of the portal: the real app served on a local port, driven by Debian's
Chromium through Playwright, with axe-core checking each page.

- ``live_app`` / ``live_server``: one app for the session, on the test database of
  ``database_url``, with CSRF on, rate limits on (the login limit widened: every test logs
  in from 127.0.0.1) and Celery eager (mails are written to the outbox folder), served by
  Werkzeug in a thread on a free port of 127.0.0.1;
- ``browser``: Chromium launched headless (``playwright install`` is never needed). Without
  ``/usr/bin/chromium`` the tests are skipped, with the reason — unless the environment
  variable ``CI`` is set: then they fail, so that a CI machine cannot silently lose them;
- ``assert_accessible(page)``: runs axe-core on the page and fails with every violation;
- ``open_tab(name)`` / ``page``: tabs with their own cookies; when a test fails, the HTML,
  console log and a screenshot of each of its tabs are kept under
  ``screenshots/failures/<test>/`` (the folder is ignored by git).

Data made for these tests is wiped when the session ends (``make_app`` does the same per
test); a module that seeds data wipes it itself when it ends, before other modules run.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from conftest import _empty_tables, _overrides

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
FAILURES = SCREENSHOTS / "failures"
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_missing() -> None:
    """Skip (or, under CI, fail) when Chromium is not installed."""
    reason = (
        f"Chromium is not installed at {CHROMIUM}: the portal's accessibility tests need "
        "it (apt-get install chromium)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}. CI is set, so they must run.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium driven by Playwright, for the whole session."""
    if not CHROMIUM.exists():
        _chromium_missing()
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The real app as served in production, on the test database."""
    app = create_app(
        _overrides(
            database_url,
            tmp_path_factory.mktemp("live"),
            WTF_CSRF_ENABLED=True,
            RATELIMIT_ENABLED=True,
            # Every test logs in from 127.0.0.1 within a few minutes: limits stay on,
            # wide enough for a whole session of browser tests.
            PORTAL_LOGIN_RATE_LIMIT="1000/minute",
            BACKOFFICE_LOGIN_RATE_LIMIT="1000/minute",
            # As in production: administrators sign in with a second factor.
            TWO_FACTOR_REQUIRED_ROLES=["Admin", "Administrator"],
            CELERY_BROKER_URL=None,
            PUBLIC_URL="http://127.0.0.1",
        )
    )
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """The base URL of ``live_app`` served by Werkzeug on a free local port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item, for ``open_tab`` to see a failure."""
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(REPORTS, {})[report.when] = report


def _keep_failure(item: pytest.Item, tabs: list[tuple[str, Any, list[str]]]) -> None:
    """Write each tab's HTML, console log and screenshot under screenshots/failures/."""
    folder = FAILURES / re.sub(r"[^\w.-]+", "_", item.nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    for name, tab, console in tabs:
        (folder / f"{name}.console.log").write_text("\n".join(console) + "\n")
        if tab.is_closed():
            continue
        try:
            (folder / f"{name}.html").write_text(f"<!-- {tab.url} -->\n{tab.content()}")
            tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        except Exception as error:  # a crashed tab: keep what could be kept
            (folder / f"{name}.error.txt").write_text(repr(error))
    print(f"\nPages of the failed test kept in {folder}")


@pytest.fixture
def open_tab(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``open_tab(name)``: a fresh browser tab (its own cookies: one per person) whose
    relative URLs go to the live server. Its console is recorded; when the test fails, the
    HTML, console log and a screenshot of every tab are kept under screenshots/failures/.

    Tabs bypass the Content-Security-Policy, so that axe-core can be injected as a script;
    that no page breaks its policy is checked by test_content_security_policy."""
    opened: list[tuple[str, Any, list[str]]] = []

    def open_(name: str = "page") -> Any:
        context = browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=True)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        console: list[str] = []
        tab.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        tab.on("pageerror", lambda error: console.append(f"page error: {error}"))
        opened.append((name, tab, console))
        return tab

    yield open_
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        _keep_failure(request.node, opened)
    for _, tab, _ in opened:
        tab.context.close()


@pytest.fixture
def page(open_tab: Any) -> Any:
    """A fresh browser tab whose relative URLs go to the live server (see ``open_tab``)."""
    return open_tab()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every rule that is not
    experimental: WCAG 2.x A and AA, and axe's best practices)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']} "
            f"[{violation['helpUrl']}]"
        )
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    at {', '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Any) -> None:
    """Fail listing every axe-core violation of the page (its URL first)."""
    violations = axe_violations(page)
    if violations:
        pytest.fail(
            f"{len(violations)} accessibility violation(s) on {page.url}:\n"
            + format_violations(violations),
            pytrace=False,
        )
