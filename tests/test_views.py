"""The back-office screens only ever show the rows a person may see."""

import pytest

import factories as make
from app.security import Roles


@pytest.fixture
def people(app):
    with app.app_context():
        agent_a, agent_b, applicant = (
            make.user(Roles.AGENT, can_log_in=True),
            make.user(Roles.AGENT, can_log_in=True),
            make.user(Roles.APPLICANT, can_log_in=True),
        )
        proc_a = make.procedure(make.administration(), agent_a)
        proc_b = make.procedure(make.administration(), agent_b)
        mine = make.dossier(proc_a, applicant)
        theirs = make.dossier(proc_b, applicant)
        return {
            "agent": agent_a.username,
            "applicant": applicant.username,
            "mine": mine.id,
            "theirs": theirs.id,
            "proc_a": proc_a.title,
            "proc_a_id": proc_a.id,
            "proc_b_id": proc_b.id,
            "proc_b": proc_b.title,
        }


def test_an_agent_lists_only_the_dossiers_of_their_groups(client, people):
    make.login(client, people["agent"])
    page = client.get(f"/instruction/procedures/{people['proc_a_id']}/?tab=all")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/instruction/dossiers/{people['mine']}" in text
    assert f"/instruction/dossiers/{people['theirs']}" not in text
    assert client.get(f"/instruction/procedures/{people['proc_b_id']}/").status_code == 404


def test_a_guessed_dossier_id_gets_a_404(client, people):
    make.login(client, people["agent"])
    assert client.get(f"/instruction/dossiers/{people['mine']}").status_code == 200
    assert client.get(f"/instruction/dossiers/{people['theirs']}").status_code == 404


def test_an_agent_home_lists_only_the_procedures_they_instruct(client, people):
    make.login(client, people["agent"])
    page = client.get("/instruction/").get_data(as_text=True)
    assert people["proc_a"] in page and people["proc_b"] not in page


def test_an_applicant_is_forbidden_the_back_office(client, people):
    make.login(client, people["applicant"])
    for url in ("/instruction/", "/admin/procedures/list/", "/administrationview/list/"):
        response = client.get(url)
        assert response.status_code in (403, 404) or "/login" in (response.location or ""), url


def test_anonymous_visitors_are_sent_to_the_login_page(client, people):
    response = client.get(f"/instruction/dossiers/{people['mine']}")
    assert response.status_code == 302 and "/login" in response.location
