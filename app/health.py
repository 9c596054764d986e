"""``/healthz``: is the database reachable, and is the task broker?"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .extensions import db

blueprint = Blueprint("health", __name__)


def database_status() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return "unavailable"


def broker_status() -> str:
    celery = current_app.extensions["celery"]
    if celery.conf.task_always_eager:
        return "eager"
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:  # kombu raises transport-specific errors
        return "unavailable"


@blueprint.get("/healthz")
def healthz():
    checks = {"database": database_status(), "broker": broker_status()}
    healthy = all(value in ("ok", "eager") for value in checks.values())
    checks["status"] = "ok" if healthy else "degraded"
    return jsonify(checks), 200 if healthy else 503
