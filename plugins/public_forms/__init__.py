"""The applicant portal: accounts, form renderer, drafts, submission, "my dossiers"."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_appbuilder import AppBuilder

blueprint = Blueprint(
    "public_forms",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/portal",
)


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    app.register_blueprint(blueprint)
    app.extensions.setdefault("guichet_plugins", []).append(__name__)
