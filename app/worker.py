"""Entry point of Celery workers and beat: ``celery -A app.worker worker``."""

from . import create_app, tasks  # noqa: F401  (registers the tasks)

flask_app = create_app()
celery = flask_app.extensions["celery"]
