"""Guichet configuration, read from environment variables with safe defaults.

Every setting an operator may change is listed in the README's configuration table.
The embedded default (no variable set) runs on SQLite with eager Celery, files in
``instance/`` and mails written to an outbox folder; production (``GUICHET_ENV=production``)
refuses to start on SQLite or without an explicit ``SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent

PLUGINS = [
    "plugins.public_forms",
    "plugins.attachments",
    "plugins.messaging",
]


class ConfigurationError(RuntimeError):
    """Raised when a configuration is unsafe or incomplete for its environment."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _instance_dir() -> Path:
    return Path(_env("GUICHET_INSTANCE_DIR", str(BASE_DIR / "instance"))).resolve()


def _secret_key(instance_dir: Path) -> str:
    """The configured secret, else one generated once into ``instance/secret_key``."""
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _database_url(instance_dir: Path) -> str:
    url = _env("DATABASE_URL", f"sqlite:///{instance_dir / 'guichet.db'}")
    # Heroku-style URLs and bare postgresql:// mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _roles(value: str) -> list[str]:
    """A comma-separated list of role names (``none`` or empty: no role)."""
    if value.strip().lower() == "none":
        return []
    return [name.strip() for name in value.split(",") if name.strip()]


POSTGRESQL_OPTIONS = "-c jit=off -c plan_cache_mode=force_custom_plan"
"""The settings of every PostgreSQL connection of the application (see ``_engine_options``)."""


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        # JIT added over a second to large export queries (performance-notes.md). psycopg
        # prepares a statement run five times, and PostgreSQL then may plan it once for
        # any values: blind to the procedure, the groups and the page's position, a table
        # page went from 20 ms to 600 ms after a dozen pages. Plan with the values, always.
        return {
            "pool_pre_ping": True,
            "pool_size": int(_env("DATABASE_POOL_SIZE", "10")),
            "connect_args": {"options": POSTGRESQL_OPTIONS},
        }
    return {"connect_args": {"timeout": 30}}


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping of one Flask app."""
    overrides = dict(overrides or {})
    instance_dir = Path(overrides.pop("INSTANCE_DIR", None) or _instance_dir())
    env = overrides.get("GUICHET_ENV", _env("GUICHET_ENV", "development"))
    database_url = overrides.get("SQLALCHEMY_DATABASE_URI") or _database_url(instance_dir)
    broker_url = overrides.get("CELERY_BROKER_URL", _env("CELERY_BROKER_URL"))

    config: dict[str, Any] = {
        "GUICHET_ENV": env,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance_dir),
        "SECRET_KEY_GENERATED": not (overrides.get("SECRET_KEY") or _env("SECRET_KEY")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Celery: no broker means tasks run inline (the embedded default).
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": _env("CELERY_RESULT_BACKEND"),
        # Files, mail, antivirus
        "STORAGE_DIR": _env("STORAGE_DIR", str(instance_dir / "files")),
        "MAIL_SERVER": _env("MAIL_SERVER"),
        "MAIL_PORT": int(_env("MAIL_PORT", "25")),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _env("MAIL_USE_TLS", "false").lower() in ("1", "true", "yes"),
        "MAIL_DEFAULT_SENDER": _env("MAIL_DEFAULT_SENDER", "Guichet <noreply@guichet.localhost>"),
        "MAIL_OUTBOX_DIR": _env("MAIL_OUTBOX_DIR", str(instance_dir / "outbox")),
        "CLAMD_URL": _env("CLAMD_URL"),
        "PUBLIC_URL": _env("PUBLIC_URL", "http://127.0.0.1:5000"),
        "PLUGINS": list(PLUGINS),
        # Flask-AppBuilder. Tables come from Alembic migrations, never from create_all,
        # and permissions are synced by app.security.sync_permissions.
        "APP_NAME": "Guichet",
        "AUTH_TYPE": AUTH_DB,
        "AUTH_ROLE_ADMIN": "Admin",
        "AUTH_ROLE_PUBLIC": "Public",
        "FAB_CREATE_DB": False,
        "FAB_UPDATE_PERMS": False,
        "FAB_ADD_SECURITY_VIEWS": True,
        "FAB_PASSWORD_HASH_METHOD": "scrypt",
        # Rate limits (Flask-Limiter): in memory for one process, Redis in production.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "PORTAL_LOGIN_RATE_LIMIT": _env("PORTAL_LOGIN_RATE_LIMIT", "10/minute"),
        "PORTAL_MAIL_RATE_LIMIT": _env("PORTAL_MAIL_RATE_LIMIT", "5/hour"),
        "PORTAL_FORM_RATE_LIMIT": _env("PORTAL_FORM_RATE_LIMIT", "10/minute"),
        "PORTAL_FORM_MAX_BYTES": int(_env("PORTAL_FORM_MAX_BYTES", str(2 * 1024 * 1024))),
        "ACCESSIBILITY_CONTACT_EMAIL": _env("ACCESSIBILITY_CONTACT_EMAIL"),
        # REST API and webhooks (docs/api.md)
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "600/minute"),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": _env("WEBHOOK_ALLOW_PRIVATE_TARGETS", "false").lower()
        in ("1", "true", "yes"),
        "WEBHOOK_MAX_FAILURES": int(_env("WEBHOOK_MAX_FAILURES", "15")),
        "WEBHOOK_TIMEOUT_SECONDS": float(_env("WEBHOOK_TIMEOUT_SECONDS", "10")),
        # Procedures from this many dossiers get indexes on the fields their agents sort
        # and filter by (services/table_indexes.py).
        "TABLE_INDEX_MIN_DOSSIERS": int(_env("TABLE_INDEX_MIN_DOSSIERS", "20000")),
        "GUICHET_SYNC_PERMISSIONS_ON_START": True,
        # Languages: French first, English available.
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "translations"),
        "LANGUAGES": {
            "fr": {"flag": "fr", "name": "Français"},
            "en": {"flag": "gb", "name": "English"},
        },
        # Sessions and forms
        "WTF_CSRF_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        # Signing in (app/services/authentication.py, docs/security.md): FAB's login view
        # and security manager with lockout, TOTP and sessions that end.
        "FAB_SECURITY_MANAGER_CLASS": "app.views.authentication.GuichetSecurityManager",
        "BACKOFFICE_LOGIN_RATE_LIMIT": _env("BACKOFFICE_LOGIN_RATE_LIMIT", "10/minute"),
        "LOGIN_LOCKOUT_THRESHOLD": int(_env("LOGIN_LOCKOUT_THRESHOLD", "10")),
        "LOGIN_LOCKOUT_MINUTES": int(_env("LOGIN_LOCKOUT_MINUTES", "15")),
        # The second factor's keys, newest first (comma-separated); SECRET_KEY if unset.
        "TWO_FACTOR_KEYS": [
            key.strip() for key in (_env("TWO_FACTOR_KEYS") or "").split(",") if key.strip()
        ],
        "TWO_FACTOR_REQUIRED_ROLES": _roles(
            _env("TWO_FACTOR_REQUIRED_ROLES", "Admin,Administrator") or ""
        ),
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=int(_env("SESSION_IDLE_MINUTES", "60"))),
        "SESSION_MAX_HOURS": float(_env("SESSION_MAX_HOURS", "12")),
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(210 * 1024 * 1024))),
    }
    config.update(overrides)
    config["CELERY"] = celery_settings(config["CELERY_BROKER_URL"], config["CELERY_RESULT_BACKEND"])
    check_config(config)
    return config


def celery_settings(broker_url: str | None, result_backend: str | None) -> dict[str, Any]:
    """Celery settings: a real broker when one is configured, else eager execution."""
    if not broker_url:
        return {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "task_always_eager": True,
            "task_eager_propagates": True,
        }
    return {
        "broker_url": broker_url,
        # Jobs record their progress in the database; Celery results are not needed.
        "result_backend": result_backend,
        "task_ignore_result": True,
        "task_always_eager": False,
        # With the broker down, a request gives up publishing within a second (the outbox
        # keeps the event for the relay) instead of hanging.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "broker_connection_timeout": 2,
        "broker_transport_options": {"socket_connect_timeout": 2, "socket_timeout": 5},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "timezone": "Europe/Paris",
    }


def check_config(config: dict[str, Any]) -> None:
    """Refuse configurations that are unsafe for production."""
    if config["GUICHET_ENV"] != "production":
        return
    problems = []
    if config["SECRET_KEY_GENERATED"] or len(config["SECRET_KEY"]) < 32:
        problems.append("SECRET_KEY must be set to a random value of at least 32 characters")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        problems.append("DATABASE_URL must point to PostgreSQL, not SQLite")
    if any(len(key) < 32 for key in config.get("TWO_FACTOR_KEYS") or ()):
        problems.append("each of TWO_FACTOR_KEYS must be a random value of at least 32 characters")
    missing = {"Admin", "Administrator"} - set(config.get("TWO_FACTOR_REQUIRED_ROLES") or ())
    if missing:
        problems.append(
            "TWO_FACTOR_REQUIRED_ROLES must include Admin and Administrator in production"
        )
    if problems:
        raise ConfigurationError("Refusing to start in production: " + "; ".join(problems))
