"""A dossier's ZIP: its files, in folders, and a PDF of its answers."""

import io
import zipfile

import sqlalchemy as sa
from flask_babel import gettext

from app.extensions import db
from app.models import Attachment, Dossier, FieldDefinition, ScanStatus
from plugins.attachments import zipping

from .conftest import PDF, PNG, message, pdf_of


def read(archive) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(archive)))


def test_the_archive_holds_form_message_and_decision_files_in_folders(world):
    with world.app.test_request_context():
        world.store(PDF, "piece.pdf", dossier=world.submitted_id)
        world.store(PNG, "plan.png", field="plan", dossier=world.submitted_id)
        message_id = message(world.submitted_id, world.user("owner"))
        sent = world.store(
            pdf_of(100, "m"), "courrier.pdf", use="message", dossier=world.submitted_id
        )
        db.session.get(Attachment, sent).message_id = message_id
        world.store(
            pdf_of(100, "j"),
            "motifs.pdf",
            use="justification",
            dossier=world.submitted_id,
            uploader="agent",
        )
        world.store(pdf_of(100, "u"), "brouillon.pdf", use="message", dossier=world.submitted_id)
        db.session.commit()
        dossier = db.session.get(Dossier, world.submitted_id)
        archive = zipping.dossier_archive(dossier)
        size = len(archive)
        content = b"".join(archive)
        assert len(content) == size
        names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
        decision = gettext("Decision")
    assert names == {
        f"dossier-{world.submitted_id}.pdf",
        "Pièce justificative/piece.pdf",
        "Plan/plan.png",
        "Messages/courrier.pdf",
        f"{decision}/motifs.pdf",
    }


def test_infected_and_pending_files_are_left_out(world):
    with world.app.test_request_context():
        infected = world.store(PDF, "virus.pdf", dossier=world.submitted_id)
        pending = world.store(pdf_of(100, "p"), "attente.pdf", dossier=world.submitted_id)
        db.session.get(Attachment, infected).scan_status = ScanStatus.infected
        db.session.get(Attachment, pending).scan_status = ScanStatus.pending
        db.session.commit()
        names = read(
            zipping.dossier_archive(db.session.get(Dossier, world.submitted_id))
        ).namelist()
    assert names == [f"dossier-{world.submitted_id}.pdf"]


def test_answer_rows_use_the_field_definitions_and_keep_annotations_apart(world):
    with world.app.test_request_context():
        dossier = db.session.get(Dossier, world.submitted_id)
        revision_id = dossier.revision_id
        db.session.add(
            FieldDefinition(
                revision_id=revision_id,
                stable_id="s1",
                type="header_section",
                label="L'établissement",
                position=0,
            )
        )
        dossier.answers = {"nom": "Boulangerie du Parc"}
        dossier.annotations = {}
        db.session.commit()
        world.store(PDF, "piece.pdf", dossier=world.submitted_id)
        fields = zipping._fields(dossier)
        files = zipping.dossier_files(dossier)
        rows = zipping.answer_rows(dossier, files, fields, private=False)
        assert [(r.label, r.text, r.heading) for r in rows] == [
            ("L'établissement", "", True),
            ("Pièce justificative", "piece.pdf", False),
            ("Plan", "", False),
            ("Nom de l'établissement", "Boulangerie du Parc", False),
        ]
        annotations = zipping.answer_rows(dossier, files, fields, private=True)
        assert [r.label for r in annotations] == ["Note interne"]


def test_the_answers_pdf_is_a_pdf_that_fetches_nothing(world):
    with world.app.test_request_context():
        dossier = db.session.get(Dossier, world.submitted_id)
        dossier.answers = {"nom": '<img src="http://127.0.0.1:9/x.png">'}
        db.session.commit()
        pdf = zipping.answers_pdf(dossier)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


def test_values_are_written_by_their_field_type_when_it_knows_them(world):
    with world.app.app_context():
        field = db.session.scalar(
            sa.select(FieldDefinition).where(FieldDefinition.stable_id == "nom")
        )
        assert zipping.as_text(field, "Café") == "Café"
        assert zipping.as_text(field, None) == ""
        field.type = "no_such_type"
        assert zipping.as_text(field, 42) == "42"
        db.session.rollback()
