"""Mail templates: defaults per event, tags (system and per field), saving, rendering."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.fields import registry
from app.models import AttestationTemplate, FieldDefinition, MailEvent, MailTemplate
from app.services import mail_templates, template_tags
from app.services.mail_templates import TemplateError
from app.services.procedures import editable_revision


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def add_field(revision, stable_id, type_, label, position, **extra):
    field = FieldDefinition(
        stable_id=stable_id, type=type_, label=label, position=position, **extra
    )
    revision.fields.append(field)
    return field


@pytest.fixture
def procedure(ctx):
    item = make.procedure(make.administration())
    item.title = "Autorisation de terrasse"
    item.service_name = "Service du domaine public"
    revision = item.published_revision
    add_field(revision, "titre", "header_section", "Votre entreprise", 0)
    add_field(revision, "nom", "text", "Nom de l'entreprise", 1)
    add_field(revision, "ouverture", "date", "Date d'ouverture", 2)
    add_field(revision, "avis", "text", "Avis interne", 3, private=True)
    db.session.commit()
    return item


@pytest.fixture
def dossier(procedure):
    item = make.dossier(procedure, make.user())
    item.answers = {"nom": "Café des Halles", "ouverture": "2026-03-12", "avis": "secret"}
    item.submitted_at = datetime(2026, 2, 1, 23, 30, tzinfo=UTC)  # 2 February in Paris
    item.motivation = "Toutes les pièces sont conformes."
    db.session.commit()
    return item


@pytest.mark.parametrize("event", list(MailEvent))
def test_every_event_has_a_default_text_whose_tags_are_all_known(procedure, event):
    subject, body = mail_templates.default_text(procedure, event)
    assert subject.strip() and body.strip()
    assert mail_templates.problems(procedure, event, subject, body) == {}


def test_every_event_has_a_name_and_a_help_text():
    assert set(mail_templates.EVENT_LABELS) == set(MailEvent) == set(mail_templates.EVENT_HELP)


def test_the_acceptance_mail_links_the_attestation_only_when_one_is_issued(procedure):
    assert (
        "--lien attestation--" not in mail_templates.default_text(procedure, MailEvent.accepted)[1]
    )
    procedure.attestation_template = AttestationTemplate(enabled=True, title="A", body="B")
    db.session.commit()
    assert "--lien attestation--" in mail_templates.default_text(procedure, MailEvent.accepted)[1]


def test_a_dossier_renders_every_system_tag(procedure, dossier):
    body = (
        "N° --numéro du dossier-- / --libellé démarche-- / --date de dépôt-- / "
        "--motivation-- / --lien dossier-- / --lien attestation-- / --nom du service--"
    )
    mail_templates.save(procedure, MailEvent.accepted, "Dossier --numéro du dossier--", body)
    db.session.commit()
    subject, text = mail_templates.render(procedure, MailEvent.accepted, dossier)
    assert subject == f"Dossier {dossier.id}"
    assert text == (
        f"N° {dossier.id} / Autorisation de terrasse / 2 février 2026 / "
        "Toutes les pièces sont conformes. / "
        f"http://127.0.0.1:5000/dossiers/{dossier.id} / "
        f"http://127.0.0.1:5000/dossiers/{dossier.id}/attestation / "
        "Service du domaine public\n"
    )


def test_field_tags_render_the_answer_as_its_field_type_writes_it(procedure, dossier):
    mail_templates.save(
        procedure,
        MailEvent.submitted,
        "Reçu",
        "--Nom de l'entreprise-- ouvrira le --Date d'ouverture--.",
    )
    db.session.commit()
    _, body = mail_templates.render(procedure, MailEvent.submitted, dossier)
    as_written = registry.get("date").as_text("2026-03-12")
    assert as_written != "2026-03-12"  # so that str() would not pass this test
    assert body == f"Café des Halles ouvrira le {as_written}.\n"


def test_without_a_dossier_the_tags_get_sample_values(procedure):
    subject, body = mail_templates.render_texts(
        procedure, "N° --numéro du dossier--", "--Nom de l'entreprise--", None
    )
    assert subject == f"N° {template_tags.SAMPLE_NUMBER}"
    assert body == "[Nom de l'entreprise]\n"


def test_a_field_tag_is_stored_by_stable_id_and_shown_by_label(procedure):
    mail_templates.save(procedure, MailEvent.submitted, "Reçu", "Bonjour --Nom de l'entreprise--")
    db.session.commit()
    stored = mail_templates.stored(procedure, MailEvent.submitted)
    assert stored.body == "Bonjour --champ:nom--"
    assert mail_templates.current(procedure, MailEvent.submitted).body == (
        "Bonjour --Nom de l'entreprise--"
    )


def test_a_template_keeps_working_when_the_field_label_is_reworded(procedure, dossier):
    mail_templates.save(procedure, MailEvent.submitted, "Reçu", "Bonjour --Nom de l'entreprise--")
    db.session.commit()
    draft = editable_revision(procedure)
    next(field for field in draft.fields if field.stable_id == "nom").label = "Raison sociale"
    db.session.commit()
    assert mail_templates.current(procedure, MailEvent.submitted).body == (
        "Bonjour --Raison sociale--"
    )
    assert mail_templates.render(procedure, MailEvent.submitted, dossier)[1] == (
        "Bonjour Café des Halles\n"
    )


def test_tags_are_matched_regardless_of_case_and_spaces(procedure, dossier):
    mail_templates.save(
        procedure, MailEvent.submitted, "Reçu", "--NUMÉRO  du dossier-- --nom DE l'entreprise--"
    )
    db.session.commit()
    body = mail_templates.render(procedure, MailEvent.submitted, dossier)[1]
    assert body == f"{dossier.id} Café des Halles\n"


def test_an_unknown_tag_is_refused_with_its_name(procedure):
    with pytest.raises(TemplateError) as refused:
        mail_templates.save(procedure, MailEvent.submitted, "Reçu --numéro--", "Texte --prénom--")
    assert set(refused.value.errors) == {"subject", "body"}
    assert "--numéro--" in refused.value.errors["subject"]
    assert "--prénom--" in refused.value.errors["body"]
    assert mail_templates.stored(procedure, MailEvent.submitted) is None


def test_a_private_field_has_no_tag(procedure):
    tags = [tag.text for tag in template_tags.available_tags(procedure, "submitted")]
    assert "--Nom de l'entreprise--" in tags
    assert "--Avis interne--" not in tags and "--Votre entreprise--" not in tags
    for text in ("--Avis interne--", "--champ:avis--"):
        errors = mail_templates.problems(procedure, MailEvent.submitted, "Reçu", text)
        assert text in errors["body"]


def test_a_tag_outside_its_events_is_refused(procedure):
    errors = mail_templates.problems(
        procedure, MailEvent.refused, "Refus", "Attestation : --lien attestation--"
    )
    assert "--lien attestation--" in errors["body"]
    assert (
        mail_templates.problems(
            procedure, MailEvent.accepted, "Accord", "Attestation : --lien attestation--"
        )
        == {}
    )


def test_two_fields_with_one_label_are_told_apart_by_stable_id(procedure, dossier):
    revision = procedure.published_revision
    add_field(revision, "adresse1", "text", "Adresse", 4)
    add_field(revision, "adresse2", "text", "adresse", 5)
    dossier.answers = {**dossier.answers, "adresse1": "1 rue A", "adresse2": "2 rue B"}
    db.session.commit()
    tags = [tag.text for tag in template_tags.field_tags(revision)]
    assert "--champ:adresse1--" in tags and "--champ:adresse2--" in tags
    assert "--Adresse--" not in tags
    errors = mail_templates.problems(procedure, MailEvent.submitted, "Reçu", "--Adresse--")
    assert "--Adresse--" in errors["body"]
    mail_templates.save(procedure, MailEvent.submitted, "Reçu", "--champ:adresse2--")
    db.session.commit()
    assert mail_templates.render(procedure, MailEvent.submitted, dossier)[1] == "2 rue B\n"


def test_separator_lines_and_the_signature_delimiter_are_not_tags(procedure):
    body = "Bonjour,\n-----\nTexte\n-- \nLe service"
    assert mail_templates.problems(procedure, MailEvent.submitted, "Reçu", body) == {}


def test_a_tag_of_a_field_deleted_since_renders_as_nothing(procedure, dossier):
    db.session.add(
        MailTemplate(
            procedure_id=procedure.id,
            event=MailEvent.submitted,
            subject="Reçu",
            body="Avant --champ:disparu-- après",
        )
    )
    db.session.commit()
    assert mail_templates.render(procedure, MailEvent.submitted, dossier)[1] == "Avant  après\n"


def test_an_empty_motivation_leaves_no_gap_of_blank_lines(procedure, dossier):
    dossier.motivation = None
    db.session.commit()
    _, body = mail_templates.render(procedure, MailEvent.accepted, dossier)
    assert "\n\n\n" not in body
    assert "a été accepté.\n\nVotre dossier reste consultable" in body


def test_saving_the_default_text_keeps_the_event_on_its_default(procedure):
    mail_templates.save(procedure, MailEvent.refused, "Autre objet", "Autre texte")
    db.session.commit()
    assert not mail_templates.current(procedure, MailEvent.refused).is_default
    mail_templates.save(procedure, MailEvent.refused, *mail_templates.DEFAULTS[MailEvent.refused])
    db.session.commit()
    assert mail_templates.current(procedure, MailEvent.refused).is_default
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailTemplate)) == 0


def test_a_reset_goes_back_to_the_default_text(procedure):
    mail_templates.save(procedure, MailEvent.reopened, "Autre objet", "Autre texte")
    db.session.commit()
    mail_templates.reset(procedure, MailEvent.reopened)
    db.session.commit()
    assert mail_templates.current(procedure, MailEvent.reopened) == mail_templates.MailText(
        *mail_templates.DEFAULTS[MailEvent.reopened], is_default=True
    )


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "Texte", "subject"),
        ("Deux\nlignes", "Texte", "subject"),
        ("x" * 256, "Texte", "subject"),
        ("Objet", "   ", "body"),
    ],
)
def test_an_empty_or_malformed_text_is_refused(procedure, subject, body, field):
    errors = mail_templates.problems(procedure, MailEvent.submitted, subject, body)
    assert set(errors) == {field}
