"""The REST API v1 on dossiers: filtered lists with stable cursor pages and a total, one
dossier with everything about it, and the changes the screens make, through the same
services (workflow, mails, annotations, labels, messages) (issue G8)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
import workspace_data as data

import factories as make
from app.extensions import db
from app.models import (
    Dossier,
    DossierState,
    Message,
    OutboxEvent,
    Procedure,
    StateTransition,
    dossier_label,
    utcnow,
)

from .conftest import dossier


def many_dossiers(world, count: int) -> list[int]:
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.second)
        numbers = [
            data.dossier(procedure, None, DossierState.submitted, minutes_ago=count - n).id
            for n in range(count)
        ]
        db.session.commit()
    return numbers


def all_pages(world, url: str, **params) -> tuple[list[int], list[int]]:
    """Numbers of every page, and the totals each page announced."""
    client = world.client()
    numbers: list[int] = []
    totals: list[int] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = client.get(url, query_string=query, headers=world.headers())
        assert response.status_code == 200, response.json
        numbers += [item["number"] for item in response.json["items"]]
        totals.append(response.json["total"])
        cursor = response.json["next_cursor"]
        if cursor is None:
            return numbers, totals


def test_pages_give_every_dossier_once_in_order_with_the_total(world):
    created = many_dossiers(world, 12)
    url = f"/api/v1/procedures/{world.second}/dossiers"
    numbers, totals = all_pages(world, url, page_size=5)
    expected = [world.dossiers["second"], *created]
    assert sorted(numbers) == sorted(expected)
    assert len(numbers) == len(set(numbers)) == 13
    assert set(totals) == {13}


def test_a_dossier_changed_while_paging_is_neither_lost_nor_repeated_before_its_change(world):
    created = many_dossiers(world, 9)
    url = f"/api/v1/procedures/{world.second}/dossiers"
    client = world.client()
    first = client.get(url, query_string={"page_size": 4}, headers=world.headers()).json
    seen = [item["number"] for item in first["items"]]
    # one already seen and one not yet seen change meanwhile (they move to the end)
    with world.app.app_context():
        for number in (seen[0], created[-3]):
            db.session.get(Dossier, number).updated_at = utcnow() + timedelta(seconds=1)
        db.session.commit()
    cursor = first["next_cursor"]
    rest: list[int] = []
    while cursor:
        page = client.get(
            url, query_string={"page_size": 4, "cursor": cursor}, headers=world.headers()
        ).json
        rest += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
    everything = seen + rest
    assert set(everything) == {world.dossiers["second"], *created}
    assert everything.count(created[-3]) == 1
    assert rest[-2:] == sorted([seen[0], created[-3]])  # changed: at the end, in order


def test_filters_by_state_group_dates_and_updated_since(world):
    url = f"/api/v1/procedures/{world.procedure}/dossiers"
    client = world.client()
    listed = client.get(url, headers=world.headers()).json
    assert listed["total"] == 2  # the draft is not listed
    in_review = client.get(url, query_string={"state": "in_review"}, headers=world.headers()).json
    assert [item["number"] for item in in_review["items"]] == [world.dossiers["in_review"]]
    both = client.get(
        url, query_string=[("state", "in_review"), ("state", "submitted")], headers=world.headers()
    ).json
    assert both["total"] == 2
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure)
        group_b = data.group(procedure, "Groupe B").id
        dossier(world, "submitted").group_id = group_b
        db.session.commit()
    grouped = client.get(url, query_string={"group": group_b}, headers=world.headers()).json
    assert [item["number"] for item in grouped["items"]] == [world.dossiers["submitted"]]
    assert grouped["items"][0]["group"] == {"id": group_b, "name": "Groupe B"}
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert (
        client.get(url, query_string={"updated_since": future}, headers=world.headers()).json[
            "total"
        ]
        == 0
    )
    assert (
        client.get(url, query_string={"submitted_after": future}, headers=world.headers()).json[
            "total"
        ]
        == 0
    )
    assert (
        client.get(url, query_string={"submitted_before": future}, headers=world.headers()).json[
            "total"
        ]
        == 2
    )


def test_bad_filters_and_cursors_are_refused_clearly(world):
    url = f"/api/v1/procedures/{world.procedure}/dossiers"
    client = world.client()
    state = client.get(url, query_string={"state": "draft"}, headers=world.headers())
    assert state.status_code == 422
    assert "state.0" in state.json["errors"]
    size = client.get(url, query_string={"page_size": 1000}, headers=world.headers())
    assert size.status_code == 422 and "page_size" in size.json["errors"]
    cursor = client.get(url, query_string={"cursor": "garbage!"}, headers=world.headers())
    assert cursor.status_code == 400 and cursor.json["code"] == "bad_cursor"


def test_one_dossier_has_typed_answers_annotations_transitions_messages_and_labels(world):
    number = world.dossiers["in_review"]
    with world.app.app_context():
        item = dossier(world, "in_review")
        item.answers = {"title": "Un projet", "amount": "1200.50", "aid": True}
        item.annotations = {"score": 7}
        data.label(db.session.get(Procedure, world.procedure), "Urgent", item)
        db.session.add(
            Message(dossier_id=number, author_kind="applicant", body="Bonjour", created_at=utcnow())
        )
        db.session.commit()
    response = world.client().get(f"/api/v1/dossiers/{number}", headers=world.headers("ro"))
    assert response.status_code == 200
    body = response.json
    answers = {row["stable_id"]: row for row in body["answers"]}
    assert answers["title"] == {
        "stable_id": "title",
        "label": "Intitulé du projet",
        "type": "text",
        "value": "Un projet",
        "text": "Un projet",
    }
    assert answers["aid"]["value"] is True and answers["aid"]["type"] == "yes_no"
    assert "aid_detail" in answers  # shown by its condition
    assert "note" not in answers  # annotations are apart
    annotations = {row["stable_id"]: row for row in body["annotations"]}
    assert annotations["score"]["value"] == 7
    assert [label["name"] for label in body["labels"]] == ["Urgent"]
    assert [message["body"] for message in body["messages"]] == ["Bonjour"]
    assert body["state"] == "in_review"
    assert "accept" in body["allowed_events"]


def test_a_state_change_goes_through_the_workflow_and_mails_the_applicant(world):
    number = world.dossiers["submitted"]
    client = world.client()
    version = client.get(f"/api/v1/dossiers/{number}", headers=world.headers()).json["version"]
    response = client.post(
        f"/api/v1/dossiers/{number}/state",
        json={"event": "start_review", "version": version},
        headers=world.headers(),
    )
    assert response.status_code == 200, response.json
    assert response.json["dossier"]["state"] == "in_review"
    with world.app.app_context():
        transition = db.session.scalar(
            sa.select(StateTransition).where(
                StateTransition.dossier_id == number, StateTransition.event == "start_review"
            )
        )
        assert transition.actor_id == world.administrator_id
        topics = set(db.session.scalars(sa.select(OutboxEvent.topic)))
        assert {"dossier.state_changed", "mail.send"} <= topics


def test_a_stale_version_or_an_impossible_event_is_a_conflict(world):
    number = world.dossiers["submitted"]
    client = world.client()
    stale = client.post(
        f"/api/v1/dossiers/{number}/state",
        json={"event": "start_review", "version": 999},
        headers=world.headers(),
    )
    assert stale.status_code == 409 and stale.json["code"] == "conflict"
    impossible = client.post(
        f"/api/v1/dossiers/{number}/state", json={"event": "accept"}, headers=world.headers()
    )
    assert impossible.status_code == 409
    assert impossible.json["code"] == "transition_not_allowed"
    refusal = client.post(
        f"/api/v1/dossiers/{world.dossiers['in_review']}/state",
        json={"event": "refuse"},
        headers=world.headers(),
    )
    assert refusal.status_code == 409  # a refusal needs a motivation
    unknown = client.post(
        f"/api/v1/dossiers/{number}/state", json={"event": "submit"}, headers=world.headers()
    )
    assert unknown.status_code == 422 and "event" in unknown.json["errors"]
    not_json = client.post(f"/api/v1/dossiers/{number}/state", data="x", headers=world.headers())
    assert not_json.status_code == 400
    with world.app.app_context():
        assert dossier(world, "submitted").state == DossierState.submitted


def test_a_message_is_written_as_the_administration(world):
    number = world.dossiers["in_review"]
    response = world.client().post(
        f"/api/v1/dossiers/{number}/messages",
        json={"body": "  Votre dossier est complet.  "},
        headers=world.headers(),
    )
    assert response.status_code == 201, response.json
    assert response.json["body"] == "Votre dossier est complet."
    empty = world.client().post(
        f"/api/v1/dossiers/{number}/messages", json={"body": "   "}, headers=world.headers()
    )
    assert empty.status_code == 422
    with world.app.app_context():
        messages = list(db.session.scalars(sa.select(Message).where(Message.dossier_id == number)))
        assert [(m.author_kind.value, m.author_id) for m in messages] == [
            ("agent", world.administrator_id)
        ]


def test_annotations_are_validated_and_stored(world):
    number = world.dossiers["in_review"]
    client = world.client()
    invalid = client.post(
        f"/api/v1/dossiers/{number}/annotations",
        json={"values": {"score": "beaucoup"}},
        headers=world.headers(),
    )
    assert invalid.status_code == 422 and "score" in invalid.json["errors"]
    unknown = client.post(
        f"/api/v1/dossiers/{number}/annotations",
        json={"values": {"title": "x"}},
        headers=world.headers(),
    )
    assert unknown.status_code == 422 and "title" in unknown.json["errors"]
    stored = client.post(
        f"/api/v1/dossiers/{number}/annotations",
        json={"values": {"score": 12, "priority": "Haute"}},
        headers=world.headers(),
    )
    assert stored.status_code == 200, stored.json
    with world.app.app_context():
        assert dossier(world, "in_review").annotations == {"score": 12, "priority": "Haute"}


def test_a_label_of_the_procedure_is_added_once(world):
    number = world.dossiers["in_review"]
    with world.app.app_context():
        label = data.label(db.session.get(Procedure, world.procedure), "Complet").id
        foreign_label = data.label(db.session.get(Procedure, world.second), "Autre").id
    client = world.client()
    for _ in range(2):
        response = client.post(
            f"/api/v1/dossiers/{number}/labels", json={"label_id": label}, headers=world.headers()
        )
        assert response.status_code == 200 and response.json["name"] == "Complet"
    other = client.post(
        f"/api/v1/dossiers/{number}/labels",
        json={"label_id": foreign_label},
        headers=world.headers(),
    )
    assert other.status_code == 422
    with world.app.app_context():
        rows = db.session.scalars(
            sa.select(dossier_label.c.label_id).where(dossier_label.c.dossier_id == number)
        ).all()
        assert rows == [label]


def test_a_label_is_taken_off_once_and_only_a_label_of_the_procedure(world):
    number = world.dossiers["in_review"]
    with world.app.app_context():
        label = data.label(db.session.get(Procedure, world.procedure), "Complet").id
        kept = data.label(db.session.get(Procedure, world.procedure), "Urgent").id
        foreign_label = data.label(db.session.get(Procedure, world.second), "Autre").id
    client = world.client()
    for chosen in (label, kept):
        client.post(
            f"/api/v1/dossiers/{number}/labels", json={"label_id": chosen}, headers=world.headers()
        )
    for _ in range(2):
        response = client.delete(
            f"/api/v1/dossiers/{number}/labels/{label}", headers=world.headers()
        )
        assert response.status_code == 204 and not response.data
    other = client.delete(
        f"/api/v1/dossiers/{number}/labels/{foreign_label}", headers=world.headers()
    )
    assert other.status_code == 404
    with world.app.app_context():
        rows = db.session.scalars(
            sa.select(dossier_label.c.label_id).where(dossier_label.c.dossier_id == number)
        ).all()
        assert rows == [kept]


def test_the_api_needs_no_csrf_token_but_the_screens_do(make_app):
    from .conftest import build_world

    world = build_world(make_app(WTF_CSRF_ENABLED=True))
    response = world.client().post(
        f"/api/v1/dossiers/{world.dossiers['submitted']}/state",
        json={"event": "start_review"},
        headers=world.headers(),
    )
    assert response.status_code == 200
    client = world.client()
    login_page = client.get("/login/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    signed_in = client.post(
        "/login/",
        data={"username": world.administrator, "password": make.PASSWORD, "csrf_token": csrf},
    )
    assert signed_in.status_code == 302
    screen = client.post(f"/admin/integrations/tokens/{world.tokens['rw']}/revoke")
    assert screen.status_code == 400
    with world.app.app_context():
        assert world.token("rw").revoked_at is None
