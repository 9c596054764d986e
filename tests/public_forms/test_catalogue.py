"""The portal's front door: the catalogue of published procedures, a procedure's page,
the choice of language and the accessibility statement.

Data is made inside an app context and the pages are requested outside of it, as a
browser would (a request inside a held app context would share its ``g`` and session).
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import url_for

import factories as make
from app.extensions import db
from app.models import Administration, Procedure, ProcedureState, utcnow
from app.security import Roles

PASSWORD = "une phrase assez longue"


def english(client) -> None:
    """Read pages in English: the source strings, whatever the French catalogue holds."""
    client.get("/langue/en")


def procedure(app, title: str, administration: str | None = None, **settings):
    """A procedure (published unless ``state`` says otherwise); its slug, title and
    administration's name. ``replaced_by`` is given as a slug."""
    with app.app_context():
        owner = make.administration()
        if administration:
            existing = db.session.scalar(
                db.select(Administration).where(Administration.name == administration)
            )
            owner = existing or owner
            owner.name = administration
        item = make.procedure(owner)
        item.title = title
        if "replaced_by" in settings:
            slug = settings.pop("replaced_by")
            item.replaced_by = db.session.scalar(db.select(Procedure).where(Procedure.slug == slug))
        for name, value in settings.items():
            setattr(item, name, value)
        db.session.commit()
        return SimpleNamespace(slug=item.slug, title=item.title, administration=owner.name)


def start_links(html: str) -> list[str]:
    return re.findall(r'href="(/commencer/[^"/]+)"', html)


def found(client, query: str) -> list[str]:
    return start_links(client.get("/", query_string={"q": query}).get_data(as_text=True))


# ---------------------------------------------------------------------------------------
# Catalogue


def test_the_catalogue_lists_published_procedures_only(app, client):
    shown = procedure(app, "Inscription à la cantine")
    hidden = [
        procedure(app, "En test", state=ProcedureState.draft),
        procedure(app, "Fermée", state=ProcedureState.closed, closed_reason="Fin"),
        procedure(app, "Dépubliée", state=ProcedureState.unpublished),
    ]
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert start_links(html) == [f"/commencer/{shown.slug}"]
    for item in hidden:
        assert item.title not in html


def test_procedures_of_a_disabled_administration_are_not_listed(app, client):
    item = procedure(app, "Aide au permis", "Mairie fermée")
    with app.app_context():
        administration = db.session.scalar(
            db.select(Administration).where(Administration.name == "Mairie fermée")
        )
        administration.disabled_at = utcnow()
        db.session.commit()
    assert start_links(client.get("/").get_data(as_text=True)) == []
    assert client.get(f"/commencer/{item.slug}").status_code == 404


def test_the_search_ignores_accents_and_case_on_titles_and_administrations(app, client):
    canteen = procedure(app, "Inscription à la cantine de l'ÉCOLE", "Ville de Lyon")
    certificate = procedure(app, "Attestation d'accessibilité", "Préfecture du Rhône")
    assert found(client, "prefecture") == [f"/commencer/{certificate.slug}"]
    assert found(client, "RHONE accessibilite") == [f"/commencer/{certificate.slug}"]
    assert found(client, "école") == found(client, "ecole") == [f"/commencer/{canteen.slug}"]
    assert found(client, "lyon cantine") == [f"/commencer/{canteen.slug}"]
    assert found(client, "cantine rhone") == []


def test_a_search_with_sql_wildcards_finds_only_what_it_says(app, client):
    procedure(app, "Demande de subvention")
    english(client)
    page = client.get("/", query_string={"q": "%"}).get_data(as_text=True)
    assert start_links(page) == []
    assert "No procedure matches your search" in page
    assert found(client, "_") == []


def test_the_catalogue_shows_twenty_procedures_a_page(app, client):
    for n in range(25):
        procedure(app, f"Démarche {n:02d}", "Préfecture")
    first = client.get("/").get_data(as_text=True)
    second = client.get("/?page=2").get_data(as_text=True)
    assert len(start_links(first)) == 20
    assert len(start_links(second)) == 5
    assert set(start_links(first)).isdisjoint(start_links(second))
    assert 'aria-current="page"' in second and "usa-pagination" in second
    assert start_links(client.get("/?page=99").get_data(as_text=True)) == start_links(second)
    assert len(start_links(client.get("/?page=abc").get_data(as_text=True))) == 20


def test_a_search_keeps_its_words_across_pages(app, client):
    for n in range(22):
        procedure(app, f"Bourse {n:02d}", "Région")
    procedure(app, "Autre chose", "Région")
    html = client.get("/", query_string={"q": "bourse"}).get_data(as_text=True)
    assert len(start_links(html)) == 20
    assert "q=bourse" in html and "page=2" in html
    assert 'value="bourse"' in html


# ---------------------------------------------------------------------------------------
# A procedure's page


