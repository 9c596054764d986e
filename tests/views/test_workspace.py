"""The agent workspace and the expert's page, through HTTP as agents use them."""

import re

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, group, label, procedure_with_form

import factories as make
from app.extensions import db
from app.models import (
    AdministrationMember,
    Dossier,
    Follow,
    Opinion,
    SavedView,
    StateTransition,
    dossier_label,
)
from app.security import Roles
from app.services import search


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context():
        me, stranger = agent(), agent()
        expert = make.user(Roles.APPLICANT, can_log_in=True)
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        procedure = procedure_with_form(me)
        group(procedure, "Groupe B").members.append(stranger)
        db.session.add(
            AdministrationMember(
                administration_id=procedure.administration_id, user_id=administrator.id
            )
        )
        other = procedure_with_form(stranger)
        first = dossier(
            procedure,
            applicant,
            S.submitted,
            answers={
                "title": "Médiathèque",
                "amount": 1500,
                "aid": False,
                "kind": "Renouvellement",
            },
            annotations={"note": "À revoir"},
        )
        second = dossier(
            procedure, applicant, S.in_review, answers={"title": "Kermesse", "amount": 90}
        )
        third = dossier(
            procedure, applicant, S.in_review, answers={"title": "Brocante", "amount": 400}
        )
        theirs = dossier(
            procedure,
            applicant,
            S.submitted,
            group_=group(procedure, "Groupe B"),
            answers={"title": "Médiathèque bis"},
        )
        elsewhere = dossier(other, applicant, S.submitted)
        draft = dossier(procedure, applicant, S.draft)
        urgent = label(procedure, "Urgent")
        return {
            "me": me.username,
            "stranger": stranger.username,
            "expert": expert.username,
            "expert_email": expert.email,
            "applicant": applicant.username,
            "administrator": administrator.username,
            "pid": procedure.id,
            "title": procedure.title,
            "other_pid": other.id,
            "other_title": other.title,
            "first": first.id,
            "second": second.id,
            "third": third.id,
            "theirs": theirs.id,
            "elsewhere": elsewhere.id,
            "draft": draft.id,
            "urgent": urgent.id,
            "group_b": group(procedure, "Groupe B").id,
        }


def page_of(response) -> str:
    return response.get_data(as_text=True)


def listed(html: str) -> set[int]:
    return {int(n) for n in re.findall(r"/instruction/dossiers/(\d+)\?", html)}


def table(client, world, **params):
    response = client.get(f"/instruction/procedures/{world['pid']}/", query_string=params)
    assert response.status_code == 200, response.status_code
    return page_of(response)


def version_of(app, number: int) -> int:
    with app.app_context():
        return db.session.get(Dossier, number).version


# -- home and table --------------------------------------------------------------------


def test_the_home_lists_the_agents_procedures_with_their_tab_counts(client, world):
    make.login(client, world["me"])
    html = page_of(client.get("/instruction/"))
    assert world["title"] in html and world["other_title"] not in html
    assert f"/instruction/procedures/{world['pid']}/?tab=to_follow" in html
    assert f"/instruction/procedures/{world['pid']}/?tab=all" in html


def test_the_table_lists_the_tab_and_never_another_groups_dossiers(client, world):
    make.login(client, world["me"])
    mine = {world["first"], world["second"], world["third"]}
    assert listed(table(client, world)) == mine  # to follow: open, followed by nobody
    assert listed(table(client, world, tab="decided")) == set()
    assert listed(table(client, world, tab="all")) == {
        world["first"],
        world["second"],
        world["third"],
    }
    assert client.get(f"/instruction/procedures/{world['other_pid']}/").status_code == 404
    assert client.get("/instruction/procedures/999999/").status_code == 404


def test_a_filter_added_by_form_is_saved_and_restored_then_removed(app, client, world):
    make.login(client, world["me"])
    table(client, world, tab="all")
    response = client.post(
        f"/instruction/procedures/{world['pid']}/filters",
        data={"column": "field:amount", "operator": "between", "low": "100", "high": "2000"},
    )
    assert response.status_code == 302
    html = table(client, world)  # no parameter: the saved tab and filter come back
    assert listed(html) == {world["first"], world["third"]}
    assert "Montant demandé" in html
    with app.app_context():
        saved = db.session.scalar(sa.select(SavedView))
        assert saved.tab == "all"
        assert saved.filters == [
            {"column": "field:amount", "operator": "between", "value": ["100", "2000"]}
        ]
    client.post(f"/instruction/procedures/{world['pid']}/filters/remove", data={"index": "0"})
    assert len(listed(table(client, world))) == 3


