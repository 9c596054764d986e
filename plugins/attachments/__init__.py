"""Attachments: upload, type sniffing, storage backends, virus scan, authorised download."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_appbuilder import AppBuilder

blueprint = Blueprint("attachments", __name__)


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    app.register_blueprint(blueprint)
    app.extensions.setdefault("guichet_plugins", []).append(__name__)
