"""API tokens: made in the back office, shown once and stored hashed; they reach only their
procedures, write only when read-write, stop at expiry or revocation, respect their IP
allow-list; refusals, creation and revocation are in the audit log (issue G8)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.models import ApiToken, AuditEvent, utcnow
from app.security import Roles
from app.services import api_tokens

from .conftest import dossier, expire, mails


def audit_actions(world) -> list[tuple[str, dict]]:
    with world.app.app_context():
        return [
            (entry.action, entry.data)
            for entry in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_a_token_lists_only_its_procedures(world):
    response = world.client().get("/api/v1/procedures", headers=world.headers("ro"))
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [world.procedure]
    response = world.client().get("/api/v1/procedures", headers=world.headers("rw"))
    assert sorted(item["id"] for item in response.json["items"]) == sorted(
        [world.procedure, world.second]
    )


def test_a_procedure_or_dossier_outside_the_token_is_a_404_and_is_logged(world):
    client = world.client()
    foreign = client.get(f"/api/v1/procedures/{world.foreign}/dossiers", headers=world.headers())
    assert foreign.status_code == 404
    assert foreign.json["code"] == "not_found"
    # the read-only token does not reach the second procedure of the same administration
    second = client.get(f"/api/v1/dossiers/{world.dossiers['second']}", headers=world.headers("ro"))
    assert second.status_code == 404
    missing = client.get("/api/v1/dossiers/999999", headers=world.headers())
    assert missing.status_code == 404
    assert missing.json == foreign.json | {"message": missing.json["message"]}
    # drafts are the applicant's: not reachable either
    draft = client.get(f"/api/v1/dossiers/{world.dossiers['draft']}", headers=world.headers())
    assert draft.status_code == 404
    refusals = [data for action, data in audit_actions(world) if action == api_tokens.REFUSED]
    assert {"procedure_out_of_scope", "dossier_out_of_scope"} <= {
        data["reason"] for data in refusals
    }
    assert all(data["status"] == 404 for data in refusals)


def test_a_read_only_token_cannot_write(world):
    number = world.dossiers["submitted"]
    response = world.client().post(
        f"/api/v1/dossiers/{number}/state",
        json={"event": "start_review"},
        headers=world.headers("ro"),
    )
    assert response.status_code == 403
    assert response.json["code"] == "read_only"
    with world.app.app_context():
        assert dossier(world, "submitted").state.value == "submitted"
    assert ("read_only", 403) in [
        (data["reason"], data["status"])
        for action, data in audit_actions(world)
        if action == api_tokens.REFUSED
    ]


def test_missing_unknown_expired_and_revoked_tokens_get_401(world):
    client = world.client()
    assert client.get("/api/v1/procedures").status_code == 401
    unknown = client.get("/api/v1/procedures", headers={"Authorization": "Bearer gch_nope"})
    assert unknown.status_code == 401
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    basic = client.get("/api/v1/procedures", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401

    expire(world, "ro")
    expired = client.get("/api/v1/procedures", headers=world.headers("ro"))
    assert expired.status_code == 401
    assert expired.json["code"] == "invalid_token"

    with world.app.app_context():
        api_tokens.revoke(world.token("rw"))
        db.session.commit()
    assert client.get("/api/v1/procedures", headers=world.headers("rw")).status_code == 401
    reasons = [
        data["reason"] for action, data in audit_actions(world) if action == api_tokens.REFUSED
    ]
    assert "expired" in reasons and "revoked" in reasons
    actions = [action for action, _data in audit_actions(world)]
    assert "api_token.created" in actions and "api_token.revoked" in actions


def test_an_address_outside_the_allow_list_is_refused(world):
    world.make_token("ip", [world.procedure], ip_allowlist="192.0.2.0/24\n2001:db8::1")
    client = world.client()
    inside = client.get(
        "/api/v1/procedures",
        headers=world.headers("ip"),
        environ_base={"REMOTE_ADDR": "192.0.2.77"},
    )
    assert inside.status_code == 200
    outside = client.get(
        "/api/v1/procedures",
        headers=world.headers("ip"),
        environ_base={"REMOTE_ADDR": "198.51.100.3"},
    )
    assert outside.status_code == 403
    assert outside.json["code"] == "forbidden"
    with world.app.app_context():
        token = world.token("ip")
        assert token.last_used_ip == "192.0.2.77"
        assert token.ip_allowlist == ["192.0.2.0/24", "2001:db8::1/128"]


def test_only_a_hash_is_stored_and_the_last_use_is_recorded(world):
    secret = world.secrets["rw"]
    with world.app.app_context():
        token = world.token("rw")
        assert token.token_hash == api_tokens.hash_secret(secret)
        assert secret not in (token.prefix, token.token_hash)
        assert secret.startswith(token.prefix) and len(token.prefix) < 12
        assert token.last_used_at is None
    world.client().get("/api/v1/procedures", headers=world.headers("rw"))
    with world.app.app_context():
        assert world.token("rw").last_used_at is not None


def test_an_administrator_creates_a_token_shown_once_and_revokes_it(world):
    client = world.client()
    make.login(client, world.administrator)
    page = client.get("/admin/integrations/tokens/new")
    assert page.status_code == 200
    response = client.post(
        "/admin/integrations/tokens/new",
        data={
            "name": "Logiciel métier",
            "procedures": [str(world.procedure)],
            "access": "read_write",
            "expires_on": (utcnow() + timedelta(days=30)).date().isoformat(),
            "ip_allowlist": "",
        },
    )
    assert response.status_code == 200
    secret = re.search(r'value="(gch_[^"]+)"', response.get_data(as_text=True)).group(1)
    assert (
        client.get("/api/v1/procedures", headers={"Authorization": f"Bearer {secret}"}).json[
            "total"
        ]
        == 1
    )
    listing = client.get("/admin/integrations/").get_data(as_text=True)
    assert "Logiciel métier" in listing
    assert secret not in listing  # never shown again
    with world.app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "Logiciel métier"))
        token_id = token.id
        assert not token.read_only
    assert client.post(f"/admin/integrations/tokens/{token_id}/revoke").status_code == 302
    assert (
        client.get("/api/v1/procedures", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 401
    )


def test_the_token_form_refuses_bad_input_and_foreign_procedures(world):
    client = world.client()
    make.login(client, world.administrator)
    bad_ip = client.post(
        "/admin/integrations/tokens/new",
        data={"name": "X", "procedures": [str(world.procedure)], "ip_allowlist": "not-an-ip"},
    )
    assert bad_ip.status_code == 422
    assert "not-an-ip" in bad_ip.get_data(as_text=True)
    foreign = client.post(
        "/admin/integrations/tokens/new",
        data={"name": "X", "procedures": [str(world.foreign)]},
    )
    assert foreign.status_code == 422
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 2


def test_another_administrator_can_neither_see_nor_revoke_the_token(world):
    client = world.client()
    make.login(client, world.other_administrator)
    assert "rw" not in client.get("/admin/integrations/").get_data(as_text=True).split("<td>")
    assert client.post(f"/admin/integrations/tokens/{world.tokens['rw']}/revoke").status_code == 404
    with world.app.app_context():
        assert world.token("rw").revoked_at is None


def test_people_without_the_permission_cannot_open_the_screens(world):
    client = world.client()
    with world.app.app_context():
        email = make.user(Roles.AGENT, can_log_in=True).email
    make.login(client, email)
    response = client.get("/admin/integrations/")
    assert response.status_code in (302, 403)


def test_owners_are_reminded_once_before_expiry(world):
    with world.app.app_context():
        world.token("rw").expires_at = utcnow() + timedelta(days=3)
        world.token("ro").expires_at = utcnow() + timedelta(days=30)
        db.session.commit()
        from app.integration_tasks import remind_expiring_tokens

        assert remind_expiring_tokens() == 1
        assert remind_expiring_tokens() == 0
        assert world.token("rw").expiry_reminded_at is not None
    sent = mails(world.app)
    assert len(sent) == 1
    assert world.administrator in sent[0]


def test_fab_security_api_is_no_way_round_tokens(world):
    client = world.client()
    login = client.post(
        "/api/v1/security/login",
        json={"username": world.administrator, "password": make.PASSWORD, "provider": "db"},
    )
    assert login.status_code == 404
    # a signed-in session is not a token either
    make.login(client, world.administrator)
    assert client.get("/api/v1/procedures").status_code == 401
