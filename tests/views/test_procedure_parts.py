"""The screens around a procedure's form, through HTTP: instructor groups and agents,
labels, mail templates, the attestation, and the page where an invited agent sets their
password. Only the procedure's administrators (and the platform admin) reach them."""

import re
import time
from email import policy
from email.parser import BytesParser
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

import factories as make
from app.extensions import db
from app.models import (
    Dossier,
    FieldDefinition,
    InstructorGroup,
    Label,
    MailEvent,
    MailTemplate,
    Procedure,
    User,
    dossier_label,
)
from app.security import Roles, sync_permissions
from app.services import accounts
from app.views import procedure_parts

PASSWORD = "a-long-test-password"


def build(make_app, **config):
    """An app with these screens registered (``app.views`` may not register them yet)."""
    app = make_app(**config)
    with app.app_context():
        if "ProcedureGroupsView.index" not in app.view_functions:
            procedure_parts.register(app.appbuilder)
        sync_permissions(app.appbuilder)
    return app


@pytest.fixture
def app(make_app):
    return build(make_app)


@pytest.fixture
def people(app):
    """An administrator of the procedure's administration, one of another, an agent of the
    procedure, the platform admin, and a procedure with fields and a dossier."""
    with app.app_context():
        sm = app.appbuilder.sm
        admin = make.user(Roles.ADMINISTRATOR)
        stranger = make.user(Roles.ADMINISTRATOR)
        agent = make.user(Roles.AGENT)
        operator = make.user(Roles.ADMIN)
        applicant = make.user(Roles.APPLICANT)
        for person in (admin, stranger, agent, operator):
            sm.reset_password(person.id, PASSWORD)
        procedure = make.procedure(make.administration(admin), agent)
        make.administration(stranger)
        revision = procedure.published_revision
        revision.fields.extend(
            [
                FieldDefinition(stable_id="nom", type="text", label="Nom du club", position=0),
                FieldDefinition(
                    stable_id="avis", type="text", label="Avis interne", position=1, private=True
                ),
            ]
        )
        db.session.commit()
        dossier = make.dossier(procedure, applicant)
        dossier.answers = {"nom": "Club de judo"}
        db.session.commit()
        other = make.procedure(make.administration(stranger))
        return {
            "admin": admin.username,
            "stranger": stranger.username,
            "agent": agent.username,
            "operator": operator.username,
            "procedure": procedure.id,
            "group": procedure.groups[0].id,
            "dossier": dossier.id,
            "other": other.id,
            "other_group": other.groups[0].id,
        }


def login(client, username):
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def url(people, path=""):
    return f"/procedures/{people['procedure']}/{path}"


def groups(app, procedure_id):
    with app.app_context():
        procedure = db.session.get(Procedure, procedure_id)
        return [
            (group.name, group.is_default, group.closed)
            for group in sorted(procedure.groups, key=lambda g: (g.position, g.id))
        ]


def group_id(app, procedure_id, name):
    with app.app_context():
        return db.session.scalar(
            sa.select(InstructorGroup.id).where(
                InstructorGroup.procedure_id == procedure_id, InstructorGroup.name == name
            )
        )


def written(app) -> list:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        BytesParser(policy=policy.default).parse(path.open("rb"))
        for path in sorted(folder.glob("*.eml"))
    ]


SCREENS = ["groups", "labels", "mails", "mails/submitted", "attestation"]


# ---------------------------------------------------------------------------------------
# Who reaches the screens


@pytest.mark.parametrize("who", ["admin", "operator"])
def test_the_procedures_administrator_and_the_platform_admin_open_every_screen(client, people, who):
    login(client, people[who])
    for screen in SCREENS:
        response = client.get(url(people, screen))
        assert response.status_code == 200, screen


@pytest.mark.parametrize("who", ["stranger", "agent"])
def test_anyone_else_signed_in_gets_a_404_on_every_screen_and_action(app, client, people, who):
    login(client, people[who])
    for screen in SCREENS:
        assert client.get(url(people, screen)).status_code == 404, screen
    assert client.post(url(people, "groups"), data={"name": "Intrus"}).status_code == 404
    assert client.post(url(people, "labels"), data={"name": "X", "color": "red"}).status_code == 404
    assert "Intrus" not in [name for name, *_ in groups(app, people["procedure"])]


def test_a_procedure_that_does_not_exist_gets_the_same_404(client, people):
    login(client, people["admin"])
    assert client.get("/procedures/999999/groups").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, people):
    response = client.get(url(people, "groups"))
    assert response.status_code == 302 and "/login" in response.location


