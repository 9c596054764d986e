"""The whole journey in a real browser, each step through the screens as a person does it
(issue G11): an administrator builds and publishes a procedure and adds an agent; an
applicant signs up, files, attaches, saves a draft, submits; the agent finds the dossier
with a filter, asks for a correction; the applicant fixes it; the agent accepts; the
applicant downloads the attestation. axe-core checks every portal page (failing) and the
agent's table and dossier pages (reported in screenshots/axe-agent-pages.txt)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

import factories as make
from app.extensions import db
from app.models import Dossier, DossierState
from app.security import Roles
from conftest import _empty_tables

from .journey_helpers import (
    AgentReport,
    Steps,
    check_portal_page,
    go,
    log_in_back_office,
    outbox_mails,
    wait_for_mail,
)

TITLE = "Autorisation de terrasse"
APPLICANT = "camille.martin@example.org"
AGENT = "agent.voirie@example.org"
PASSWORD = "une phrase de passe assez longue"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TERRACES = ("Terrasse ouverte", "Terrasse couverte")
COVERED = TERRACES[1]
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


@pytest.fixture(scope="module")
def world(live_app) -> Iterator[SimpleNamespace]:
    """Only what no screen creates: an administrator of an administration. Everything
    else is made through the screens; all is wiped when the module ends."""
    with live_app.app_context():
        administrator = make.user(Roles.ADMINISTRATOR, email="admin.voirie@example.org")
        live_app.appbuilder.sm.reset_password(administrator.id, PASSWORD)
        administration = make.administration(administrator)
        administration.name = "Ville de Lyon"
        db.session.commit()
        made = SimpleNamespace(admin=administrator.email, admin_totp=make.two_factor(administrator))
    yield made
    with live_app.app_context():
        _empty_tables()


def stored(live_app, number: int) -> Dossier:
    with live_app.app_context():
        dossier = db.session.get(Dossier, number)
        db.session.expunge(dossier)
        return dossier


def build_procedure(page, world, steps: Steps) -> None:
    """The administrator creates the procedure, its form, an agent; publishes it."""
    asked = log_in_back_office(page, world.admin, PASSWORD, totp_secret=world.admin_totp)
    assert asked, "an administrator signs in with a second factor"
    steps.shot(page, "admin-signed-in")
    page.goto("/admin/procedures/list/")
    page.get_by_role("link", name=re.compile("Ajouter|Add", re.I)).first.click()
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Description").fill("Pour installer une terrasse sur le domaine public.")
    page.get_by_label("Service", exact=True).fill("Service de la voirie")
    page.get_by_label("Courriel du service").fill("voirie@example.org")
    steps.shot(page, "admin-new-procedure")
    page.get_by_role("button", name=re.compile("Enregistrer|Save")).click()
    page.wait_for_url(re.compile(r"/procedures/\d+/$"))
    steps.shot(page, "admin-hub")

    page.get_by_role("link", name=re.compile("^Formulaire")).click()
    add_field(page, "text", "Nom de l'établissement")
    add_field(page, "drop_down", "Type de terrasse")
    add_field(page, "text", "Matériau de la couverture")
    add_field(page, "repetition", "Associés")
    add_field(page, "attachment", "Plan de la terrasse")
    add_field(page, "checkbox", "Je certifie l'exactitude de ces informations")
    child = page.locator("li", has_text="Associés").locator("form.add-field")
    child.get_by_label("Ajouter un champ à ce bloc").select_option("text")
    child.get_by_label("Libellé").fill("Nom de l'associé")
    go(page, child.get_by_role("button", name="Ajouter"))

    edit_field(page, "Nom de l'établissement", required=True)
    edit_field(page, "Type de terrasse", required=True, choices=TERRACES)
    edit_field(
        page, "Matériau de la couverture", required=True, shown_when=("Type de terrasse", COVERED)
    )
    edit_field(page, "Plan de la terrasse", required=True)
    edit_field(page, "Je certifie l'exactitude de ces informations", required=True)
    steps.shot(page, "admin-form")

    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("link", name=re.compile("^Groupes instructeurs")).click()
    page.get_by_label("Ajouter un instructeur par son adresse électronique").fill(AGENT)
    go(page, page.get_by_role("button", name=re.compile("Ajouter l.instructeur")))
    assert page.get_by_role("cell", name=AGENT, exact=True).count() == 1
    steps.shot(page, "admin-group")

    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("link", name=re.compile("^Attestation")).click()
    page.get_by_label("Délivrer une attestation").check()
    page.get_by_label("Titre").fill("Autorisation d'occupation du domaine public")
    page.get_by_label("Texte", exact=True).fill("La terrasse est autorisée.")
    go(page, page.get_by_role("button", name="Enregistrer"))
    steps.shot(page, "admin-attestation")

    page.get_by_role("link", name=TITLE).click()
    go(page, page.get_by_role("button", name="Publier"))
    steps.shot(page, "admin-published")
    assert page.get_by_text("Publiée").count(), "the procedure is not published"


def edit_field(
    page, label: str, required: bool = False, choices=(), shown_when: tuple[str, str] | None = None
) -> None:
    page.get_by_role("link", name=f"Modifier « {label} »").click()
    if required:
        page.get_by_label("Obligatoire").check()
    if choices:
        page.get_by_label(re.compile("^Choix")).fill("\n".join(choices))
    if shown_when:
        field, value = shown_when
        page.get_by_label("Champ du test 1").select_option(label=field)
        page.get_by_label("Opérateur du test 1").select_option("eq")
        page.get_by_label("Valeur du test 1").fill(value)
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"/form(#.*)?$"))


def add_field(page, type_name: str, label: str) -> None:
    adding = page.locator("form.add-field").last
    adding.get_by_label("Ajouter un champ").select_option(type_name)
    adding.get_by_label("Libellé").fill(label)
    go(page, adding.get_by_role("button", name="Ajouter"))
    assert page.get_by_role("listitem").filter(has_text=label).count()


def sign_up(page, live_app, steps: Steps) -> None:
    """From the catalogue to a confirmed, signed-in applicant brought back to the start of
    the procedure they were starting when asked to log in."""
    page.goto("/")
    check_portal_page(page, steps, "portal-home")
    page.get_by_role("link", name=TITLE).first.click()
    check_portal_page(page, steps, "portal-start")
    page.get_by_role("link", name="Commencer la démarche").or_(
        page.get_by_role("button", name="Commencer la démarche")
    ).click()
    page.wait_for_url(re.compile(r"/connexion"))
    check_portal_page(page, steps, "portal-login-asked")
    page.get_by_role("link", name="Créer un compte").click()
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Adresse électronique").fill(APPLICANT)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Saisissez de nouveau le mot de passe").fill(PASSWORD)
    check_portal_page(page, steps, "portal-signup")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(re.compile(r"/verifiez-votre-messagerie"))
    check_portal_page(page, steps, "portal-check-mailbox")
    page.goto(wait_for_mail(live_app, APPLICANT, "/confirmer/"))
    check_portal_page(page, steps, "portal-confirm")
    page.get_by_role("button", name="Confirmer mon compte").click()
    page.wait_for_url(re.compile(r"/connexion"))
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    check_portal_page(page, steps, "portal-login")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/commencer/[^/?]+/nouveau$"))


def file_dossier(page, live_app, steps: Steps, tmp_path) -> int:
    """Start, fill with the conditional field, attach, save, reload, submit."""
    page.get_by_role("button", name="Commencer mon dossier").click()
    page.wait_for_url(re.compile(r"/identite$"))
    check_portal_page(page, steps, "portal-identity")
    page.get_by_text("Madame", exact=True).click()
    page.get_by_role("button", name="Continuer vers le formulaire").click()
    page.wait_for_url(re.compile(r"/formulaire$"))
    number = int(re.search(r"/dossiers/(\d+)/", page.url).group(1))
    check_portal_page(page, steps, "portal-form")

    covering = page.get_by_label("Matériau de la couverture")
    assert covering.is_hidden(), "the conditional field shows before its condition holds"
    page.get_by_label("Nom de l'établissement").fill("Café de la gare")
    page.get_by_text(COVERED, exact=True).click()  # the radio's label, as people do
    covering.wait_for(state="visible")
    covering.fill("Toile")
    page.get_by_label("Nom de l'associé").fill("Léa Martin")
    page.locator("label", has_text="Je certifie l'exactitude").click()
    check_portal_page(page, steps, "portal-form-conditional-shown")

    upload = page.locator("input[type=file][data-upload-url]")
    disguised = tmp_path / "photo.pdf"
    disguised.write_bytes(EXECUTABLE)
    upload.set_input_files(str(disguised))
    page.get_by_text(re.compile("photo.pdf.*refusé")).wait_for()
    assert page.locator(".guichet-file").count() == 0
    check_portal_page(page, steps, "portal-executable-refused")
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(PDF)
    upload.set_input_files(str(plan))
    page.locator(".guichet-file a", has_text="plan.pdf").wait_for()

    go(page, page.get_by_role("button", name="Enregistrer le brouillon"))
    page.reload()
    assert page.get_by_label("Nom de l'établissement").input_value() == "Café de la gare"
    assert page.get_by_label(COVERED).is_checked()
    assert page.get_by_label("Matériau de la couverture").input_value() == "Toile"
    assert page.get_by_label("Nom de l'associé").input_value() == "Léa Martin"
    assert page.locator(".guichet-file a", has_text="plan.pdf").count() == 1
    assert page.get_by_label("Je certifie l'exactitude").is_checked()
    check_portal_page(page, steps, "portal-draft-reloaded")

    page.get_by_role("button", name="Déposer mon dossier").click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    check_portal_page(page, steps, "portal-receipt")
    return number


def join_as_agent(page, live_app, steps: Steps) -> None:
    """The invited agent chooses a password from the invitation mail and signs in."""
    page.goto(wait_for_mail(live_app, AGENT, "/account/set-password/"))
    page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    steps.shot(page, "agent-set-password")
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    page.wait_for_url(re.compile(r"/login"))
    assert not log_in_back_office(page, AGENT, PASSWORD), "agents need no second factor"


def find_and_ask_correction(page, number: int, steps: Steps, report: AgentReport) -> None:
    """The agent filters the table on the choice field, opens the dossier, starts the
    review and asks for a correction."""
    page.goto("/instruction/")
    page.get_by_role("link", name=TITLE, exact=True).click()
    report.check(page, steps, "agent-table")
    page.get_by_label("Ajouter un filtre sur").select_option(label="Type de terrasse")
    go(page, page.get_by_role("button", name="Suivant"))
    page.get_by_label("Valeurs", exact=True).select_option(COVERED)
    go(page, page.get_by_role("button", name="Ajouter le filtre"))
    rows = page.locator("table tbody tr")
    assert rows.count() == 1, "the filter on the choice field should list the dossier"
    report.check(page, steps, "agent-table-filtered")
    rows.first.get_by_role("link", name=str(number), exact=True).click()
    page.wait_for_url(re.compile(rf"/dossiers/{number}(\?.*)?$"))
    report.check(page, steps, "agent-dossier")
    go(page, page.get_by_role("button", name="Passer en instruction"))
    go(page, page.get_by_role("link", name="Messages"))
    page.get_by_label("Une demande de correction : Information ou pièce manquante").check()
    page.get_by_label("Message", exact=True).fill("La toile est-elle ignifugée ?")
    report.check(page, steps, "agent-correction-request")
    go(page, page.get_by_role("button", name="Envoyer"))


def correct_and_resubmit(page, number: int, steps: Steps) -> None:
    page.goto("/mes-dossiers")
    check_portal_page(page, steps, "portal-my-dossiers-correction")
    page.get_by_role("link", name=f"n° {number}", exact=True).click()
    check_portal_page(page, steps, "portal-dossier-correction")
    page.get_by_role("link", name="Lire et envoyer des messages sur ce dossier").click()
    request = page.get_by_role("region", name="Le service vous demande de corriger votre dossier")
    assert "La toile est-elle ignifugée ?" in request.inner_text()
    assert page.get_by_text(re.compile("choose from folder", re.I)).count() == 0, (
        "the file input of the thread speaks English"
    )
    check_portal_page(page, steps, "portal-correction-request")
    page.get_by_role("link", name="Corriger mon dossier").click()
    page.get_by_label("Matériau de la couverture").fill("Toile ignifugée")
    check_portal_page(page, steps, "portal-correcting")
    page.get_by_role("button", name="Déposer mes modifications").click()
    page.wait_for_url(re.compile(r"/confirmation$"))
    check_portal_page(page, steps, "portal-resubmitted")


def accept(page, number: int, steps: Steps, report: AgentReport) -> None:
    page.goto("/instruction/")
    page.get_by_role("link", name=TITLE, exact=True).click()
    page.locator("table tbody tr").get_by_role("link", name=str(number), exact=True).click()
    page.wait_for_url(re.compile(rf"/dossiers/{number}(\?.*)?$"))
    assert page.get_by_text("Toile ignifugée").count(), "the corrected answer is not shown"
    go(page, page.get_by_role("link", name="Messages"))
    # The correction request shows as answered (the wait fails if it never does).
    page.get_by_text(re.compile("traitée le|answered on")).first.wait_for()
    page.go_back()
    report.check(page, steps, "agent-dossier-corrected")
    go(page, page.get_by_role("button", name="Passer en instruction"))
    decision = page.locator("details", has=page.locator("summary", has_text="Accepter"))
    decision.locator("summary").click()
    decision.get_by_label("Motivation").fill("Terrasse conforme au règlement de voirie.")
    report.check(page, steps, "agent-accepting")
    go(page, decision.get_by_role("button", name="Accepter"))
    steps.shot(page, "agent-accepted")


def see_decision(page, number: int, steps: Steps, tmp_path) -> bytes:
    page.goto("/mes-dossiers")
    page.get_by_role("link", name=f"n° {number}", exact=True).click()
    assert page.get_by_text("Terrasse conforme au règlement de voirie.").count()
    check_portal_page(page, steps, "portal-decision")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger mon attestation").click()
    path = tmp_path / "attestation.pdf"
    download.value.save_as(path)
    return path.read_bytes()


def test_the_whole_journey(open_tab, world, live_app, tmp_path) -> None:
    steps = Steps("journey")
    report = AgentReport()
    admin = open_tab("administrator")
    try:
        build_procedure(admin, world, steps)
        applicant = open_tab("applicant")
        sign_up(applicant, live_app, steps)
        number = file_dossier(applicant, live_app, steps, tmp_path)
        receipt = outbox_mails(live_app, APPLICANT)[-1]
        assert [part.get_content_type() for part in receipt.iter_attachments()] == [
            "application/pdf"
        ], "the receipt mail carries a PDF of the answers"

        agent = open_tab("agent")
        join_as_agent(agent, live_app, steps)
        find_and_ask_correction(agent, number, steps, report)
        assert stored(live_app, number).state == DossierState.submitted
        correct_and_resubmit(applicant, number, steps)
        accept(agent, number, steps, report)
        assert stored(live_app, number).state == DossierState.accepted
        attestation = see_decision(applicant, number, steps, tmp_path)
        assert attestation.startswith(b"%PDF")
    finally:
        report.write()