def test_a_wrong_filter_or_parameter_gets_a_message_not_an_error(client, world):
    make.login(client, world["me"])
    response = client.post(
        f"/instruction/procedures/{world['pid']}/filters",
        data={"column": "field:amount", "operator": "gt", "value": "beaucoup"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Montant demandé" in page_of(response) and "saisissez un nombre" in page_of(response)
    for params in ({"sort": "nothing"}, {"tab": "secret"}, {"sort": "number", "dir": "up"}):
        response = client.get(
            f"/instruction/procedures/{world['pid']}/", query_string=params, follow_redirects=True
        )
        assert response.status_code == 200, params
    response = client.post(
        f"/instruction/procedures/{world['pid']}/filters",
        data={"column": "owner.password", "operator": "eq", "value": "x"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Colonne inconnue" in page_of(response)
    html = table(client, world, cursor="garbage")
    assert "plus valide" in html


def test_columns_and_sort_are_chosen_and_remembered(app, client, world):
    make.login(client, world["me"])
    client.post(
        f"/instruction/procedures/{world['pid']}/columns",
        data={"columns": ["number", "field:title", "field:amount", "annotation:note"]},
    )
    html = table(client, world, tab="all", sort="field:amount", dir="asc")
    assert "Intitulé du projet" in html and "Avis du service" in html
    order = [int(n) for n in re.findall(r"/instruction/dossiers/(\d+)\?", html)]
    assert order == [world["second"], world["third"], world["first"]]  # 90, 400, 1500
    again = [int(n) for n in re.findall(r"/instruction/dossiers/(\d+)\?", table(client, world))]
    assert again == order


def test_a_number_typed_in_the_search_opens_that_dossier_if_visible(client, world):
    make.login(client, world["me"])
    response = client.get(
        f"/instruction/procedures/{world['pid']}/", query_string={"q": f"n° {world['second']}"}
    )
    assert response.status_code == 302
    assert f"/instruction/dossiers/{world['second']}" in response.location
    html = table(client, world, q=str(world["theirs"]))  # another group's: no jump
    assert world["theirs"] not in listed(html)
    assert listed(table(client, world, tab="all", q="mediatheque")) == {world["first"]}


# -- the dossier page ------------------------------------------------------------------


def test_the_dossier_page_shows_what_the_applicant_saw_and_a_guess_gets_404(client, world):
    make.login(client, world["me"])
    html = page_of(client.get(f"/instruction/dossiers/{world['first']}"))
    assert "Médiathèque" in html and "Renouvellement" in html and "À revoir" in html
    assert "Aide déjà reçue" in html
    assert "Quelle aide ?" not in html  # shown only when the aid was received
    for number in (world["theirs"], world["elsewhere"], world["draft"], 999999):
        assert client.get(f"/instruction/dossiers/{number}").status_code == 404, number
        assert client.post(f"/instruction/dossiers/{number}/follow").status_code == 404


def test_previous_and_next_follow_the_table(client, world):
    make.login(client, world["me"])
    params = {"tab": "all", "sort": "field:amount", "dir": "asc"}
    html = page_of(client.get(f"/instruction/dossiers/{world['third']}", query_string=params))
    assert re.search(rf'/instruction/dossiers/{world["second"]}\?[^"]*" rel="prev"', html)
    assert re.search(rf'/instruction/dossiers/{world["first"]}\?[^"]*" rel="next"', html)


def test_an_agent_decides_through_the_buttons(app, client, world):
    make.login(client, world["me"])
    number = world["second"]
    response = client.post(
        f"/instruction/dossiers/{number}/transition",
        data={"event": "refuse", "motivation": " ", "version": version_of(app, number)},
        follow_redirects=True,
    )
    assert "motivation" in page_of(response).lower()
    response = client.post(
        f"/instruction/dossiers/{number}/transition",
        data={"event": "accept", "motivation": "Conforme", "version": version_of(app, number)},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Dossier, number).state == S.accepted
    response = client.post(
        f"/instruction/dossiers/{number}/transition",
        data={"event": "reopen", "version": 1},
        follow_redirects=True,
    )
    assert "modifié par quelqu’un d’autre" in page_of(response)
    with app.app_context():
        events = db.session.scalars(
            sa.select(StateTransition.event).where(StateTransition.dossier_id == number)
        ).all()
        assert events == ["accept"]


def test_annotations_are_saved_inline_refused_with_messages_or_on_conflict(app, client, world):
    make.login(client, world["me"])
    number = world["first"]
    version = version_of(app, number)
    response = client.post(
        f"/instruction/dossiers/{number}/annotations",
        data={"score": "douze", "note": "Bien", "version": version},
    )
    assert response.status_code == 422
    assert "whole number" in page_of(response) or "nombre entier" in page_of(response)
    assert "Bien" in page_of(response)  # what was typed is kept
    response = client.post(
        f"/instruction/dossiers/{number}/annotations",
        data={"score": "12", "note": "Bien", "priority": "Haute", "version": version},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Dossier, number).annotations == {
            "score": 12,
            "note": "Bien",
            "priority": "Haute",
        }
    response = client.post(
        f"/instruction/dossiers/{number}/annotations",
        data={"score": "1", "note": "Écrasé", "version": version},
    )
    assert response.status_code == 409
    assert "modifié par quelqu’un d’autre" in page_of(response)


def test_follow_labels_and_group_from_the_dossier_page(app, client, world):
    make.login(client, world["me"])
    number = world["first"]
    client.post(f"/instruction/dossiers/{number}/follow")
    client.post(
        f"/instruction/dossiers/{number}/labels", data={"label": world["urgent"], "action": "add"}
    )
    with app.app_context():
        assert db.session.scalar(sa.select(Follow.user_id).where(Follow.dossier_id == number))
        assert (
            db.session.scalar(
                sa.select(dossier_label.c.label_id).where(dossier_label.c.dossier_id == number)
            )
            == world["urgent"]
        )
    assert listed(table(client, world, tab="followed")) == {number}
    client.post(f"/instruction/dossiers/{number}/unfollow")
    client.post(
        f"/instruction/dossiers/{number}/labels",
        data={"label": world["urgent"], "action": "remove"},
    )
    response = client.post(
        f"/instruction/dossiers/{number}/group",
        data={"group": world["group_b"], "version": version_of(app, number)},
    )
    assert response.status_code == 302
    assert f"/instruction/procedures/{world['pid']}/" in response.location  # out of my sight
    assert client.get(f"/instruction/dossiers/{number}").status_code == 404


def test_print_view_and_pdf(client, world):
    make.login(client, world["me"])
    html = page_of(client.get(f"/instruction/dossiers/{world['first']}/print"))
    assert "window.print()" in html and "Médiathèque" in html
    assert "onclick" not in html  # the back office's policy runs nonce'd scripts only
    response = client.get(f"/instruction/dossiers/{world['first']}/answers.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


# -- roles -----------------------------------------------------------------------------


def test_an_administrator_reads_but_does_not_act(app, client, world):
    make.login(client, world["administrator"])
    assert client.get(f"/instruction/dossiers/{world['theirs']}").status_code == 200
    response = client.post(
        f"/instruction/dossiers/{world['first']}/transition",
        data={"event": "start_review", "version": version_of(app, world["first"])},
    )
    assert response.status_code == 403
    assert listed(table(client, world, tab="all")) >= {world["first"], world["theirs"]}


def test_applicants_and_visitors_are_kept_out_and_the_old_list_is_gone(client, world):
    response = client.get("/instruction/")
    assert response.status_code == 302 and "/login" in response.location
    make.login(client, world["applicant"])
    assert client.get("/instruction/").status_code == 403
    assert client.get(f"/instruction/dossiers/{world['first']}").status_code == 403
    client.get("/logout/")
    make.login(client, world["me"])
    assert client.get("/dossierview/list/").status_code == 403


# -- experts ---------------------------------------------------------------------------


def test_an_expert_is_asked_reads_that_dossier_only_and_answers_once(app, client, world):
    make.login(client, world["me"])
    response = client.post(
        f"/instruction/dossiers/{world['first']}/opinions",
        data={"email": world["expert_email"], "question": "Est-ce conforme ?", "yes_no": "1"},
    )
    assert response.status_code == 302
    with app.app_context():
        opinion_id = db.session.scalar(sa.select(Opinion.id))
    client.get("/logout/")
    make.login(client, world["expert"])
    html = page_of(client.get(f"/avis/{opinion_id}"))
    assert "Est-ce conforme ?" in html and "Médiathèque" in html and "À revoir" not in html
    assert f"/avis/{opinion_id}" in page_of(client.get("/avis/"))
    assert client.get(f"/instruction/dossiers/{world['first']}").status_code == 403
    response = client.post(f"/avis/{opinion_id}", data={"answer": "Oui.", "yes_no": ""})
    assert response.status_code == 422
    assert (
        client.post(f"/avis/{opinion_id}", data={"answer": "Oui.", "yes_no": "yes"}).status_code
        == 302
    )
    response = client.post(f"/avis/{opinion_id}", data={"answer": "Non.", "yes_no": "no"})
    assert response.status_code == 422 and "qu’une fois" in page_of(response)
    client.get("/logout/")
    make.login(client, world["stranger"])
    assert client.get(f"/avis/{opinion_id}").status_code == 403  # not an expert at all
    client.get("/logout/")
    make.login(client, world["me"])
    html = page_of(client.get(f"/instruction/dossiers/{world['first']}"))
    assert "Oui." in html
    client.post(f"/instruction/dossiers/{world['first']}/opinions/{opinion_id}/revoke")
    client.get("/logout/")
    make.login(client, world["expert"])
    assert client.get(f"/avis/{opinion_id}").status_code == 404
