"""An administrator builds a whole procedure through the screens, as a new user would."""

import re

import pytest
import sqlalchemy as sa

import factories as make
from app.extensions import db
from app.fields import registry
from app.models import InstructorGroup, Procedure, ProcedureState
from app.security import Roles
from app.services import procedures


@pytest.fixture
def admin(app):
    with app.app_context():
        me, other = (
            make.user(Roles.ADMINISTRATOR, can_log_in=True),
            make.user(Roles.ADMINISTRATOR, can_log_in=True),
        )
        administration = make.administration(me)
        make.administration(other)
        procedure = procedures.create_procedure(administration, "Aide au permis de conduire")
        db.session.commit()
        return {
            "me": me.username,
            "other": other.username,
            "pid": procedure.id,
            "administration": administration.id,
        }


def fields_of(app, pid, private=False):
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        revision = procedure.draft_revision or procedure.published_revision
        return [
            (f.stable_id, f.type, f.label, f.parent.stable_id if f.parent else None)
            for f in procedures.form_order(revision, private=private)
        ]


def add(client, pid, type_, label, **extra):
    response = client.post(
        f"/procedures/{pid}/fields/add", data={"type": type_, "label": label, **extra}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location.split("#field-")[-1]


def edit(client, pid, sid, **data):
    return client.post(f"/procedures/{pid}/fields/{sid}", data=data)


def test_an_administrator_builds_publishes_and_revises_a_complete_procedure(app, client, admin):
    """The whole journey through HTTP only: create, add every type, a repetition, a section
    shown on a condition, a group with a routing rule, an eligibility rule; publish; revise."""
    make.login(client, admin["me"])
    response = client.post(
        "/admin/procedures/add",
        data={
            "administration": admin["administration"],
            "title": "Aide au permis de conduire",
            "description": "Une aide pour passer le permis.",
            "retention_months": "12",
            "draft_retention_days": "180",
            "declarative_mode": "none",
            "filer_kind": "person",
        },
    )
    assert response.status_code == 302
    pid = int(re.search(r"/procedures/(\d+)/", response.location).group(1))
    assert pid != admin["pid"]
    ids = {}
    # One field of every type, the repetition's children inside it.
    for field_type in registry.all_types():
        if field_type.name != "repetition":
            ids[field_type.name] = add(client, pid, field_type.name, f"Champ {field_type.name}")
    ids["repetition"] = add(client, pid, "repetition", "Enfants")
    ids["child"] = add(client, pid, "text", "Prénom de l'enfant", parent=ids["repetition"])
    ids["section"] = add(client, pid, "header_section", "Situation particulière")
    ids["detail"] = add(client, pid, "textarea", "Précisez votre situation")

    # Options: the choices of the lists, then a section shown on a condition.
    assert (
        edit(
            client,
            pid,
            ids["drop_down"],
            label="Catégorie de permis",
            type="drop_down",
            **{"option-choices": "B\nA\nC"},
        ).status_code
        == 302
    )
    for name in ("multiple_drop_down",):
        edit(client, pid, ids[name], label="Langues", type=name, **{"option-choices": "fr\nen"})
    edit(
        client,
        pid,
        ids["linked_drop_down"],
        label="Lieu",
        type="linked_drop_down",
        **{"option-choices": "Rhône\n- Lyon\n- Villeurbanne\nAin\n- Bourg"},
    )
    response = edit(
        client,
        pid,
        ids["section"],
        label="Situation particulière",
        type="header_section",
        **{"option-level": "1"},
        **{
            "cond-mode": "all",
            "cond-field": [ids["yes_no"]],
            "cond-op": ["eq"],
            "cond-value": ["true"],
        },
    )
    assert response.status_code == 302, re.findall(
        r"<li><a href=\"#part[^>]*>([^<]*)", response.get_data(as_text=True)
    )
    page = client.get(f"/procedures/{pid}/form").get_data(as_text=True)
    assert "Situation particulière" in page and "affiché sous condition" in page
    assert f'<iframe id="form-preview" src="/apercu/{pid}"' in page
    preview = client.get(f"/apercu/{pid}").get_data(as_text=True)
    assert "Situation particulière" in preview and "Prénom de l&#39;enfant" in preview

    # A second instructor group with a routing rule on the drop-down, and an eligibility rule.
    assert client.post(f"/procedures/{pid}/groups", data={"name": "Permis A"}).status_code == 302
    with app.app_context():
        group_id = db.session.scalar(
            sa.select(InstructorGroup.id).where(
                InstructorGroup.procedure_id == pid, InstructorGroup.name == "Permis A"
            )
        )
    assert (
        client.post(
            f"/procedures/{pid}/rules/routing/{group_id}",
            data={"cond-field": [ids["drop_down"]], "cond-op": ["eq"], "cond-value": ["A"]},
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/procedures/{pid}/rules/eligibility",
            data={
                "cond-field": [ids["integer"]],
                "cond-op": ["lt"],
                "cond-value": ["17"],
                "message": "Il faut avoir au moins 17 ans.",
            },
        ).status_code
        == 302
    )
    rules = client.get(f"/procedures/{pid}/rules").get_data(as_text=True)
    assert "Il faut avoir au moins 17 ans." in rules

    # Publish.
    page = client.post(f"/procedures/{pid}/publish", follow_redirects=True).get_data(as_text=True)
    assert "La démarche est publiée" in page, page
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        assert procedure.state == ProcedureState.published
        assert procedure.groups[-1].routing_rule == {
            "field": ids["drop_down"],
            "op": "eq",
            "value": "A",
        }
        assert procedure.published_revision.eligibility_rules[0]["message"].startswith("Il faut")
        types = {f.type for f in procedure.published_revision.fields}
        assert types == registry.names()

    # Revise a field: a new draft revision, then publish the changes.
    assert (
        edit(client, pid, ids["text"], label="Nom de naissance", type="textarea").status_code == 302
    )
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        assert procedure.draft_revision is not None
        assert procedure.published_revision.fields[0].label != "Nom de naissance"
    client.post(f"/procedures/{pid}/publish")
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        revised = {f.stable_id: f for f in procedure.published_revision.fields}[ids["text"]]
        assert (revised.label, revised.type, procedure.published_revision.number) == (
            "Nom de naissance",
            "textarea",
            2,
        )


def test_a_published_fields_type_can_only_change_to_a_compatible_type(app, client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    sid = add(client, pid, "text", "Nom")
    client.post(f"/procedures/{pid}/publish")
    page = edit(client, pid, sid, label="Nom", type="integer").get_data(as_text=True)
    assert "ne peut pas devenir" in page
    assert fields_of(app, pid)[0][1] == "text"


def test_invalid_options_and_conditions_are_refused_with_the_reason(app, client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    first = add(client, pid, "integer", "Âge")
    second = add(client, pid, "drop_down", "Choix")
    page = edit(
        client, pid, second, label="Choix", type="drop_down", **{"option-choices": "Oui\nOui"}
    ).get_data(as_text=True)
    assert "Chaque choix ne doit apparaître qu'une fois" in page or "une seule fois" in page
    page = edit(
        client,
        pid,
        first,
        label="Âge",
        type="integer",
        **{"cond-field": [second], "cond-op": ["eq"], "cond-value": ["Oui"]},
    ).get_data(as_text=True)
    assert "placé" in page or "après" in page  # a condition cannot look forward
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        assert all(f.condition is None for f in procedure.draft_revision.fields)


def test_fields_move_duplicate_and_delete_with_buttons(app, client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    a, b = add(client, pid, "text", "A"), add(client, pid, "text", "B")
    client.post(f"/procedures/{pid}/fields/{b}/move", data={"direction": "up"})
    assert [f[2] for f in fields_of(app, pid)] == ["B", "A"]
    client.post(f"/procedures/{pid}/fields/{a}/duplicate")
    assert [f[2] for f in fields_of(app, pid)] == ["B", "A", "A (copie)"]
    client.post(f"/procedures/{pid}/fields/{b}/delete")
    assert [f[2] for f in fields_of(app, pid)] == ["A", "A (copie)"]


def test_a_field_used_by_a_condition_cannot_be_deleted(app, client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    first = add(client, pid, "yes_no", "Avez-vous un enfant ?")
    second = add(client, pid, "text", "Prénom")
    edit(
        client,
        pid,
        second,
        label="Prénom",
        type="text",
        **{"cond-field": [first], "cond-op": ["eq"], "cond-value": ["true"]},
    )
    page = client.post(f"/procedures/{pid}/fields/{first}/delete", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Prénom" in page and len(fields_of(app, pid)) == 2


def test_private_annotations_are_edited_apart_from_the_form(app, client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    add(client, pid, "text", "Nom")
    add(client, pid, "textarea", "Avis du service", private="1")
    assert [f[2] for f in fields_of(app, pid)] == ["Nom"]
    assert [f[2] for f in fields_of(app, pid, private=True)] == ["Avis du service"]
    page = client.get(f"/procedures/{pid}/annotations").get_data(as_text=True)
    assert "Avis du service" in page and ">Nom<" not in page


def test_another_administrator_gets_404_everywhere(client, admin):
    make.login(client, admin["other"])
    pid = admin["pid"]
    for url in (
        f"/procedures/{pid}/form",
        f"/procedures/{pid}/rules",
        f"/procedures/{pid}/annotations",
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(
            f"/procedures/{pid}/fields/add", data={"type": "text", "label": "X"}
        ).status_code
        == 404
    )


def test_the_editor_shows_the_live_preview_beside_the_fields(client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    add(client, pid, "text", "Numéro de permis")
    page = client.get(f"/procedures/{pid}/form").get_data(as_text=True)
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert f'src="/apercu/{pid}"' in frame
    assert re.search(r'title="[^"]*Aide au permis de conduire[^"]*"', frame)  # named for readers
    assert 'aria-describedby="form-preview-hint"' in frame
    assert f'href="/apercu/{pid}" target="_blank"' in page  # the same preview, full page
    assert "guichet/form-preview.js" in page
    # The editor itself is never framed; it frames its own pages only ('self').
    policy = client.get(f"/procedures/{pid}/form").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "frame-src" not in policy and "child-src" not in policy
    # The preview it shows, after a change, is the form as it is now.
    add(client, pid, "date", "Date de naissance")
    preview = client.get(f"/apercu/{pid}")
    assert "Numéro de permis" in preview.get_data(as_text=True)
    assert "Date de naissance" in preview.get_data(as_text=True)


def test_only_the_preview_may_be_framed_and_only_by_guichet_itself(app, client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    preview = client.get(f"/apercu/{pid}")
    assert preview.status_code == 200
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    assert "script-src 'self';" in preview.headers["Content-Security-Policy"]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert preview.headers["Cache-Control"] == "no-store"
    for other in ("/", f"/procedures/{pid}/rules"):
        response = client.get(other)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    client.get("/logout/")
    make.login(client, admin["other"])
    assert client.get(f"/apercu/{pid}").status_code == 404


def test_private_annotations_have_no_applicant_preview(client, admin):
    make.login(client, admin["me"])
    pid = admin["pid"]
    add(client, pid, "textarea", "Avis du service", private="1")
    page = client.get(f"/procedures/{pid}/annotations").get_data(as_text=True)
    assert "<iframe" not in page
