"""An applicant's dossiers on the portal, through HTTP: "my dossiers" and its tabs, one
dossier's page (progress, answers, files, decision), deleting a draft, hiding a decided
dossier, and inviting co-editors. Nobody reaches a dossier that is not theirs."""

from __future__ import annotations

import hashlib
import re
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import url_for
from itsdangerous import TimestampSigner

import factories as make
from app import workflow
from app.extensions import db
from app.models import (
    Attachment,
    AttachmentUse,
    Dossier,
    DossierState,
    DossierTombstone,
    FieldDefinition,
    Invitation,
    OutboxEvent,
    Procedure,
    ScanStatus,
    User,
    utcnow,
)
from app.security import Roles
from app.services import accounts

PASSWORD = "une phrase assez longue"
S = DossierState


# ---------------------------------------------------------------------------------------
# Helpers


def english(client) -> None:
    client.get("/langue/en")


def person(app, *roles: str, email: str | None = None) -> SimpleNamespace:
    with app.app_context():
        user = make.user(*(roles or (Roles.APPLICANT,)), email=email)
        app.appbuilder.sm.reset_password(user.id, PASSWORD)
        return SimpleNamespace(id=user.id, email=user.email)


def login(client, who) -> None:
    response = client.post("/connexion", data={"email": who.email, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def procedure(app, title: str = "Inscription à la cantine", *agents) -> int:
    with app.app_context():
        members = [db.session.get(User, agent.id) for agent in agents]
        item = make.procedure(make.administration(), *members)
        item.title = title
        item.service_email = "cantine@example.org"
        db.session.commit()
        return item.id


def dossier(app, procedure_id: int, owner, state: DossierState = S.draft, **attributes) -> int:
    with app.app_context():
        item = make.dossier(
            db.session.get(Procedure, procedure_id), db.session.get(User, owner.id), state=state
        )
        for name, value in attributes.items():
            setattr(item, name, value)
        db.session.commit()
        return item.id


def invite(app, dossier_id: int, who, accepted: bool = True, revoked: bool = False) -> None:
    with app.app_context():
        item = make.invitation(
            db.session.get(Dossier, dossier_id), db.session.get(User, who.id), accepted=accepted
        )
        if revoked:
            item.revoked_at = utcnow()
            db.session.commit()


def numbers(html: str) -> list[int]:
    """Dossier numbers linked from a page, in order."""
    return [int(n) for n in re.findall(r'href="/dossiers/(\d+)"', html)]


def tab(client, name: str, **params) -> str:
    return client.get("/mes-dossiers", query_string={"tab": name, **params}).get_data(as_text=True)


def mails(app, to: str) -> list[dict]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.topic == "mail.send").order_by(OutboxEvent.id)
        ).all()
        return [event.payload for event in events if to in event.payload["to"]]


def link_in(mail: dict) -> str:
    return re.findall(r"https?://[^/\s]+(/\S+)", mail["body"])[0]


@pytest.fixture
def marie(app):
    return person(app, email="marie@example.org")


@pytest.fixture
def paul(app):
    return person(app, email="paul@example.org")


# ---------------------------------------------------------------------------------------
# My dossiers


def test_my_dossiers_needs_a_login(client):
    response = client.get("/mes-dossiers")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=/mes-dossiers")


def test_each_tab_holds_its_own_dossiers(app, client, marie, paul):
    canteen = procedure(app)
    draft = dossier(app, canteen, marie, S.draft)
    submitted = dossier(app, canteen, marie, S.submitted)
    in_review = dossier(app, canteen, marie, S.in_review)
    accepted = dossier(app, canteen, marie, S.accepted)
    hidden = dossier(app, canteen, marie, S.refused, hidden_by_applicant_at=utcnow())
    shared = dossier(app, canteen, paul, S.submitted)
    invite(app, shared, marie)
    pending = dossier(app, canteen, paul, S.submitted)
    invite(app, pending, marie, accepted=False)
    revoked = dossier(app, canteen, paul, S.draft)
    invite(app, revoked, marie, revoked=True)
    dossier(app, canteen, paul, S.draft)

    login(client, marie)
    assert numbers(tab(client, "drafts")) == [draft]
    assert sorted(numbers(tab(client, "in_progress"))) == sorted([submitted, in_review])
    assert numbers(tab(client, "decided")) == [accepted]
    assert numbers(tab(client, "invited")) == [shared]
    assert numbers(tab(client, "deleted")) == [hidden]
    html = tab(client, "drafts")
    for count in ("(1)", "(2)"):
        assert count in html
    assert "paul" not in tab(client, "drafts")


