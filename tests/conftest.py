"""Test fixtures. The suite runs against PostgreSQL and Redis when
``GUICHET_TEST_DATABASE_URL`` / ``GUICHET_TEST_REDIS_URL`` are set, else against a SQLite
file and eager Celery; the header and the summary say which."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.security import sync_permissions
from config import POSTGRESQL_OPTIONS

TEST_DATABASE_URL = os.environ.get("GUICHET_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("GUICHET_TEST_REDIS_URL")

# Tables whose rows survive between tests: the schema version, roles and permissions.
KEPT_TABLES = {
    "alembic_version",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_role",
    "ab_permission_view_role",
}


def backends() -> str:
    database = (
        f"PostgreSQL ({sa.engine.make_url(TEST_DATABASE_URL).render_as_string()})"
        if TEST_DATABASE_URL
        else "SQLite fallback (GUICHET_TEST_DATABASE_URL not set)"
    )
    tasks = (
        f"Celery on Redis ({TEST_REDIS_URL})"
        if TEST_REDIS_URL
        else "eager Celery fallback (GUICHET_TEST_REDIS_URL not set)"
    )
    return f"Guichet test backends: database {database}; tasks {tasks}"


def pytest_report_header(config) -> str:
    return backends()


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_sep("-", backends())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A freshly migrated test database, shared by the whole session."""
    if TEST_DATABASE_URL:
        url = sa.engine.make_url(TEST_DATABASE_URL)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        url = url.render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'guichet-test.db'}"
    app = create_app(_overrides(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        sync_permissions(app.appbuilder)
        db.engine.dispose()
    return url


def _postgresql_options(url: str) -> dict:
    if not url.startswith("postgresql"):
        return {}
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "connect_args": {"options": f"{POSTGRESQL_OPTIONS} -c synchronous_commit=off"},
        }
    }


def _overrides(url: str, instance_dir: Path, **extra) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "WTF_CSRF_ENABLED": False,
        "GUICHET_SYNC_PERMISSIONS_ON_START": False,
        # Tests sign administrators in with a password only; tests/security/ switches the
        # second factor's requirement back on (its default) and tests it through HTTP.
        "TWO_FACTOR_REQUIRED_ROLES": [],
        "TESTING": True,
        # Durability is useless in tests: no fsync per commit.
        "SQLITE_SYNCHRONOUS": "OFF",
        **_postgresql_options(extra.get("SQLALCHEMY_DATABASE_URI", url)),
        **extra,
    }


@pytest.fixture
def make_app(database_url, tmp_path) -> Iterator:
    """Build apps on the test database (with extra config); their data is wiped afterwards."""
    apps: list[Flask] = []

    def factory(**extra) -> Flask:
        app = create_app(_overrides(database_url, tmp_path / "instance", **extra))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            if app.config["SQLALCHEMY_DATABASE_URI"] == database_url:
                _empty_tables()
            db.engine.dispose()


def _empty_tables() -> None:
    tables = [t for t in db.metadata.sorted_tables if t.name not in KEPT_TABLES]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
