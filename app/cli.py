"""``flask --app app guichet …``: set up, administer and fill a Guichet instance."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from .extensions import db
from .security import Roles, sync_permissions


@click.group()
def guichet() -> None:
    """Guichet administration commands."""


@guichet.command()
@click.option(
    "--admin/--no-admin",
    default=True,
    help="Create the platform admin (from GUICHET_ADMIN_EMAIL / GUICHET_ADMIN_PASSWORD, "
    "else by prompt).",
)
@with_appcontext
def init(admin: bool) -> None:
    """Migrate the database, sync roles and permissions, create the platform admin."""
    upgrade()
    sync_permissions(current_app.appbuilder)
    click.echo("Database migrated, roles and permissions synced.")
    if admin:
        _create_platform_admin()


def _create_platform_admin() -> None:
    sm = current_app.appbuilder.sm
    email = os.environ.get("GUICHET_ADMIN_EMAIL")
    password = os.environ.get("GUICHET_ADMIN_PASSWORD")
    if not email:
        if not sys.stdin.isatty():
            click.echo("No GUICHET_ADMIN_EMAIL and no terminal: platform admin not created.")
            return
        email = click.prompt("Platform admin email")
    if sm.find_user(username=email):
        click.echo(f"Platform admin {email} already exists.")
        return
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = sm.add_user(
        username=email,
        first_name="Platform",
        last_name="Admin",
        email=email,
        role=sm.find_role(Roles.ADMIN),
        password=password,
        commit=False,
    )
    db.session.commit()
    click.echo(f"Platform admin {user.email} created.")


@guichet.command()
@click.option(
    "--scale",
    type=click.Choice(["demo", "seed"]),
    default="demo",
    show_default=True,
    help="demo: a small, readable data set with logins; seed: the French platform's size "
    "after six months (567 administrations, 350 procedures, 5,000 agents, 50,000 dossiers).",
)
@with_appcontext
def demo(scale: str) -> None:
    """Load demo data (idempotent: loading twice changes nothing)."""
    if current_app.config["GUICHET_ENV"] == "production":
        raise click.ClickException("Demo data is never loaded in production.")
    if scale == "seed":
        from .services import seed

        report = seed.load_seed()
        click.echo(report)
        return
    from .services import demo as demo_data

    logins = demo_data.load_demo()
    click.echo(f"Demo logins (password for all: {demo_data.DEMO_PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:<15} {email}")


@guichet.command("table-indexes")
@click.option(
    "--min-dossiers",
    type=click.IntRange(min=1),
    help="procedures from this size on (default: TABLE_INDEX_MIN_DOSSIERS, 20,000)",
)
@with_appcontext
def table_indexes(min_dossiers: int | None) -> None:
    """Index the fields agents sort and filter large procedures by (also hourly, in beat)."""
    from .services import table_indexes as service

    report = service.ensure(min_dossiers)
    for title, names in (
        ("created", report.created),
        ("dropped", report.dropped),
        ("kept", report.kept),
    ):
        click.echo(f"{title}: {', '.join(names) or '-'}")


@guichet.group()
def audit() -> None:
    """The audit log."""


@audit.command()
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="ID:HASH",
    help="An entry's hash noted earlier (as printed by a previous run): it must still be there.",
)
@with_appcontext
def verify(anchors: tuple[str, ...]) -> None:
    """Walk the hash chain; report the first altered, removed or reordered entry (exit 1)."""
    from .services import audit as audit_log

    try:
        noted = {int(key): value for key, _, value in (item.partition(":") for item in anchors)}
    except ValueError as error:
        raise click.BadParameter("write anchors as ID:HASH", param_hint="--anchor") from error
    result = audit_log.verify(noted)
    if result.problem is not None:
        click.echo(
            f"Audit log BROKEN at entry {result.problem.entry_id} "
            f"({result.problem.kind}): {result.problem.message}. "
            f"{result.count} entries before it are intact.",
            err=True,
        )
        sys.exit(1)
    head = f"{result.head_id}:{result.head_hash}" if result.head_id else "none (empty log)"
    click.echo(f"Audit log intact: {result.count} entries. Head: {head}")
