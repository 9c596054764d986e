"""Row-level scoping: who sees which procedures and dossiers."""

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import PermissionView, Role

import factories as make
from app.extensions import db
from app.models import Dossier, DossierState, Procedure
from app.security import (
    ROLE_PERMISSIONS,
    Roles,
    can_administer_procedure,
    can_see_dossier,
    can_see_procedure,
    sync_permissions,
    visible_dossiers,
    visible_procedures,
)


@pytest.fixture
def world(app):
    """Two administrations, each with a procedure, an administrator and an agent."""
    with app.app_context():
        admin_a, admin_b = make.user(Roles.ADMINISTRATOR), make.user(Roles.ADMINISTRATOR)
        agent_a, agent_b = make.user(Roles.AGENT), make.user(Roles.AGENT)
        alice, bob, expert = make.user(), make.user(), make.user(Roles.EXPERT)
        proc_a = make.procedure(make.administration(admin_a), agent_a)
        proc_b = make.procedure(make.administration(admin_b), agent_b)
        yield {
            "admin_a": admin_a,
            "admin_b": admin_b,
            "agent_a": agent_a,
            "agent_b": agent_b,
            "alice": alice,
            "bob": bob,
            "expert": expert,
            "proc_a": proc_a,
            "proc_b": proc_b,
            "alice_a": make.dossier(proc_a, alice),
            "alice_draft": make.dossier(proc_a, alice, DossierState.draft),
            "bob_b": make.dossier(proc_b, bob),
        }


def dossiers_of(user):
    return set(db.session.scalars(sa.select(Dossier.id).where(visible_dossiers(user))))


def procedures_of(user):
    return set(db.session.scalars(sa.select(Procedure.id).where(visible_procedures(user))))


def ids(*items):
    return {item.id for item in items}


def test_an_applicant_sees_only_their_own_dossiers_drafts_included(world):
    assert dossiers_of(world["alice"]) == ids(world["alice_a"], world["alice_draft"])
    assert dossiers_of(world["bob"]) == ids(world["bob_b"])


def test_an_applicant_sees_a_dossier_they_accepted_an_invitation_to(world):
    make.invitation(world["bob_b"], world["alice"])
    assert world["bob_b"].id in dossiers_of(world["alice"])


def test_a_pending_or_revoked_invitation_shows_nothing(world):
    make.invitation(world["bob_b"], world["alice"], accepted=False)
    assert world["bob_b"].id not in dossiers_of(world["alice"])


def test_an_agent_sees_the_submitted_dossiers_of_their_groups_only(world):
    assert dossiers_of(world["agent_a"]) == ids(world["alice_a"])
    assert dossiers_of(world["agent_b"]) == ids(world["bob_b"])
    assert not can_see_dossier(world["agent_a"], world["alice_draft"])


def test_an_agent_loses_a_dossier_rerouted_to_another_group(world):
    dossier = world["alice_a"]
    dossier.group = world["proc_b"].groups[0]
    db.session.commit()
    assert not can_see_dossier(world["agent_a"], dossier)


def test_an_expert_sees_only_dossiers_asked_about_and_not_revoked(world):
    assert dossiers_of(world["expert"]) == set()
    make.opinion(world["alice_a"], world["expert"])
    make.opinion(world["bob_b"], world["expert"], revoked=True)
    assert dossiers_of(world["expert"]) == ids(world["alice_a"])


def test_an_administrator_sees_only_their_administrations_procedures(world):
    assert procedures_of(world["admin_a"]) == ids(world["proc_a"])
    assert procedures_of(world["admin_b"]) == ids(world["proc_b"])
    assert can_administer_procedure(world["admin_a"], world["proc_a"])
    assert not can_administer_procedure(world["admin_a"], world["proc_b"])


def test_an_administrator_sees_submitted_dossiers_of_their_procedures(world):
    assert dossiers_of(world["admin_a"]) == ids(world["alice_a"])


def test_an_agent_sees_the_procedures_of_their_groups(world):
    assert procedures_of(world["agent_a"]) == ids(world["proc_a"])
    assert can_see_procedure(world["agent_b"], world["proc_b"])
    assert not can_see_procedure(world["agent_b"], world["proc_a"])


def test_applicants_and_anonymous_visitors_see_no_procedure_in_the_back_office(world):
    assert procedures_of(world["alice"]) == set()
    assert procedures_of(None) == set()
    assert dossiers_of(None) == set()
    assert not can_administer_procedure(world["agent_a"], world["proc_a"])


def test_the_platform_admin_sees_everything(world):
    admin = make.user(Roles.ADMIN)
    assert dossiers_of(admin) == ids(world["alice_a"], world["alice_draft"], world["bob_b"])
    assert procedures_of(admin) == ids(world["proc_a"], world["proc_b"])
    assert can_administer_procedure(admin, world["proc_b"])


def test_roles_hold_exactly_their_declared_permissions_after_sync(app):
    with app.app_context():
        agent = db.session.scalar(sa.select(Role).where(Role.name == Roles.AGENT))
        stray = app.appbuilder.sm.add_permission_view_menu("can_delete", "DossierView")
        agent.permissions.append(stray)
        db.session.commit()

        sync_permissions(app.appbuilder)

        for role_name, pairs in ROLE_PERMISSIONS.items():
            role = db.session.scalar(sa.select(Role).where(Role.name == role_name))
            held = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
            assert held == set(pairs), role_name
        assert db.session.get(PermissionView, stray.id) is not None  # revoked, not deleted


def test_a_page_reads_the_persons_permissions_once_whatever_its_menu_checks(app, client):
    with app.app_context():
        agent = make.user(Roles.AGENT, can_log_in=True).username
    make.login(client, agent)
    reads = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "ab_permission_view" in statement:
            reads.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/instruction/")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    # the view's own check and the menu's entries: one read of the role's permissions, and
    # FAB's single query for the menu's entries
    assert 1 <= len(reads) <= 2, reads
