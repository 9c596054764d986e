"""The registry and the condition language read ``FieldDefinition`` rows as they come from
the database (and before they are flushed), without a query per field."""

import sqlalchemy as sa
from flask_babel import force_locale

import factories
from app import conditions
from app.extensions import db
from app.fields import field_specs, validate_answers
from app.models import FieldDefinition


def rows(revision) -> list[FieldDefinition]:
    block = FieldDefinition(stable_id="enfants", type="repetition", label="Enfants", position=2)
    revision.fields.extend(
        [
            FieldDefinition(stable_id="nb", type="integer", label="Nombre", position=1),
            block,
            FieldDefinition(
                stable_id="prenom", type="text", label="Prénom", parent=block, required=True,
                position=3, condition={"field": "nb", "op": "ge", "value": 1},
            ),
            FieldDefinition(stable_id="suite", type="text", label="Suite", position=4,
                            condition={"field": "prenom", "op": "empty"}),
            FieldDefinition(stable_id="note", type="text", label="Note", private=True, position=5),
        ]
    )  # fmt: skip
    return list(revision.fields)


def shape(specs) -> list:
    return [(spec.stable_id, [child.stable_id for child in spec.children]) for spec in specs]


def test_unflushed_rows_are_read_through_their_relationships(app) -> None:
    with app.app_context():
        procedure = factories.procedure(factories.administration())
        fields = rows(procedure.published_revision)
        assert all(field.parent_id is None for field in fields)
        assert shape(field_specs(fields)) == [
            ("nb", []), ("enfants", ["prenom"]), ("suite", []), ("note", []),
        ]  # fmt: skip


def test_stored_rows_are_read_without_a_query_per_field(app) -> None:
    with app.app_context():
        procedure = factories.procedure(factories.administration())
        rows(procedure.published_revision)
        db.session.commit()
        revision_id = procedure.published_revision.id
        db.session.expunge_all()

        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany) -> None:
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            revision_fields = db.session.scalars(
                sa.select(FieldDefinition)
                .where(FieldDefinition.revision_id == revision_id)
                .order_by(FieldDefinition.position)
            ).all()
            specs = field_specs(revision_fields)
            visible = conditions.visible_fields(revision_fields, {"nb": 1})
            cleaned, errors = validate_answers(
                revision_fields, {"nb": "1", "enfants": [{"prenom": "Léa"}], "note": "x"}
            )
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert shape(specs)[1] == ("enfants", ["prenom"])
        assert visible == {"nb", "enfants", "prenom", "suite", "note"}
        assert (cleaned, errors) == ({"nb": 1, "enfants": [{"prenom": "Léa"}]}, {})
        assert len(statements) == 1


def test_conditions_of_rows_are_checked_like_the_publication_does(app) -> None:
    with app.test_request_context(), force_locale("en"):
        procedure = factories.procedure(factories.administration())
        fields = rows(procedure.published_revision)
        problems = [
            problem
            for field in fields
            if field.condition
            for problem in conditions.validate(field.condition, field, fields)
        ]
        assert problems == ["“Prénom” is inside a repeated block: conditions cannot use it."]