def test_without_a_tab_the_first_list_that_holds_dossiers_is_shown(app, client, marie):
    submitted = dossier(app, procedure(app), marie, S.submitted)
    login(client, marie)
    assert numbers(client.get("/mes-dossiers").get_data(as_text=True)) == [submitted]


def test_dossiers_one_instructs_are_not_one_s_own(app, client, paul):
    agent = person(app, Roles.AGENT, Roles.APPLICANT, email="agent@example.org")
    canteen = procedure(app, "Cantine", agent)
    instructed = dossier(app, canteen, paul, S.submitted)
    login(client, agent)
    for name in ("drafts", "in_progress", "decided", "invited", "deleted"):
        assert numbers(tab(client, name)) == []
    assert client.get(f"/dossiers/{instructed}").status_code == 404


def test_search_finds_a_number_or_words_of_the_title(app, client, marie):
    canteen = procedure(app, "Inscription à la cantine scolaire")
    grant = procedure(app, "Subvention aux associations")
    first = dossier(app, canteen, marie)
    second = dossier(app, grant, marie)
    login(client, marie)
    assert numbers(tab(client, "drafts", q=str(first))) == [first]
    assert numbers(tab(client, "drafts", q=f"n° {second}")) == [second]
    assert numbers(tab(client, "drafts", q="CANTINE scolaire")) == [first]
    assert numbers(tab(client, "drafts", q="a la cantine")) == [first]
    assert numbers(tab(client, "drafts", q="Inscription")) == [first]
    assert numbers(tab(client, "drafts", q="rien")) == []
    assert numbers(tab(client, "drafts", q="%")) == []


def test_my_dossiers_shows_twenty_a_page(app, client, marie):
    canteen = procedure(app)
    made = [dossier(app, canteen, marie) for _ in range(23)]
    login(client, marie)
    first = numbers(tab(client, "drafts"))
    second = numbers(tab(client, "drafts", page=2))
    assert len(first) == 20 and len(second) == 3
    assert sorted(first + second) == sorted(made)


# ---------------------------------------------------------------------------------------
# One dossier


def test_nobody_reaches_a_dossier_that_is_not_theirs(app, client, marie, paul):
    canteen = procedure(app)
    others = dossier(app, canteen, paul, S.submitted)
    pending = dossier(app, canteen, paul, S.submitted)
    invite(app, pending, marie, accepted=False)
    revoked = dossier(app, canteen, paul, S.submitted)
    invite(app, revoked, marie, revoked=True)
    assert client.get(f"/dossiers/{others}").status_code == 302, "anonymous: log in first"
    login(client, marie)
    for number in (others, pending, revoked, 999_999):
        assert client.get(f"/dossiers/{number}").status_code == 404
        assert client.post(f"/dossiers/{number}/masquer").status_code == 404
        assert client.post(f"/dossiers/{number}/supprimer").status_code == 404
        assert (
            client.post(
                f"/dossiers/{number}/invitations", data={"email": "x@example.org"}
            ).status_code
            == 404
        )


def _form(app, procedure_id: int) -> None:
    """A form: a section, two questions (the second answered), a file, a repeated block,
    and a private annotation."""
    with app.app_context():
        revision = db.session.get(Procedure, procedure_id).published_revision
        specs = [
            ("s1", "header_section", "Votre enfant", False, 1),
            ("q2", "text", "Classe", False, 3),
            ("q1", "text", "Prénom de l'enfant", False, 2),
            ("q3", "text", "Question sans réponse", False, 4),
            ("f1", "attachment", "Justificatif de domicile", False, 5),
            ("r1", "repetition", "Frères et sœurs", False, 6),
            ("p1", "text", "Avis interne de l'agent", True, 7),
        ]
        fields = {}
        for stable_id, kind, label, private, position in specs:
            fields[stable_id] = FieldDefinition(
                revision=revision,
                stable_id=stable_id,
                type=kind,
                label=label,
                private=private,
                position=position,
                options={},
            )
        db.session.add_all(fields.values())
        db.session.add(
            FieldDefinition(
                revision=revision,
                stable_id="r1c",
                type="text",
                label="Prénom",
                position=1,
                options={},
                parent=fields["r1"],
            )
        )
        db.session.commit()


