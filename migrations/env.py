"""Alembic environment: Guichet's models (and FAB's tables) in one metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata


def include_object_for(dialect_name):
    """Leave out of comparisons the indexes that exist only on another database
    (``Index(...).ddl_if(dialect="postgresql")``: GIN indexes, for instance)."""

    def include_object(obj, name, type_, reflected, compare_to):
        ddl_if = getattr(obj, "_ddl_if", None)
        if type_ == "index" and not reflected and ddl_if is not None:
            return ddl_if.dialect in (None, dialect_name)
        return True

    return include_object


def process_revision_directives(context_, revision, directives):
    """Never write an empty migration from ``flask db migrate``."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_online():
    with db.engine.connect() as connection:
        configure_args = dict(current_app.extensions["migrate"].configure_args)
        configure_args.setdefault("process_revision_directives", process_revision_directives)
        configure_args.setdefault("compare_type", True)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object_for(connection.dialect.name),
            **configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline migrations are not supported: run them against a database.")
run_migrations_online()
