"""Administrators build their procedures through the settings form and the hub."""

import re

import pytest
import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.models import (
    DeclarativeMode,
    FieldDefinition,
    FilerKind,
    Procedure,
    ProcedureState,
)
from app.security import Roles


@pytest.fixture
def setup(app):
    with app.app_context():
        mine, other, agent = (
            make.user(Roles.ADMINISTRATOR, can_log_in=True),
            make.user(Roles.ADMINISTRATOR, can_log_in=True),
            make.user(Roles.AGENT, can_log_in=True),
        )
        administration = make.administration(mine)
        foreign = make.administration(other)
        procedure = make.procedure(foreign, agent)
        return {
            "me": mine.username,
            "other": other.username,
            "agent": agent.username,
            "administration": administration.id,
            "foreign": foreign.id,
            "foreign_procedure": procedure.id,
        }


def settings(**extra):
    return {
        "title": "Permis de végétaliser",
        "description": "Végétalisez votre rue.",
        "retention_months": "12",
        "draft_retention_days": "180",
        "declarative_mode": "none",
        "filer_kind": "person",
        **extra,
    }


def test_an_administrator_creates_a_procedure_that_opens_on_its_hub(app, client, setup):
    make.login(client, setup["me"])
    response = client.post(
        "/admin/procedures/add", data=settings(administration=setup["administration"])
    )
    assert response.status_code == 302 and "/procedures/" in response.location
    with app.app_context():
        procedure = db.session.scalar(
            sa.select(Procedure).where(Procedure.title == "Permis de végétaliser")
        )
        assert procedure.slug == "permis-de-vegetaliser"
        assert procedure.state == ProcedureState.draft
        assert procedure.draft_revision is not None and procedure.test_token
        assert [g.name for g in procedure.groups] == ["Groupe par défaut"]
        hub = client.get(response.location).get_data(as_text=True)
        assert "Permis de végétaliser" in hub and "Mode test" in hub


def test_the_settings_offer_words_for_the_declarative_mode_and_who_files(app, client, setup):
    make.login(client, setup["me"])
    page = client.get("/admin/procedures/add").get_data(as_text=True)
    options = dict(re.findall(r'<option[^>]*value="([a-z_]+)"[^>]*>\s*([^<]*?)\s*<', page))
    for value in ("none", "in_review", "accepted", "person", "company"):
        assert options[value] and options[value] != value
    client.post(
        "/admin/procedures/add",
        data=settings(
            administration=setup["administration"],
            filer_kind="company",
            declarative_mode="accepted",
        ),
    )
    with app.app_context():
        procedure = db.session.scalar(
            sa.select(Procedure).where(Procedure.title == "Permis de végétaliser")
        )
        assert procedure.filer_kind == FilerKind.company
        assert procedure.declarative_mode == DeclarativeMode.accepted
        edit = client.get(f"/admin/procedures/edit/{procedure.id}").get_data(as_text=True)
    assert re.search(
        r'<option[^>]*selected[^>]*value="company"|<option[^>]*value="company"[^>]*selected', edit
    )


def test_a_retention_outside_1_to_60_months_is_refused_with_a_message(app, client, setup):
    make.login(client, setup["me"])
    page = client.post(
        "/admin/procedures/add",
        data=settings(administration=setup["administration"], retention_months="61"),
    )
    assert page.status_code == 200  # the form again, with its error
    assert "61" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Procedure)) == 1


def test_an_administrator_cannot_create_in_another_administration(app, client, setup):
    make.login(client, setup["me"])
    client.post("/admin/procedures/add", data=settings(administration=setup["foreign"]))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Procedure)) == 1


def test_another_administrations_procedure_is_not_found(client, setup):
    make.login(client, setup["me"])
    pid = setup["foreign_procedure"]
    assert client.get(f"/procedures/{pid}/").status_code == 404
    assert client.get(f"/admin/procedures/edit/{pid}").status_code in (302, 404)
    assert client.post(f"/procedures/{pid}/unpublish").status_code == 404
    assert setup["foreign_procedure"] and "Procédure" not in client.get(
        "/admin/procedures/list/"
    ).get_data(as_text=True)