def test_a_group_of_another_procedure_cannot_be_reached_through_this_one(app, client, people):
    login(client, people["admin"])
    response = client.post(
        url(people, f"groups/{people['other_group']}/rename"), data={"name": "Piraté"}
    )
    assert response.status_code == 404
    assert groups(app, people["other"])[0][0] != "Piraté"


# ---------------------------------------------------------------------------------------
# CSRF


def csrf_token_in(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def csrf_login(client, username):
    token = csrf_token_in(client.get("/login/").get_data(as_text=True))
    response = client.post(
        "/login/", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("groups", {"name": "Nouveau groupe"}),
        ("labels", {"name": "Urgent", "color": "red"}),
        ("mails/submitted", {"subject": "Objet", "body": "Texte", "action": "save"}),
        ("attestation", {"title": "Titre", "body": "Texte", "footer": ""}),
    ],
)
def test_a_post_without_its_csrf_token_is_refused(people_for_csrf, path, data):
    app, people = people_for_csrf
    client = app.test_client()
    csrf_login(client, people["admin"])
    refused = client.post(url(people, path), data=data)
    assert refused.status_code == 400
    token = csrf_token_in(client.get(url(people, path)).get_data(as_text=True))
    accepted = client.post(url(people, path), data={**data, "csrf_token": token})
    assert accepted.status_code == 302


def test_an_action_button_without_its_csrf_token_is_refused(people_for_csrf):
    app, people = people_for_csrf
    client = app.test_client()
    csrf_login(client, people["admin"])
    response = client.post(url(people, f"groups/{people['group']}/close"))
    assert response.status_code == 400


@pytest.fixture
def people_for_csrf(make_app):
    app = build(make_app, WTF_CSRF_ENABLED=True)
    with app.app_context():
        admin = make.user(Roles.ADMINISTRATOR)
        app.appbuilder.sm.reset_password(admin.id, PASSWORD)
        procedure = make.procedure(make.administration(admin))
        return app, {
            "admin": admin.username,
            "procedure": procedure.id,
            "group": procedure.groups[0].id,
        }


# ---------------------------------------------------------------------------------------
# Instructor groups


def test_an_administrator_creates_a_group_at_the_end_of_the_list(app, client, people):
    login(client, people["admin"])
    response = client.post(url(people, "groups"), data={"name": "  Service   instructeur Sud "})
    assert response.status_code == 302
    assert groups(app, people["procedure"]) == [
        ("Groupe par défaut", True, False),
        ("Service instructeur Sud", False, False),
    ]
    assert "Service instructeur Sud" in text(client.get(response.location))


@pytest.mark.parametrize("name", ["", "   ", "groupe PAR défaut", "x" * 256])
def test_a_bad_group_name_is_refused_next_to_the_field_keeping_what_was_typed(
    app, client, people, name
):
    login(client, people["admin"])
    response = client.post(url(people, "groups"), data={"name": name})
    page = text(response)
    assert response.status_code == 422
    assert re.search(r'id="new-group-name-error"><strong>\S', page)
    assert f'value="{name}"' in page
    assert 'aria-describedby="new-group-name-hint new-group-name-error"' in page
    assert len(groups(app, people["procedure"])) == 1


def test_an_administrator_renames_a_group(app, client, people):
    login(client, people["admin"])
    response = client.post(
        url(people, f"groups/{people['group']}/rename"), data={"name": "Bureau des sports"}
    )
    assert response.status_code == 302
    assert groups(app, people["procedure"])[0][0] == "Bureau des sports"


def test_groups_move_up_and_down_with_buttons(app, client, people):
    login(client, people["admin"])
    for name in ("Nord", "Sud"):
        client.post(url(people, "groups"), data={"name": name})
    south = group_id(app, people["procedure"], "Sud")
    client.post(url(people, f"groups/{south}/move"), data={"direction": "up"})
    assert [g[0] for g in groups(app, people["procedure"])] == ["Groupe par défaut", "Sud", "Nord"]
    client.post(url(people, f"groups/{people['group']}/move"), data={"direction": "down"})
    assert [g[0] for g in groups(app, people["procedure"])] == ["Sud", "Groupe par défaut", "Nord"]
    client.post(url(people, f"groups/{south}/move"), data={"direction": "up"})  # already first
    assert [g[0] for g in groups(app, people["procedure"])] == ["Sud", "Groupe par défaut", "Nord"]
    assert client.post(url(people, f"groups/{south}/move"), data={}).status_code == 400