def _file(app, dossier_id: int, name: str, status: ScanStatus, **attributes) -> int:
    with app.app_context():
        item = Attachment(
            use=attributes.pop("use", AttachmentUse.form_field),
            storage_key=f"sha256/{name}",
            sha256="0" * 64,
            size=2048,
            original_name=name,
            sniffed_type="application/pdf",
            family="document",
            scan_status=status,
            dossier_id=dossier_id,
            **attributes,
        )
        db.session.add(item)
        db.session.commit()
        return item.id


def test_the_answers_show_in_form_order_and_private_annotations_never(app, client, marie):
    canteen = procedure(app)
    _form(app, canteen)
    number = dossier(
        app,
        canteen,
        marie,
        S.submitted,
        answers={"q1": "Léa", "q2": "CE2", "r1": [{"r1c": "Tom"}]},
        annotations={"p1": "Famille connue du service"},
        identity={"kind": "person", "first_name": "Marie", "last_name": "Curie"},
    )
    clean = _file(app, number, "domicile.pdf", ScanStatus.clean, field_stable_id="f1")
    _file(app, number, "virus.pdf", ScanStatus.infected, field_stable_id="f1")
    _file(app, number, "annotation.pdf", ScanStatus.clean, field_stable_id="p1")
    login(client, marie)
    english(client)
    html = client.get(f"/dossiers/{number}").get_data(as_text=True)
    positions = [
        html.index(text)
        for text in ("Votre enfant", "Prénom de l&#39;enfant", "Léa", "Classe", "CE2")
    ]
    assert positions == sorted(positions)
    assert "Question sans réponse" not in html
    assert "Frères et sœurs" in html and "Tom" in html
    assert "Avis interne" not in html and "Famille connue" not in html
    assert "annotation.pdf" not in html
    assert f'href="/attachments/{clean}"' in html and "No virus found" in html
    assert "virus.pdf" in html and "/attachments/" + str(clean + 1) not in html
    assert "Marie Curie" in html


def test_the_progress_shows_each_state_with_its_date_and_the_decision(app, client, marie):
    canteen = procedure(app)
    number = dossier(app, canteen, marie, S.draft)
    with app.app_context():
        item = db.session.get(Dossier, number)
        item.group = item.procedure.groups[0]
        workflow.apply(item, workflow.Event.submit)
        workflow.apply(item, workflow.Event.start_review)
        workflow.apply(item, workflow.Event.accept, motivation="Dossier complet.")
        db.session.commit()
    attestation = _file(
        app, number, "attestation.pdf", ScanStatus.clean, use=AttachmentUse.attestation
    )
    with app.app_context():
        db.session.get(Dossier, number).attestation_id = attestation
        db.session.commit()
    login(client, marie)
    english(client)
    html = client.get(f"/dossiers/{number}").get_data(as_text=True)
    assert "usa-step-indicator" in html
    assert html.count("usa-step-indicator__segment--complete") == 3
    assert 'aria-current="step"' in html
    history = re.search(r'<ol class="usa-list guichet-history">(.*?)</ol>', html, re.S).group(1)
    labels = re.findall(r"— ([^<]+)</li>", history)
    assert labels == ["Dossier started", "Submitted", "In review", "Accepted"]
    assert "Dossier complet." in html
    assert f'href="/attachments/{attestation}"' in html and "Download my attestation" in html


def test_an_attestation_is_offered_only_for_an_accepted_dossier(app, client, marie):
    number = dossier(app, procedure(app), marie, S.refused, motivation="Hors délai.")
    attestation = _file(
        app, number, "attestation.pdf", ScanStatus.clean, use=AttachmentUse.attestation
    )
    with app.app_context():
        db.session.get(Dossier, number).attestation_id = attestation
        db.session.commit()
    login(client, marie)
    html = client.get(f"/dossiers/{number}").get_data(as_text=True)
    assert "Hors délai." in html
    assert f"/attachments/{attestation}" not in html


