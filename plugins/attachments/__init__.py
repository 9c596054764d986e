"""Attachments: upload, type sniffing, storage backends, virus scan, authorised download.

Other plugins use ``plugins.attachments.services`` (store an upload, attach it, check
pending scans, authorised download address) and never the storage directly.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder

from app import signals

from .services import DEFAULT_LIMITS, MB

CONFIG_FROM_ENVIRONMENT = (
    "STORAGE_BACKEND",
    "S3_ENDPOINT_URL",
    "S3_BUCKET",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION",
)
CLEANUP_EVERY_SECONDS = 3600.0


def configure(app: Flask) -> None:
    """Defaults for the plugin's settings, from the environment unless the app sets them.

    ``ATTACHMENT_LIMITS`` maps a use to its size limit in bytes; each use can also be set
    in megabytes by ``ATTACHMENT_LIMIT_<USE>_MB`` (``ATTACHMENT_LIMIT_MESSAGE_MB=50``).
    """
    for name in CONFIG_FROM_ENVIRONMENT:
        app.config.setdefault(name, os.environ.get(name) or None)
    app.config["STORAGE_BACKEND"] = app.config["STORAGE_BACKEND"] or "local"
    app.config.setdefault("CLAMD_TIMEOUT", float(os.environ.get("CLAMD_TIMEOUT") or 120))
    app.config.setdefault(
        "ATTACHMENT_ORPHAN_AGE_HOURS", float(os.environ.get("ATTACHMENT_ORPHAN_AGE_HOURS") or 24)
    )
    limits: dict[str, Any] = {str(use): size for use, size in DEFAULT_LIMITS.items()}
    for use in DEFAULT_LIMITS:
        from_env = os.environ.get(f"ATTACHMENT_LIMIT_{str(use).upper()}_MB")
        if from_env:
            limits[str(use)] = int(float(from_env) * MB)
    limits.update(app.config.get("ATTACHMENT_LIMITS") or {})
    app.config["ATTACHMENT_LIMITS"] = limits


def _delete_files_of_deleted_dossier(sender, dossier, **_extra) -> None:
    """A dossier is being deleted (retention, draft expiry): its files go with it."""
    from .services import delete_dossier_files

    delete_dossier_files(dossier.id)


def _copy_procedure_files(source, copy, **_extra) -> None:
    """A procedure was cloned: the copy gets the same logo, notice and signature."""
    from . import procedure_files

    procedure_files.copy_files(source, copy)


def init_app(app: Flask, appbuilder: AppBuilder) -> None:
    configure(app)
    from app.services import attestations

    from . import admin_views, procedure_files, scanning, services, tasks, views  # noqa: F401

    services.listen_for_deletions()
    appbuilder.add_view_no_menu(admin_views.ProcedureFilesView)
    app.add_template_global(admin_views.file_choice, "procedure_file")
    attestations.set_image_source(app, procedure_files.image_data_url)
    signals.dossier_deleting.connect(_delete_files_of_deleted_dossier, weak=False)
    signals.procedure_cloned.connect(_copy_procedure_files, weak=False)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # The views check the same token themselves and answer the portal's script in
        # JSON, in the applicant's language, rather than with a bare HTML 400.
        csrf.exempt(views.blueprint)
    app.register_blueprint(views.blueprint)
    app.extensions["celery"].conf.beat_schedule["attachments-cleanup-orphans"] = {
        "task": tasks.CLEANUP_TASK,
        "schedule": CLEANUP_EVERY_SECONDS,
    }
    app.extensions.setdefault("guichet_plugins", []).append(__name__)
