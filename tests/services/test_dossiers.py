"""An applicant's dossier from its first draft to its submission (the service layer)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from filing_helpers import applicant, field, form_procedure, person

import factories as make
from app import signals
from app.extensions import db
from app.models import (
    Attachment,
    AttachmentUse,
    DeclarativeMode,
    Dossier,
    DossierState,
    FilerKind,
    Message,
    OutboxEvent,
    ProcedureState,
    SatisfactionAnswer,
    ScanStatus,
    StateTransition,
    utcnow,
)
from app.models.message import AuthorKind, CorrectionReason
from app.services import dossiers
from app.services.dossiers import (
    AlreadyAnswered,
    DossierError,
    NotAllowed,
    NotEditable,
    ProcedureNotOpen,
    StaleDossier,
    SubmissionRefused,
)
from app.services.mail import build_message

FIELDS = [
    field("nom", "text", "Nom", required=True),
    field("age", "integer", "Âge", options={"min": 0}),
    field("animal", "yes_no", "Avez-vous un animal ?"),
    field(
        "espece",
        "text",
        "Espèce",
        required=True,
        condition={"field": "animal", "op": "eq", "value": True},
    ),
    field("dept", "department", "Département"),
]
ADULT_ONLY = [
    {"condition": {"field": "age", "op": "lt", "value": 18}, "message": "Réservé aux majeurs."}
]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def owner(ctx):
    return applicant()


@pytest.fixture
def procedure(ctx):
    return form_procedure(FIELDS, groups=[("Rhône", {"field": "dept", "op": "eq", "value": "69"})])


def draft(procedure, owner, answers=None, identity=True) -> Dossier:
    dossier = dossiers.create_draft(procedure, owner)
    if answers:
        dossier.answers = answers
    db.session.commit()
    if identity:
        person(dossier)
    return dossier


def outbox_mails() -> list[OutboxEvent]:
    return db.session.scalars(
        sa.select(OutboxEvent).where(OutboxEvent.topic == "mail.send").order_by(OutboxEvent.id)
    ).all()


# ---------------------------------------------------------------------------------------
# Drafts


def test_a_draft_of_a_published_procedure_is_owned_and_expires_after_the_retention(
    procedure, owner
):
    procedure.draft_retention_days = 30
    dossier = dossiers.create_draft(procedure, owner)
    db.session.commit()
    assert dossier.state == DossierState.draft and dossier.owner_id == owner.id
    assert dossier.revision_id == procedure.published_revision_id and not dossier.is_test
    assert dossier.expires_at - dossier.created_at == timedelta(days=30)


@pytest.mark.parametrize(
    "settings",
    [
        {"state": ProcedureState.closed, "closed_reason": "Fin de la campagne"},
        {"state": ProcedureState.unpublished},
        {"deadline_at": utcnow() - timedelta(minutes=1)},
        {"opens_at": utcnow() + timedelta(days=1)},
    ],
)
def test_no_draft_of_a_procedure_that_takes_no_dossiers(procedure, owner, settings):
    for name, value in settings.items():
        setattr(procedure, name, value)
    db.session.commit()
    with pytest.raises(ProcedureNotOpen):
        dossiers.create_draft(procedure, owner)
    assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 0


def test_a_test_dossier_uses_the_form_being_built_and_needs_test_mode(ctx, owner):
    building = form_procedure(FIELDS, state=ProcedureState.draft)
    dossier = dossiers.create_draft(building, owner, test=True)
    assert dossier.is_test and dossier.revision_id == building.draft_revision_id
    with pytest.raises(ProcedureNotOpen):
        dossiers.create_draft(building, owner)
    published = form_procedure(FIELDS)
    with pytest.raises(ProcedureNotOpen):
        dossiers.create_draft(published, owner, test=True)


def test_an_anonymous_visitor_gets_no_draft(procedure):
    with pytest.raises(NotAllowed):
        dossiers.create_draft(procedure, None)


def test_prefilled_answers_are_validated_and_only_valid_visible_known_ones_kept(procedure, owner):
    dossier = dossiers.create_draft(
        procedure,
        owner,
        prefill={"nom": "  Camille ", "age": "douze", "espece": "Chat", "inconnu": "x"},
    )
    assert dossier.answers == {"nom": "Camille"}


# ---------------------------------------------------------------------------------------
# Saving answers


def test_a_draft_is_saved_half_filled_with_hidden_and_unknown_answers_dropped(procedure, owner):
    dossier = draft(procedure, owner)
    _, errors = dossiers.save_answers(
        dossier,
        owner,
        {"age": "42", "animal": "false", "espece": "Chat", "pirate": "x"},
        expected_version=dossier.version,
    )
    db.session.commit()
    assert errors == {}
    assert dossier.answers == {"age": 42, "animal": False}


def test_an_invalid_answer_is_reported_and_the_previous_one_kept(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille", "age": 30})
    _, errors = dossiers.save_answers(
        dossier, owner, {"nom": "Dominique", "age": "-3"}, expected_version=dossier.version
    )
    db.session.commit()
    assert list(errors) == ["age"]
    assert dossier.answers == {"nom": "Dominique", "age": 30}


def test_a_stale_version_changes_nothing(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille"})
    seen = dossier.version
    dossiers.save_answers(dossier, owner, {"nom": "Dominique"}, expected_version=seen)
    db.session.commit()
    with pytest.raises(StaleDossier):
        dossiers.save_answers(dossier, owner, {"nom": "Alex"}, expected_version=seen)
    db.session.rollback()
    assert db.session.get(Dossier, dossier.id).answers == {"nom": "Dominique"}


def test_a_concurrent_write_is_detected_at_the_update(procedure, owner):
    """Both copies passed the version check: the UPDATE of the second finds the row moved."""
    dossier = draft(procedure, owner, {"nom": "Camille"})
    db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id == dossier.id)
        .values(version=Dossier.version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(StaleDossier):
        dossiers.save_answers(dossier, owner, {"nom": "Alex"}, expected_version=dossier.version)


def test_only_the_owner_and_accepted_co_editors_fill_a_dossier(procedure, owner):
    dossier = draft(procedure, owner)
    coeditor, invited, stranger = applicant(), applicant(), applicant()
    make.invitation(dossier, coeditor)
    make.invitation(dossier, invited, accepted=False)
    dossiers.save_answers(
        dossier, coeditor, {"nom": "Par le co-éditeur"}, expected_version=dossier.version
    )
    db.session.commit()
    for person_ in (invited, stranger, None):
        with pytest.raises(NotAllowed):
            dossiers.save_answers(dossier, person_, {"nom": "X"}, expected_version=dossier.version)
    assert dossier.answers == {"nom": "Par le co-éditeur"}


def test_a_dossier_under_review_can_no_longer_be_changed(procedure, owner):
    dossier = make.dossier(procedure, owner, DossierState.in_review)
    with pytest.raises(NotEditable):
        dossiers.save_answers(dossier, owner, {"nom": "X"}, expected_version=dossier.version)


def test_a_submitted_dossier_only_takes_complete_answers_and_records_the_change(procedure, owner):
    dossier = make.dossier(procedure, owner, DossierState.submitted)
    dossier.answers = {"nom": "Camille"}
    db.session.commit()
    _, errors = dossiers.save_answers(
        dossier, owner, {"age": "3"}, expected_version=dossier.version
    )
    assert list(errors) == ["nom"]
    assert dossier.answers == {"nom": "Camille"} and dossier.applicant_modified_at is None
    _, errors = dossiers.save_answers(
        dossier, owner, {"nom": "Camille", "age": "3"}, expected_version=dossier.version
    )
    db.session.commit()
    assert errors == {} and dossier.answers == {"nom": "Camille", "age": 3}
    assert dossier.applicant_modified_at is not None


def test_attachment_answers_must_be_the_dossiers_own_files(ctx, owner):
    procedure = form_procedure([field("piece", "attachment", "Pièce")])
    dossier = draft(procedure, owner)
    other = draft(procedure, applicant())
    files = {}
    for name, target in (("mine", dossier), ("theirs", other)):
        row = Attachment(
            use=AttachmentUse.form_field,
            storage_key=f"k/{name}",
            sha256="0" * 64,
            size=10,
            original_name=f"{name}.pdf",
            sniffed_type="application/pdf",
            family="document",
            scan_status=ScanStatus.clean,
            uploaded_by_id=target.owner_id,
            dossier_id=target.id,
            field_stable_id="piece",
        )
        db.session.add(row)
        db.session.flush()
        files[name] = row.id
    _, errors = dossiers.save_answers(
        dossier, owner, {"piece": [files["theirs"]]}, expected_version=dossier.version
    )
    assert "piece" in errors and "piece" not in (dossier.answers or {})
    _, errors = dossiers.save_answers(
        dossier, owner, {"piece": [files["mine"]]}, expected_version=dossier.version
    )
    assert errors == {} and dossier.answers == {"piece": [files["mine"]]}


# ---------------------------------------------------------------------------------------
# Identity


def test_a_person_files_with_civility_and_names(procedure, owner):
    dossier = draft(procedure, owner, identity=False)
    errors = dossiers.set_identity(
        dossier, {"civility": "madame", "first_name": " Camille ", "last_name": "Martin"}
    )
    assert errors == {}
    assert dossier.identity == {
        "kind": "person",
        "civility": "Mme",
        "first_name": "Camille",
        "last_name": "Martin",
    }
    assert dossiers.identity_complete(dossier)


def test_a_company_files_with_a_valid_siret_and_its_name(procedure, owner):
    procedure.filer_kind = FilerKind.company
    dossier = draft(procedure, owner, identity=False)
    errors = dossiers.set_identity(dossier, {"siret": "732 829 320 00075", "name": ""})
    assert set(errors) == {"siret", "name"} and dossier.identity == {}
    errors = dossiers.set_identity(dossier, {"siret": "732 829 320 00074", "name": "Boulangerie"})
    assert errors == {}
    assert dossier.identity == {"kind": "company", "siret": "73282932000074", "name": "Boulangerie"}


def test_filing_on_behalf_of_someone_needs_the_procedure_to_allow_it(procedure, owner):
    dossier = draft(procedure, owner, identity=False)
    given = {
        "civility": "M.",
        "first_name": "Paul",
        "last_name": "Durand",
        "on_behalf": "true",
        "beneficiary": {"civility": "Mme", "first_name": "Jeanne", "last_name": "Durand"},
    }
    assert "on_behalf" in dossiers.set_identity(dossier, given)
    procedure.allow_on_behalf = True
    assert dossiers.set_identity(dossier, given) == {}
    assert dossier.on_behalf_of == {
        "civility": "Mme",
        "first_name": "Jeanne",
        "last_name": "Durand",
    }
    errors = dossiers.set_identity(dossier, {**given, "beneficiary": {"first_name": "Jeanne"}})
    assert set(errors) == {"beneficiary.civility", "beneficiary.last_name"}


def test_identity_of_someone_elses_dossier_is_refused(procedure, owner):
    dossier = draft(procedure, owner, identity=False)
    with pytest.raises(NotAllowed):
        dossiers.set_identity(dossier, {"first_name": "X"}, user=applicant())


# ---------------------------------------------------------------------------------------
# Submitting


def test_a_submission_routes_records_the_transition_and_queues_the_receipt(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille", "dept": "69"})
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    db.session.commit()
    assert dossier.state == DossierState.submitted and dossier.submitted_at is not None
    assert dossier.group.name == "Rhône" and dossier.expires_at is None
    transitions = db.session.scalars(
        sa.select(StateTransition).where(StateTransition.dossier_id == dossier.id)
    ).all()
    assert [(t.event, t.actor_id) for t in transitions] == [("submit", owner.id)]
    [mail] = outbox_mails()
    assert mail.payload["to"] == [owner.email]
    assert f"n° {dossier.id}" in mail.payload["subject"]
    # the receipt is the answers as submitted, made into a PDF when the mail leaves
    [receipt] = mail.payload["attachments"]
    assert receipt["type"] == "application/pdf" and "Camille" in receipt["html"]
    [attached] = list(build_message(mail.payload, "<receipt@test>").iter_attachments())
    assert attached.get_filename() == f"accuse-depot-dossier-{dossier.id}.pdf"
    assert attached.get_content().startswith(b"%PDF")


def test_a_failing_pdf_engine_refuses_neither_the_submission_nor_its_mail(
    procedure, owner, monkeypatch
):
    from app.services import pdf

    def broken(html):
        raise OSError("no fonts")

    monkeypatch.setattr(pdf, "from_html", broken)
    dossier = draft(procedure, owner, {"nom": "Camille"})
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    db.session.commit()
    [mail] = outbox_mails()
    message = build_message(mail.payload, "<receipt@test>")
    assert dossier.state == DossierState.submitted and "n°" in message["Subject"]
    assert list(message.iter_attachments()) == []


def test_the_receipt_lists_the_answers_as_text(procedure, owner):
    from app.services import receipts

    dossier = draft(procedure, owner, {"nom": "Camille", "age": 34, "dept": "69"})
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    html = receipts.receipt_html(dossier)
    assert str(dossier.id) in html and procedure.title in html
    assert "Camille" in html and "34" in html and "69 – Rhône" in html
    assert "Madame Camille Martin" in html or "Madam Camille Martin" in html


def test_missing_and_invalid_answers_refuse_the_submission(procedure, owner):
    dossier = draft(procedure, owner, {"animal": True})
    with pytest.raises(SubmissionRefused) as refused:
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert set(refused.value.errors) == {"nom", "espece"}
    assert dossier.state == DossierState.draft


def test_the_first_ineligibility_rule_that_holds_gives_its_message(ctx, owner):
    rules = [*ADULT_ONLY, {"condition": {"field": "age", "op": "lt", "value": 30}, "message": "2"}]
    procedure = form_procedure(FIELDS, eligibility=rules)
    dossier = draft(procedure, owner, {"nom": "Camille", "age": 12})
    with pytest.raises(SubmissionRefused) as refused:
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert refused.value.reasons == ["Réservé aux majeurs."]
    db.session.rollback()
    dossier = db.session.get(Dossier, dossier.id)
    dossier.answers = {"nom": "Camille", "age": 40}
    db.session.commit()
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert dossier.state == DossierState.submitted


def test_a_dossier_without_its_filer_cannot_be_submitted(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille"}, identity=False)
    with pytest.raises(SubmissionRefused) as refused:
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert refused.value.reasons and not refused.value.errors


@pytest.mark.parametrize(
    "settings",
    [
        {"state": ProcedureState.closed, "closed_reason": "Campagne terminée"},
        {"deadline_at": utcnow() - timedelta(seconds=1)},
    ],
)
def test_a_closed_procedure_takes_no_submission(procedure, owner, settings):
    dossier = draft(procedure, owner, {"nom": "Camille"})
    for name, value in settings.items():
        setattr(procedure, name, value)
    db.session.commit()
    with pytest.raises(ProcedureNotOpen):
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert dossier.state == DossierState.draft


def test_files_still_being_scanned_hold_the_submission_back(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille"})
    db.session.add(
        Attachment(
            use=AttachmentUse.form_field,
            storage_key="k/1",
            sha256="0" * 64,
            size=10,
            original_name="plan.pdf",
            sniffed_type="application/pdf",
            scan_status=ScanStatus.pending,
            dossier_id=dossier.id,
            field_stable_id="piece",
        )
    )
    db.session.commit()
    with pytest.raises(SubmissionRefused) as refused:
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert len(refused.value.reasons) == 1 and dossier.state == DossierState.draft


def test_a_plugins_submission_check_is_asked(procedure, owner, ctx):
    dossiers.add_submission_check(ctx, lambda item: ["Pas aujourd'hui."])
    dossier = draft(procedure, owner, {"nom": "Camille"})
    with pytest.raises(SubmissionRefused) as refused:
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert "Pas aujourd'hui." in refused.value.reasons


@pytest.mark.parametrize(
    ("mode", "state", "events"),
    [
        (DeclarativeMode.in_review, DossierState.in_review, ["submit", "start_review"]),
        (DeclarativeMode.accepted, DossierState.accepted, ["submit", "start_review", "accept"]),
    ],
)
def test_declarative_mode_moves_the_dossier_on_through_the_workflow(
    procedure, owner, mode, state, events
):
    procedure.declarative_mode = mode
    dossier = draft(procedure, owner, {"nom": "Camille"})
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    db.session.commit()
    assert dossier.state == state
    recorded = db.session.scalars(
        sa.select(StateTransition.event)
        .where(StateTransition.dossier_id == dossier.id)
        .order_by(StateTransition.id)
    ).all()
    assert recorded == events
    assert len(outbox_mails()) == 1


def test_submitting_twice_with_the_same_version_does_it_once(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille"})
    seen = dossier.version
    dossiers.submit(dossier, owner, expected_version=seen)
    db.session.commit()
    with pytest.raises(StaleDossier):
        dossiers.submit(dossier, owner, expected_version=seen)
    db.session.rollback()
    count = sa.select(sa.func.count(StateTransition.id))
    assert db.session.scalar(count) == 1 and len(outbox_mails()) == 1


def test_resubmitting_records_the_change_and_tells_plugins_which_resolve_corrections(
    procedure, owner
):
    dossier = draft(procedure, owner, {"nom": "Camille"})
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    correction = Message(
        dossier_id=dossier.id,
        author_kind=AuthorKind.agent,
        body="Merci de préciser votre âge.",
        correction_reason=CorrectionReason.incomplete,
    )
    db.session.add(correction)
    db.session.commit()
    dossiers.save_answers(
        dossier, owner, {"nom": "Camille", "age": "33"}, expected_version=dossier.version
    )
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    db.session.commit()
    assert dossier.state == DossierState.submitted and dossier.applicant_modified_at is not None
    assert db.session.get(Message, correction.id).correction_resolved_at is not None
    assert db.session.scalar(sa.select(sa.func.count(StateTransition.id))) == 1
    assert len(outbox_mails()) == 1


def test_every_submission_tells_plugins_whether_it_is_the_first(procedure, owner):
    heard = []

    def receiver(sender, dossier, first, **_):
        heard.append((dossier.id, first, dossier.state))

    dossier = draft(procedure, owner, {"nom": "Camille"})
    with signals.dossier_submitted.connected_to(receiver):
        dossiers.submit(dossier, owner, expected_version=dossier.version)
        dossiers.submit(dossier, owner, expected_version=dossier.version)
    assert heard == [
        (dossier.id, True, DossierState.submitted),
        (dossier.id, False, DossierState.submitted),
    ]


def test_a_dossier_under_review_cannot_be_submitted_again(procedure, owner):
    dossier = make.dossier(procedure, owner, DossierState.in_review)
    with pytest.raises(NotEditable):
        dossiers.submit(dossier, owner, expected_version=dossier.version)


@pytest.mark.skipif(
    not os.environ.get("GUICHET_TEST_DATABASE_URL"),
    reason="two connections writing at once need PostgreSQL (SQLite has one writer)",
)
def test_two_simultaneous_submissions_of_one_draft_make_exactly_one(make_app):
    app = make_app(CELERY_BROKER_URL=None)
    with app.app_context():
        procedure = form_procedure(FIELDS)
        owner = applicant()
        dossier = draft(procedure, owner, {"nom": "Camille"})
        dossier_id, owner_id, version = dossier.id, owner.id, dossier.version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        with app.app_context():
            from app.models import User

            item = db.session.get(Dossier, dossier_id)
            person_ = db.session.get(User, owner_id)
            barrier.wait()
            try:
                dossiers.submit(item, person_, expected_version=version)
                db.session.commit()
                outcomes.append("submitted")
            except StaleDossier:
                db.session.rollback()
                outcomes.append("stale")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["stale", "submitted"]
    with app.app_context():
        assert db.session.get(Dossier, dossier_id).state == DossierState.submitted
        assert db.session.scalar(sa.select(sa.func.count(StateTransition.id))) == 1
        assert len(outbox_mails()) == 1


# ---------------------------------------------------------------------------------------
# Satisfaction


def test_satisfaction_is_answered_once_after_submitting(procedure, owner):
    dossier = draft(procedure, owner, {"nom": "Camille"})
    with pytest.raises(DossierError):
        dossiers.record_satisfaction(dossier, owner, "satisfied")
    dossiers.submit(dossier, owner, expected_version=dossier.version)
    with pytest.raises(DossierError):
        dossiers.record_satisfaction(dossier, owner, "enchanted")
    answer = dossiers.record_satisfaction(dossier, owner, "neutral", "  Un peu long.  ")
    db.session.commit()
    assert (answer.level.value, answer.comment) == ("neutral", "Un peu long.")
    with pytest.raises(AlreadyAnswered):
        dossiers.record_satisfaction(dossier, owner, "satisfied")
    with pytest.raises(NotAllowed):
        dossiers.record_satisfaction(dossier, applicant(), "satisfied")
    assert db.session.scalar(sa.select(sa.func.count(SatisfactionAnswer.id))) == 1