def test_the_move_buttons_are_real_buttons_disabled_at_the_ends(client, people):
    login(client, people["admin"])
    client.post(url(people, "groups"), data={"name": "Nord"})
    page = text(client.get(url(people, "groups")))
    buttons = re.findall(r'<button type="submit" name="direction" value="(up|down)"([^>]*)>', page)
    assert [(value, "disabled" in rest) for value, rest in buttons] == [
        ("up", True),
        ("down", False),
        ("up", False),
        ("down", True),
    ]


def defaults(app, procedure_id):
    return [name for name, is_default, _ in groups(app, procedure_id) if is_default]


def test_there_is_always_exactly_one_default_group(app, client, people):
    login(client, people["admin"])
    client.post(url(people, "groups"), data={"name": "Nord"})
    north = group_id(app, people["procedure"], "Nord")
    assert defaults(app, people["procedure"]) == ["Groupe par défaut"]

    client.post(url(people, f"groups/{north}/default"))
    assert defaults(app, people["procedure"]) == ["Nord"]

    # The default group can be neither closed nor deleted.
    client.post(url(people, f"groups/{north}/close"))
    response = client.post(url(people, f"groups/{north}/delete"))
    assert response.status_code == 422
    assert ("Nord", True, False) in groups(app, people["procedure"])

    # A closed group cannot become the default.
    client.post(url(people, f"groups/{people['group']}/close"))
    client.post(url(people, f"groups/{people['group']}/default"))
    assert defaults(app, people["procedure"]) == ["Nord"]
    assert ("Groupe par défaut", False, True) in groups(app, people["procedure"])


def test_a_closed_group_is_reopened(app, client, people):
    login(client, people["admin"])
    client.post(url(people, "groups"), data={"name": "Nord"})
    north = group_id(app, people["procedure"], "Nord")
    client.post(url(people, f"groups/{north}/close"))
    assert ("Nord", False, True) in groups(app, people["procedure"])
    client.post(url(people, f"groups/{north}/reopen"))
    assert ("Nord", False, False) in groups(app, people["procedure"])


def test_a_group_without_dossiers_is_deleted(app, client, people):
    login(client, people["admin"])
    client.post(url(people, "groups"), data={"name": "Nord"})
    north = group_id(app, people["procedure"], "Nord")
    assert client.get(url(people, f"groups/{north}/delete")).status_code == 200
    assert client.post(url(people, f"groups/{north}/delete")).status_code == 302
    assert [g[0] for g in groups(app, people["procedure"])] == ["Groupe par défaut"]


def test_a_group_with_dossiers_is_deleted_only_with_moving_them(app, client, people):
    login(client, people["admin"])
    client.post(url(people, "groups"), data={"name": "Nord"})
    north = group_id(app, people["procedure"], "Nord")
    with app.app_context():
        dossier = db.session.get(Dossier, people["dossier"])
        dossier.group_id = north
        db.session.commit()
        version = dossier.version

    confirm = text(client.get(url(people, f"groups/{north}/delete")))
    assert 'name="move_to"' in confirm and "Groupe par défaut" in confirm

    refused = client.post(url(people, f"groups/{north}/delete"))
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in text(refused)
    assert "Nord" in [g[0] for g in groups(app, people["procedure"])]

    foreign = client.post(
        url(people, f"groups/{north}/delete"), data={"move_to": people["other_group"]}
    )
    assert foreign.status_code == 422

    moved = client.post(url(people, f"groups/{north}/delete"), data={"move_to": people["group"]})
    assert moved.status_code == 302
    assert [g[0] for g in groups(app, people["procedure"])] == ["Groupe par défaut"]
    with app.app_context():
        dossier = db.session.get(Dossier, people["dossier"])
        assert dossier.group_id == people["group"]
        assert dossier.version > version  # an agent's stale copy cannot overwrite the move


