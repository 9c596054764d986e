"""Prefill: a system posts answers, gets a link; the applicant opens it, signs in, confirms
and continues a draft that is now theirs. Answers are validated as the portal validates
them (issue G8)."""

from __future__ import annotations

import re

import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.models import Dossier, DossierState, Procedure, ProcedureState
from app.security import Roles
from app.services import dossiers


def prefill(world, answers, token: str = "rw", procedure: int | None = None):
    return world.client().post(
        f"/api/v1/procedures/{procedure or world.procedure}/prefill",
        json={"answers": answers},
        headers=world.headers(token),
    )


def token_of(url: str) -> str:
    return re.search(r"/commencer/prerempli/([^/?#]+)$", url).group(1)


def test_prefilled_answers_make_an_unowned_draft_and_a_link(world):
    response = prefill(world, {"title": "Rénovation de la salle", "people": "12", "aid": True})
    assert response.status_code == 201, response.json
    url = response.json["url"]
    assert url.startswith("http://localhost/commencer/prerempli/")
    with world.app.app_context():
        draft = db.session.scalar(sa.select(Dossier).where(Dossier.prefill_token_hash.is_not(None)))
        assert draft.owner_id is None and draft.state == DossierState.draft
        assert draft.answers == {"title": "Rénovation de la salle", "people": 12, "aid": True}
        assert token_of(url) not in (draft.prefill_token_hash or "")


def test_invalid_or_unknown_answers_are_refused_and_nothing_is_made(world):
    response = prefill(world, {"people": "beaucoup", "nope": "x", "note": "annotation"})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"people", "nope", "note"}
    with world.app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Dossier).where(Dossier.owner_id.is_(None))
            )
            == 0
        )


def test_the_portal_link_validates_its_answers_the_same_way(world):
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure)
        owner = make.user(Roles.APPLICANT)
        draft = dossiers.create_draft(procedure, owner, prefill={"people": "beaucoup"})
        api_made = dossiers.validate(draft, {"people": "beaucoup"}, user=owner, partial=True)
        assert draft.answers == {} and "people" in api_made[1]
        db.session.rollback()


def test_a_closed_procedure_and_a_read_only_token_are_refused(world):
    assert prefill(world, {"title": "x"}, token="ro").status_code == 403
    with world.app.app_context():
        db.session.get(Procedure, world.procedure).state = ProcedureState.closed
        db.session.commit()
    closed = prefill(world, {"title": "x"})
    assert closed.status_code == 409 and closed.json["code"] == "procedure_not_open"
    assert prefill(world, {"title": "x"}, procedure=world.foreign).status_code == 404


def test_the_applicant_signs_in_confirms_and_the_draft_becomes_theirs_once(world):
    url = prefill(world, {"title": "Mon projet"}).json["url"]
    path = "/commencer/prerempli/" + token_of(url)
    client = world.client()
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "next=" in anonymous.headers["Location"]
    with world.app.app_context():
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        email, applicant_id = applicant.email, applicant.id
    make.login(client, email)
    page = client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    with world.app.app_context():  # a GET changes nothing
        waiting = db.session.scalars(
            sa.select(Dossier.owner_id).where(Dossier.prefill_token_hash.is_not(None))
        ).all()
        assert waiting == [None]
    claimed = client.post(path)
    assert claimed.status_code == 302
    number = int(re.search(r"/(\d+)/", claimed.headers["Location"]).group(1))
    with world.app.app_context():
        draft = db.session.get(Dossier, number)
        assert draft.owner_id == applicant_id and draft.prefill_token_hash is None
        assert draft.answers == {"title": "Mon projet"}
    assert client.post(path).status_code == 404  # spent
    assert client.get("/commencer/prerempli/unknown-token").status_code == 404
