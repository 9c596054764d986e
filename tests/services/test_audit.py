"""The audit log: a hash chain written with the caller's transaction, that ``guichet audit
verify`` checks, and the receivers that fill it (issue G9)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from audit_helpers import entries, tamper, verify_cli, wire

import factories as make
from app import signals, workflow
from app.extensions import db
from app.models import (
    AdministrationMember,
    ApiToken,
    AuditEvent,
    DossierState,
    Role,
    User,
)
from app.security import Roles
from app.services import audit, dossiers
from app.services.audit import Action

TABLE = AuditEvent.__table__


@pytest.fixture
def app(make_app):
    return wire(make_app())


def chain(app, count: int = 4) -> list[int]:
    """``count`` entries, one transaction each; their ids."""
    with app.app_context():
        for number in range(count):
            audit.record("test.step", "thing", number, data={"step": number})
            db.session.commit()
        return [row.id for row in entries()]


def hashes(app) -> dict[int, str]:
    with app.app_context():
        return {row.id: row.hash for row in entries()}


# ---------------------------------------------------------------------------------------
# The chain


def test_entries_are_chained_and_verify_accepts_them(app):
    with app.app_context():
        audit.record("test.one", "thing", 1, data={"fields": ["b", "a"]})
        audit.record("test.two", "thing", 2)
        db.session.commit()
        moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
        audit.record("test.three", "thing", 3, data={"at": moment, "ratio": 0.5, "big": 1e20})
        db.session.commit()
        rows = entries()
    assert [row.action for row in rows] == ["test.one", "test.two", "test.three"]
    assert rows[0].prev_hash is None
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    assert all(row.hash == audit.entry_hash(row, row.prev_hash) for row in rows)
    assert rows[2].data == {"at": "2026-03-01T12:30:00.000000Z", "ratio": "0.5", "big": "1e+20"}
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert f"3 entries. Head: {rows[-1].id}:{rows[-1].hash}" in result.output


def test_an_empty_log_verifies(app):
    result = verify_cli(app)
    assert result.exit_code == 0 and "0 entries" in result.output


def test_an_entry_is_written_only_if_its_transaction_commits(app):
    with app.app_context():
        audit.record("test.rolled_back", "thing", 1)
        db.session.rollback()
        audit.record("test.kept", "thing", 2)
        with pytest.raises(RuntimeError), db.session.begin_nested():
            audit.record("test.in_failed_savepoint", "thing", 3)
            raise RuntimeError
        with db.session.begin_nested():
            audit.record("test.in_savepoint", "thing", 4)
        db.session.commit()
        audit.record("test.never_committed", "thing", 5)
        db.session.close()
        assert [row.action for row in entries()] == ["test.kept", "test.in_savepoint"]
    assert verify_cli(app).exit_code == 0


def test_an_entry_keeps_who_and_from_where(app):
    with app.app_context():
        person = make.user(Roles.AGENT)
        with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.7"}):
            audit.record("test.by_person", "thing", 1, actor=person, procedure_id=42)
            audit.record("test.by_nobody", "thing", 2, actor=audit.SYSTEM)
            db.session.commit()
        first, second = entries("test.by_person") + entries("test.by_nobody")
        assert (first.actor_id, first.actor_ip, first.procedure_id) == (
            person.id,
            "203.0.113.7",
            42,
        )
        assert (second.actor_id, second.actor_ip) == (None, "203.0.113.7")


def test_data_the_databases_could_not_give_back_unchanged_is_refused():
    assert audit.normalised({1: {0.25, 0.5}, "state": DossierState.accepted}) == {
        "1": ["0.25", "0.5"],
        "state": "accepted",
    }
    with pytest.raises(TypeError):
        audit.normalised({"who": object()})


# ---------------------------------------------------------------------------------------
# Tampering is found


def test_an_altered_entry_is_reported_with_exit_code_1(app):
    ids = chain(app)
    with app.app_context():
        tamper(sa.update(TABLE).where(TABLE.c.id == ids[1]).values(action="test.forged"))
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"BROKEN at entry {ids[1]} (altered)" in result.output
    assert "1 entries before it are intact" in result.output


def test_a_removed_entry_is_reported_with_exit_code_1(app):
    ids = chain(app)
    with app.app_context():
        tamper(sa.delete(TABLE).where(TABLE.c.id == ids[1]))
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"BROKEN at entry {ids[2]} (removed)" in result.output


def test_removing_the_oldest_entries_is_reported(app):
    ids = chain(app)
    with app.app_context():
        tamper(sa.delete(TABLE).where(TABLE.c.id == ids[0]))
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"BROKEN at entry {ids[1]} (removed)" in result.output


def test_reordered_entries_are_reported_with_exit_code_1(app):
    ids = chain(app)
    columns = [column for column in TABLE.columns if column.name != "id"]
    with app.app_context():
        first, second = (
            db.session.execute(sa.select(*columns).where(TABLE.c.id == item)).one()._asdict()
            for item in ids[1:3]
        )
        tamper(
            sa.update(TABLE).where(TABLE.c.id == ids[1]).values(hash="swapping"),
            sa.update(TABLE).where(TABLE.c.id == ids[2]).values(**first),
            sa.update(TABLE).where(TABLE.c.id == ids[1]).values(**second),
        )
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"BROKEN at entry {ids[1]} (reordered)" in result.output


def test_forged_rows_are_reported(app):
    ids = chain(app)
    head = hashes(app)[ids[-1]]
    forged = {
        "at": datetime.now(UTC),
        "action": "test.forged",
        "object_type": "thing",
        "data": {},
    }
    with app.app_context():
        tamper(sa.insert(TABLE).values(**forged, prev_hash=head, hash="f" * 64))
    result = verify_cli(app)
    assert result.exit_code == 1 and "(altered)" in result.output


def test_a_second_start_of_the_chain_is_reported(app):
    chain(app)
    with app.app_context():
        row = AuditEvent(at=datetime.now(UTC), action="test.forged", object_type="thing", data={})
        valid_hash = audit.entry_hash(row, None)
        tamper(
            sa.insert(TABLE).values(
                at=row.at, action=row.action, object_type="thing", data={}, hash=valid_hash
            )
        )
    result = verify_cli(app)
    assert result.exit_code == 1 and "(inserted)" in result.output


def test_a_chain_rewritten_after_an_entry_is_caught_by_an_anchor_noted_earlier(app):
    ids = chain(app)
    noted = hashes(app)
    with app.app_context():
        rows = [row._asdict() for row in entries()]
        previous = rows[0]["hash"]
        statements = []
        for row in rows[1:]:
            if row["id"] == ids[1]:
                row["action"] = "test.rewritten"
            new_hash = audit.entry_hash(AuditEvent(**row), previous)
            statements.append(
                sa.update(TABLE)
                .where(TABLE.c.id == row["id"])
                .values(action=row["action"], prev_hash=previous, hash=new_hash)
            )
            previous = new_hash
        tamper(*statements)
    assert verify_cli(app).exit_code == 0  # consistent again: only an outside note shows it
    result = verify_cli(app, "--anchor", f"{ids[2]}:{noted[ids[2]]}")
    assert result.exit_code == 1
    assert f"BROKEN at entry {ids[2]} (anchor)" in result.output
    kept = verify_cli(app, "--anchor", f"{ids[0]}:{noted[ids[0]]}")
    assert kept.exit_code == 0


def test_postgresql_refuses_to_change_or_delete_entries(app):
    ids = chain(app, 2)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger exists on PostgreSQL only")
        for statement in (
            sa.update(TABLE).where(TABLE.c.id == ids[0]).values(action="test.forged"),
            sa.delete(TABLE).where(TABLE.c.id == ids[0]),
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                db.session.execute(statement)
            db.session.rollback()
    assert verify_cli(app).exit_code == 0


def test_concurrent_writers_extend_one_chain(app):
    threads, transactions = 8, 5
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for step in range(transactions):
                    audit.record("test.concurrent", "worker", worker, data={"step": step})
                    audit.record("test.concurrent", "worker", worker, data={"step": -step})
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below, in the test's thread
            failures.append(error)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures
    with app.app_context():
        rows = entries()
    assert len(rows) == threads * transactions * 2
    previous = [row.prev_hash for row in rows]
    assert len(set(previous)) == len(previous), "two entries follow the same one: a fork"
    result = verify_cli(app)
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------------------------------
# Receivers


def world():
    administrator = make.user(Roles.ADMINISTRATOR)
    agent = make.user(Roles.AGENT)
    applicant = make.user(Roles.APPLICANT)
    procedure = make.procedure(make.administration(administrator), agent)
    return administrator, agent, applicant, procedure


def test_every_state_change_is_recorded_with_who_made_it(app):
    with app.app_context():
        _administrator, agent, applicant, procedure = world()
        dossier = make.dossier(procedure, applicant, DossierState.submitted)
        workflow.apply(dossier, workflow.Event.start_review, agent)
        workflow.apply(dossier, workflow.Event.refuse, agent, motivation="Pièce manquante")
        workflow.apply(dossier, workflow.Event.reopen, None)
        db.session.commit()
        rows = entries(Action.STATE_CHANGED)
        assert [row.data for row in rows] == [
            {"event": "start_review", "from": "submitted", "to": "in_review"},
            {"event": "refuse", "from": "in_review", "to": "refused"},
            {"event": "reopen", "from": "refused", "to": "in_review"},
        ]
        assert [row.actor_id for row in rows] == [agent.id, agent.id, None]
        assert {(row.object_type, row.object_id, row.procedure_id) for row in rows} == {
            ("dossier", str(dossier.id), procedure.id)
        }
        assert all("Pièce" not in audit.canonical_json(row.data) for row in rows)


def test_answers_changed_after_submission_are_recorded_by_field_without_values(app):
    with app.app_context():
        _administrator, agent, applicant, procedure = world()
        dossier = make.dossier(procedure, applicant, DossierState.draft)
        dossier.answers = {"nom": "Valeur secrète 1"}
        db.session.commit()
        dossier.answers = {"nom": "Valeur secrète 2", "age": 41}  # still a draft
        workflow.apply(dossier, workflow.Event.submit, applicant)
        db.session.commit()
        assert entries(Action.ANSWERS_CHANGED) == []
        dossier.answers = {"nom": "Valeur secrète 3", "age": 41, "ville": "Lyon"}
        db.session.commit()
        dossier.answers = {"ville": "Lyon"}  # assigned without being read since the commit
        db.session.commit()
        rows = entries(Action.ANSWERS_CHANGED)
        assert [row.data for row in rows] == [
            {"fields": ["nom", "ville"]},
            {"fields": ["age", "nom"]},
        ]
        assert all(row.procedure_id == procedure.id for row in rows)
        assert all("secrète" not in audit.canonical_json(row.data) for row in rows)


def test_annotation_changes_are_recorded_without_values(app):
    with app.app_context():
        _administrator, agent, applicant, procedure = world()
        dossier = make.dossier(procedure, applicant, DossierState.in_review)
        with app.test_request_context():
            dossier.annotations = {"avis": "Dossier douteux"}
            db.session.commit()
        rows = entries(Action.ANNOTATIONS_CHANGED)
        assert [row.data for row in rows] == [{"fields": ["avis"]}]


def test_roles_memberships_and_tokens_are_recorded(app):
    with app.app_context():
        administrator, agent, applicant, procedure = world()
        sm = app.appbuilder.sm
        person = db.session.get(User, applicant.id)
        person.roles.append(sm.find_role(Roles.EXPERT))
        db.session.commit()
        person.roles = [role for role in person.roles if role.name != Roles.EXPERT]
        group = procedure.groups[0]
        group.members.append(person)
        db.session.commit()
        group.members.remove(person)
        membership = AdministrationMember(
            administration_id=procedure.administration_id, user_id=person.id
        )
        db.session.add(membership)
        db.session.commit()
        db.session.delete(membership)
        token = ApiToken(
            owner_id=administrator.id,
            administration_id=procedure.administration_id,
            name="SI de la préfecture",
            prefix="gch_ab12",
            token_hash="9" * 64,
        )
        db.session.add(token)
        db.session.commit()
        granted = [(row.object_id, row.data) for row in entries(Action.ROLE_GRANTED)]
        revoked = [(row.object_id, row.data) for row in entries(Action.ROLE_REVOKED)]
        added = entries(Action.GROUP_MEMBER_ADDED)  # the agent, when the group was made
        removed = entries(Action.GROUP_MEMBER_REMOVED)
        administrators = entries(Action.ADMINISTRATOR_ADDED) + entries(Action.ADMINISTRATOR_REMOVED)
        created = entries(Action.TOKEN_CREATED)
        assert (str(person.id), {"role": Roles.EXPERT}) in granted
        assert (str(person.id), {"role": Roles.APPLICANT}) in granted  # the account's creation
        assert revoked == [(str(person.id), {"role": Roles.EXPERT})]
        assert [row.data for row in added] == [{"user": agent.id}, {"user": person.id}]
        assert [(row.object_id, row.procedure_id, row.data) for row in added[1:] + removed] == [
            (str(group.id), procedure.id, {"user": person.id})
        ] * 2
        assert [row.data for row in administrators[-2:]] == [{"user": person.id}] * 2
        assert [row.object_id for row in administrators[-2:]] == [
            str(procedure.administration_id)
        ] * 2
        assert len(created) == 1 and created[0].object_id == str(token.id)
        assert created[0].data["name"] == "SI de la préfecture"
        assert "9" * 64 not in audit.canonical_json(created[0].data)


def test_a_deleted_account_is_recorded_with_its_roles(app):
    with app.app_context():
        person = make.user(Roles.AGENT)
        person_id = person.id
        db.session.delete(db.session.get(User, person_id))
        db.session.commit()
        rows = entries(Action.USER_DELETED)
        assert db.session.get(Role, 1) is not None
        assert [(row.object_id, row.data) for row in rows] == [
            (str(person_id), {"roles": [Roles.AGENT]})
        ]


def test_a_resubmission_is_recorded_and_a_first_submission_only_as_a_state_change(app):
    with app.app_context():
        _administrator, _agent, applicant, procedure = world()
        dossier = make.dossier(procedure, applicant, DossierState.submitted)
        signals.dossier_submitted.send(app, dossier=dossier, first=True)
        signals.dossier_submitted.send(app, dossier=dossier, first=False)
        db.session.commit()
        rows = entries(Action.RESUBMITTED)
        assert [(row.object_id, row.procedure_id) for row in rows] == [
            (str(dossier.id), procedure.id)
        ]


def test_a_deleted_draft_is_recorded_through_its_tombstone(app):
    with app.app_context():
        _administrator, _agent, applicant, procedure = world()
        dossier = make.dossier(procedure, applicant, DossierState.draft)
        number = dossier.id
        dossiers.delete_draft(dossier, applicant)
        db.session.commit()
        rows = entries(Action.DOSSIER_DELETED)
        assert [(row.object_id, row.procedure_id, row.data) for row in rows] == [
            (str(number), procedure.id, {"reason": "deleted_by_applicant", "state": "draft"})
        ]


def test_a_dossier_file_download_is_recorded_and_a_public_logo_is_not(app):
    import io

    from plugins.attachments import services as attachments

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with app.app_context():
        _administrator, agent, applicant, procedure = world()
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        dossier = make.dossier(procedure, applicant, DossierState.submitted)
        owner = db.session.get(User, applicant.id)
        stored = attachments.store_upload(
            io.BytesIO(pdf), "avis.pdf", "application/pdf",
            attachments.target_for("justification", dossier=dossier), owner,
        )  # fmt: skip
        logo = attachments.store_upload(
            io.BytesIO(pdf + b"%logo"), "logo.pdf", "application/pdf",
            attachments.target_for("notice", procedure=procedure), owner,
        )  # fmt: skip
        db.session.commit()
        ids = (stored.id, logo.id, dossier.id, procedure.id, owner.id)
    client = app.test_client()
    make.login(client, applicant.email)
    assert client.get(f"/attachments/{ids[0]}").status_code == 200
    assert client.get(f"/attachments/{ids[1]}").status_code == 200
    with app.app_context():
        rows = entries(Action.ATTACHMENT_DOWNLOADED)
    assert [(row.object_id, row.procedure_id, row.actor_id, row.data) for row in rows] == [
        (str(ids[0]), ids[3], ids[4], {"dossier": ids[2], "use": "justification"})
    ]
    assert rows[0].actor_ip == "127.0.0.1"
