"""What the journey tests share: signing in to the back office, reading the mails the app
wrote to its outbox folder, screenshots of each step, and axe-core checks that fail (the
portal) or only report (the agent screens, built on FAB's Bootstrap 3)."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from .conftest import SCREENSHOTS, assert_accessible, axe_violations, format_violations

AXE_REPORT = SCREENSHOTS / "axe-agent-pages.txt"


def log_in_back_office(
    page: Any, email_address: str, password: str, totp_secret: str | None = None
) -> bool:
    """Sign in to the back office (FAB's login form) as a person would; when the login
    asks for a two-factor code, type one made from ``totp_secret`` (as an authenticator
    app would). Whether a code was asked."""
    page.goto("/login/")
    page.locator("#username").fill(email_address)
    page.locator("#password").fill(password)
    page.locator("form[name=login] [type=submit]").click()
    page.wait_for_load_state()
    code_input = page.locator("input[autocomplete='one-time-code']")
    asked = code_input.count() > 0
    if asked:
        if not totp_secret:
            pytest.fail("the login asks for a two-factor code: give the secret", pytrace=False)
        import pyotp

        code_input.fill(pyotp.TOTP(totp_secret).now())
        with page.expect_navigation():
            code_input.press("Enter")
    if "/login" in page.url:
        pytest.fail(f"the back office login failed for {email_address}", pytrace=False)
    return asked


def go(page: Any, target: Any) -> None:
    """Click a link or a button that loads another page, and wait for that page."""
    with page.expect_navigation():
        target.click()


# ---------------------------------------------------------------------------------------
# Mails


def outbox_mails(app: Any, to: str) -> list[EmailMessage]:
    """Mails written to the outbox folder for ``to``, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if to in message["To"]:
            found.append(message)
    return found


def mail_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def wait_for_mail(app: Any, to: str, link: str, seen: int = 0, timeout: float = 10) -> str:
    """The path of the first link containing ``link`` in a mail to ``to`` newer than the
    ``seen`` first ones (mails are written when their transaction commits)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in outbox_mails(app, to)[seen:]:
            paths = re.findall(r"https?://[^/\s]+(/\S+)", mail_text(message))
            chosen = [path for path in paths if link in path]
            if chosen:
                return chosen[0]
        if time.monotonic() > deadline:
            pytest.fail(f"no mail to {to} with a link to {link}", pytrace=False)
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------
# Screenshots and accessibility


class Steps:
    """Numbered full-page screenshots of a journey, under screenshots/<name>/."""

    def __init__(self, name: str) -> None:
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0
        self.started = self.last = time.monotonic()
        self.timings: list[str] = []

    def shot(self, page: Any, what: str) -> None:
        """A screenshot named after the step; the time since the previous step goes to
        timings.txt (where a slow step shows)."""
        self.count += 1
        name = f"{self.count:02d}-{what}"
        page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)
        now = time.monotonic()
        self.timings.append(f"{name}: +{now - self.last:.1f} s (at {now - self.started:.1f} s)")
        self.last = now
        (self.folder / "timings.txt").write_text("\n".join(self.timings) + "\n")


def check_portal_page(page: Any, steps: Steps, what: str) -> None:
    """Screenshot of a portal page, then fail on any axe-core violation."""
    steps.shot(page, what)
    assert_accessible(page)


class AgentReport:
    """axe-core violations of back-office pages: printed and written to a report file,
    not failed on (FAB's screens are not yet held to the portal's bar)."""

    def __init__(self, path: Path = AXE_REPORT) -> None:
        self.path = path
        self.entries: list[str] = []

    def check(self, page: Any, steps: Steps, what: str) -> None:
        steps.shot(page, what)
        violations = axe_violations(page)
        heading = f"{what} ({page.url}): {len(violations)} violation(s)"
        self.entries.append(heading + ("\n" + format_violations(violations) if violations else ""))

    def write(self) -> None:
        text = "\n\n".join(self.entries) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text)
        print(f"\naxe-core on the agent's pages (reported, not failed; {self.path}):\n{text}")
