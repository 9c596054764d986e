"""What agents do to a dossier: decisions (with their mail and attestation), annotations,
follow, labels, reassignment, expert opinions, and two agents acting at once."""

import base64
import threading
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from workspace_data import S, agent, dossier, group, label, procedure_with_form

import factories as make
from app.extensions import db
from app.models import (
    AdministrationMember,
    Attachment,
    AttachmentUse,
    Dossier,
    OutboxEvent,
    StateTransition,
    User,
)
from app.security import Roles, can_see_dossier
from app.services import attestations, instruction, opinions, search
from app.services.instruction import Conflict, InstructionError, NotFound
from app.services.opinions import OpinionError
from app.workflow import Event


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me, colleague = agent(), agent()
        applicant = make.user(email="applicant@example.org")
        procedure = procedure_with_form(me, colleague)
        yield SimpleNamespace(
            app=app, me=me, colleague=colleague, applicant=applicant, procedure=procedure
        )


def mails(to: str | None = None) -> list[dict]:
    payloads = db.session.scalars(
        sa.select(OutboxEvent.payload)
        .where(OutboxEvent.topic == "mail.send")
        .order_by(OutboxEvent.id)
    ).all()
    return [payload for payload in payloads if to is None or to in payload["to"]]


def decide(world, item, event, **kwargs):
    outcome = instruction.decide(item, event, world.me, expected_version=item.version, **kwargs)
    db.session.commit()
    return outcome


EXPECTED = [
    # (from state, event, to state, mail subject fragment or None)
    (S.submitted, Event.start_review, S.in_review, "en cours d'instruction"),
    (S.in_review, Event.back_to_applicant, S.submitted, None),
    (S.in_review, Event.accept, S.accepted, "accepté"),
    (S.in_review, Event.refuse, S.refused, "refusé"),
    (S.in_review, Event.close_without_action, S.closed_without_action, "classé sans suite"),
    (S.refused, Event.reopen, S.in_review, None),
    (S.accepted, Event.archive, S.accepted, None),
]


@pytest.mark.parametrize(("before", "event", "after", "subject"), EXPECTED)
def test_each_decision_moves_the_dossier_records_it_and_mails_the_applicant(
    world, before, event, after, subject
):
    item = dossier(world.procedure, world.applicant, before)
    outcome = decide(world, item, event, motivation="Dossier complet")
    assert item.state == after
    assert outcome.transition.event == event.value
    assert outcome.transition.actor_id == world.me.id
    recorded = db.session.scalars(
        sa.select(StateTransition.event).where(StateTransition.dossier_id == item.id)
    ).all()
    assert recorded == [event.value]
    sent = mails("applicant@example.org")
    if event in instruction.EVENT_MAILS:
        assert len(sent) == 1
        if subject:
            assert subject in sent[0]["subject"].lower() + sent[0]["body"].lower()
    else:
        assert sent == []
    if event == Event.archive:
        assert item.archived


def test_unarchiving_gives_the_dossier_back(world):
    item = dossier(world.procedure, world.applicant, S.accepted, archived=True)
    assert instruction.available_events(item) == [Event.unarchive]
    decide(world, item, Event.unarchive)
    assert not item.archived


def test_a_refusal_needs_a_motivation_and_nothing_is_recorded_without_it(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    with pytest.raises(InstructionError, match="motivation"):
        instruction.decide(
            item, Event.refuse, world.me, expected_version=item.version, motivation="   "
        )
    db.session.rollback()
    assert db.session.get(Dossier, item.id).state == S.in_review
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StateTransition)) == 0
    assert mails() == []


