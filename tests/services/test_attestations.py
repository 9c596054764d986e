"""The attestation template: saving, tags, and the PDF made with WeasyPrint."""

import re
import zlib
from datetime import UTC, datetime

import pytest

import factories as make
from app.extensions import db
from app.models import DossierState, FieldDefinition
from app.services import attestations
from app.services.attestations import AttestationError


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def procedure(ctx):
    item = make.procedure(make.administration())
    item.title = "Carte de stationnement résident"
    item.published_revision.fields.append(
        FieldDefinition(stable_id="plaque", type="text", label="Immatriculation", position=0)
    )
    db.session.commit()
    return item


@pytest.fixture
def dossier(procedure):
    item = make.dossier(procedure, make.user(), state=DossierState.accepted)
    item.answers = {"plaque": "AB-123-CD <script>alert(1)</script>"}
    item.submitted_at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    item.decided_at = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
    db.session.commit()
    return item


def pdf_text_objects(pdf: bytes) -> bytes:
    """The PDF's bytes with every compressed stream inflated (metadata included)."""
    inflated = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            inflated.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"".join(inflated)


def utf16_hex(text: str) -> bytes:
    return ("feff" + text.encode("utf-16-be").hex()).encode()


def test_a_procedure_issues_no_attestation_until_it_is_enabled(procedure):
    assert not attestations.is_enabled(procedure)
    current = attestations.current(procedure)
    assert current.is_default and not current.enabled
    assert current.title == attestations.DEFAULT_TITLE


def test_the_default_texts_use_only_known_tags(procedure):
    assert (
        attestations.problems(
            procedure,
            attestations.DEFAULT_TITLE,
            attestations.DEFAULT_BODY,
            attestations.DEFAULT_FOOTER,
        )
        == {}
    )


def test_a_saved_template_is_enabled_and_keeps_field_tags_by_stable_id(procedure):
    attestations.save(procedure, True, "Carte n° --numéro du dossier--", "--Immatriculation--", "")
    db.session.commit()
    assert attestations.is_enabled(procedure)
    assert procedure.attestation_template.body == "--champ:plaque--"
    assert procedure.attestation_template.footer is None
    assert attestations.current(procedure).body == "--Immatriculation--"


def test_an_unknown_or_misplaced_tag_is_refused_with_its_name(procedure):
    with pytest.raises(AttestationError) as refused:
        attestations.save(procedure, True, "Titre", "--plaque--", "--lien attestation--")
    assert "--plaque--" in refused.value.errors["body"]
    assert "--lien attestation--" in refused.value.errors["footer"]
    assert procedure.attestation_template is None


def test_the_page_renders_the_tags_for_the_dossier_and_escapes_them(procedure, dossier):
    html = attestations.render_html(
        procedure,
        "Carte n° --numéro du dossier--",
        "Véhicule --Immatriculation--\n\nDéposé le --date de dépôt--",
        "Mairie -- service du stationnement",
        dossier,
    )
    assert f"<h1>Carte n° {dossier.id}</h1>" in html
    assert "Véhicule AB-123-CD &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "5 janvier 2026" in html  # submission date
    assert "20 janvier 2026" in html  # issued on the decision date
    assert html.count("<p>") == 2


def test_a_sample_page_says_it_is_not_an_attestation(procedure):
    html = attestations.render_html(procedure, "Titre", "--Immatriculation--", "", None)
    assert "[Immatriculation]" in html
    assert 'class="sample"' in html


def test_render_pdf_makes_a_pdf_titled_for_the_dossier(procedure, dossier):
    attestations.save(procedure, True, "Carte résident n° --numéro du dossier--", "Texte", "")
    db.session.commit()
    pdf = attestations.render_pdf(procedure, dossier)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert utf16_hex(f"Carte résident n° {dossier.id}") in pdf_text_objects(pdf)


def test_render_pdf_without_a_saved_template_uses_the_default_text(procedure, dossier):
    pdf = attestations.render_pdf(procedure, dossier)
    title = attestations.DEFAULT_TITLE.replace("--numéro du dossier--", str(dossier.id))
    assert utf16_hex(title) in pdf_text_objects(pdf)


def test_a_preview_pdf_renders_texts_not_saved_yet(procedure):
    pdf = attestations.render_pdf_texts(procedure, "Aperçu --libellé démarche--", "Texte", "")
    assert utf16_hex("Aperçu Carte de stationnement résident") in pdf_text_objects(pdf)
    assert procedure.attestation_template is None
