"""The thread's rules: who reads and writes, what a message may be, correction requests,
deletion, unread counters and the message to every draft's applicant."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

import factories as make
from app import signals, workflow
from app.extensions import db
from app.models import (
    Attachment,
    AttachmentUse,
    AuditEvent,
    AuthorKind,
    BatchJob,
    CorrectionReason,
    Dossier,
    DossierState,
    Follow,
    JobState,
    Message,
    OutboxEvent,
    Procedure,
    ScanStatus,
    StateTransition,
)
from plugins.attachments import services as attachments
from plugins.messaging import services
from plugins.messaging.models import MessageNotification
from plugins.messaging.services import Side

from .conftest import PDF

READ_AND_WRITE = {"owner": Side.applicant, "coeditor": Side.applicant, "agent": Side.agent}
READ_ONLY = {"administrator": Side.overseer, "admin": Side.overseer}
NOBODY = ["invited", "stranger", "other_agent", "revoked_expert", "other_expert"]
NOBODY += ["other_administrator"]


@pytest.mark.parametrize("name,side", sorted((READ_AND_WRITE | READ_ONLY).items()))
def test_each_person_sees_the_thread_from_their_side(world, name, side):
    with world.app.app_context():
        user, dossier = world.user(name), world.dossier()
        assert services.relation(user, dossier) == side
        assert services.can_read(user, dossier)
        assert services.can_write(user, dossier) == (name in READ_AND_WRITE)


@pytest.mark.parametrize("name", NOBODY)
def test_everyone_else_neither_reads_nor_writes(world, name):
    with world.app.app_context():
        user, dossier = world.user(name), world.dossier()
        assert services.relation(user, dossier) is None
        assert not services.can_read(user, dossier)
        assert not services.can_write(user, dossier)
        with pytest.raises(services.ThreadNotFound):
            services.post_message(dossier, user, "Bonjour")


def test_nobody_reads_without_signing_in(world):
    with world.app.app_context():
        assert services.relation(None, world.dossier()) is None


def test_an_expert_takes_part_only_when_the_procedure_lets_experts_write(world):
    with world.app.app_context():
        expert, dossier = world.user("expert"), world.dossier()
        assert services.relation(expert, dossier) is None
        dossier.procedure.experts_can_message = True
        db.session.commit()
        assert services.relation(expert, dossier) == Side.expert
        assert services.can_write(expert, dossier)
        message = services.post_message(dossier, expert, "Avis : conforme.")
        assert message.author_kind == AuthorKind.expert
        assert services.relation(world.user("revoked_expert"), dossier) is None


def test_someone_who_both_files_and_instructs_talks_as_the_applicant(world):
    with world.app.app_context():
        agent, dossier = world.user("agent"), world.dossier()
        dossier.owner_id = agent.id
        db.session.commit()
        assert services.relation(agent, dossier) == Side.applicant


@pytest.mark.parametrize("name", ["draft", "archived", "hidden"])
def test_nobody_writes_on_a_draft_an_archived_or_a_deleted_dossier(world, name):
    with world.app.app_context():
        owner, dossier = world.user("owner"), world.dossier(name)
        assert services.can_read(owner, dossier)
        assert not services.can_write(owner, dossier)
        assert services.writing_problem(dossier) is not None
        with pytest.raises(services.WritingClosed):
            services.post_message(dossier, owner, "Bonjour")
        if name != "draft":  # agents do not see drafts at all
            with pytest.raises(services.WritingClosed):
                services.post_message(dossier, world.user("agent"), "Bonjour")
        assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0


def test_a_message_is_stored_as_typed_with_its_line_endings_normalised(world):
    with world.app.app_context():
        text = "  <b>Bonjour</b> &amp; merci\r\n\r\n<script>alert(1)</script>\x00\n  "
        message = services.post_message(world.dossier(), world.user("owner"), text)
        db.session.commit()
        stored = db.session.get(Message, message.id)
        assert stored.body == "<b>Bonjour</b> &amp; merci\n\n<script>alert(1)</script>"
        assert stored.author_kind == AuthorKind.applicant


def test_an_empty_message_is_refused_but_files_alone_are_enough(world):
    with world.app.app_context():
        owner, dossier = world.user("owner"), world.dossier()
        with pytest.raises(services.InvalidMessage) as refused:
            services.post_message(dossier, owner, " \n\t ")
        assert "body" in refused.value.errors
        target = attachments.authorize_upload(owner, "message", dossier_id=dossier.id)
        stored = attachments.store_upload(io.BytesIO(PDF), "plan.pdf", None, target, owner)
        message = services.post_message(dossier, owner, "", [stored.id])
        db.session.commit()
        assert [a.original_name for a in message.attachments] == ["plan.pdf"]


def test_a_message_longer_than_the_limit_is_refused_with_its_length(world):
    with world.app.app_context():
        owner, dossier = world.user("owner"), world.dossier()
        services.post_message(dossier, owner, "a" * services.MAX_LENGTH)
        with pytest.raises(services.InvalidMessage) as refused:
            services.post_message(dossier, owner, "a" * (services.MAX_LENGTH + 1))
        text = str(refused.value.errors["body"])
        assert "10" in text and "001" in text


def test_too_many_files_are_refused_before_anything_is_stored(world):
    with world.app.app_context():
        with pytest.raises(services.InvalidMessage) as refused:
            services.check_message(
                world.dossier(), world.user("owner"), "Bonjour", services.MAX_ATTACHMENTS + 1
            )
        assert "files" in refused.value.errors


def test_several_files_are_attached_to_one_message(world):
    with world.app.app_context():
        owner, dossier = world.user("owner"), world.dossier()
        target = attachments.authorize_upload(owner, "message", dossier_id=dossier.id)
        ids = [
            attachments.store_upload(io.BytesIO(PDF + name.encode()), name, None, target, owner).id
            for name in ("a.pdf", "b.pdf", "c.pdf")
        ]
        message = services.post_message(dossier, owner, "Trois pièces", ids)
        db.session.commit()
        rows = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
        assert [(row.message_id, row.dossier_id) for row in rows] == [(message.id, dossier.id)] * 3


def test_someone_elses_or_an_infected_file_is_refused(world):
    with world.app.app_context():
        owner, coeditor, dossier = world.user("owner"), world.user("coeditor"), world.dossier()
        target = attachments.authorize_upload(owner, "message", dossier_id=dossier.id)
        stored = attachments.store_upload(io.BytesIO(PDF), "a.pdf", None, target, owner)
        db.session.commit()
        with pytest.raises(services.InvalidMessage) as refused:
            services.post_message(dossier, coeditor, "Ma pièce", [stored.id])
        assert "files" in refused.value.errors
        db.session.rollback()
        db.session.get(Attachment, stored.id).scan_status = ScanStatus.infected
        db.session.commit()
        with pytest.raises(services.InvalidMessage):
            services.post_message(world.dossier(), world.user("owner"), "Ma pièce", [stored.id])


def test_a_correction_request_sends_a_dossier_in_review_back_to_the_applicant(world):
    with world.app.app_context():
        agent, dossier = world.user("agent"), world.dossier()
        message = services.post_message(
            dossier, agent, "Le plan manque.", correction_reason="incomplete"
        )
        db.session.commit()
        dossier = world.dossier()
        assert dossier.state == DossierState.submitted
        assert message.correction_reason == CorrectionReason.incomplete
        assert services.pending_correction(dossier).id == message.id
        [transition] = db.session.scalars(sa.select(StateTransition)).all()
        assert (transition.event, transition.actor_id) == ("back_to_applicant", agent.id)


def test_a_correction_request_on_a_submitted_dossier_only_flags_it(world):
    with world.app.app_context():
        dossier = world.dossier("submitted")
        services.post_message(
            dossier, world.user("agent"), "Pièce périmée.", correction_reason="outdated"
        )
        db.session.commit()
        assert world.dossier("submitted").state == DossierState.submitted
        assert services.pending_correction(dossier) is not None
        assert db.session.scalar(sa.select(sa.func.count(StateTransition.id))) == 0


@pytest.mark.parametrize(
    "name,reason,field",
    [
        ("owner", "incomplete", "correction_reason"),  # applicants do not ask corrections
        ("agent", "whatever", "correction_reason"),  # not a reason of the list
        ("agent", "incomplete", "body"),  # a correction request says what to correct
    ],
)
def test_a_correction_request_is_refused_when_it_cannot_be_one(world, name, reason, field):
    with world.app.app_context():
        body = "" if field == "body" else "Texte"
        with pytest.raises(services.InvalidMessage) as refused:
            services.post_message(world.dossier(), world.user(name), body, correction_reason=reason)
        assert field in refused.value.errors
        assert world.dossier().state == DossierState.in_review


def test_a_decided_dossier_takes_messages_but_no_correction_request(world):
    with world.app.app_context():
        dossier, agent = world.dossier(), world.user("agent")
        workflow.apply(dossier, workflow.Event.accept, agent)
        db.session.commit()
        services.post_message(dossier, agent, "Votre attestation est disponible.")
        with pytest.raises(services.InvalidMessage):
            services.post_message(dossier, agent, "Corrigez", correction_reason="incorrect")


def test_a_resubmission_resolves_the_pending_correction_requests(world):
    with world.app.app_context():
        agent, dossier = world.user("agent"), world.dossier()
        first = services.post_message(dossier, agent, "Plan", correction_reason="incomplete")
        db.session.commit()
        second = services.post_message(dossier, agent, "RIB", correction_reason="outdated")
        db.session.commit()
        signals.dossier_submitted.send(world.app, dossier=dossier, first=False)
        db.session.commit()
        assert services.pending_correction(world.dossier()) is None
        for message_id in (first.id, second.id):
            assert db.session.get(Message, message_id).correction_resolved_at is not None
        assert services.resolve_corrections(dossier=world.dossier()) == 0


def test_pending_corrections_of_a_page_of_dossiers_come_from_one_query(world):
    with world.app.app_context():
        agent = world.user("agent")
        services.post_message(world.dossier(), agent, "Plan", correction_reason="incomplete")
        db.session.commit()
        ids = [world.dossiers[name] for name in ("in_review", "submitted", "archived")]
        with queries() as statements:
            pending = services.pending_corrections(ids)
        assert set(pending) == {world.dossiers["in_review"]}
        assert len(statements) == 1


@contextmanager
def queries() -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_an_agent_deletes_their_message_its_text_and_its_files(world):
    with world.app.app_context():
        agent, dossier = world.user("agent"), world.dossier()
        target = attachments.authorize_upload(agent, "message", dossier_id=dossier.id)
        stored = attachments.store_upload(io.BytesIO(PDF), "note.pdf", None, target, agent)
        message = services.post_message(dossier, agent, "Texte confidentiel", [stored.id])
        db.session.commit()
        services.delete_message(db.session.get(Message, message.id), agent)
        db.session.commit()
        deleted = db.session.get(Message, message.id)
        assert deleted.body == "" and deleted.deleted_at is not None
        assert db.session.get(Attachment, stored.id) is None
        assert db.session.scalar(sa.select(sa.func.count(MessageNotification.message_id))) == 0
        entry = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "message"))
        assert (entry.action, entry.object_id, entry.actor_id) == (
            "message.deleted",
            str(message.id),
            agent.id,
        )


@pytest.mark.parametrize("name", ["colleague", "owner", "administrator"])
def test_nobody_else_deletes_an_agents_message(world, name):
    with world.app.app_context():
        message = services.post_message(world.dossier(), world.user("agent"), "Bonjour")
        db.session.commit()
        with pytest.raises(services.ThreadNotFound):
            services.delete_message(message, world.user(name))


def test_an_applicants_message_and_a_pending_correction_request_stay(world):
    with world.app.app_context():
        owner, agent = world.user("owner"), world.user("agent")
        mine = services.post_message(world.dossier(), owner, "Bonjour")
        db.session.commit()
        with pytest.raises(services.ThreadNotFound):
            services.delete_message(mine, owner)
        request = services.post_message(
            world.dossier(), agent, "Plan", correction_reason="incomplete"
        )
        db.session.commit()
        with pytest.raises(services.WritingClosed):
            services.delete_message(request, agent)


def test_unread_counters_follow_each_persons_marker(world):
    with world.app.app_context():
        owner, agent, coeditor = world.user("owner"), world.user("agent"), world.user("coeditor")
        dossier = world.dossier()
        services.post_message(dossier, owner, "Question 1")
        services.post_message(dossier, owner, "Question 2")
        db.session.commit()
        assert services.unread_count(agent, dossier) == 2
        assert services.unread_count(coeditor, dossier) == 2  # the co-editor has not read them
        assert services.unread_count(owner, dossier) == 0  # their own messages
        assert services.unread_count(world.user("colleague"), dossier) == 0  # no follow
        services.mark_seen(agent, dossier)
        db.session.commit()
        assert services.unread_count(agent, dossier) == 0
        services.post_message(dossier, agent, "Réponse")
        db.session.commit()
        assert services.unread_count(owner, dossier) == 1
        services.mark_seen(owner, dossier)
        services.mark_seen(owner, dossier)  # twice: an upsert
        db.session.commit()
        assert services.unread_count(owner, dossier) == 0
        assert services.unread_count(coeditor, dossier) == 3


def test_a_deleted_message_is_not_unread(world):
    with world.app.app_context():
        agent, owner = world.user("agent"), world.user("owner")
        message = services.post_message(world.dossier(), agent, "Oups")
        db.session.commit()
        services.delete_message(message, agent)
        db.session.commit()
        assert services.unread_count(owner, world.dossier()) == 0


def test_unread_counts_of_many_dossiers_take_one_query(world):
    with world.app.app_context():
        owner, agent = world.user("owner"), world.user("agent")
        db.session.add(Follow(dossier_id=world.dossiers["submitted"], user_id=agent.id))
        db.session.commit()
        services.post_message(world.dossier(), owner, "Un")
        services.post_message(world.dossier("submitted"), owner, "Deux")
        services.post_message(world.dossier("submitted"), owner, "Trois")
        db.session.commit()
        ids = [world.dossiers[name] for name in ("in_review", "submitted", "archived")]
        _ = agent.id  # loaded before counting: only the counting query is measured
        with queries() as statements:
            counts = services.unread_counts(agent, ids)
        assert counts == {world.dossiers["in_review"]: 1, world.dossiers["submitted"]: 2}
        assert len(statements) == 1
        assert services.unread_counts(owner, ids, Side.applicant) == {}


def test_the_thread_summary_gives_count_unread_and_pending_correction(world):
    with world.app.app_context():
        owner, agent, dossier = world.user("owner"), world.user("agent"), world.dossier()
        services.post_message(dossier, owner, "Question")
        request = services.post_message(dossier, agent, "Plan", correction_reason="incomplete")
        db.session.commit()
        summary = services.thread_summary(world.dossier(), owner)
        assert (summary.count, summary.unread) == (2, 1)
        assert summary.pending_correction.id == request.id


def test_the_thread_reads_oldest_first(world):
    with world.app.app_context():
        owner, agent = world.user("owner"), world.user("agent")
        for text, author in (("1", owner), ("2", agent), ("3", owner)):
            services.post_message(world.dossier(), author, text)
            db.session.commit()
        assert [m.body for m in services.thread(world.dossier())] == ["1", "2", "3"]


# ---------------------------------------------------------------------------------------
# Broadcast


def test_a_broadcast_writes_one_message_on_every_draft(world):
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure_id)
        job = services.broadcast_to_drafts(procedure, world.user("agent"), "La démarche ferme.")
        db.session.commit()
        job_id = job.id
        assert job.dossier_ids == [world.dossiers["draft"]]
        [event] = db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.topic == services.BROADCAST_TOPIC)
        ).all()
    # The outbox hands the job to the task when the request's context ends (inline here).
    with world.app.app_context():
        job = db.session.get(BatchJob, job_id)
        assert (job.state, job.done) == (JobState.done, 1)
        [message] = db.session.scalars(sa.select(Message)).all()
        assert (message.dossier_id, message.body) == (world.dossiers["draft"], "La démarche ferme.")
        assert message.author_kind == AuthorKind.agent
        assert services.run_broadcast(job_id) == 0  # done: a redelivery writes nothing


def test_a_broadcast_resumes_where_it_stopped_and_skips_deleted_drafts(world):
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure_id)
        agent = world.user("agent")
        extra = [_draft(procedure, world.user("owner")) for _ in range(4)]
        ids = [world.dossiers["draft"], *extra]
        job = BatchJob(
            procedure_id=procedure.id,
            requested_by_id=agent.id,
            action=services.BROADCAST_ACTION,
            params={"body": "Bonjour"},
            dossier_ids=ids,
            done=2,  # a first run wrote the first two and stopped
            failures={},
        )
        db.session.add(job)
        db.session.execute(sa.delete(Dossier).where(Dossier.id == extra[-1]))
        db.session.commit()
        assert services.run_broadcast(job.id, batch=2) == 2
        written = db.session.scalars(sa.select(Message.dossier_id).order_by(Message.id)).all()
        assert written == ids[2:4]
        job = db.session.get(BatchJob, job.id)
        assert job.done == 5 and job.state == JobState.done
        assert job.failures == {str(extra[-1]): "deleted"}


def _draft(procedure, owner) -> int:
    return make.dossier(procedure, owner, DossierState.draft).id


def test_a_broadcast_needs_text_drafts_and_someone_who_sees_the_procedure(world):
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure_id)
        with pytest.raises(services.InvalidMessage):
            services.broadcast_to_drafts(procedure, world.user("agent"), "   ")
        for name in ("other_agent", "owner", "expert"):
            with pytest.raises(services.ThreadNotFound):
                services.broadcast_to_drafts(procedure, world.user(name), "Bonjour")
        other = db.session.get(Procedure, world.other_procedure_id)
        with pytest.raises(services.InvalidMessage):  # no draft there
            services.broadcast_to_drafts(other, world.user("other_agent"), "Bonjour")
        assert db.session.scalar(sa.select(sa.func.count(BatchJob.id))) == 0


def test_message_files_are_of_the_message_use(world):
    with world.app.app_context():
        owner, dossier = world.user("owner"), world.dossier()
        target = attachments.authorize_upload(owner, "message", dossier_id=dossier.id)
        stored = attachments.store_upload(io.BytesIO(PDF), "a.pdf", None, target, owner)
        services.post_message(dossier, owner, "", [stored.id])
        db.session.commit()
        assert db.session.get(Attachment, stored.id).use == AttachmentUse.message
