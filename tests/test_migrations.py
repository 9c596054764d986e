"""The migrations build the schema the models describe, on the test database."""

import pytest
import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade

from app.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context():
        check()  # raises when autogenerate finds any difference


def test_migrations_upgrade_an_empty_database_and_downgrade_it(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}")
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"dossier", "procedure", "ab_user", "outbox_event", "audit_event"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}


def test_postgresql_has_the_agent_table_indexes_and_french_search(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL-only objects")
        indexes = {ix["name"]: ix for ix in sa.inspect(db.engine).get_indexes("dossier")}
        assert {"ix_dossier_procedure_table", "ix_dossier_answers_gin"} <= set(indexes)
        vector = db.session.scalar(
            sa.text("SELECT to_tsvector('guichet_fr', 'Élève inscrit à la cantine')::text")
        )
        assert "'elev'" in vector  # accent removed, then stemmed
