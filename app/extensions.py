"""Extension objects shared by the whole application.

``db`` is bound to Flask-AppBuilder's declarative ``Model`` so that Guichet's tables and
FAB's security tables live in one metadata (a bare ``SQLA()`` leaves it empty and Alembic
would then want to drop every table).
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask, current_app
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = SQLA(model_class=Model)
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address)
"""Rate limits on authentication, sign-up, submission, uploads and messages: decorate a
view with ``@limiter.limit("5/minute")``. Storage: ``RATELIMIT_STORAGE_URI``."""
csrf = CSRFProtect()  # every state-changing form; FAB exempts its token-based REST API


def init_celery(app: Flask) -> Celery:
    """One Celery app per Flask app; every task runs inside that Flask app's context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    from .tasks import BEAT_SCHEDULE

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.conf.beat_schedule = dict(BEAT_SCHEDULE)  # plugins add their own entries
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def app_task(name: str) -> Task:
    """The task ``name`` bound to the current Flask app's Celery (with several apps in one
    process, as in tests, ``shared_task`` objects would follow whichever was made last)."""
    return current_app.extensions["celery"].tasks[name]
