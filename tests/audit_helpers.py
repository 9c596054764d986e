"""Wiring and tampering shared by the tests of the audit log, retention and headers.

``create_app`` calls ``audit.init_app``, ``security_headers.init_app`` and
``register_retention`` and registers the journal views once its owner adds the lines
(until then, and harmlessly after, ``wire`` does it for a test's app). ``tamper`` changes
the audit table behind the application's back, as someone with database access would:
on PostgreSQL it first switches the append-only trigger off for its transaction
(``session_replication_role`` needs a superuser, which the test database's role is).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app import security_headers
from app.extensions import db
from app.models import AuditEvent
from app.security import sync_permissions
from app.services import audit
from app.views.audit import register as register_audit_views
from app.views.retention import register_retention


def wire(app: Flask) -> Flask:
    """Everything this issue adds, on one app; idempotent."""
    with app.app_context():
        audit.init_app(app)
        security_headers.init_app(app)
        if "retention.extend" not in app.view_functions:
            register_retention(app)
        if "PlatformJournalView.index" not in app.view_functions:
            register_audit_views(app.appbuilder)
            sync_permissions(app.appbuilder)
    return app


def tamper(*statements: sa.Executable | str) -> None:
    """Run ``statements`` (SQL text or SQLAlchemy statements) in one transaction of their
    own, the append-only trigger off."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            connection.execute(sa.text(statement) if isinstance(statement, str) else statement)


def entries(action: str | None = None) -> list[sa.Row]:
    """The audit entries (of ``action``), oldest first, as plain rows that outlive the
    session (the outbox rolls it back when an app context ends)."""
    table = AuditEvent.__table__
    statement = sa.select(table).order_by(table.c.id)
    if action is not None:
        statement = statement.where(table.c.action == action)
    return list(db.session.execute(statement))


def verify_cli(app: Flask, *args: str):
    """``flask guichet audit verify``, as an operator runs it."""
    return app.test_cli_runner().invoke(args=["guichet", "audit", "verify", *args])
