"""Guichet: public administrations put their procedures online without code.

``create_app()`` is found by Flask's own discovery: ``flask --app app guichet …``.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_appbuilder import AppBuilder

from config import BASE_DIR, load_config

from . import security_headers
from .extensions import csrf, db, init_celery, limiter, migrate
from .services import audit, outbox, search

log = logging.getLogger(__name__)


def _tune_sqlite(engine: sa.Engine, synchronous: str) -> None:
    """SQLite (the embedded default): write-ahead log, so readers never wait for the
    writer, and no fsync on every commit (``NORMAL`` stays safe against corruption;
    the test suite uses ``OFF``)."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def set_pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build one Guichet application. Every call makes a new, independent app."""
    config = load_config(overrides)
    app = Flask(__name__, instance_path=config["INSTANCE_DIR"], instance_relative_config=False)
    app.config.update(config)

    from . import models  # noqa: F401  (registers every table before FAB and Alembic look)

    db.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine, app.config.get("SQLITE_SYNCHRONOUS", "NORMAL"))
    outbox.init_app(app)  # after db: its teardown runs before the session is removed
    search.init_app(app)  # keeps dossier_search in step with every change of a dossier
    audit.init_app(app)  # records state changes, answer changes, memberships…
    security_headers.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    init_celery(app)
    csrf.init_app(app)  # before AppBuilder, which exempts its API blueprints when it sees it
    limiter.init_app(app)

    with app.app_context():
        # One AppBuilder per app: a shared module-level one leaves later apps without routes.
        from .views.home import BackOfficeIndexView

        appbuilder = AppBuilder(indexview=BackOfficeIndexView, update_perms=False)
        appbuilder.init_app(app, db.session)
        from . import views

        views.register(appbuilder)
        for name in app.config["PLUGINS"]:
            importlib.import_module(name).init_app(app, appbuilder)
        if app.config["GUICHET_SYNC_PERMISSIONS_ON_START"]:
            from .security import sync_permissions_if_migrated

            sync_permissions_if_migrated(appbuilder)

    from . import cli, health
    from .services import mail  # noqa: F401  (registers its outbox handler)

    app.register_blueprint(health.blueprint)
    from .views.retention import register_retention
    from .views.stats import register_stats

    register_stats(app)  # after the plugins: its pages extend the portal's base template
    register_retention(app)
    app.cli.add_command(cli.guichet)
    return app