def test_an_event_the_state_does_not_allow_is_refused(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    assert Event.accept not in instruction.available_events(item)
    with pytest.raises(InstructionError):
        instruction.decide(item, Event.accept, world.me, expected_version=item.version)
    with pytest.raises(InstructionError):
        instruction.decide(item, Event.submit, world.me, expected_version=item.version)


def test_accepting_issues_the_attestation_keeps_it_and_mails_it(world):
    attestations.save(
        world.procedure,
        True,
        "Attestation du dossier n° --numéro du dossier--",
        "Le dossier --numéro du dossier-- est accepté.",
        "",
    )
    db.session.commit()
    item = dossier(world.procedure, world.applicant, S.in_review)
    decide(world, item, Event.accept, motivation="Conforme")
    stored = db.session.get(Attachment, item.attestation_id)
    assert stored.use == AttachmentUse.attestation and stored.sniffed_type == "application/pdf"
    (sent,) = mails("applicant@example.org")
    (attached,) = sent["attachments"]
    assert attached["type"] == "application/pdf"
    assert base64.b64decode(attached["data"]).startswith(b"%PDF")


def test_a_stale_version_is_refused_with_what_happened(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    seen = item.version
    instruction.decide(item, Event.accept, world.colleague, expected_version=seen)
    db.session.commit()
    with pytest.raises(Conflict) as conflict:
        instruction.decide(item, Event.refuse, world.me, expected_version=seen, motivation="Non")
    assert world.colleague.last_name in str(conflict.value.message)
    assert "a accepté le dossier" in str(conflict.value.message)


def test_two_agents_deciding_at_once_exactly_one_wins(world):
    """Two threads, two transactions, the same version seen by both: one transition."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises whole transactions: the race needs PostgreSQL")
    item = dossier(world.procedure, world.applicant, S.in_review)
    number, people = item.id, {"accept": world.me.id, "refuse": world.colleague.id}
    db.session.commit()
    db.session.close()
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, object] = {}

    def act(event: Event) -> None:
        with world.app.app_context(), world.app.test_request_context():
            person = db.session.get(User, people[event.value])
            mine = instruction.acting_dossier(person, number)
            seen = mine.version
            barrier.wait()
            try:
                instruction.decide(mine, event, person, expected_version=seen, motivation="Vu")
                db.session.commit()
                results[event.value] = "won"
            except Conflict as conflict:
                results[event.value] = str(conflict.message)

    threads = [threading.Thread(target=act, args=(e,)) for e in (Event.accept, Event.refuse)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(value == "won" for value in results.values()) == [False, True]
    decisions = db.session.scalars(
        sa.select(StateTransition.event).where(StateTransition.dossier_id == number)
    ).all()
    assert len(decisions) == 1
    winner = decisions[0]
    loser = "refuse" if winner == "accept" else "accept"
    assert "modifié par quelqu’un d’autre" in results[loser]
    assert db.session.get(Dossier, number).state == (
        S.accepted if winner == "accept" else S.refused
    )
    assert len(mails("applicant@example.org")) == 1


# -- who may act -----------------------------------------------------------------------


def test_only_agents_of_the_group_act_and_administrators_only_read(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    stranger = agent()
    administrator = make.user(Roles.ADMINISTRATOR)
    db.session.add(
        AdministrationMember(
            administration_id=world.procedure.administration_id, user_id=administrator.id
        )
    )
    db.session.commit()
    assert instruction.acting_dossier(world.me, item.id) == item
    for person in (stranger, administrator, world.applicant):
        with pytest.raises(NotFound):
            instruction.acting_dossier(person, item.id)
    assert instruction.readable_dossier(administrator, item.id) == item
    assert not instruction.can_act(administrator, item)
    with pytest.raises(NotFound):
        instruction.readable_dossier(stranger, item.id)
    draft = dossier(world.procedure, world.applicant, S.draft)
    with pytest.raises(NotFound):
        instruction.readable_dossier(world.me, draft.id)


# -- annotations -----------------------------------------------------------------------


def test_annotations_are_validated_saved_and_files_kept(world):
    item = dossier(world.procedure, world.applicant, S.in_review, annotations={"proof": [7]})
    errors = instruction.save_annotations(
        item, {"score": "douze", "note": "Bien"}, world.me, expected_version=item.version
    )
    assert list(errors) == ["score"]
    db.session.rollback()
    assert db.session.get(Dossier, item.id).annotations == {"proof": [7]}
    errors = instruction.save_annotations(
        item,
        {"score": "12", "note": " Très bien ", "priority": "Haute", "title": "pas une annotation"},
        world.me,
        expected_version=item.version,
    )
    db.session.commit()
    assert errors == {}
    assert item.annotations == {"proof": [7], "score": 12, "note": "Très bien", "priority": "Haute"}


def test_annotations_saved_from_a_stale_page_are_refused(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    seen = item.version
    instruction.save_annotations(item, {"note": "A"}, world.colleague, expected_version=seen)
    db.session.commit()
    with pytest.raises(Conflict):
        instruction.save_annotations(item, {"note": "B"}, world.me, expected_version=seen)
    assert db.session.get(Dossier, item.id).annotations == {"note": "A"}


# -- follow, labels, group -------------------------------------------------------------


def test_following_and_labels_are_idempotent(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    assert instruction.follow(item, world.me) is True
    assert instruction.follow(item, world.me) is False
    db.session.commit()
    assert instruction.is_following(item, world.me)
    assert instruction.unfollow(item, world.me) is True
    assert instruction.unfollow(item, world.me) is False
    urgent = label(world.procedure, "Urgent")
    instruction.set_label(item, urgent.id, True)
    instruction.set_label(item, urgent.id, True)
    db.session.commit()
    assert instruction.dossier_label_ids(item) == {urgent.id}
    instruction.set_label(item, urgent.id, False)
    db.session.commit()
    assert instruction.dossier_label_ids(item) == set()
    elsewhere = label(procedure_with_form(), "Ailleurs")
    with pytest.raises(InstructionError):
        instruction.set_label(item, elsewhere.id, True)


def test_reassigning_moves_the_dossier_to_another_open_group_of_its_procedure(world):
    item = dossier(world.procedure, world.applicant, S.submitted)
    group_b = group(world.procedure, "Groupe B")
    other = procedure_with_form(world.me)
    with pytest.raises(InstructionError):
        instruction.reassign(item, other.groups[0].id, world.me, expected_version=item.version)
    group_b.closed = True
    db.session.commit()
    with pytest.raises(InstructionError):
        instruction.reassign(item, group_b.id, world.me, expected_version=item.version)
    group_b.closed = False
    db.session.commit()
    instruction.reassign(item, group_b.id, world.me, expected_version=item.version)
    db.session.commit()
    assert item.group_id == group_b.id
    assert not instruction.can_act(world.me, item)  # not a member of group B


# -- expert opinions -------------------------------------------------------------------


def test_asking_an_unknown_expert_creates_their_account_and_mails_the_links(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    opinion = opinions.ask(
        item, world.me, "Expert@Example.org", "Le projet est-il conforme ?", asks_yes_no=True
    )
    db.session.commit()
    expert = opinion.expert
    assert expert.email == "expert@example.org"
    assert Roles.EXPERT in {role.name for role in expert.roles}
    (sent,) = mails("expert@example.org")
    assert f"/avis/{opinion.id}" in sent["body"]
    assert "/account/set-password/" in sent["body"]
    assert can_see_dossier(expert, item)
    assert opinions.for_expert(expert, opinion.id) == opinion
    assert opinions.for_expert(world.colleague, opinion.id) is None


def test_an_existing_account_gets_the_expert_role_and_no_password_link(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    person = make.user(Roles.APPLICANT, can_log_in=True)
    opinions.ask(item, world.me, person.email, "Votre avis ?")
    db.session.commit()
    assert Roles.EXPERT in {role.name for role in person.roles}
    (sent,) = mails(person.email)
    assert "set-password" not in sent["body"]


@pytest.mark.parametrize(
    ("email", "question", "field"),
    [
        ("", "Question ?", "email"),
        ("pas-une-adresse", "Question ?", "email"),
        ("x@example.org", "  ", "question"),
    ],
)
def test_a_request_needs_an_address_and_a_question(world, email, question, field):
    item = dossier(world.procedure, world.applicant, S.in_review)
    with pytest.raises(OpinionError) as refusal:
        opinions.ask(item, world.me, email, question)
    assert refusal.value.field == field


def test_an_expert_answers_once_and_the_agent_is_told(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    opinion = opinions.ask(item, world.me, "expert@example.org", "Conforme ?", asks_yes_no=True)
    db.session.commit()
    with pytest.raises(OpinionError) as refusal:
        opinions.answer(opinion, "Oui, conforme.", None)
    assert refusal.value.field == "yes_no"
    opinions.answer(opinion, "Oui, conforme.", "yes")
    db.session.commit()
    assert (opinion.answer, opinion.answer_yes_no) == ("Oui, conforme.", True)
    with pytest.raises(OpinionError):
        opinions.answer(opinion, "Finalement non.", "no")
    assert len(mails(world.me.email)) == 1
    with pytest.raises(OpinionError):
        opinions.remind(opinion)


def test_a_confidential_answer_is_read_by_the_asking_agent_only(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    opinion = opinions.ask(item, world.me, "expert@example.org", "Avis ?", confidential=True)
    opinions.answer(opinion, "Réservé.", None)
    db.session.commit()
    (mine,) = opinions.shown_opinions(item, world.me)
    (theirs,) = opinions.shown_opinions(item, world.colleague)
    assert not mine.answer_hidden and theirs.answer_hidden


def test_reminding_mails_again_and_revoking_closes_the_dossier_to_the_expert(world):
    item = dossier(world.procedure, world.applicant, S.in_review)
    opinion = opinions.ask(item, world.me, "expert@example.org", "Avis ?")
    db.session.commit()
    opinions.remind(opinion)
    db.session.commit()
    assert opinion.reminded_at is not None
    assert len(mails("expert@example.org")) == 2
    opinions.revoke(opinion)
    db.session.commit()
    assert opinions.for_expert(opinion.expert, opinion.id) is None
    assert not can_see_dossier(opinion.expert, item)
    with pytest.raises(OpinionError):
        opinions.revoke(opinion)