def test_adding_an_unknown_address_creates_the_agent_and_mails_a_password_link(people_for_mail):
    app, people = people_for_mail
    client = app.test_client()
    login(client, people["admin"])
    response = client.post(
        url(people, f"groups/{people['group']}/members"),
        data={"email": " Nouvel.Agent@Example.org "},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "nouvel.agent@example.org"))
        assert user.username == "nouvel.agent@example.org"
        assert {role.name for role in user.roles} == {Roles.AGENT}
        assert not accounts.has_usable_password(user)
        assert user in db.session.get(InstructorGroup, people["group"]).members

    [message] = written(app)
    assert message["To"] == "nouvel.agent@example.org"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:5000(/account/set-password/\S+)", body).group(1)

    visitor = app.test_client()
    assert "nouvel.agent@example.org" in text(visitor.get(link))
    short = visitor.post(link, data={"password": "trop court", "confirmation": "trop court"})
    assert short.status_code == 422 and 'aria-invalid="true"' in text(short)
    different = visitor.post(
        link, data={"password": "une phrase de passe", "confirmation": "une autre phrase"}
    )
    assert different.status_code == 422
    done = visitor.post(
        link, data={"password": "une phrase de passe", "confirmation": "une phrase de passe"}
    )
    assert done.status_code == 302 and "/login" in done.location
    signed_in = visitor.post(
        "/login/",
        data={"username": "nouvel.agent@example.org", "password": "une phrase de passe"},
    )
    assert signed_in.status_code == 302 and "/login" not in signed_in.location
    assert app.test_client().get(link).status_code == 404  # used: the link is void


def test_adding_an_existing_applicant_gives_them_the_agent_role_and_a_note(people_for_mail):
    app, people = people_for_mail
    with app.app_context():
        applicant = make.user(Roles.APPLICANT, email="usager@example.org")
        app.appbuilder.sm.reset_password(applicant.id, PASSWORD)
    client = app.test_client()
    login(client, people["admin"])
    client.post(
        url(people, f"groups/{people['group']}/members"), data={"email": "USAGER@example.org"}
    )
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "usager@example.org"))
        assert {role.name for role in user.roles} == {Roles.APPLICANT, Roles.AGENT}
        assert accounts.has_usable_password(user)
    [message] = written(app)
    body = message.get_body(("plain",)).get_content()
    assert "set-password" not in body and "/login/" in body


@pytest.fixture
def people_for_mail(make_app):
    """An eager app (mails are written to the outbox folder) with one administrator."""
    app = build(make_app, CELERY_BROKER_URL=None)
    with app.app_context():
        admin = make.user(Roles.ADMINISTRATOR)
        app.appbuilder.sm.reset_password(admin.id, PASSWORD)
        procedure = make.procedure(make.administration(admin))
        return app, {
            "admin": admin.username,
            "procedure": procedure.id,
            "group": procedure.groups[0].id,
        }


@pytest.mark.parametrize("email", ["pas-une-adresse", ""])
def test_a_bad_address_is_refused_next_to_the_field(app, client, people, email):
    login(client, people["admin"])
    response = client.post(url(people, f"groups/{people['group']}/members"), data={"email": email})
    assert response.status_code == 422
    page = text(response)
    assert f'id="group-{people["group"]}-email-error"' in page
    assert f'value="{email}"' in page


def test_an_agent_already_in_the_group_is_not_added_twice(app, client, people):
    login(client, people["admin"])
    with app.app_context():
        agent_email = db.session.scalar(
            sa.select(User.email).where(User.username == people["agent"])
        )
    response = client.post(
        url(people, f"groups/{people['group']}/members"), data={"email": agent_email}
    )
    assert response.status_code == 422
    with app.app_context():
        assert len(db.session.get(InstructorGroup, people["group"]).members) == 1


def test_an_agent_is_removed_from_a_group_and_keeps_their_account(app, client, people):
    login(client, people["admin"])
    with app.app_context():
        agent_id = db.session.scalar(sa.select(User.id).where(User.username == people["agent"]))
    response = client.post(url(people, f"groups/{people['group']}/members/{agent_id}/remove"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(InstructorGroup, people["group"]).members == []
        assert db.session.get(User, agent_id) is not None
    assert (
        client.post(url(people, f"groups/{people['group']}/members/{agent_id}/remove")).status_code
        == 404
    )


def test_a_bad_or_expired_password_link_is_refused(app, client, people, monkeypatch):
    assert client.get("/account/set-password/not-a-token").status_code == 404
    with app.app_context():
        user, _ = accounts.ensure_agent("agent.en.retard@example.org")
        db.session.commit()
        eight_days_ago = int(time.time()) - 8 * 24 * 3600
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
        token = accounts.make_password_token(user)
        monkeypatch.undo()
    expired = client.post(
        f"/account/set-password/{token}",
        data={"password": "une phrase de passe", "confirmation": "une phrase de passe"},
    )
    assert expired.status_code == 410
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "agent.en.retard@example.org"))
        assert not accounts.has_usable_password(user)


