"""The platform admin names the administrators of an administration."""

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import factories as make
from app.extensions import db
from app.models import Administration
from app.security import Roles


def test_the_platform_admin_adds_an_administrator_who_gets_an_invitation(make_app):
    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context():
        admin = make.user(Roles.ADMIN, can_log_in=True)
        agent = make.user(Roles.AGENT, can_log_in=True)
        administration = make.administration()
        ids = {"admin": admin.username, "agent": agent.username, "a": administration.id}
    client = app.test_client()
    make.login(client, ids["admin"])
    url = f"/admin/administrations/{ids['a']}/members"
    assert client.post(url, data={"email": "Chef@Mairie.example.org"}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "chef@mairie.example.org" in page
    twice = client.post(url, data={"email": "chef@mairie.example.org"}, follow_redirects=True)
    assert "déjà" in twice.get_data(as_text=True)
    with app.app_context():
        administration = db.session.get(Administration, ids["a"])
        [member] = administration.members
        assert Roles.ADMINISTRATOR in {role.name for role in member.user.roles}
        user_id = member.user_id
    mails = [
        BytesParser(policy=policy.default).parse(p.open("rb"))
        for p in Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml")
    ]
    [invitation] = [m for m in mails if m["To"] == "chef@mairie.example.org"]
    assert re.search(r"/account/set-password/\S+", invitation.get_body(("plain",)).get_content())
    client.post(f"{url}/{user_id}/remove")
    with app.app_context():
        assert db.session.get(Administration, ids["a"]).members == []


def test_only_the_platform_admin_manages_administrators(client, app):
    with app.app_context():
        administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        administration = make.administration(administrator)
        name, aid = administrator.username, administration.id
    make.login(client, name)
    assert client.get(f"/admin/administrations/{aid}/members").status_code == 403
    assert (
        client.post(
            f"/admin/administrations/{aid}/members", data={"email": "x@example.org"}
        ).status_code
        == 403
    )
