"""On PostgreSQL, a CSV export whose columns PostgreSQL can write is written by ``COPY``
(``tables.text_statement``): its cells must be exactly those of the Python writer."""

import csv
import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, follow, group, label, procedure_with_form

import factories as make
from app.extensions import db
from app.models import AuthorKind, CorrectionReason, Follow, Message, utcnow
from app.services import exports, search, tables
from app.services.tables import DEFAULT_COLUMNS, Sort, TableQuery

COLUMNS = (*DEFAULT_COLUMNS, "decided_at", "field:title", "field:aid_detail", "annotation:note")
"""Every system column, free text answers and a free text annotation."""

TITLES = [
    "Médiathèque",
    '=HYPERLINK("http://evil")',
    "-2+3",
    "@SUM(A1)",
    "\tTabulé",
    'Point-virgule ; et « guillemets » "doubles"',
    "Deux\nlignes",
    "   ",
    "",
    None,
    "  espaces autour  ",
]


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("COPY is PostgreSQL's")
        me, colleague, nameless = agent(), agent(), agent()
        colleague.first_name, colleague.last_name = "Zoé", "=Alpha"
        nameless.first_name, nameless.last_name = "", ""
        applicant = make.user()
        procedure = procedure_with_form(me, colleague, nameless)
        second = group(procedure, "Groupe B")
        second.name = "+Groupe B"
        second.members.append(me)
        identities = [
            {"kind": "company", "name": "=Société"},
            {"kind": "person", "first_name": "Anne", "last_name": ""},
            {},
            {"kind": "person", "first_name": "Jean", "last_name": "Dupont"},
        ]
        states = [S.submitted, S.in_review, S.accepted, S.refused]
        made = []
        for index, title in enumerate(TITLES):
            answers = {"title": title, "aid_detail": 12 if index == 3 else "Oui, 200 €"}
            made.append(
                dossier(
                    procedure,
                    applicant,
                    states[index % len(states)],
                    answers=answers,
                    annotations={"note": "Ligne 1\r\nLigne 2"} if index == 0 else {},
                    identity=identities[index % len(identities)],
                    group_=second if index % 3 == 0 else None,
                )
            )
        for person in (me, colleague, nameless):
            follow(made[0], person)
        follow(made[1], colleague)
        follow(made[2], me)
        label(procedure, "Urgent", made[0], made[1])
        label(procedure, "-moins", made[0])
        db.session.execute(
            sa.update(Follow)
            .where(Follow.user_id == me.id)
            .values(messages_seen_at=utcnow() - timedelta(hours=1))
        )
        for item, minutes, extra in (
            (made[0], 10, {}),
            (made[0], 5, {}),
            (made[0], 120, {}),
            (made[2], 3, {"correction_reason": CorrectionReason.incomplete}),
        ):
            db.session.add(
                Message(
                    dossier_id=item.id,
                    author_id=applicant.id,
                    author_kind=AuthorKind.applicant,
                    body="…",
                    created_at=utcnow() - timedelta(minutes=minutes),
                    **extra,
                )
            )
        db.session.commit()
        yield SimpleNamespace(me=me, procedure=procedure, made=made)


def written(world, tmp_path: Path, *, copy: bool, **changes) -> tuple[list[list[str]], bool]:
    """The CSV's rows, and whether PostgreSQL wrote them."""
    columns = tables.catalogue(world.procedure, world.me)
    values = {"tab": "all", "columns": COLUMNS, "sort": Sort("number", "asc"), **changes}
    query = tables.validate(TableQuery(world.procedure.id, **values), columns)
    used = []
    real = tables.text_statement

    def spy(*args, **kwargs):
        statement = real(*args, **kwargs) if copy else None
        used.append(statement is not None)
        return statement

    folder = tmp_path / ("copy" if copy else "python")
    folder.mkdir()
    original, tables.text_statement = tables.text_statement, spy
    try:
        path, _media = exports.write_export(
            folder, "csv", world.procedure, query, world.me, columns
        )
    finally:
        tables.text_statement = original
    db.session.rollback()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";")), any(
        used
    )


@pytest.mark.parametrize(
    "sort", [Sort("number", "asc"), Sort("applicant", "desc"), Sort("field:title", "asc")]
)
def test_postgresql_writes_the_same_cells_as_python(world, tmp_path, sort):
    by_python, copied = written(world, tmp_path, copy=False, sort=sort)
    assert not copied
    by_postgresql, copied = written(world, tmp_path, copy=True, sort=sort)
    assert copied
    assert by_postgresql == by_python
    assert len(by_python) == 1 + len(TITLES)
    cells = {row[0]: dict(zip(by_python[0], row, strict=True)) for row in by_python[1:]}
    first = cells[str(world.made[0].id)]
    names = tables.catalogue(world.procedure, world.me).columns
    assert first[names["applicant"].label] == "'=Société"
    assert first[names["group"].label] == "'+Groupe B"
    assert first[names["labels"].label] == "'-moins, Urgent"
    assert first[names["messages"].label] == "2"
    assert first[names["annotation:note"].label] == "Ligne 1\r\nLigne 2"
    titles = [cells[str(item.id)][names["field:title"].label] for item in world.made]
    assert titles[:8] == [
        "Médiathèque",
        '\'=HYPERLINK("http://evil")',
        "'-2+3",
        "'@SUM(A1)",
        "'\tTabulé",
        TITLES[5],
        "Deux\nlignes",
        "",
    ]
    assert cells[str(world.made[3].id)][names["field:aid_detail"].label] == "12"


def test_columns_postgresql_cannot_format_leave_the_export_to_python(world, tmp_path):
    rows, copied = written(world, tmp_path, copy=True, columns=("number", "field:amount"))
    assert not copied
    assert len(rows) == 1 + len(TITLES)


def test_progress_is_reported_while_postgresql_writes(world, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(exports, "CHUNK_SIZE", 4)
    monkeypatch.setattr(exports, "_report_progress", lambda job_id, done: seen.append(done))
    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(
        TableQuery(world.procedure.id, tab="all", columns=("number", "field:title")), columns
    )
    exports.write_export(tmp_path, "csv", world.procedure, query, world.me, columns, job_id=1)
    assert seen == [4, 8]  # 11 rows, one of them on two lines