def test_the_password_page_refuses_a_post_without_its_csrf_token(people_for_csrf):
    app, _ = people_for_csrf
    with app.app_context():
        user, _ = accounts.ensure_agent("agent@example.org")
        db.session.commit()
        token = accounts.make_password_token(user)
    client = app.test_client()
    link = f"/account/set-password/{token}"
    data = {"password": "une phrase de passe", "confirmation": "une phrase de passe"}
    assert client.post(link, data=data).status_code == 400
    csrf = csrf_token_in(client.get(link).get_data(as_text=True))
    assert client.post(link, data={**data, "csrf_token": csrf}).status_code == 302


# ---------------------------------------------------------------------------------------
# Labels


def labels(app, procedure_id):
    with app.app_context():
        return sorted(
            (label.name, label.color)
            for label in db.session.scalars(
                sa.select(Label).where(Label.procedure_id == procedure_id)
            )
        )


def test_an_administrator_creates_renames_and_recolours_a_label(app, client, people):
    login(client, people["admin"])
    assert client.post(url(people, "labels"), data={"name": "Urgent", "color": "red"}).status_code
    assert labels(app, people["procedure"]) == [("Urgent", "red")]
    with app.app_context():
        label_id = db.session.scalar(sa.select(Label.id).where(Label.name == "Urgent"))
    page = text(client.get(url(people, "labels")))
    assert "Urgent" in page and "#B3261E" in page
    client.post(url(people, f"labels/{label_id}"), data={"name": "Prioritaire", "color": "teal"})
    assert labels(app, people["procedure"]) == [("Prioritaire", "teal")]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "color": "red"}, "name"),
        ({"name": "Urgent", "color": "fuchsia"}, "color"),
        ({"name": "Urgent"}, "color"),
    ],
)
def test_a_bad_label_is_refused_next_to_its_field(app, client, people, data, field):
    login(client, people["admin"])
    response = client.post(url(people, "labels"), data=data)
    assert response.status_code == 422
    assert f'id="new-label-{field}-error"' in text(response)
    assert labels(app, people["procedure"]) == []


def test_two_labels_cannot_share_a_name(app, client, people):
    login(client, people["admin"])
    client.post(url(people, "labels"), data={"name": "Urgent", "color": "red"})
    response = client.post(url(people, "labels"), data={"name": "URGENT", "color": "blue"})
    assert response.status_code == 422
    assert labels(app, people["procedure"]) == [("Urgent", "red")]


def test_deleting_a_label_takes_it_off_the_dossiers(app, client, people):
    login(client, people["admin"])
    client.post(url(people, "labels"), data={"name": "Urgent", "color": "red"})
    with app.app_context():
        label = db.session.scalar(sa.select(Label).where(Label.name == "Urgent"))
        dossier = db.session.get(Dossier, people["dossier"])
        dossier.labels.append(label)
        db.session.commit()
        label_id = label.id
    confirm = text(client.get(url(people, f"labels/{label_id}/delete")))
    assert "1 dossier" in confirm
    assert client.post(url(people, f"labels/{label_id}/delete")).status_code == 302
    assert labels(app, people["procedure"]) == []
    with app.app_context():
        assert db.session.get(Dossier, people["dossier"]) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(dossier_label)) == 0


# ---------------------------------------------------------------------------------------
# Mail templates


def stored_template(app, procedure_id, event):
    with app.app_context():
        template = db.session.scalar(
            sa.select(MailTemplate).where(
                MailTemplate.procedure_id == procedure_id, MailTemplate.event == event
            )
        )
        return (template.subject, template.body) if template else None


def test_every_event_is_listed_with_its_default_text(client, people):
    login(client, people["admin"])
    page = text(client.get(url(people, "mails")))
    for event in MailEvent:
        assert f"/mails/{event.value}" in page


def test_the_edit_screen_lists_the_tags_to_insert_or_copy(client, people):
    login(client, people["admin"])
    page = text(client.get(url(people, "mails/accepted")))
    for tag in ("--numéro du dossier--", "--lien attestation--", "--Nom du club--"):
        assert f'data-insert-tag="{tag}"' in page and f"<code>{tag}</code>" in page
    assert "--Avis interne--" not in page
    assert "guichet/tag_insertion.js" in page
    assert client.get("/static/guichet/tag_insertion.js").status_code == 200


