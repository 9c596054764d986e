"""The dossier message thread and its notifications.

One conversation per dossier between its applicant (and co-editors) and the agents who
instruct it, experts included when the procedure allows: plain-text messages with files,
correction requests that send the dossier back to the applicant, grouped notification
mails, unread counters, and a message to every applicant with a draft.

Other parts use ``plugins.messaging.services`` (``thread_summary``, ``unread_counts``,
``pending_corrections``…) and link ``url_for('messaging.thread', number=dossier.id)``.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask
from flask_appbuilder import AppBuilder

blueprint = Blueprint(
    "messaging",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/messaging/static",
)


def configure(app: Flask) -> None:
    """``MESSAGING_NOTIFICATION_DELAY``: seconds a message waits before its notification
    leaves, so that messages written meanwhile share one mail. Default: 300 with a broker;
    0 without (the embedded default runs no Celery beat to hand delayed events over)."""
    from .notifications import DEFAULT_DELAY_SECONDS

    from_env = os.environ.get("MESSAGING_NOTIFICATION_DELAY")
    default = DEFAULT_DELAY_SECONDS if app.config.get("CELERY_BROKER_URL") else 0
    app.config.setdefault("MESSAGING_NOTIFICATION_DELAY", float(from_env) if from_env else default)


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    from app import signals

    from . import models, notifications, rendering, services, tasks, views  # noqa: F401

    configure(app)
    signals.dossier_submitted.connect(services.resolve_corrections)
    app.add_template_filter(rendering.message_html, "message_html")
    app.register_blueprint(blueprint)
    app.extensions.setdefault("guichet_plugins", []).append(__name__)