@pytest.mark.parametrize(
    ("state", "editable"),
    [(S.draft, True), (S.submitted, True), (S.in_review, False), (S.accepted, False)],
)
def test_the_answers_can_be_changed_until_review_starts(app, client, marie, state, editable):
    if "public_forms.edit_dossier" not in app.view_functions:
        pytest.skip("the filing part of the portal is not there yet")
    number = dossier(app, procedure(app), marie, state)
    login(client, marie)
    html = client.get(f"/dossiers/{number}").get_data(as_text=True)
    assert (f'href="/dossiers/{number}/formulaire"' in html) is editable


def test_the_messages_section_leads_to_the_thread_or_to_the_service(app, client, marie):
    number = dossier(app, procedure(app), marie, S.submitted)
    login(client, marie)
    html = client.get(f"/dossiers/{number}").get_data(as_text=True)
    assert 'id="messages-title"' in html
    if "messaging.thread" in app.view_functions:
        with app.test_request_context():
            thread = url_for("messaging.thread", number=number)
        assert f'href="{thread}"' in html
    else:
        assert "mailto:cantine@example.org" in html


# ---------------------------------------------------------------------------------------
# Deleting a draft, hiding a decided dossier


def test_a_draft_is_deleted_with_its_files_after_a_confirmation(app, client, marie):
    number = dossier(app, procedure(app), marie, S.draft)
    file_id = _file(app, number, "brouillon.pdf", ScanStatus.clean, field_stable_id="f1")
    login(client, marie)
    assert client.get(f"/dossiers/{number}/supprimer").status_code == 200
    response = client.post(f"/dossiers/{number}/supprimer")
    assert response.status_code == 302
    assert response.headers["Location"] == "/mes-dossiers?tab=drafts"
    with app.app_context():
        assert db.session.get(Dossier, number) is None
        assert db.session.get(Attachment, file_id) is None
        tombstone = db.session.scalar(
            sa.select(DossierTombstone).where(DossierTombstone.number == number)
        )
        assert tombstone.reason == "deleted_by_applicant"
    assert client.get(f"/dossiers/{number}").status_code == 404


def test_only_a_draft_can_be_deleted_and_only_by_its_owner(app, client, marie, paul):
    canteen = procedure(app)
    submitted = dossier(app, canteen, marie, S.submitted)
    shared_draft = dossier(app, canteen, paul, S.draft)
    invite(app, shared_draft, marie)
    login(client, marie)
    assert client.post(f"/dossiers/{submitted}/supprimer").status_code == 302
    assert client.post(f"/dossiers/{shared_draft}/supprimer").status_code == 404
    with app.app_context():
        assert db.session.get(Dossier, submitted) is not None
        assert db.session.get(Dossier, shared_draft) is not None


def test_a_decided_dossier_is_hidden_then_restored(app, client, marie):
    canteen = procedure(app)
    decided = dossier(app, canteen, marie, S.accepted)
    in_review = dossier(app, canteen, marie, S.in_review)
    login(client, marie)
    response = client.post(f"/dossiers/{decided}/masquer")
    assert response.headers["Location"] == "/mes-dossiers?tab=decided"
    assert numbers(tab(client, "decided")) == []
    assert numbers(tab(client, "deleted")) == [decided]
    assert client.get(f"/dossiers/{decided}").status_code == 200, "still readable"
    client.post(f"/dossiers/{decided}/restaurer")
    assert numbers(tab(client, "decided")) == [decided]
    client.post(f"/dossiers/{in_review}/masquer")
    with app.app_context():
        assert db.session.get(Dossier, in_review).hidden_by_applicant_at is None


# ---------------------------------------------------------------------------------------
# Co-editors


def test_an_invitation_is_mailed_with_a_link_whose_hash_only_is_stored(app, client, marie):
    number = dossier(app, procedure(app), marie, S.draft)
    login(client, marie)
    response = client.post(f"/dossiers/{number}/invitations", data={"email": "Paul@Example.org"})
    assert response.status_code == 302
    [mail] = mails(app, "paul@example.org")
    path = link_in(mail)
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation).where(Invitation.dossier_id == number))
        assert invitation.email == "paul@example.org"
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.accepted_at is None
    assert "paul@example.org" in client.get(f"/dossiers/{number}").get_data(as_text=True)


