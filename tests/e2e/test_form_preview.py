"""In Chromium, the form editor shows the applicant's form in a frame beside the field
list: the back office's policy lets it frame Guichet's own preview, the preview lets
Guichet (and only Guichet) frame it, and nothing is blocked on the way."""

from __future__ import annotations

from typing import Any

import factories as make

from . import test_content_security_policy as csp

site, tab = csp.site, csp.tab  # the served app and a tab recording policy violations


def sign_in(tab: Any, site: Any) -> None:
    tab.goto("/login/")
    tab.fill("#username", site.email)
    tab.fill("#password", make.PASSWORD)
    tab.click("[type=submit]")
    tab.wait_for_load_state("networkidle")


def test_the_editor_shows_the_preview_in_a_frame_and_breaks_no_policy(tab, site):
    sign_in(tab, site)
    editor = f"/procedures/{site.procedure}/form"
    assert csp.violations(tab, [editor]) == {}
    frame = tab.frame_locator("#form-preview")
    banner = frame.locator(".guichet-banner")
    banner.wait_for()
    assert "Aperçu" in banner.inner_text()
    assert tab.evaluate("window.__violations") == []
    # "Reload the preview" is a real button, shown when the script runs, and reloads it.
    reload = tab.locator("#form-preview-reload")
    assert reload.is_visible()
    reload.focus()
    tab.keyboard.press("Enter")
    frame.locator(".guichet-banner").wait_for()
    assert tab.evaluate("window.__violations") == []
