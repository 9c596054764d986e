"""``flask guichet init`` and ``flask guichet demo``."""

import sqlalchemy as sa

from app.extensions import db
from app.models import Dossier, DossierState, Procedure, ProcedureState, StateTransition
from app.services.demo import DEMO_PASSWORD, USERS
from app.workflow import TRANSITIONS, Event


def run(app, *args, **env):
    result = app.test_cli_runner().invoke(args=["guichet", *args], env=env)
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def test_init_creates_the_platform_admin_from_the_environment_once(app):
    env = {"GUICHET_ADMIN_EMAIL": "root@example.org", "GUICHET_ADMIN_PASSWORD": "s3cret-pass"}
    assert "root@example.org created" in run(app, "init", **env)
    assert "already exists" in run(app, "init", **env)
    with app.app_context():
        admin = app.appbuilder.sm.auth_user_db("root@example.org", "s3cret-pass")
        assert [role.name for role in admin.roles] == ["Admin"]


def test_init_without_admin_only_migrates_and_syncs(app):
    assert "not created" not in run(app, "init", "--no-admin")


def test_demo_prints_the_logins_and_loading_twice_changes_nothing(app):
    output = run(app, "demo")
    assert DEMO_PASSWORD in output
    assert all(user.email in output for user in USERS)
    with app.app_context():
        counts = [
            db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Dossier, Procedure, StateTransition)
        ]
    run(app, "demo")
    with app.app_context():
        assert counts == [
            db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Dossier, Procedure, StateTransition)
        ]


def test_demo_has_dossiers_in_every_state_with_a_consistent_history(app):
    run(app, "demo")
    with app.app_context():
        states = set(db.session.scalars(sa.select(Dossier.state)))
        assert states == set(DossierState)
        assert db.session.scalar(sa.select(sa.func.count()).where(Dossier.archived)) > 0
        for dossier in db.session.scalars(sa.select(Dossier)):
            reached = DossierState.draft
            for transition in dossier.transitions:
                assert transition.from_state == reached
                assert reached in TRANSITIONS[Event(transition.event)].sources
                reached = transition.to_state
            assert reached == dossier.state
            if dossier.state != DossierState.draft:
                assert dossier.group.procedure_id == dossier.procedure_id
        published = db.session.scalars(
            sa.select(Procedure).where(Procedure.state == ProcedureState.published)
        ).all()
        assert len(published) >= 3 and all(p.published_revision.fields for p in published)


def test_demo_logins_work_with_the_printed_password(app):
    run(app, "demo")
    with app.app_context():
        for user in USERS:
            assert app.appbuilder.sm.auth_user_db(user.email, DEMO_PASSWORD), user.email


def test_demo_is_refused_in_production(make_app, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    app = make_app()
    app.config["GUICHET_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["guichet", "demo"])
    assert result.exit_code != 0 and "never loaded in production" in result.output
