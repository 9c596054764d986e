"""Filling and submitting a procedure's form through the portal, as a browser does (with
and without script: the script posts the same inputs as the form).

Data is made inside an app context and pages are requested outside of it. Pages are read
in English (``/langue/en``) so that assertions do not depend on the French catalogue.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from filing_helpers import ALL_TYPES, applicant, field, form_procedure, person, sign_in

import factories as make
from app.extensions import db
from app.fields import all_types
from app.models import (
    Attachment,
    AttachmentUse,
    DeclarativeMode,
    Dossier,
    DossierState,
    OutboxEvent,
    Procedure,
    ProcedureState,
    SatisfactionAnswer,
    ScanStatus,
    StateTransition,
    utcnow,
)
from app.security import Roles
from app.services import dossiers

FIELDS = [
    field("nom", "text", "Nom", required=True),
    field("age", "integer", "Âge"),
    field("animal", "yes_no", "Avez-vous un animal ?"),
    field(
        "espece",
        "text",
        "Espèce de l'animal",
        condition={"field": "animal", "op": "eq", "value": True},
    ),
    field("dept", "department", "Département"),
    field("enfants", "repetition", "Enfants"),
    field("prenom", "text", "Prénom", parent="enfants", required=True),
]


class World:
    """A procedure, its applicant signed in, and short ways to read the database."""

    def __init__(self, app, client, fields=FIELDS, **settings) -> None:
        self.app, self.client = app, client
        with app.app_context():
            procedure = form_procedure(fields, **settings)
            self.procedure_id, self.slug = procedure.id, procedure.slug
            self.test_token = procedure.test_token
            self.owner_id = applicant().id
        client.get("/langue/en")
        sign_in(client, self.owner_id)

    def new(self, **params) -> int:
        """Start a draft through the portal (with ``champ_`` prefill parameters)."""
        response = self.client.post(f"/commencer/{self.slug}/nouveau", query_string=params)
        assert response.status_code == 302, response.get_data(as_text=True)
        number = int(re.search(r"/dossiers/(\d+)/", response.headers["Location"]).group(1))
        with self.app.app_context():
            person(db.session.get(Dossier, number))
        return number

    def dossier(self, number: int) -> Dossier:
        with self.app.app_context():
            item = db.session.get(Dossier, number)
            db.session.expunge(item)
            return item

    def post(self, number: int, data: dict, path: str = "formulaire", **kwargs):
        data = {"version": self.dossier(number).version, "state": "draft", **data}
        return self.client.post(f"/dossiers/{number}/{path}", data=data, **kwargs)

    def autosave(self, number: int, data: dict, **kwargs):
        return self.post(number, data, path="formulaire/brouillon", **kwargs)

    def submit(self, number: int, data: dict, **kwargs):
        return self.post(number, data, path="depot", **kwargs)

    def count(self, model) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def world(app, client) -> World:
    return World(app, client)


def present(*ids: str) -> dict:
    return {"present": list(ids)}


def text_of(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# Starting a dossier


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(app):
    client = app.test_client()
    with app.app_context():
        slug = form_procedure(FIELDS).slug
    response = client.post(f"/commencer/{slug}/nouveau")
    assert response.status_code == 302
    assert "/connexion?next=" in response.headers["Location"]
    assert f"/commencer/{slug}/nouveau" in response.headers["Location"]


def test_starting_creates_a_draft_and_asks_who_files_first(world):
    response = world.client.post(f"/commencer/{world.slug}/nouveau")
    assert response.headers["Location"].endswith("/identite")
    number = int(response.headers["Location"].split("/")[2])
    dossier = world.dossier(number)
    assert dossier.state == DossierState.draft and dossier.owner_id == world.owner_id
    page = world.client.get(f"/dossiers/{number}/identite")
    assert page.status_code == 200 and 'name="first_name"' in text_of(page)
    response = world.client.post(
        f"/dossiers/{number}/identite",
        data={"civility": "Mme", "first_name": "Camille", "last_name": "Martin"},
    )
    assert response.headers["Location"].endswith(f"/dossiers/{number}/formulaire")
    assert world.dossier(number).identity["last_name"] == "Martin"


def test_identity_errors_are_listed_and_change_nothing(world):
    number = world.client.post(f"/commencer/{world.slug}/nouveau").headers["Location"]
    number = int(number.split("/")[2])
    response = world.client.post(f"/dossiers/{number}/identite", data={"first_name": "Camille"})
    html = text_of(response)
    assert response.status_code == 422
    assert 'href="#identity-civility"' in html and 'href="#identity-last_name"' in html
    assert 'aria-describedby="identity-last_name-error"' in html
    assert world.dossier(number).identity == {}


def test_a_link_prefills_a_new_draft_with_valid_answers_only(world):
    link = f"/commencer/{world.slug}/nouveau?champ_nom=Camille&champ_age=douze&champ_dept=69"
    page = world.client.get(link)
    assert 'name="champ_nom" value="Camille"' in text_of(page)
    response = world.client.post(link)
    number = int(response.headers["Location"].split("/")[2])
    assert world.dossier(number).answers == {"nom": "Camille", "dept": "69"}


def test_prefill_parameters_only_apply_to_a_new_draft(world):
    number = world.new()
    world.client.get(f"/dossiers/{number}/formulaire?champ_nom=Intrus")
    response = world.post(number, {"action": "save"}, query_string={"champ_nom": "Intrus"})
    assert response.status_code == 302
    assert "nom" not in (world.dossier(number).answers or {})


def test_a_closed_procedure_takes_no_new_dossier(world):
    with world.app.app_context():
        item = db.session.get(Procedure, world.procedure_id)
        item.state, item.closed_reason = ProcedureState.closed, "Campagne terminée"
        db.session.commit()
    response = world.client.post(f"/commencer/{world.slug}/nouveau")
    assert response.status_code == 403 and "Campagne terminée" in text_of(response)
    assert world.count(Dossier) == 0


def test_the_test_link_files_test_dossiers_with_a_banner(app, client):
    world = World(app, client, state=ProcedureState.draft)
    assert client.get(f"/commencer/{world.slug}/nouveau").status_code == 404
    page = client.get(f"/commencer/test/{world.test_token}")
    assert page.status_code == 200 and "Test mode" in text_of(page)
    response = client.post(f"/commencer/test/{world.test_token}")
    number = int(response.headers["Location"].split("/")[2])
    assert world.dossier(number).is_test
    with app.app_context():
        person(db.session.get(Dossier, number))
    assert "Test mode" in text_of(client.get(f"/dossiers/{number}/formulaire"))


def test_a_forged_test_token_is_a_404(app, client):
    world = World(app, client, state=ProcedureState.draft)
    for token in ("forged", world.test_token + "x", "x" * 300):
        assert client.post(f"/commencer/test/{token}").status_code == 404
    assert world.count(Dossier) == 0


# ---------------------------------------------------------------------------------------
# The form


def test_every_field_type_renders_with_its_label_hint_and_required_marker(app, client):
    world = World(app, client, fields=ALL_TYPES)
    number = world.new()
    html = text_of(client.get(f"/dossiers/{number}/formulaire"))
    for spec in ALL_TYPES:
        assert f'data-field="{spec["stable_id"]}"' in html, spec["stable_id"]
        assert spec["label"].replace("'", "&#39;") in html, spec["label"]
    assert {spec["type"] for spec in ALL_TYPES} == {item.name for item in all_types()}
    assert 'class="usa-input" id="champ_nom" name="champ_nom"' in html
    assert 'aria-describedby="champ_nom-hint"' in html and 'aria-required="true"' in html
    assert html.count('class="usa-hint usa-hint--required"') >= 2  # nom, prenom
    assert 'class="usa-textarea"' in html and 'class="usa-select"' in html
    assert 'class="usa-checkbox__input"' in html and 'class="usa-radio__input"' in html
    assert 'class="usa-memorable-date"' in html and 'name="champ_jour.year"' in html
    assert 'name="champ_rdv.time"' in html and 'type="time"' in html
    assert 'class="usa-file-input"' in html and "use=form_field" in html
    assert 'name="champ_adresse.postcode"' in html and 'autocomplete="postal-code"' in html
    assert 'name="champ_vehicule.primary"' in html and 'name="champ_vehicule.secondary"' in html
    assert 'value="__other__"' in html and 'name="champ_autre.other"' in html
    assert 'name="champ_enfants[0].prenom"' in html and "<template data-row-template" in html
    assert '<h2 class="guichet-section__title" id="champ_sec"' in html
    assert "<details" in html and "Plus" in html
    # four choices or fewer are radio buttons, more a list
    assert (
        'name="champ_ecole" type="radio"' in html
        and '<select class="usa-select" id="champ_metier"' in html
    )


def test_an_autosave_answers_json_and_the_draft_reloads_intact(world):
    number = world.new()
    data = {
        **present("nom", "age", "animal", "espece", "dept", "enfants"),
        "champ_nom": "Camille",
        "champ_age": "34",
        "champ_animal": "true",
        "champ_espece": "Chat",
        "champ_dept": "69",
        "champ_enfants[0]": "1",
        "champ_enfants[0].prenom": "Léa",
        "champ_enfants[3]": "1",
        "champ_enfants[3].prenom": "Noah",
    }
    before = world.dossier(number).version
    response = world.autosave(number, data)
    payload = response.get_json()
    assert response.status_code == 200 and payload["saved"] is True
    assert payload["version"] > before and re.fullmatch(r"\d\d:\d\d", payload["saved_at"])
    assert payload["errors"] == {}
    assert world.dossier(number).answers == {
        "nom": "Camille",
        "age": 34,
        "animal": True,
        "espece": "Chat",
        "dept": "69",
        "enfants": [{"prenom": "Léa"}, {"prenom": "Noah"}],
    }
    html = text_of(world.client.get(f"/dossiers/{number}/formulaire"))
    assert 'name="champ_nom" type="text" value="Camille"' in html
    assert 'name="champ_age" type="text" value="34"' in html
    assert 'value="true" checked' in html and 'value="69" selected' in html
    assert 'name="champ_enfants[1].prenom" type="text" value="Noah"' in html
    assert f'name="version" value="{payload["version"]}"' in html


def test_every_field_type_round_trips_through_its_inputs(app, client):
    world = World(app, client, fields=ALL_TYPES)
    number = world.new()
    data = {
        **present(*(spec["stable_id"] for spec in ALL_TYPES if "parent" not in spec)),
        "champ_nom": "Camille",
        "champ_texte": "Deux\nlignes",
        "champ_ine": "123",
        "champ_courriel": "camille@example.org",
        "champ_tel": "06 12 34 56 78",
        "champ_nombre": "2",
        "champ_montant": "12,5",
        "champ_jour.day": "3",
        "champ_jour.month": "4",
        "champ_jour.year": "1990",
        "champ_rdv.day": "25",
        "champ_rdv.month": "12",
        "champ_rdv.year": "2030",
        "champ_rdv.time": "14:30",
        "champ_accord": "true",
        "champ_allergie": "false",
        "champ_civ": "Mme",
        "champ_ecole": "Gerland",
        "champ_metier": "Peintre",
        "champ_autre": "__other__",
        "champ_autre.other": "Étudiant",
        "champ_langues": ["FR", "DE"],
        "champ_vehicule.primary": "Voiture",
        "champ_vehicule.secondary": "Électrique",
        "champ_adresse.street": "1 place Bellecour",
        "champ_adresse.postcode": "69002",
        "champ_adresse.city": "Lyon",
        "champ_adresse.country": "FR",
        "champ_pays": "BE",
        "champ_region": "84",
        "champ_dept": "2A",
        "champ_commune": "Villeurbanne",
        "champ_siret": "732 829 320 00074",
        "champ_iban": "FR76 3000 6000 0112 3456 7890 189",
        "champ_enfants[0]": "1",
        "champ_enfants[0].prenom": "Léa",
        "champ_enfants[0].naissance.day": "12",
        "champ_enfants[0].naissance.month": "4",
        "champ_enfants[0].naissance.year": "2018",
    }
    response = world.autosave(number, data)
    assert response.get_json()["errors"] == {}
    answers = world.dossier(number).answers
    assert answers["tel"] == "+33612345678" and answers["montant"] == 12.5
    assert answers["jour"] == "1990-04-03" and answers["rdv"] == "2030-12-25T14:30"
    assert answers["autre"] == "Étudiant" and answers["langues"] == ["FR", "DE"]
    assert answers["adresse"]["insee_code"] == "69123" and answers["commune"] == "69266"
    assert answers["enfants"] == [{"prenom": "Léa", "naissance": "2018-04-12"}]
    # What the page shows posts back to the very same answers.
    page = text_of(client.get(f"/dossiers/{number}/formulaire"))
    assert 'value="Villeurbanne (69266)"' in page and 'value="06 12 34 56 78"' in page
    version = world.dossier(number).version
    world.autosave(number, data)
    assert world.dossier(number).version == version  # nothing changed, nothing written


def test_wrong_types_get_their_message_and_change_nothing_else(world):
    number = world.new()
    world.autosave(number, {**present("nom", "age"), "champ_nom": "Camille", "champ_age": "30"})
    response = world.autosave(
        number, {**present("nom", "age", "dept"), "champ_age": "trente", "champ_dept": "999"}
    )
    errors = response.get_json()["errors"]
    assert set(errors) == {"age", "dept"}
    assert world.dossier(number).answers == {"age": 30}


def test_values_for_unknown_fields_are_ignored(world):
    number = world.new()
    response = world.autosave(
        number,
        {**present("nom", "pirate"), "champ_nom": "Camille", "champ_pirate": "x", "pirate": "y"},
    )
    assert response.status_code == 200
    assert world.dossier(number).answers == {"nom": "Camille"}


def test_a_hidden_field_is_neither_validated_nor_kept(world):
    number = world.new()
    data = {**present("animal", "espece"), "champ_animal": "true", "champ_espece": "Chat"}
    world.autosave(number, data)
    assert world.dossier(number).answers["espece"] == "Chat"
    world.autosave(number, {**data, "champ_animal": "false"})
    assert world.dossier(number).answers == {"animal": False}
    page = text_of(world.client.get(f"/dossiers/{number}/formulaire"))
    assert re.search(r'data-field="espece" data-type="text" hidden', page)


def test_the_page_embeds_the_fields_and_places_for_the_browsers_conditions(world):
    number = world.new()
    page = text_of(world.client.get(f"/dossiers/{number}/formulaire"))
    config = re.search(r'id="guichet-form-config">(.*?)</script>', page, re.S).group(1)
    import json

    data = json.loads(config)
    espece = next(item for item in data["fields"] if item["stable_id"] == "espece")
    assert espece["condition"] == {"field": "animal", "op": "eq", "value": True}
    assert data["geo"]["departments"]["69"] == "84"
    assert "/static/portal/js/filing.js" in page


def test_repeated_entries_are_added_and_removed_without_script(world):
    number = world.new()
    rows = {"champ_enfants[0]": "1", "champ_enfants[0].prenom": "Léa"}
    response = world.post(number, {**present("enfants"), **rows, "action": "add:enfants"})
    assert response.headers["Location"].endswith("?ajout=enfants#champ_enfants")
    page = text_of(world.client.get(response.headers["Location"]))
    assert 'name="champ_enfants[1].prenom"' in page and "Enfants – entry 2" in page
    rows |= {"champ_enfants[1]": "1", "champ_enfants[1].prenom": "Noah"}
    rows |= {"champ_enfants[2]": "1", "champ_enfants[2].prenom": "Jade"}
    world.post(number, {**present("enfants"), **rows, "action": "save"})
    assert [row["prenom"] for row in world.dossier(number).answers["enfants"]] == [
        "Léa",
        "Noah",
        "Jade",
    ]
    world.post(number, {**present("enfants"), **rows, "action": "remove:enfants:1"})
    assert world.dossier(number).answers["enfants"] == [{"prenom": "Léa"}, {"prenom": "Jade"}]


def test_a_stale_version_shows_a_clear_message_and_never_overwrites(world):
    number = world.new()
    first = world.dossier(number).version
    world.autosave(number, {**present("nom"), "champ_nom": "Onglet A"})
    data = {**present("nom"), "champ_nom": "Onglet B", "version": first}
    response = world.client.post(f"/dossiers/{number}/formulaire/brouillon", data=data)
    assert response.status_code == 409 and response.get_json()["stale"] is True
    response = world.client.post(f"/dossiers/{number}/formulaire", data=data)
    assert response.status_code == 409
    html = text_of(response)
    assert "Your changes were not saved" in html and 'value="Onglet B"' in html
    assert f'name="version" value="{first}"' in html
    assert world.dossier(number).answers == {"nom": "Onglet A"}


def test_another_users_dossier_is_a_404_everywhere(world):
    number = world.new()
    with world.app.app_context():
        stranger = applicant().id
        agent = make.user(Roles.AGENT).id
    for person_id in (stranger, agent):
        sign_in(world.client, person_id)
        for path in ("formulaire", "identite", "confirmation"):
            assert world.client.get(f"/dossiers/{number}/{path}").status_code == 404
        for path in ("formulaire", "formulaire/brouillon", "depot", "identite", "satisfaction"):
            data = {**present("nom"), "champ_nom": "Intrus", "version": 1, "action": "save"}
            response = world.client.post(f"/dossiers/{number}/{path}", data=data)
            assert response.status_code == 404, path
    assert world.dossier(number).answers in ({}, None)


def test_an_oversized_post_is_refused_before_it_is_read(world, app):
    app.config["PORTAL_FORM_MAX_BYTES"] = 10_000
    number = world.new()
    big = {**present("nom"), "champ_nom": "x" * 20_000}
    response = world.autosave(number, big)
    assert response.status_code == 413 and "too long" in response.get_json()["error"]
    response = world.post(number, {**big, "action": "save"})
    assert response.status_code == 302
    assert world.dossier(number).answers in ({}, None)


def test_a_long_answer_within_bounds_gets_the_fields_own_message(world):
    number = world.new()
    response = world.autosave(number, {**present("nom"), "champ_nom": "x" * 1_001})
    assert "nom" in response.get_json()["errors"]


def test_with_csrf_on_the_autosave_needs_the_token_header(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    world = World(app, client)
    with app.app_context():
        procedure_slug = world.slug
    page = text_of(client.get(f"/commencer/{procedure_slug}/nouveau"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/commencer/{procedure_slug}/nouveau", data={"csrf_token": token})
    number = int(response.headers["Location"].split("/")[2])
    version = world.dossier(number).version
    data = {**present("nom"), "champ_nom": "Camille", "version": version}
    refused = client.post(f"/dossiers/{number}/formulaire/brouillon", data=data)
    assert refused.status_code == 400 and world.dossier(number).answers in ({}, None)
    accepted = client.post(
        f"/dossiers/{number}/formulaire/brouillon", data=data, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200 and world.dossier(number).answers == {"nom": "Camille"}


# ---------------------------------------------------------------------------------------
# Sections as steps, and a one-page form's table of contents

STEPS = [
    field("s1", "header_section", "Vous", options={"level": 1}),
    field("nom", "text", "Nom", required=True),
    field("s2", "header_section", "Votre animal", options={"level": 1}),
    field("animal", "yes_no", "Avez-vous un animal ?"),
    field(
        "s3",
        "header_section",
        "Son espèce",
        options={"level": 1},
        condition={"field": "animal", "op": "eq", "value": True},
    ),
    field("espece", "text", "Espèce", required=True),
    field("s4", "header_section", "Fin", options={"level": 1}),
    field("note", "textarea", "Remarques"),
]


def test_sections_as_steps_go_forward_and_back_saving_each_step(app, client):
    world = World(app, client, fields=STEPS, sections_as_steps=True)
    number = world.new()
    page = text_of(client.get(f"/dossiers/{number}/formulaire"))
    assert "usa-step-indicator" in page and 'aria-current="step"' in page
    assert 'name="champ_nom"' in page and 'name="champ_animal"' not in page
    response = world.post(number, {**present("nom"), "champ_nom": "x" * 1001, "action": "next"})
    assert response.status_code == 422 and 'href="#champ_nom"' in text_of(response)
    response = world.post(number, {**present("nom"), "champ_nom": "Camille", "action": "next"})
    assert response.headers["Location"].endswith("etape=2")
    data = {**present("animal"), "champ_animal": "false", "action": "next", "step": 2}
    response = world.post(number, data)
    # the "species" step is hidden by the answer: straight to the last one
    assert response.headers["Location"].endswith("etape=4")
    page = text_of(client.get(response.headers["Location"]))
    assert "Son espèce" not in page and "Submit my dossier" in page
    response = world.post(
        number, {**present("note"), "action": "previous"}, query_string={"etape": 4}
    )
    assert response.headers["Location"].endswith("etape=2")
    assert world.dossier(number).answers == {"nom": "Camille", "animal": False}


def test_errors_of_other_steps_link_to_their_step(app, client):
    world = World(app, client, fields=STEPS, sections_as_steps=True)
    number = world.new()
    response = world.submit(number, present("note"), query_string={"etape": 4})
    html = text_of(response)
    assert response.status_code == 422
    assert f'href="/dossiers/{number}/formulaire?etape=1#champ_nom"' in html


def test_a_one_page_form_has_a_table_of_contents_of_its_shown_sections(app, client):
    world = World(app, client, fields=STEPS)
    number = world.new()
    page = text_of(client.get(f"/dossiers/{number}/formulaire"))
    assert 'href="#champ_s1"' in page and 'href="#champ_s4"' in page
    assert re.search(r'data-toc-field="s3" hidden', page)


# ---------------------------------------------------------------------------------------
# Submitting


def mails(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture
def mailing(make_app, client):
    """An app whose outbox runs inline, so that mails are written before the response."""
    app = make_app(CELERY_BROKER_URL=None)
    return World(
        app,
        app.test_client(),
        groups=[("Rhône", {"field": "dept", "op": "eq", "value": "69"})],
    )


def test_a_submission_routes_the_dossier_and_mails_the_receipt_with_its_pdf(mailing):
    world = mailing
    number = world.new()
    response = world.submit(
        number, {**present("nom", "dept"), "champ_nom": "Camille", "champ_dept": "69"}
    )
    assert response.headers["Location"].endswith(f"/dossiers/{number}/confirmation")
    with world.app.app_context():
        dossier = db.session.get(Dossier, number)
        assert dossier.state == DossierState.submitted and dossier.group.name == "Rhône"
        owner_email = dossier.owner.email
    [receipt] = mails(world.app)
    assert receipt["To"] == owner_email and str(number) in receipt["Subject"]
    [pdf] = [part for part in receipt.walk() if part.get_content_type() == "application/pdf"]
    assert pdf.get_payload(decode=True).startswith(b"%PDF")
    assert pdf.get_filename().endswith(".pdf")
    page = text_of(world.client.get(response.headers["Location"]))
    assert f"Your dossier n° {number} has been submitted" in page
    assert 'name="level" value="satisfied"' in page and owner_email in page


def test_a_draft_missing_answers_shows_the_error_summary_with_links(world):
    number = world.new()
    response = world.submit(number, {**present("nom", "age"), "champ_age": "x"})
    html = text_of(response)
    assert response.status_code == 422
    assert "data-error-summary" in html and "There is a problem" in html
    assert 'href="#champ_nom"' in html and 'href="#champ_age"' in html
    assert 'aria-describedby="champ_nom-error"' in html and 'aria-invalid="true"' in html
    assert 'id="champ_nom-error">This field is required.' in html
    assert world.dossier(number).state == DossierState.draft


def test_an_ineligible_applicant_gets_the_rules_message(app, client):
    rule = {"condition": {"field": "age", "op": "lt", "value": 18}, "message": "Majeurs seulement."}
    world = World(app, client, eligibility=[rule])
    number = world.new()
    response = world.submit(number, {**present("nom", "age"), "champ_nom": "C", "champ_age": "12"})
    assert response.status_code == 422 and "Majeurs seulement." in text_of(response)
    dossier = world.dossier(number)
    assert dossier.state == DossierState.draft and dossier.answers["age"] == 12


def test_declarative_mode_accepts_on_submission(make_app):
    app = make_app(CELERY_BROKER_URL=None)
    world = World(app, app.test_client(), declarative_mode=DeclarativeMode.accepted)
    number = world.new()
    world.submit(number, {**present("nom"), "champ_nom": "Camille"})
    assert world.dossier(number).state == DossierState.accepted
    page = text_of(world.client.get(f"/dossiers/{number}/confirmation"))
    assert "accepted as soon as it is submitted" in page
    assert len(mails(app)) == 1


def test_a_double_submission_submits_once_and_shows_the_confirmation(mailing):
    world = mailing
    number = world.new()
    data = {**present("nom"), "champ_nom": "Camille", "version": world.dossier(number).version}
    data["state"] = "draft"
    first = world.client.post(f"/dossiers/{number}/depot", data=data)
    second = world.client.post(f"/dossiers/{number}/depot", data=data)
    for response in (first, second):
        assert response.headers["Location"].endswith(f"/dossiers/{number}/confirmation")
    assert world.count(StateTransition) == 1 and len(mails(world.app)) == 1


def test_a_submitted_dossier_can_be_changed_until_review_starts(world):
    number = world.new()
    world.submit(number, {**present("nom"), "champ_nom": "Camille"})
    page = text_of(world.client.get(f"/dossiers/{number}/formulaire"))
    assert "Submit my changes" in page and "data-autosave-url" not in page
    data = {
        **present("nom", "age"),
        "champ_nom": "Camille",
        "champ_age": "40",
        "state": "submitted",
    }
    response = world.submit(number, data)
    assert response.headers["Location"].endswith("/confirmation")
    dossier = world.dossier(number)
    assert dossier.answers == {"nom": "Camille", "age": 40} and dossier.applicant_modified_at
    assert world.count(StateTransition) == 1
    autosave = world.autosave(number, {**present("nom"), "champ_nom": "X"})
    assert autosave.status_code == 409
    emptied = world.post(number, {**present("nom", "age"), "state": "submitted", "action": "save"})
    assert emptied.status_code == 422 and 'href="#champ_nom"' in text_of(emptied)
    assert world.dossier(number).answers == {"nom": "Camille", "age": 40}


def test_a_dossier_under_review_is_no_longer_editable_and_not_resubmitted(world):
    number = world.new()
    world.submit(number, {**present("nom"), "champ_nom": "Camille"})
    with world.app.app_context():
        from app import workflow

        item = db.session.get(Dossier, number)
        workflow.apply(item, workflow.Event.start_review)
        db.session.commit()
    assert world.client.get(f"/dossiers/{number}/formulaire").status_code == 302
    response = world.submit(number, {**present("nom"), "champ_nom": "Autre", "state": "submitted"})
    assert response.status_code == 302 and world.dossier(number).answers == {"nom": "Camille"}
    assert world.count(StateTransition) == 2


def test_a_draft_of_a_procedure_closed_since_cannot_be_submitted(world):
    number = world.new()
    with world.app.app_context():
        db.session.get(Procedure, world.procedure_id).deadline_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    page = text_of(world.client.get(f"/dossiers/{number}/formulaire"))
    assert "deadline of this procedure has passed" in page
    response = world.submit(number, {**present("nom"), "champ_nom": "Camille"})
    assert response.status_code == 302
    dossier = world.dossier(number)
    assert dossier.state == DossierState.draft and dossier.answers == {"nom": "Camille"}


def test_a_file_sent_without_script_shows_in_its_field_and_is_submitted(app, client):
    world = World(app, client, fields=[field("piece", "attachment", "Pièce", required=True)])
    number = world.new()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    import io

    response = client.post(
        "/attachments/upload",
        data={
            "use": "form_field",
            "dossier": str(number),
            "field": "piece",
            "next": f"/dossiers/{number}/formulaire#champ_piece",
            "file": (io.BytesIO(pdf), "plan.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 302
    page = text_of(client.get(f"/dossiers/{number}/formulaire"))
    with app.app_context():
        file_id = db.session.scalar(sa.select(Attachment.id))
    assert f'<input type="hidden" name="champ_piece" value="{file_id}">' in page
    assert "plan.pdf" in page and f'form="remove-file-{file_id}"' in page
    response = world.submit(number, {**present("piece"), "champ_piece": str(file_id)})
    assert response.headers["Location"].endswith("/confirmation"), text_of(response)
    assert world.dossier(number).answers == {"piece": [file_id]}


def test_a_file_of_another_dossier_cannot_be_claimed(app, client):
    world = World(app, client, fields=[field("piece", "attachment", "Pièce")])
    number = world.new()
    with app.app_context():
        other = make.dossier(db.session.get(Dossier, number).procedure, applicant())
        row = Attachment(
            use=AttachmentUse.form_field,
            storage_key="k/x",
            sha256="0" * 64,
            size=3,
            original_name="autre.pdf",
            sniffed_type="application/pdf",
            scan_status=ScanStatus.clean,
            dossier_id=other.id,
            field_stable_id="piece",
        )
        db.session.add(row)
        db.session.commit()
        file_id = row.id
    response = world.autosave(number, {**present("piece"), "champ_piece": str(file_id)})
    assert "piece" in response.get_json()["errors"]
    assert "piece" not in (world.dossier(number).answers or {})


def test_satisfaction_is_asked_once(world):
    number = world.new()
    world.submit(number, {**present("nom"), "champ_nom": "Camille"})
    response = world.client.post(
        f"/dossiers/{number}/satisfaction", data={"level": "satisfied", "comment": "Rapide"}
    )
    assert response.headers["Location"].endswith("/confirmation#satisfaction")
    world.client.post(f"/dossiers/{number}/satisfaction", data={"level": "dissatisfied"})
    with world.app.app_context():
        [answer] = db.session.scalars(sa.select(SatisfactionAnswer)).all()
        assert (answer.level.value, answer.comment) == ("satisfied", "Rapide")
    page = text_of(world.client.get(f"/dossiers/{number}/confirmation"))
    assert 'name="level"' not in page and "Thank you for your answer" in page


def test_submissions_are_rate_limited_per_person(world):
    number = world.new()
    statuses = [world.submit(number, present("nom")).status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


# ---------------------------------------------------------------------------------------
# Preview


def test_administrators_preview_the_form_being_built_and_nobody_else_sees_it(app, client):
    with app.app_context():
        administrator = make.user(Roles.ADMINISTRATOR)
        administration = make.administration(administrator)
        procedure = form_procedure(
            ALL_TYPES, state=ProcedureState.draft, administration=administration
        )
        procedure_id, administrator_id = procedure.id, administrator.id
        outsider = make.user(Roles.ADMINISTRATOR).id
        applicant_id = applicant().id
    client.get("/langue/en")
    assert client.get(f"/apercu/{procedure_id}").status_code == 404
    for person_id in (outsider, applicant_id):
        sign_in(client, person_id)
        assert client.get(f"/apercu/{procedure_id}").status_code == 404
    sign_in(client, administrator_id)
    response = client.get(f"/apercu/{procedure_id}")
    html = text_of(response)
    assert response.status_code == 200 and "Preview" in html and 'data-preview="true"' in html
    form = re.search(r'<form id="dossier-form".*?</form>', html, re.S).group(0)
    assert 'data-field="nom"' in form and "/depot" not in form and "csrf_token" not in form
    assert 'name="action"' not in form
    assert client.get("/apercu/999999").status_code == 404


def test_the_commune_suggestions_match_names_and_postcodes(client):
    names = client.get("/communes?q=villeurb").get_json()["communes"]
    assert "Villeurbanne (69266)" in names
    assert "Villeurbanne (69266)" in client.get("/communes?q=69100").get_json()["communes"]
    assert client.get("/communes?q=v").get_json() == {"communes": []}


def test_dossier_numbers_are_not_guessable_into_other_dossiers_through_links(world):
    """A dossier link answer must name a filed dossier (drafts of others stay private)."""
    fields = [field("lien", "dossier_link", "Dossier lié")]
    with world.app.app_context():
        procedure = form_procedure(fields)
        other_draft = dossiers.create_draft(procedure, applicant())
        db.session.commit()
        draft_number = other_draft.id
        filed = make.dossier(procedure, applicant()).id
        world.slug = procedure.slug
    number = world.new()
    response = world.autosave(number, {**present("lien"), "champ_lien": str(draft_number)})
    assert "lien" in response.get_json()["errors"]
    response = world.autosave(number, {**present("lien"), "champ_lien": str(filed)})
    assert response.get_json()["errors"] == {}


def test_nothing_is_written_on_refusals(world):
    """Bad posts leave no outbox event, no transition, no answer."""
    number = world.new()
    world.client.post(f"/dossiers/{number}/depot", data={"version": "abc", "state": "draft"})
    world.client.post(f"/dossiers/{number + 1000}/depot", data={"version": 1})
    assert world.count(StateTransition) == 0 and world.count(OutboxEvent) == 0
