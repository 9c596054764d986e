"""Every page of the portal an applicant goes through has no axe-core violation, and the
login form works with the keyboard alone (issue G3; G11 extends this harness)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import factories as make
from app import workflow
from app.extensions import db
from app.models import Attachment, AttachmentUse, FieldDefinition, ScanStatus, User
from app.security import Roles
from conftest import _empty_tables

from .conftest import assert_accessible

PASSWORD = "une phrase assez longue"


@pytest.fixture(scope="module")
def world(live_app) -> Iterator[SimpleNamespace]:
    """A published procedure with a form, an applicant with a decided dossier (answers, a
    file, a history) and a draft; wiped when the module ends."""
    with live_app.app_context():
        applicant = make.user(Roles.APPLICANT, email="usager@example.org")
        live_app.appbuilder.sm.reset_password(applicant.id, PASSWORD)
        administration = make.administration()
        administration.name = "Préfecture du Rhône"
        procedure = make.procedure(administration)
        procedure.title = "Attestation d'accessibilité d'un établissement"
        procedure.description = "Pour les établissements recevant du public.\nEn ligne."
        procedure.audience = "Les exploitants d'un établissement recevant du public"
        procedure.documents_to_prepare = "- Plan des locaux\n- Attestation d'assurance"
        procedure.service_name = "Service accessibilité"
        procedure.service_email = "accessibilite@example.org"
        revision = procedure.published_revision
        db.session.add_all(
            [
                FieldDefinition(
                    revision=revision, stable_id="s1", type="header_section",
                    label="L'établissement", position=1, options={},
                ),
                FieldDefinition(
                    revision=revision, stable_id="q1", type="text",
                    label="Nom de l'établissement", position=2, options={},
                ),
                FieldDefinition(
                    revision=revision, stable_id="f1", type="attachment",
                    label="Plan des locaux", position=3, options={},
                ),
            ]
        )  # fmt: skip
        owner = db.session.get(User, applicant.id)
        decided = make.dossier(procedure, owner, state=workflow.S.draft)
        decided.answers = {"q1": "Café de la gare"}
        decided.identity = {"kind": "person", "first_name": "Marie", "last_name": "Curie"}
        decided.group = procedure.groups[0]
        workflow.apply(decided, workflow.Event.submit)
        workflow.apply(decided, workflow.Event.start_review)
        workflow.apply(decided, workflow.Event.accept, motivation="Dossier complet.")
        db.session.add(
            Attachment(
                use=AttachmentUse.form_field, storage_key="sha256/plan", sha256="0" * 64,
                size=40_000, original_name="plan.pdf", sniffed_type="application/pdf",
                family="document", scan_status=ScanStatus.clean, dossier_id=decided.id,
                field_stable_id="f1",
            )
        )  # fmt: skip
        draft = make.dossier(procedure, owner, state=workflow.S.draft)
        db.session.commit()
        made = SimpleNamespace(
            email=applicant.email, slug=procedure.slug, decided=decided.id, draft=draft.id
        )
    yield made
    with live_app.app_context():
        _empty_tables()


def log_in(page, world) -> None:
    page.goto("/connexion")
    page.fill("#email", world.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/mes-dossiers"))


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?q=prefecture",
        "/commencer/{slug}",
        "/inscription",
        "/connexion",
        "/mot-de-passe-oublie",
        "/accessibilite",
        "/commencer/inconnue",
    ],
)
def test_public_pages_have_no_accessibility_violation(page, world, path):
    response = page.goto(path.format(slug=world.slug))
    assert response.status in (200, 404)
    assert_accessible(page)


def test_a_form_with_errors_has_no_accessibility_violation(page, world):
    page.goto("/inscription")
    page.fill("#email", "pas-une-adresse")
    page.fill("#password", "court")
    page.click("main button[type=submit]")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.input_value("#email") == "pas-une-adresse"
    assert page.input_value("#password") == ""
    assert_accessible(page)


@pytest.mark.parametrize(
    "path",
    [
        "/mes-dossiers?tab=decided",
        "/mes-dossiers?tab=drafts",
        "/dossiers/{decided}",
        "/dossiers/{draft}",
    ],
)
def test_pages_of_a_logged_in_applicant_have_no_accessibility_violation(page, world, path):
    log_in(page, world)
    response = page.goto(path.format(decided=world.decided, draft=world.draft))
    assert response.status == 200
    if "{decided}" in path:
        assert page.locator(".usa-step-indicator").is_visible()
        assert page.get_by_text("Café de la gare").is_visible()
    assert_accessible(page)


def test_the_login_form_works_with_the_keyboard_alone(page, world):
    page.goto("/connexion")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className").startswith("usa-skipnav")
    for _ in range(40):
        if page.evaluate("document.activeElement.id") == "email":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("the email field cannot be reached with Tab")
    page.keyboard.type(world.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/mes-dossiers"))
    assert page.locator("h1").inner_text().strip()
    assert page.locator("form[action='/deconnexion']").count() == 1


def test_a_failed_login_by_keyboard_lands_on_the_list_of_errors(page, world):
    page.goto("/connexion")
    page.focus("#email")
    page.keyboard.type(world.email)
    page.keyboard.press("Tab")
    page.keyboard.type("pas le bon mot de passe")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.input_value("#email") == world.email
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#email"


def test_the_harness_reports_what_axe_finds(page):
    """``assert_accessible`` fails, naming the rule, on a page with a known violation
    (an image without a text alternative): a silent harness would pass everything."""
    page.set_content(
        '<html lang="fr"><head><title>t</title></head><body><main><h1>T</h1>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>'
    )
    with pytest.raises(pytest.fail.Exception, match="image-alt"):
        assert_accessible(page)
