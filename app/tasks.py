"""Celery tasks. They stay thin: each one calls a service inside the app context
(the Celery app built by ``app.extensions.init_celery`` runs every task in one)."""
