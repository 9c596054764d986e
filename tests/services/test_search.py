"""The full-text documents of dossiers, kept up to date by the session, whoever writes."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, procedure_with_form

import factories as make
from app import workflow
from app.extensions import db
from app.models import Dossier, DossierSearch
from app.services import search
from app.workflow import Event


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me = agent()
        applicant = make.user(email="claire.dupont@example.org")
        procedure = procedure_with_form(me)
        yield SimpleNamespace(app=app, me=me, applicant=applicant, procedure=procedure)


def document(dossier_id: int):
    return db.session.scalar(
        sa.select(sa.cast(DossierSearch.document, sa.Text)).where(
            DossierSearch.dossier_id == dossier_id
        )
    )


def matches(text: str, procedure_id: int | None = None) -> set[int]:
    dialect = db.engine.dialect.name
    ids = None if procedure_id is None else [procedure_id]
    return set(db.session.scalars(search.matching(text, dialect, ids)))


def test_a_submitted_dossier_is_indexed_with_its_number_names_answers_and_annotations(world):
    item = dossier(
        world.procedure,
        world.applicant,
        S.submitted,
        identity={"kind": "person", "first_name": "Éloïse", "last_name": "Lefèvre"},
        answers={
            "title": "Jardin partagé",
            "start": "2024-12-25",
            "aid": True,
            "dept": "69",
            "file": [12],
        },
        annotations={"note": "Très bon dossier"},
    )
    text = search.document_text(
        search.Indexed(
            id=item.id,
            procedure_id=item.procedure_id,
            revision_id=item.revision_id,
            owner_id=item.owner_id,
            state=item.state,
            identity=item.identity,
            on_behalf_of=None,
            answers=item.answers,
            annotations=item.annotations,
        ),
        search._forms(db.session.connection(), {item.revision_id})[item.revision_id],
        {world.applicant.id: world.applicant.email},
    )
    for piece in (
        str(item.id),
        "Éloïse",
        "Lefèvre",
        "claire.dupont@example.org",
        "Jardin partagé",
        "25/12/2024",
        "Oui",
        "Rhône",
        "Très bon dossier",
    ):
        assert piece in text, piece
    assert "fichier" not in text  # files say nothing worth finding
    assert document(item.id)
    assert matches("eloise lefevre") == {item.id}
    assert matches("rhone") == {item.id}
    assert matches(str(item.id)) == {item.id}
    assert matches("dupont") == {item.id}


def test_drafts_are_not_indexed_until_submitted_through_the_workflow(world):
    item = dossier(world.procedure, world.applicant, S.draft, answers={"title": "Kermesse"})
    assert document(item.id) is None
    item.group = world.procedure.groups[0]
    workflow.apply(item, Event.submit, world.applicant)
    db.session.commit()
    assert matches("kermesse") == {item.id}


def test_changing_answers_annotations_or_identity_reindexes(world):
    item = dossier(world.procedure, world.applicant, answers={"title": "Kermesse"})
    item.answers = {"title": "Brocante"}
    db.session.commit()
    assert matches("kermesse") == set() and matches("brocante") == {item.id}
    item.annotations = {"note": "incomplet"}
    db.session.commit()
    assert matches("incomplet") == {item.id}
    item.identity = {"kind": "company", "name": "Boulangerie Germain", "siret": "73282932000074"}
    db.session.commit()
    assert matches("germain") == {item.id}


def test_other_changes_do_not_rewrite_the_document(world):
    item = dossier(world.procedure, world.applicant, answers={"title": "Kermesse"})
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        item.archived = True
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert not [sql for sql in statements if "dossier_search" in sql]


def test_a_rolled_back_change_leaves_the_document_as_it_was(world):
    item = dossier(world.procedure, world.applicant, answers={"title": "Kermesse"})
    item.answers = {"title": "Brocante"}
    db.session.flush()
    assert matches("brocante") == {item.id}
    db.session.rollback()
    assert matches("brocante") == set() and matches("kermesse") == {item.id}


def test_a_deleted_dossier_loses_its_document(world):
    item = dossier(world.procedure, world.applicant, answers={"title": "Kermesse"})
    number = item.id
    db.session.delete(item)
    db.session.commit()
    assert document(number) is None


def test_rebuild_indexes_what_core_statements_wrote(world):
    item = dossier(world.procedure, world.applicant, answers={"title": "Kermesse"})
    db.session.execute(
        sa.update(Dossier).where(Dossier.id == item.id).values(answers={"title": "Vide-grenier"})
    )
    db.session.commit()
    assert matches("grenier") == set()  # the session never saw that write
    assert search.rebuild(world.procedure.id, batch_size=1) == 1
    assert matches("grenier") == {item.id}


def test_search_is_limited_to_the_procedures_asked(world):
    other = procedure_with_form(world.me)
    here = dossier(world.procedure, world.applicant, answers={"title": "Kermesse"})
    there = dossier(other, world.applicant, answers={"title": "Kermesse"})
    assert matches("kermesse") == {here.id, there.id}
    assert matches("kermesse", world.procedure.id) == {here.id}


def test_the_document_is_written_in_the_platform_language_whoever_saves(world):
    with world.app.test_request_context("/?_l_=en"):
        from flask_babel import gettext

        assert gettext("No") == "No"  # an agent reading in English saves the dossier
        item = dossier(world.procedure, world.applicant, answers={"aid": False})
    assert matches("non") == {item.id}


def test_postgresql_stores_a_french_vector_and_sqlite_folded_text(world):
    item = dossier(world.procedure, world.applicant, answers={"title": "Les Médiathèques"})
    stored = document(item.id)
    if db.engine.dialect.name == "postgresql":
        assert "'mediathequ'" in stored  # French stem, without accents
        assert matches("médiathèque") == {item.id}  # stemming finds the singular too
    else:
        assert "les mediatheques" in stored
        assert matches("MÉDIATHÈQUE") == {item.id}