def test_accepting_needs_a_login_with_the_invited_address(app, client, marie, paul):
    number = dossier(app, procedure(app), marie, S.draft)
    stranger = person(app, email="stranger@example.org")
    login(client, marie)
    client.post(f"/dossiers/{number}/invitations", data={"email": paul.email})
    client.post("/deconnexion")
    path = link_in(mails(app, paul.email)[0])

    anonymous = client.get(path)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == f"/connexion?next={path}"
    login(client, stranger)
    assert client.get(path).status_code == 403
    assert client.post(path).status_code == 403
    assert client.get(f"/dossiers/{number}").status_code == 404
    client.post("/deconnexion")

    login(client, paul)
    assert client.get(path).status_code == 200
    accepted = client.post(path)
    assert accepted.headers["Location"] == f"/dossiers/{number}"
    assert numbers(tab(client, "invited")) == [number]
    html = client.get(f"/dossiers/{number}").get_data(as_text=True)
    assert "/supprimer" not in html and "/invitations" not in html, "the owner's actions only"


def test_a_revoked_invitation_closes_the_dossier_again(app, client, marie, paul):
    number = dossier(app, procedure(app), marie, S.submitted)
    login(client, marie)
    client.post(f"/dossiers/{number}/invitations", data={"email": paul.email})
    path = link_in(mails(app, paul.email)[0])
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    client.post("/deconnexion")
    login(client, paul)
    client.post(path)
    assert client.get(f"/dossiers/{number}").status_code == 200
    client.post("/deconnexion")
    login(client, marie)
    assert client.post(f"/dossiers/{number}/invitations/{invitation_id}/retirer").status_code == 302
    client.post("/deconnexion")
    login(client, paul)
    assert client.get(f"/dossiers/{number}").status_code == 404
    assert client.get(path).status_code == 404


def test_an_invitation_cannot_be_revoked_by_someone_else(app, client, marie, paul):
    number = dossier(app, procedure(app), marie, S.submitted)
    invite(app, number, paul)
    with app.app_context():
        invitation_id = db.session.scalar(sa.select(Invitation.id))
    login(client, paul)
    assert client.post(f"/dossiers/{number}/invitations/{invitation_id}/retirer").status_code == 404
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).revoked_at is None


def test_a_forged_or_expired_invitation_link_is_refused(app, client, marie, paul, monkeypatch):
    number = dossier(app, procedure(app), marie, S.draft)
    then = int(time.time()) - 31 * 24 * 3600
    with app.test_request_context():
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: then)
        token = accounts.make_link_token("invitation", {"dossier": number, "email": paul.email})
        monkeypatch.undo()
        db.session.add(
            Invitation(
                dossier_id=number,
                email=paul.email,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
            )
        )
        db.session.commit()
    login(client, paul)
    assert client.get(f"/invitations/{token}").status_code == 410
    assert client.post(f"/invitations/{token}").status_code == 410
    assert client.get(f"/invitations/{token[:-4]}abcd").status_code == 404
    assert client.get("/invitations/nimportequoi").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(Invitation.accepted_at)) is None


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ("", "Enter the email address"),
        ("pas-une-adresse", "email address like"),
        ("marie@example.org", "your own address"),
    ],
)
def test_an_invitation_to_a_wrong_address_is_refused_with_the_typing_kept(
    app, client, marie, email, problem
):
    number = dossier(app, procedure(app), marie, S.draft)
    login(client, marie)
    english(client)
    response = client.post(f"/dossiers/{number}/invitations", data={"email": email})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert problem in html
    assert 'href="#email"' in html and 'aria-invalid="true"' in html
    if email:
        assert f'value="{email}"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_a_decided_dossier_is_not_shared_any_more(app, client, marie, paul):
    number = dossier(app, procedure(app), marie, S.accepted)
    login(client, marie)
    assert (
        client.post(f"/dossiers/{number}/invitations", data={"email": paul.email}).status_code
        == 422
    )
    assert mails(app, paul.email) == []
