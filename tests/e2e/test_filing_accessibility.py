"""The filing pages in a real browser: no axe-core violation on the form, on a form with
errors and on the confirmation; a small form filled and submitted with the keyboard alone;
and the form's script at work (live conditions, autosave, entries, files, stale copies)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from filing_helpers import field, form_procedure, person

import factories as make
from app.extensions import db
from app.models import Attachment, Dossier, DossierState, User
from app.security import Roles
from app.services import dossiers
from conftest import _empty_tables

from .conftest import assert_accessible

PASSWORD = "une phrase assez longue"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

FORM = [
    field("s1", "header_section", "Vous", options={"level": 1}),
    field("nom", "text", "Nom", required=True, help="Tel qu'il figure sur vos papiers"),
    field("naissance", "date", "Date de naissance"),
    field("animal", "yes_no", "Avez-vous un animal ?"),
    field(
        "espece",
        "text",
        "Espèce de l'animal",
        condition={"field": "animal", "op": "eq", "value": True},
    ),
    field("s2", "header_section", "Votre foyer", options={"level": 1}),
    field("ville", "department", "Département"),
    field("enfants", "repetition", "Enfants"),
    field("prenom", "text", "Prénom", parent="enfants"),
    field("plan", "attachment", "Plan des locaux", options={"families": ["document"]}),
    field("accord", "checkbox", "Je certifie l'exactitude de ces informations", required=True),
]
SMALL = [
    field("nom", "text", "Nom", required=True),
    field("animal", "yes_no", "Avez-vous un animal ?", required=True),
    field("accord", "checkbox", "Je certifie l'exactitude de ces informations", required=True),
]


@pytest.fixture(scope="module")
def world(live_app) -> Iterator[SimpleNamespace]:
    with live_app.app_context():
        applicant = make.user(Roles.APPLICANT, email="deposant@example.org")
        live_app.appbuilder.sm.reset_password(applicant.id, PASSWORD)
        full = form_procedure(FORM, title="Déclaration de travaux")
        small = form_procedure(SMALL, title="Inscription à la médiathèque")
        made = SimpleNamespace(
            email=applicant.email,
            user_id=applicant.id,
            full_id=full.id,
            small_slug=small.slug,
        )
    yield made
    with live_app.app_context():
        _empty_tables()


def new_draft(live_app, world) -> int:
    from app.models import Procedure

    with live_app.app_context():
        owner = db.session.get(User, world.user_id)
        dossier = dossiers.create_draft(db.session.get(Procedure, world.full_id), owner)
        db.session.commit()
        person(dossier)
        return dossier.id


def stored(live_app, number: int) -> Dossier:
    with live_app.app_context():
        item = db.session.get(Dossier, number)
        db.session.expunge(item)
        return item


def log_in(page, world) -> None:
    page.goto("/connexion")
    page.fill("#email", world.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/mes-dossiers"))


def eventually(check, timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds (the draft is saved a couple of seconds after a change)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("the expected change was not saved in time")
        time.sleep(0.2)


def tick(page, element_id: str) -> None:
    """Tick a USWDS radio or checkbox the way people do: by its label (the input itself
    is drawn by the label and kept out of sight)."""
    page.click(f"label[for='{element_id}']")


def wait_saved(page) -> None:
    page.wait_for_function(
        "() => /\\d\\d:\\d\\d/.test(document.getElementById('autosave-status').textContent)"
    )


# ---------------------------------------------------------------------------------------
# Accessibility


def test_the_form_has_no_accessibility_violation_with_its_conditional_field_shown(
    page, world, live_app
):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    assert page.locator("#champ_espece").is_hidden()
    assert_accessible(page)
    tick(page, "champ_animal-1")
    assert page.locator("#champ_espece").is_visible()
    assert_accessible(page)


def test_a_form_with_errors_lands_on_its_summary_without_violation(page, world, live_app):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    page.fill("#champ_naissance-day", "31")
    page.fill("#champ_naissance-month", "2")
    page.fill("#champ_naissance-year", "2001")
    page.click("button[data-submit-dossier]")
    page.wait_for_selector("#error-summary")
    # the summary takes the focus once the page is ready (fails on a timeout if never)
    page.wait_for_function(
        "document.activeElement && document.activeElement.id === 'error-summary'"
    )
    links = page.locator("#error-summary a").evaluate_all("(a) => a.map((x) => x.hash)")
    assert links == ["#champ_nom", "#champ_naissance-day", "#champ_accord"]
    assert page.get_attribute("#champ_nom", "aria-describedby") == "champ_nom-hint champ_nom-error"
    assert_accessible(page)


def test_the_confirmation_has_no_accessibility_violation(page, world, live_app):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    page.fill("#champ_nom", "Camille Martin")
    tick(page, "champ_accord")
    page.click("button[data-submit-dossier]")
    page.wait_for_url(re.compile(rf"/dossiers/{number}/confirmation"))
    assert page.locator("h1").inner_text().strip().endswith("déposé") or str(number) in (
        page.locator("h1").inner_text()
    )
    assert_accessible(page)
    tick(page, "satisfaction-satisfied")
    page.click("#satisfaction button[type=submit]")
    page.wait_for_url(re.compile(r"/confirmation"))
    assert page.locator("#satisfaction form").count() == 0
    assert_accessible(page)


def test_a_small_form_is_filled_and_submitted_with_the_keyboard_alone(page, world, live_app):
    """Tab, Shift+Tab, Enter, Space and typing only: start, say who files, fill, submit."""
    log_in(page, world)
    page.goto(f"/commencer/{world.small_slug}")

    def tab_to(predicate: str, backwards: bool = False, limit: int = 80) -> None:
        for _ in range(limit):
            if page.evaluate(
                f"(() => {{ const e = document.activeElement; return {predicate}; }})()"
            ):
                return
            page.keyboard.press("Shift+Tab" if backwards else "Tab")
        pytest.fail(f"cannot reach with the keyboard: {predicate}")

    tab_to("e.tagName === 'BUTTON' && e.type === 'submit' && e.closest('main')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/identite$"))
    tab_to("e.id === 'identity-civility-1'")
    page.keyboard.press("Space")
    tab_to("e.id === 'identity-first_name'")
    page.keyboard.press("Control+a")
    page.keyboard.type("Camille")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+a")
    page.keyboard.type("Martin")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/formulaire$"))
    tab_to("e.id === 'champ_nom'")
    page.keyboard.type("Camille Martin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "champ_animal-1"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "champ_accord"
    page.keyboard.press("Space")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.name") == "champ_animal"
    tab_to("e.hasAttribute('data-submit-dossier')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/confirmation$"))
    number = int(re.search(r"/dossiers/(\d+)/", page.url).group(1))
    dossier = stored(live_app, number)
    assert dossier.state == DossierState.submitted
    assert dossier.answers == {"nom": "Camille Martin", "animal": True, "accord": True}
    assert dossier.identity["first_name"] == "Camille"


# ---------------------------------------------------------------------------------------
# The script at work


def test_the_draft_saves_itself_and_reloads_intact(page, world, live_app):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    page.fill("#champ_nom", "Camille")
    tick(page, "champ_animal-1")
    page.fill("#champ_espece", "Chat")
    page.select_option("#champ_ville", "69")
    wait_saved(page)
    assert stored(live_app, number).answers == {
        "nom": "Camille",
        "animal": True,
        "espece": "Chat",
        "ville": "69",
        "accord": False,
    }
    page.reload()
    assert page.input_value("#champ_nom") == "Camille"
    assert page.input_value("#champ_espece") == "Chat"
    tick(page, "champ_animal-2")
    assert page.locator("#champ_espece").is_hidden()
    wait_saved(page)
    assert "espece" not in stored(live_app, number).answers


def test_entries_are_added_and_removed_in_place(page, world, live_app):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    page.fill("#champ_enfants-0-prenom", "Léa")
    page.click("button[data-add-row]")
    assert page.evaluate("document.activeElement.id") == "champ_enfants-1-prenom"
    page.keyboard.type("Noah")
    page.click("button[data-add-row]")
    page.keyboard.type("Jade")
    legends = page.locator(".guichet-row > legend").all_inner_texts()
    assert [text.strip()[-1] for text in legends] == ["1", "2", "3"]
    page.locator(".guichet-row").nth(1).locator("button[data-remove-row]").click()
    assert page.locator(".guichet-row").count() == 2
    assert page.locator(".guichet-row > legend").nth(1).inner_text().strip().endswith("2")
    eventually(
        lambda: (
            stored(live_app, number).answers.get("enfants")
            == [{"prenom": "Léa"}, {"prenom": "Jade"}]
        )
    )


def test_a_file_is_sent_with_progress_and_removed(page, world, live_app, tmp_path):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    assert page.locator("[data-upload-fallback]").is_hidden()
    assert "Plan des locaux" in page.get_attribute("#champ_plan", "aria-label")
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(PDF)
    page.set_input_files("#champ_plan", str(plan))
    page.wait_for_selector(".guichet-file a:text('plan.pdf')")
    wait_saved(page)
    with live_app.app_context():
        file_id = db.session.scalar(sa.select(Attachment.id).where(Attachment.dossier_id == number))
    assert stored(live_app, number).answers.get("plan") == [file_id]
    page.click(".guichet-file__remove")
    page.wait_for_selector(".guichet-file", state="detached")
    eventually(lambda: "plan" not in stored(live_app, number).answers)
    with live_app.app_context():
        assert db.session.get(Attachment, file_id) is None


def test_a_second_tab_is_told_its_copy_is_stale_and_overwrites_nothing(
    page, world, live_app, browser, live_server
):
    log_in(page, world)
    number = new_draft(live_app, world)
    page.goto(f"/dossiers/{number}/formulaire")
    other = page.context.new_page()
    other.goto(f"{live_server}/dossiers/{number}/formulaire")
    page.fill("#champ_nom", "Premier onglet")
    wait_saved(page)
    other.fill("#champ_nom", "Second onglet")
    other.wait_for_selector("#autosave-status.guichet-autosave-status--error")
    assert other.locator("#autosave-status a").count() == 1
    assert stored(live_app, number).answers["nom"] == "Premier onglet"