def test_an_administrator_adapts_a_mail_and_resets_it(app, client, people):
    login(client, people["admin"])
    response = client.post(
        url(people, "mails/submitted"),
        data={
            "subject": "Reçu --numéro du dossier--",
            "body": "Merci --Nom du club--",
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert stored_template(app, people["procedure"], MailEvent.submitted) == (
        "Reçu --numéro du dossier--",
        "Merci --champ:nom--",
    )
    assert "Merci --Nom du club--" in text(client.get(url(people, "mails/submitted")))
    client.post(url(people, "mails/submitted/reset"))
    assert stored_template(app, people["procedure"], MailEvent.submitted) is None


def test_an_unknown_tag_is_refused_naming_it_and_the_text_is_kept(app, client, people):
    login(client, people["admin"])
    body = "Bonjour --prénom du demandeur--,\nvotre dossier --numéro du dossier--"
    response = client.post(
        url(people, "mails/submitted"), data={"subject": "Objet", "body": body, "action": "save"}
    )
    page = text(response)
    assert response.status_code == 422
    assert "--prénom du demandeur--" in page
    assert 'id="mail-body-error"' in page
    assert body in page
    assert stored_template(app, people["procedure"], MailEvent.submitted) is None


def test_the_preview_renders_typed_text_for_a_sample_or_a_real_dossier(app, client, people):
    login(client, people["admin"])
    data = {"subject": "N° --numéro du dossier--", "body": "Club : --Nom du club--"}
    sample = text(client.post(url(people, "mails/refused"), data={**data, "action": "preview"}))
    assert "Club : [Nom du club]" in sample
    real = client.post(
        url(people, "mails/refused"),
        data={**data, "action": "preview", "dossier": str(people["dossier"])},
    )
    assert real.status_code == 200
    assert "Club : Club de judo" in text(real) and f"N° {people['dossier']}" in text(real)
    assert stored_template(app, people["procedure"], MailEvent.refused) is None


def test_a_preview_for_a_dossier_of_another_procedure_is_refused(app, client, people):
    login(client, people["admin"])
    with app.app_context():
        other = db.session.get(Procedure, people["other"])
        foreign = make.dossier(other, make.user()).id
    response = client.post(
        url(people, "mails/refused"),
        data={
            "subject": "Objet",
            "body": "--Nom du club--",
            "action": "preview",
            "dossier": foreign,
        },
    )
    assert response.status_code == 422
    assert "Club de judo" not in text(response)
    assert 'id="preview-dossier-error"' in text(response)


def test_an_unknown_event_gets_a_404(client, people):
    login(client, people["admin"])
    assert client.get(url(people, "mails/birthday")).status_code == 404


# ---------------------------------------------------------------------------------------
# Attestation


def test_an_administrator_enables_the_attestation_and_previews_it_as_pdf(app, client, people):
    login(client, people["admin"])
    data = {
        "enabled": "y",
        "title": "Attestation n° --numéro du dossier--",
        "body": "Le club --Nom du club-- est affilié.",
        "footer": "--nom du service--",
    }
    assert client.post(url(people, "attestation"), data=data).status_code == 302
    with app.app_context():
        template = db.session.get(Procedure, people["procedure"]).attestation_template
        assert template.enabled and template.body == "Le club --champ:nom-- est affilié."
    preview = client.post(
        url(people, "attestation/preview"), data={**data, "dossier": str(people["dossier"])}
    )
    assert preview.status_code == 200
    assert preview.mimetype == "application/pdf"
    assert preview.data.startswith(b"%PDF-")


def test_an_attestation_with_an_unknown_tag_is_neither_saved_nor_previewed(app, client, people):
    login(client, people["admin"])
    data = {"enabled": "y", "title": "Titre", "body": "--numéro--", "footer": ""}
    for path in ("attestation", "attestation/preview"):
        response = client.post(url(people, path), data=data)
        assert response.status_code == 422
        assert "--numéro--" in text(response) and 'id="attestation-body-error"' in text(response)
    with app.app_context():
        assert db.session.get(Procedure, people["procedure"]).attestation_template is None


def test_the_attestation_can_be_disabled_again(app, client, people):
    login(client, people["admin"])
    data = {"title": "Titre", "body": "Texte", "footer": ""}
    client.post(url(people, "attestation"), data={**data, "enabled": "y"})
    client.post(url(people, "attestation"), data=data)
    with app.app_context():
        assert not db.session.get(Procedure, people["procedure"]).attestation_template.enabled
