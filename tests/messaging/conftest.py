"""Fixtures of the messaging tests: the people around one dossier's thread, and helpers to
sign in, post and read the mails written to the outbox folder."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.models import (
    Dossier,
    DossierState,
    Follow,
    OutboxEvent,
    User,
    utcnow,
)
from app.security import Roles
from app.services import outbox

PASSWORD = "a-long-test-password"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    """People around one procedure and the dossiers they see or do not see.

    - ``in_review``: the owner's dossier in review, co-edited, with an expert asked about it,
      followed by ``agent``;
    - ``submitted``, ``draft``, ``archived`` (accepted and archived), ``hidden`` (accepted,
      removed by its applicant from their list): the owner's other dossiers;
    - ``foreign``: a stranger's dossier of another administration's procedure.
    """

    app: Any
    people: dict[str, Any]
    dossiers: dict[str, int]
    procedure_id: int
    other_procedure_id: int

    def user(self, name: str) -> User:
        return db.session.get(User, self.people[name].id)

    def dossier(self, name: str = "in_review") -> Dossier:
        return db.session.get(Dossier, self.dossiers[name])

    def login(self, client, name: str) -> None:
        with self.app.app_context():
            self.app.appbuilder.sm.reset_password(self.people[name].id, PASSWORD)
        response = client.post(
            "/login/", data={"username": self.people[name].username, "password": PASSWORD}
        )
        assert response.status_code == 302, "login failed"

    def client(self, name: str | None = None):
        client = self.app.test_client()
        if name is not None:
            self.login(client, name)
        return client


def build_world(app) -> World:
    with app.app_context():
        people = {
            "owner": make.user(Roles.APPLICANT),
            "coeditor": make.user(Roles.APPLICANT),
            "invited": make.user(Roles.APPLICANT),  # invitation not accepted
            "stranger": make.user(Roles.APPLICANT),
            "agent": make.user(Roles.AGENT),
            "colleague": make.user(Roles.AGENT),  # same group, does not follow
            "other_agent": make.user(Roles.AGENT),  # another procedure's group
            "expert": make.user(Roles.EXPERT),
            "revoked_expert": make.user(Roles.EXPERT),
            "other_expert": make.user(Roles.EXPERT),  # asked about another dossier
            "administrator": make.user(Roles.ADMINISTRATOR),
            "other_administrator": make.user(Roles.ADMINISTRATOR),
            "admin": make.user(Roles.ADMIN),
        }
        administration = make.administration(people["administrator"])
        procedure = make.procedure(administration, people["agent"], people["colleague"])
        other = make.procedure(
            make.administration(people["other_administrator"]), people["other_agent"]
        )
        owner = people["owner"]
        dossiers = {
            "in_review": make.dossier(procedure, owner, DossierState.in_review),
            "submitted": make.dossier(procedure, owner, DossierState.submitted),
            "draft": make.dossier(procedure, owner, DossierState.draft),
            "archived": make.dossier(procedure, owner, DossierState.accepted),
            "hidden": make.dossier(procedure, owner, DossierState.accepted),
            "foreign": make.dossier(other, people["stranger"]),
            "other_submitted": make.dossier(other, people["stranger"]),
        }
        dossiers["archived"].archived = True
        dossiers["hidden"].hidden_by_applicant_at = utcnow()
        for name in ("in_review", "submitted", "draft", "archived", "hidden"):
            make.invitation(dossiers[name], people["coeditor"])
            make.invitation(dossiers[name], people["invited"], accepted=False)
        make.opinion(dossiers["in_review"], people["expert"])
        make.opinion(dossiers["in_review"], people["revoked_expert"], revoked=True)
        make.opinion(dossiers["other_submitted"], people["other_expert"])
        db.session.add(Follow(dossier=dossiers["in_review"], user_id=people["agent"].id))
        db.session.commit()
        return World(
            app=app,
            people={
                name: SimpleNamespace(id=person.id, username=person.username, email=person.email)
                for name, person in people.items()
            },
            dossiers={name: dossier.id for name, dossier in dossiers.items()},
            procedure_id=procedure.id,
            other_procedure_id=other.id,
        )


@pytest.fixture
def world(make_app) -> World:
    """A world on an app whose background jobs run inline and whose notifications leave
    at once (no grouping delay): what the embedded default does."""
    return build_world(make_app(CELERY_BROKER_URL=None, MESSAGING_NOTIFICATION_DELAY=0))


@pytest.fixture
def delayed_world(make_app) -> World:
    """A world whose notifications wait five minutes for the next messages, as with a
    broker in production (jobs still run inline here; the test plays the relay)."""
    return build_world(make_app(CELERY_BROKER_URL=None, MESSAGING_NOTIFICATION_DELAY=300))


def mails(app) -> list:
    """The mails written to the outbox folder, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [
        BytesParser(policy=policy.default).parse(path.open("rb"))
        for path in sorted(folder.glob("*.eml"))
    ]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def make_due(app) -> int:
    """Play the relay once the grouping delay has passed: every delayed event becomes due,
    then ``outbox.relay`` hands them over (inline here). Returns how many it handed."""
    with app.app_context():
        db.session.execute(
            sa.update(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None))
            .values(available_at=utcnow().replace(year=2000))
        )
        db.session.commit()
        return outbox.relay()
