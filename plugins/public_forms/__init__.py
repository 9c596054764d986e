"""The applicant portal: accounts, form renderer, drafts, submission, "my dossiers".

One blueprint, ``public_forms``, whose routes live in the modules of ``views/``; it owns
``/`` and the French paths of the portal (``/commencer/<slug>``, ``/mes-dossiers``…).
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_appbuilder import AppBuilder
from flask_babel import get_locale

blueprint = Blueprint(
    "public_forms",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/portal",
)


@blueprint.app_context_processor
def portal_context() -> dict:
    return {"portal_locale": str(get_locale() or "fr")}


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    from .views import accounts, catalogue, dossiers, filing, prefill  # noqa: F401  (routes)

    app.register_blueprint(blueprint)
    app.extensions.setdefault("guichet_plugins", []).append(__name__)
