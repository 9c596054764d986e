"""The dossier message thread and its notifications."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_appbuilder import AppBuilder

blueprint = Blueprint("messaging", __name__)


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    app.register_blueprint(blueprint)
    app.extensions.setdefault("guichet_plugins", []).append(__name__)