def test_agents_cannot_open_the_builder(client, setup):
    make.login(client, setup["agent"])
    assert client.get("/admin/procedures/list/").status_code == 403
    assert client.get(f"/procedures/{setup['foreign_procedure']}/").status_code == 403


def hub_action(client, pid, action, **data):
    return client.post(f"/procedures/{pid}/{action}", data=data, follow_redirects=True)


def test_publishing_an_empty_form_is_refused_with_the_reason(app, client, setup):
    make.login(client, setup["me"])
    location = client.post(
        "/admin/procedures/add", data=settings(administration=setup["administration"])
    ).location
    pid = int(location.rstrip("/").split("/")[-1])
    page = hub_action(client, pid, "publish").get_data(as_text=True)
    assert "ne comporte encore aucun champ" in page
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        assert procedure.state == ProcedureState.draft
        procedure.draft_revision.fields.append(
            FieldDefinition(stable_id="nom", type="text", label="Nom")
        )
        db.session.commit()
    page = hub_action(client, pid, "publish").get_data(as_text=True)
    assert "La démarche est publiée" in page
    page = hub_action(client, pid, "close", reason="").get_data(as_text=True)
    assert "Indiquez le motif" in page
    hub_action(client, pid, "close", reason="Remplacée par la nouvelle version")
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        assert procedure.state == ProcedureState.closed
        assert procedure.closed_reason == "Remplacée par la nouvelle version"


def test_a_never_published_procedure_can_be_deleted(app, client, setup):
    make.login(client, setup["me"])
    location = client.post(
        "/admin/procedures/add", data=settings(administration=setup["administration"])
    ).location
    pid = int(location.rstrip("/").split("/")[-1])
    assert client.post(f"/admin/procedures/delete/{pid}").status_code == 404  # not FAB's
    hub_action(client, pid, "delete")
    with app.app_context():
        assert db.session.get(Procedure, pid) is None


def test_cloning_copies_into_an_administered_administration(app, client, setup):
    make.login(client, setup["me"])
    location = client.post(
        "/admin/procedures/add", data=settings(administration=setup["administration"])
    ).location
    pid = int(location.rstrip("/").split("/")[-1])
    assert (
        client.post(
            f"/procedures/{pid}/clone", data={"administration": setup["foreign"]}
        ).status_code
        == 404
    )
    response = client.post(
        f"/procedures/{pid}/clone", data={"administration": setup["administration"]}
    )
    assert response.status_code == 302
    with app.app_context():
        copy = db.session.scalar(sa.select(Procedure).where(Procedure.cloned_from_id == pid))
        assert copy.title == "Copie de Permis de végétaliser"
        assert copy.state == ProcedureState.draft


def test_a_procedure_is_exported_and_imported_through_the_screens(app, client, setup):
    import io
    import json

    make.login(client, setup["me"])
    location = client.post(
        "/admin/procedures/add", data=settings(administration=setup["administration"])
    ).location
    pid = int(location.rstrip("/").split("/")[-1])
    client.post(f"/procedures/{pid}/fields/add", data={"type": "text", "label": "Nom"})
    exported = client.get(f"/procedures/{pid}/export.json")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    document = json.loads(exported.get_data())
    assert [f["label"] for f in document["fields"]] == ["Nom"]

    response = client.post(
        "/procedures/import",
        data={
            "administration": setup["administration"],
            "document": (io.BytesIO(exported.get_data()), "permis.json"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.post(
        "/procedures/import",
        data={
            "administration": setup["administration"],
            "document": (io.BytesIO(b"{not json"), "x.json"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "pas un JSON valide" in page or "JSON" in page
    refused = client.post(
        "/procedures/import",
        data={
            "administration": setup["foreign"],
            "document": (io.BytesIO(exported.get_data()), "permis.json"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 200  # an administration one does not administer
    assert client.get(f"/procedures/{setup['foreign_procedure']}/export.json").status_code == 404
    with app.app_context():
        titles = db.session.scalars(sa.select(Procedure.title)).all()
        assert titles.count("Permis de végétaliser") == 2
