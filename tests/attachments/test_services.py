"""Storing, authorising, attaching, removing and cleaning up attachments."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from marshmallow import ValidationError

from app.extensions import db
from app.models import (
    Attachment,
    AttachmentUse,
    Dossier,
    DossierState,
    Message,
    Procedure,
    ProcedureState,
    ScanStatus,
    utcnow,
)
from app.models.message import AuthorKind
from plugins.attachments import services
from plugins.attachments.errors import UploadRefused
from plugins.attachments.storage import get_storage

from .conftest import EXECUTABLE, PDF, PNG, message, pdf_of

MB = 1024 * 1024


class Unsized(io.RawIOBase):
    """A body of unknown length (no Content-Length to trust), read in pieces."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.data.read(size)
        self.read_bytes += len(chunk)
        return chunk


# ---------------------------------------------------------------------------------------
# Storing


def test_a_stored_upload_keeps_its_facts_and_its_bytes(world):
    with world.app.app_context():
        attachment = db.session.get(Attachment, world.store(PDF, "../Relevé\x07.pdf"))
        assert attachment.original_name == "Relevé.pdf"
        assert attachment.sniffed_type == "application/pdf"
        assert attachment.declared_type == "application/pdf"
        assert attachment.family == "document"
        assert attachment.size == len(PDF)
        assert attachment.storage_key.endswith(attachment.sha256)
        assert attachment.uploaded_by_id == world.people["owner"].id
        assert (attachment.dossier_id, attachment.field_stable_id) == (world.draft_id, "pj")
        assert b"".join(get_storage().iter_chunks(attachment.storage_key)) == PDF


def test_the_same_file_twice_is_two_attachments_and_one_stored_object(world):
    with world.app.app_context():
        first = db.session.get(Attachment, world.store(PDF, "a.pdf"))
        second = db.session.get(Attachment, world.store(PDF, "b.pdf", uploader="coeditor"))
        assert first.id != second.id and first.storage_key == second.storage_key
        files = [
            p for p in (world.app.instance_path and _files_dir(world)).rglob("*") if p.is_file()
        ]
        assert len(files) == 1


def _files_dir(world):
    from pathlib import Path

    return Path(world.app.config["STORAGE_DIR"]) / "sha256"


def test_the_size_limit_is_counted_while_streaming_not_trusted_from_headers(world):
    with world.app.app_context():
        dossier = db.session.get(Dossier, world.draft_id)
        field = services.attachment_field(dossier, "plan")  # images, 1 MB
        target = services.target_for("form_field", dossier=dossier, field=field)
        body = Unsized(PNG + b"\0" * (3 * MB))
        with pytest.raises(UploadRefused) as refused:
            services.store_upload(body, "plan.png", "image/png", target, world.user("owner"))
        assert refused.value.status == 413
        assert "1 Mo" in str(refused.value.message) or "1 MB" in str(refused.value.message)
        assert body.read_bytes < 3 * MB  # stopped early
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
        assert get_storage().purge_incoming(timedelta(0)) == 0


@pytest.mark.parametrize(
    ("use", "limit"),
    [("form_field", 200 * MB), ("message", 20 * MB), ("logo", 5 * MB)],
)
def test_each_use_has_its_default_limit(world, use, limit):
    with world.app.app_context():
        assert services.use_limit(use) == limit


def test_limits_are_configurable_per_use(make_app):
    app = make_app(ATTACHMENT_LIMITS={"message": 1 * MB})
    with app.app_context():
        assert services.use_limit("message") == 1 * MB
        assert services.use_limit("logo") == 5 * MB


