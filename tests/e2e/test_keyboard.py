"""The applicant's part of the journey with the keyboard alone (issue G11): sign up,
confirm, log in, start, say who files, fill a form with a conditional field, a repeated
block, a file and a required box, and submit — with Tab, Shift+Tab, Enter and Space, and
text typed into the field that has the focus. No click, no fill.

Without arrow keys, a radio group is one stop for Tab and Shift+Tab, always on its first
button while none is ticked (Chromium): Space ticks that one. So the choice that reveals
the conditional field comes first here; people move within a group with the arrow keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from filing_helpers import field, form_procedure

from app.extensions import db
from app.models import Attachment, Dossier, DossierState
from conftest import _empty_tables

from .journey_helpers import Steps, wait_for_mail

APPLICANT = "dominique.petit@example.org"
PASSWORD = "une phrase de passe assez longue"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
COVERED = "Terrasse couverte"
FORM = [
    field("nom", "text", "Nom de l'établissement", required=True),
    field(
        "genre",
        "drop_down",
        "Type de terrasse",
        required=True,
        options={"choices": [COVERED, "Terrasse ouverte"]},
    ),
    field(
        "couverture",
        "text",
        "Matériau de la couverture",
        required=True,
        condition={"field": "genre", "op": "eq", "value": COVERED},
    ),
    field("associes", "repetition", "Associés"),
    field("associe", "text", "Nom de l'associé", parent="associes"),
    field("plan", "attachment", "Plan de la terrasse", required=True),
    field("accord", "checkbox", "Je certifie l'exactitude de ces informations", required=True),
]

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "";
  const label = e.labels && e.labels.length ? e.labels[0].innerText
    : e.getAttribute("aria-label") || e.innerText || e.value || "";
  return label.replace(/\\s+/g, " ").trim();
}"""


@pytest.fixture(scope="module")
def world(live_app) -> Iterator[SimpleNamespace]:
    with live_app.app_context():
        procedure = form_procedure(FORM, title="Terrasse au clavier")
        made = SimpleNamespace(slug=procedure.slug)
    yield made
    with live_app.app_context():
        _empty_tables()


def focused(page) -> str:
    return page.evaluate(FOCUSED)


def tab_to(page, label: str, backwards: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the focused element's label starts with ``label``."""
    for _ in range(limit):
        if focused(page).startswith(label):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    pytest.fail(f"cannot reach “{label}” with the keyboard", pytrace=False)


def follow(page, label: str) -> None:
    """Tab to a link or button that leaves the page, press Enter, wait for the next page."""
    tab_to(page, label)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def type_into(page, label: str, text: str) -> None:
    tab_to(page, label)
    page.keyboard.type(text)


def test_the_applicant_files_a_dossier_with_the_keyboard_alone(page, world, live_app, tmp_path):
    steps = Steps("keyboard")
    page.goto(f"/commencer/{world.slug}")
    follow(page, "Commencer la démarche")
    page.wait_for_url(re.compile(r"/connexion"))
    follow(page, "Créer un compte")
    page.wait_for_url(re.compile(r"/inscription"))
    type_into(page, "Prénom", "Dominique")
    type_into(page, "Nom", "Petit")
    type_into(page, "Adresse électronique", APPLICANT)
    type_into(page, "Mot de passe", PASSWORD)
    type_into(page, "Saisissez de nouveau le mot de passe", PASSWORD)
    steps.shot(page, "signup")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/verifiez-votre-messagerie"))

    page.goto(wait_for_mail(live_app, APPLICANT, "/confirmer/"))  # the link of the mail
    follow(page, "Confirmer mon compte")
    page.wait_for_url(re.compile(r"/connexion"))
    type_into(page, "Mot de passe", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/commencer/[^/?]+/nouveau$"))  # back where they started
    follow(page, "Commencer mon dossier")
    page.wait_for_url(re.compile(r"/identite$"))
    tab_to(page, "Madame")
    page.keyboard.press("Space")
    tab_to(page, "Continuer vers le formulaire")
    steps.shot(page, "identity")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/formulaire$"))
    number = int(re.search(r"/dossiers/(\d+)/", page.url).group(1))

    type_into(page, "Nom de l'établissement", "Le Comptoir")
    assert page.get_by_label("Matériau de la couverture").is_hidden()
    page.keyboard.press("Tab")  # the radio group: its first button
    assert focused(page) == COVERED
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the field the choice has just revealed
    assert focused(page).startswith("Matériau de la couverture")
    page.keyboard.type("Bois")
    type_into(page, "Nom de l'associé", "Léa Petit")
    tab_to(page, "Ajouter un élément")
    page.keyboard.press("Enter")
    assert focused(page).startswith("Nom de l'associé"), "the new entry gets the focus"
    page.keyboard.type("Noah Petit")
    steps.shot(page, "form-filled")

    tab_to(page, "Plan de la terrasse")
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(PDF)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(plan))
    page.locator(".guichet-file a", has_text="plan.pdf").wait_for()
    tab_to(page, "Je certifie l'exactitude")
    page.keyboard.press("Space")
    tab_to(page, "Déposer mon dossier")
    steps.shot(page, "ready")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/confirmation$"))
    steps.shot(page, "submitted")

    with live_app.app_context():
        dossier = db.session.get(Dossier, number)
        files = db.session.scalars(
            db.select(Attachment.id).where(Attachment.dossier_id == number)
        ).all()
        assert dossier.state == DossierState.submitted
        assert dossier.answers == {
            "nom": "Le Comptoir",
            "genre": COVERED,
            "couverture": "Bois",
            "associes": [{"associe": "Léa Petit"}, {"associe": "Noah Petit"}],
            "plan": files,
            "accord": True,
        }
        assert dossier.identity["civility"] == "Mme"
