"""Large procedures get indexes on the fields their agents sort and filter by, and lose
those nobody uses any more."""

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from workspace_data import S, agent, dossier, procedure_with_form

import factories as make
from app.cli import guichet
from app.extensions import db
from app.models import SavedView
from app.services import table_indexes


def index_names() -> set[str]:
    return {
        ix["name"]
        for ix in sa.inspect(db.engine).get_indexes("dossier")
        if ix["name"].startswith(table_indexes.PREFIX)
    }


def view(user, procedure, sort=None, filters=()):
    saved = db.session.scalar(sa.select(SavedView).where(SavedView.user_id == user.id))
    if saved is None:
        saved = SavedView(user_id=user.id, procedure_id=procedure.id)
        db.session.add(saved)
    saved.sort = {"column": sort, "direction": "asc"} if sort else {}
    saved.filters = list(filters)
    db.session.commit()


@pytest.fixture
def large(app):
    with app.app_context(), app.test_request_context():
        me = agent()
        procedure = procedure_with_form(me)
        applicant = make.user()
        for _ in range(3):
            dossier(procedure, applicant, S.submitted)
        small = procedure_with_form(me)
        dossier(small, applicant, S.submitted)
        yield me, procedure, small


def test_the_fields_in_saved_views_of_large_procedures_get_an_index(large):
    me, procedure, small = large
    if db.engine.dialect.name != "postgresql":
        assert table_indexes.ensure(1) == table_indexes.Report()  # SQLite: nothing to do
        return
    view(me, procedure, "field:title", [{"column": "field:start", "operator": "lt"}])
    other = agent()
    view(other, small, "field:amount")  # one dossier: below any threshold but 1
    assert set(table_indexes.wanted(3)) == {
        "ix_table_answers_title",
        "ix_table_answers_start",
    }
    report = table_indexes.ensure(3)
    assert set(report.created) == {"ix_table_answers_title", "ix_table_answers_start"}
    assert index_names() == set(report.created)
    assert table_indexes.ensure(3).created == ()  # already there
    view(me, procedure, "annotation:score", [{"column": "field:kind", "operator": "in"}])
    report = table_indexes.ensure(3)
    assert set(report.created) == {"ix_table_annotations_score", "ix_table_answers_kind"}
    assert set(report.dropped) == {"ix_table_answers_title", "ix_table_answers_start"}
    assert index_names() == set(report.created)
    result = CliRunner().invoke(guichet, ["table-indexes", "--min-dossiers", "100"])
    assert result.exit_code == 0, result.output
    assert "created: -" in result.output and "ix_table_answers_kind" in result.output
    assert index_names() == set()
