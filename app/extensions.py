"""Extension objects shared by the whole application.

``db`` is bound to Flask-AppBuilder's declarative ``Model`` so that Guichet's tables and
FAB's security tables live in one metadata (a bare ``SQLA()`` leaves it empty and Alembic
would then want to drop every table).
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA(model_class=Model)
migrate = Migrate()


def init_celery(app: Flask) -> Celery:
    """One Celery app per Flask app; every task runs inside that Flask app's context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.config_from_object(app.config["CELERY"])
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