def test_a_procedure_page_says_everything_to_prepare_and_leads_to_the_form(app, client):
    item = procedure(
        app,
        "Certificat d'accessibilité",
        "Préfecture du Rhône",
        description="Pour les établissements recevant du public.",
        audience="Les exploitants d'un ERP",
        documents_to_prepare="- Plan des locaux\n- Attestation d'assurance\n\n",
        deadline_at=utcnow() + timedelta(days=30),
        service_name="Service accessibilité",
        service_email="accessibilite@example.org",
        service_phone="04 72 00 00 00",
    )
    english(client)
    html = client.get(f"/commencer/{item.slug}").get_data(as_text=True)
    for text in (
        "Certificat d&#39;accessibilité",
        "Préfecture du Rhône",
        "Pour les établissements recevant du public.",
        "Les exploitants d&#39;un ERP",
        "<li>Plan des locaux</li>",
        "<li>Attestation d&#39;assurance</li>",
        "Dossiers are taken until",
        "Service accessibilité",
        'href="mailto:accessibilite@example.org"',
        'href="tel:0472000000"',
    ):
        assert text in html
    if "public_forms.new_dossier" in app.view_functions:
        with app.test_request_context():
            target = url_for("public_forms.new_dossier", slug=item.slug)
        assert f'href="{target}"' in html
        assert "log in, or to create an account" in html


def test_a_logged_in_applicant_starts_with_one_press(app, client):
    if "public_forms.new_dossier" not in app.view_functions:
        pytest.skip("the filing part of the portal is not there yet")
    item = procedure(app, "Bourse")
    with app.app_context():
        person = make.user(Roles.APPLICANT)
        app.appbuilder.sm.reset_password(person.id, PASSWORD)
        email = person.email
    client.post("/connexion", data={"email": email, "password": PASSWORD})
    html = client.get(f"/commencer/{item.slug}").get_data(as_text=True)
    with app.test_request_context():
        target = url_for("public_forms.new_dossier", slug=item.slug)
    assert re.search(rf'<form method="post" action="{re.escape(target)}">', html)


def test_a_closed_procedure_says_why_and_points_to_its_replacement(app, client):
    replacement = procedure(app, "Nouvelle démarche")
    closed = procedure(
        app,
        "Ancienne démarche",
        state=ProcedureState.closed,
        closed_reason="Remplacée par la nouvelle réglementation",
        replaced_by=replacement.slug,
    )
    english(client)
    page = client.get(f"/commencer/{closed.slug}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This procedure is closed" in html
    assert "Remplacée par la nouvelle réglementation" in html
    assert f'href="/commencer/{replacement.slug}"' in html
    assert "/nouveau" not in html and "Start the procedure" not in html


def test_a_closed_procedure_does_not_point_to_a_replacement_that_is_not_public(app, client):
    replacement = procedure(app, "Remplaçante", state=ProcedureState.unpublished)
    closed = procedure(
        app,
        "Fermée",
        state=ProcedureState.closed,
        closed_reason="Fin",
        replaced_by=replacement.slug,
    )
    html = client.get(f"/commencer/{closed.slug}").get_data(as_text=True)
    assert f"/commencer/{replacement.slug}" not in html


def test_a_procedure_past_its_deadline_or_not_open_yet_has_no_start_button(app, client):
    late = procedure(app, "En retard", deadline_at=utcnow() - timedelta(hours=1))
    early = procedure(app, "Bientôt", opens_at=utcnow() + timedelta(days=3))
    english(client)
    late_html = client.get(f"/commencer/{late.slug}").get_data(as_text=True)
    early_html = client.get(f"/commencer/{early.slug}").get_data(as_text=True)
    assert "The deadline of this procedure has passed" in late_html
    assert "This procedure opens on" in early_html
    for html in (late_html, early_html):
        assert "Start the procedure" not in html


@pytest.mark.parametrize("state", [ProcedureState.draft, ProcedureState.unpublished])
def test_a_procedure_not_published_does_not_exist_for_the_public(app, client, state):
    item = procedure(app, "Cachée", state=state)
    assert client.get(f"/commencer/{item.slug}").status_code == 404
    assert client.get("/commencer/nimporte-quoi").status_code == 404


def test_an_unknown_procedure_gets_the_portal_s_own_not_found_page(client):
    english(client)
    page = client.get("/commencer/inconnue")
    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "Page not found" in html and "usa-header" in html


# ---------------------------------------------------------------------------------------
# Language and accessibility


def test_french_is_the_default_and_english_can_be_chosen(client):
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)
    response = client.get("/langue/en", query_string={"next": "/accessibilite?x=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/accessibilite?x=1"
    with client.session_transaction() as session:
        assert session["locale"] == "en"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    client.get("/langue/fr")
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\r\nLocation: https://evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_the_language_switch_never_redirects_elsewhere(client, target):
    response = client.get("/langue/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_only_french_and_english_can_be_chosen(client):
    assert client.get("/langue/de").status_code == 404
    with client.session_transaction() as session:
        assert session.get("locale") != "de"


def test_the_accessibility_statement_says_its_status_and_the_remedies(client):
    english(client)
    page = client.get("/accessibilite")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "partially compliant" in html
    assert "Défenseur des droits" in html
    assert 'href="/accessibilite"' in client.get("/").get_data(as_text=True)