def test_a_file_size_is_shown_in_kilobytes_under_a_megabyte(world):
    with world.app.test_request_context():
        assert services.file_size(45).startswith("1 k")  # not "0.0 MB"
        assert services.file_size(300_000).startswith("293 k")
        assert services.file_size(5 * MB // 2) == services.megabytes(5 * MB // 2)


def test_a_message_over_its_limit_is_refused(make_app):
    from .conftest import build_world

    world = build_world(make_app(ATTACHMENT_LIMITS={"message": 1000}))
    with world.app.app_context(), pytest.raises(UploadRefused) as refused:
        world.store(pdf_of(2000), use="message", dossier=world.submitted_id)
    assert refused.value.status == 413


def test_an_empty_file_is_refused(world):
    with world.app.app_context(), pytest.raises(UploadRefused, match="empty|vide"):
        world.store(b"", "vide.pdf")


def test_a_refused_type_stores_nothing(world):
    with world.app.app_context():
        with pytest.raises(UploadRefused):
            world.store(EXECUTABLE, "facture.pdf")
        db.session.rollback()
        assert get_storage().purge_incoming(timedelta(0)) == 0
        assert not _files_dir(world).exists()


def test_a_field_refuses_families_it_does_not_allow(world):
    with world.app.app_context(), pytest.raises(UploadRefused, match="images"):
        world.store(PDF, "plan.pdf", field="plan")


def test_a_rolled_back_upload_leaves_no_bytes(world):
    with world.app.app_context():
        dossier = db.session.get(Dossier, world.draft_id)
        target = services.target_for(
            "form_field", dossier=dossier, field=services.attachment_field(dossier, "pj")
        )
        attachment = services.store_upload(io.BytesIO(PDF), "a.pdf", None, target, None)
        key = attachment.storage_key
        assert get_storage().exists(key)
        db.session.rollback()
        assert not get_storage().exists(key)


# ---------------------------------------------------------------------------------------
# Who may send what


def test_an_applicant_uploads_to_their_own_editable_dossier_only(world):
    with world.app.app_context():
        owner, coeditor = world.user("owner"), world.user("coeditor")
        assert services.authorize_upload(
            owner, "form_field", dossier_id=world.draft_id, field_stable_id="pj"
        )
        assert services.authorize_upload(
            coeditor, "form_field", dossier_id=world.draft_id, field_stable_id="pj"
        )
        for name in ("stranger", "invited", "agent"):
            with pytest.raises(UploadRefused) as refused:
                services.authorize_upload(
                    world.user(name), "form_field", dossier_id=world.draft_id, field_stable_id="pj"
                )
            assert refused.value.status == 404, name
        with pytest.raises(UploadRefused) as refused:  # under review: visible, not editable
            services.authorize_upload(
                owner, "form_field", dossier_id=world.submitted_id, field_stable_id="pj"
            )
        assert refused.value.status == 400
        with pytest.raises(UploadRefused) as refused:  # not an attachment field
            services.authorize_upload(
                owner, "form_field", dossier_id=world.draft_id, field_stable_id="nom"
            )
        assert refused.value.status == 404


def test_private_annotation_files_are_sent_by_agents_only(world):
    with world.app.app_context():
        args = {"dossier_id": world.submitted_id, "field_stable_id": "note"}
        assert services.authorize_upload(world.user("agent"), "form_field", **args)
        with pytest.raises(UploadRefused):
            services.authorize_upload(world.user("owner"), "form_field", **args)


def test_a_field_takes_no_more_files_than_it_allows(world):
    with world.app.app_context():
        world.store(PNG, "a.png", field="plan")
        with pytest.raises(UploadRefused, match="single file|seul fichier"):
            services.authorize_upload(
                world.user("owner"), "form_field", dossier_id=world.draft_id, field_stable_id="plan"
            )


def test_logos_are_sent_by_the_procedures_administrators(world):
    with world.app.app_context():
        target = services.authorize_upload(
            world.user("administrator"), "logo", procedure_id=world.procedure_id
        )
        assert target.families == {"image"} and target.max_size == 5 * MB
        for name in ("other_administrator", "agent", "owner"):
            with pytest.raises(UploadRefused):
                services.authorize_upload(world.user(name), "logo", procedure_id=world.procedure_id)


def test_justifications_by_agents_opinions_by_experts_messages_by_anyone_concerned(world):
    with world.app.app_context():
        d = {"dossier_id": world.submitted_id}
        assert services.authorize_upload(world.user("agent"), "justification", **d)
        assert services.authorize_upload(world.user("expert"), "opinion", **d)
        assert services.authorize_upload(world.user("owner"), "message", **d)
        assert services.authorize_upload(world.user("agent"), "message", **d)
        with pytest.raises(UploadRefused):
            services.authorize_upload(world.user("owner"), "justification", **d)
        with pytest.raises(UploadRefused):
            services.authorize_upload(world.user("revoked_expert"), "opinion", **d)
        with pytest.raises(UploadRefused):  # no messages on drafts
            services.authorize_upload(world.user("owner"), "message", dossier_id=world.draft_id)
        with pytest.raises(UploadRefused):  # made by the server only
            services.authorize_upload(world.user("agent"), "attestation", **d)


def test_anonymous_visitors_cannot_upload(world):
    from flask_login import AnonymousUserMixin

    with world.app.app_context(), pytest.raises(UploadRefused) as refused:
        services.authorize_upload(AnonymousUserMixin(), "form_field", dossier_id=world.draft_id)
    assert refused.value.status == 401


# ---------------------------------------------------------------------------------------
# Who may download what

EVERYONE = (
    "owner",
    "coeditor",
    "invited",
    "stranger",
    "agent",
    "other_agent",
    "expert",
    "revoked_expert",
    "administrator",
    "other_administrator",
    "admin",
)


def allowed(world, file_id: int) -> set[str]:
    attachment = db.session.get(Attachment, file_id)
    return {name for name in EVERYONE if services.can_download(world.user(name), attachment)}


def test_a_submitted_form_file_is_seen_by_everyone_concerned_and_nobody_else(world):
    with world.app.app_context():
        file_id = world.store(PDF, dossier=world.submitted_id)
        assert allowed(world, file_id) == {
            "owner",
            "coeditor",
            "agent",
            "expert",
            "administrator",
            "admin",
        }


def test_a_draft_file_is_seen_by_its_applicants_only(world):
    with world.app.app_context():
        assert allowed(world, world.store(PDF)) == {"owner", "coeditor", "admin"}


def test_a_private_annotation_file_is_never_shown_to_the_applicant(world):
    with world.app.app_context():
        file_id = world.store(PDF, field="note", dossier=world.submitted_id, uploader="agent")
        assert allowed(world, file_id) == {"agent", "administrator", "admin"}


def test_an_opinion_file_is_seen_by_agents_and_its_expert(world):
    with world.app.app_context():
        file_id = world.store(PDF, use="opinion", dossier=world.submitted_id, uploader="expert")
        assert allowed(world, file_id) == {"expert", "agent", "administrator", "admin"}


def test_a_message_file_not_sent_yet_is_its_uploaders_only_then_the_threads(world):
    with world.app.app_context():
        file_id = world.store(PDF, use="message", dossier=world.submitted_id)
        assert allowed(world, file_id) == {"owner"}
        message_id = message(world.submitted_id, world.user("owner"))
        services.attach_to_message(
            [file_id], db.session.get(Message, message_id), world.user("owner")
        )
        db.session.commit()
        assert allowed(world, file_id) == {
            "owner",
            "coeditor",
            "agent",
            "expert",
            "administrator",
            "admin",
        }


def test_someone_elses_upload_cannot_be_attached_to_a_message(world):
    with world.app.app_context():
        file_id = world.store(PDF, use="message", dossier=world.submitted_id)
        message_id = message(world.submitted_id, world.user("agent"), AuthorKind.agent)
        with pytest.raises(UploadRefused):
            services.attach_to_message(
                [file_id], db.session.get(Message, message_id), world.user("agent")
            )


def test_a_fresh_unattached_upload_is_its_uploaders_only(world):
    with world.app.app_context():
        file_id = world.store(PDF, use="export", dossier=None, uploader="agent")
        assert allowed(world, file_id) == {"agent"}


def test_a_published_procedures_logo_is_public_a_draft_ones_is_not(world):
    from flask_login import AnonymousUserMixin

    with world.app.app_context():
        public = world.store(PNG, "logo.png", use="logo", uploader="administrator")
        hidden = world.store(
            PNG,
            "logo.png",
            use="logo",
            uploader="administrator",
            procedure=world.draft_procedure_id,
        )
        anonymous = AnonymousUserMixin()
        assert services.can_download(anonymous, db.session.get(Attachment, public))
        assert not services.can_download(anonymous, db.session.get(Attachment, hidden))
        assert allowed(world, hidden) == {"administrator", "admin"}


def test_downloading_an_infected_or_pending_file(world):
    with world.app.app_context():
        file_id = world.store(PDF, dossier=world.submitted_id)
        attachment = db.session.get(Attachment, file_id)
        attachment.scan_status = ScanStatus.pending
        db.session.commit()
        assert services.get_for_download(world.user("owner"), file_id)  # the uploader
        with pytest.raises(UploadRefused) as refused:
            services.get_for_download(world.user("agent"), file_id)
        assert refused.value.status == 409
        attachment.scan_status = ScanStatus.infected
        db.session.commit()
        for name in ("owner", "agent", "admin"):
            with pytest.raises(UploadRefused) as refused:
                services.get_for_download(world.user(name), file_id)
            assert refused.value.status == 403
        with pytest.raises(UploadRefused) as refused:
            services.get_for_download(world.user("stranger"), file_id)
        assert refused.value.status == 404


# ---------------------------------------------------------------------------------------
# Answers hold attachment ids: the field types' hook checks them


def test_the_answer_checker_accepts_the_dossiers_own_files_only(world):
    from app.fields.base import as_spec
    from app.models import FieldDefinition

    with world.app.app_context():
        dossier = db.session.get(Dossier, world.draft_id)
        fields = {
            f.stable_id: as_spec(f)
            for f in db.session.scalars(
                sa.select(FieldDefinition).where(FieldDefinition.revision_id == dossier.revision_id)
            )
        }
        check = services.field_attachments_checker(dossier, world.user("owner"))
        mine = world.store(PDF)
        check([mine], fields["pj"])
        with pytest.raises(ValidationError):  # another field's file
            check([mine], fields["plan"])
        theirs = world.store(pdf_of(100, "x"), dossier=world.submitted_id)
        with pytest.raises(ValidationError):
            check([theirs], fields["pj"])
        with pytest.raises(ValidationError):
            check([999999], fields["pj"])
        db.session.get(Attachment, mine).scan_status = ScanStatus.infected
        with pytest.raises(ValidationError, match="virus"):
            check([mine], fields["pj"])


# ---------------------------------------------------------------------------------------
# Removing and cleaning up


def test_an_uploader_removes_a_file_not_submitted_and_its_bytes_go(world):
    with world.app.app_context():
        file_id = world.store(PDF)
        key = db.session.get(Attachment, file_id).storage_key
        with pytest.raises(UploadRefused) as refused:
            services.remove_upload(world.user("coeditor"), file_id)
        assert refused.value.status == 404
        services.remove_upload(world.user("owner"), file_id)
        assert get_storage().exists(key)  # not before the commit
        db.session.commit()
        assert db.session.get(Attachment, file_id) is None
        assert not get_storage().exists(key)


def test_a_file_under_review_cannot_be_removed(world):
    with world.app.app_context():
        file_id = world.store(PDF, dossier=world.submitted_id)
        with pytest.raises(UploadRefused) as refused:
            services.remove_upload(world.user("owner"), file_id)
        assert refused.value.status == 400


def test_bytes_still_referenced_by_another_attachment_are_kept(world):
    with world.app.app_context():
        kept = world.store(PDF, dossier=world.submitted_id)
        removed = world.store(PDF)
        services.remove_upload(world.user("owner"), removed)
        db.session.commit()
        assert get_storage().exists(db.session.get(Attachment, kept).storage_key)


def test_a_rolled_back_removal_keeps_the_bytes(world):
    with world.app.app_context():
        file_id = world.store(PDF)
        key = db.session.get(Attachment, file_id).storage_key
        services.remove_upload(world.user("owner"), file_id)
        db.session.flush()
        db.session.rollback()
        assert get_storage().exists(key)


def test_deleting_a_draft_removes_its_files_and_its_messages_files(world):
    with world.app.app_context():
        form_file = world.store(PDF)
        message_id = message(world.draft_id, world.user("owner"))
        message_file = world.store(pdf_of(200, "m"), use="message", dossier=None)
        services.attach_to_message(
            [message_file], db.session.get(Message, message_id), world.user("owner")
        )
        db.session.commit()
        keys = [db.session.get(Attachment, i).storage_key for i in (form_file, message_file)]
        assert services.delete_dossier_files(world.draft_id) == 2
        db.session.commit()
        assert not any(get_storage().exists(key) for key in keys)


def _age(file_id: int, days: float) -> None:
    db.session.get(Attachment, file_id).created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_orphans_older_than_a_day_are_removed_and_referenced_files_never(world):
    with world.app.app_context():
        old_orphan = world.store(pdf_of(300, "old"), use="export", dossier=None)
        fresh_orphan = world.store(pdf_of(300, "fresh"), use="export", dossier=None)
        unsent = world.store(pdf_of(300, "unsent"), use="message", dossier=world.submitted_id)
        form_file = world.store(pdf_of(300, "form"), dossier=world.submitted_id)
        logo = world.store(PNG, "logo.png", use="logo", uploader="administrator")
        justification = world.store(
            pdf_of(300, "justif"), use="justification", dossier=world.submitted_id, uploader="agent"
        )
        db.session.get(Procedure, world.procedure_id).logo_id = logo
        db.session.get(Dossier, world.submitted_id).justification_id = justification
        db.session.commit()
        for file_id in (old_orphan, unsent, form_file, logo, justification):
            _age(file_id, 2)
        _age(fresh_orphan, 0.5)
        old_key = db.session.get(Attachment, old_orphan).storage_key
        assert services.cleanup_orphans() == 2
        remaining = set(db.session.scalars(sa.select(Attachment.id)))
        assert remaining == {fresh_orphan, form_file, logo, justification}
        assert not get_storage().exists(old_key)
        for file_id in remaining:
            assert get_storage().exists(db.session.get(Attachment, file_id).storage_key)


def test_files_of_a_dossier_deleted_without_cleanup_become_orphans(world):
    with world.app.app_context():
        file_id = world.store(PDF)
        _age(file_id, 2)
        db.session.execute(
            sa.update(Attachment).where(Attachment.id == file_id).values(dossier_id=None)
        )  # what ON DELETE SET NULL does when a dossier row goes
        db.session.commit()
        assert services.cleanup_orphans() == 1


def test_the_periodic_cleanup_also_purges_crashed_temporary_uploads(world):
    with world.app.app_context():
        get_storage().receive(iter([b"half a file"]))
        assert services.cleanup_orphans(older_than=timedelta(0)) == 0
        assert get_storage().purge_incoming(timedelta(0)) == 0


def test_decided_or_published_states_do_not_change_what_a_logo_is(world):
    with world.app.app_context():
        procedure = db.session.get(Procedure, world.procedure_id)
        procedure.state = ProcedureState.closed
        db.session.commit()
        logo = world.store(PNG, "logo.png", use="logo", uploader="administrator")
        from flask_login import AnonymousUserMixin

        assert services.can_download(AnonymousUserMixin(), db.session.get(Attachment, logo))


def test_describe_gives_the_portal_what_it_shows(world):
    with world.app.test_request_context():
        attachment = db.session.get(Attachment, world.store(PDF, "a.pdf"))
        described = services.describe(attachment)
        assert described["name"] == "a.pdf" and described["scan_status"] == "not_scanned"
        assert described["download_url"] == f"/attachments/{attachment.id}"
        assert described["remove_url"] == f"/attachments/{attachment.id}/remove"


def test_attachment_use_and_state_enums_are_the_models(world):
    assert AttachmentUse.form_field == "form_field" and DossierState.draft == "draft"


def test_a_file_of_a_foreign_dossier_is_seen_by_its_own_people_only(world):
    with world.app.app_context():
        file_id = world.store(PDF, use="message", dossier=world.foreign_id, uploader="stranger")
        message_id = message(world.foreign_id, world.user("stranger"))
        services.attach_to_message(
            [file_id], db.session.get(Message, message_id), world.user("stranger")
        )
        db.session.commit()
        assert allowed(world, file_id) == {
            "stranger",
            "other_agent",
            "other_administrator",
            "admin",
        }
