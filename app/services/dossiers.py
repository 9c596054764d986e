"""An applicant's dossier from its first draft to its submission: the rules the portal and
the REST API share.

- ``create_draft``: a new draft of a published procedure (or a test dossier of a procedure
  in test mode), optionally prefilled;
- ``save_answers``: store answers, validated like everywhere else
  (``app.fields.validate_answers``); hidden fields are neither validated nor kept;
- ``set_identity``: who files (a person, or a company by SIRET; on behalf of someone when the
  procedure allows it);
- ``submit``: every check, routing, the workflow's ``submit`` (then the declarative mode's
  automatic events) and the receipt mail with its PDF, in the caller's transaction;
- ``record_satisfaction``: the three-level question asked after submitting.

Two copies of one dossier never silently overwrite each other. Every change names the
``version`` its author was looking at: a different current version raises
``StaleDossier`` at once, and two requests that both pass that check race on the same
``UPDATE … WHERE version = n`` (SQLAlchemy's ``version_id_col``): the loser's flush fails and
is turned into ``StaleDossier`` too. So a double click or a second tab submits once; the
portal then shows the second attempt the confirmation of the first.

Functions change the session and leave the commit to the caller (one transaction per
request), like the other services. Plugins extend the checks through ``hooks(app)``: the
core never imports a plugin (see ``add_submission_check`` and ``set_attachments_checker``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import conditions, signals, workflow
from ..extensions import db
from ..fields import CleanContext, registry, validate_answers
from ..fields.contrib.text import clean_text
from ..models import (
    DeclarativeMode,
    Dossier,
    DossierState,
    FieldDefinition,
    FilerKind,
    Invitation,
    MailEvent,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    SatisfactionAnswer,
    SatisfactionLevel,
    utcnow,
)
from . import mail, mail_templates, receipts
from .procedures import form_order
from .routing import route

log = logging.getLogger(__name__)

Errors = dict[str, list[str]]
SubmissionCheck = Callable[[Dossier], list[str]]
AttachmentsChecker = Callable[[Dossier, Any], Callable[[list[int], Any], None]]

EDITABLE_STATES = frozenset({DossierState.draft, DossierState.submitted})
"""An applicant may change their dossier until review starts."""
NAME_MAX_LENGTH = 100
COMPANY_NAME_MAX_LENGTH = 255
SATISFACTION_COMMENT_MAX_LENGTH = 2_000


# ---------------------------------------------------------------------------------------
# Errors


class DossierError(Exception):
    """A change the dossier, its procedure or the person does not allow; ``message`` is
    meant for the applicant (a lazy translation)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class NotAllowed(DossierError):
    """The person is neither the owner nor an accepted co-editor (the portal answers 404,
    so that the existence of someone else's dossier is not revealed)."""

    def __init__(self) -> None:
        super().__init__(_l("This dossier does not exist."))


class NotEditable(DossierError):
    """The dossier's state no longer lets its applicant change it."""


class ProcedureNotOpen(DossierError):
    """The procedure does not take dossiers (not published, closed, not yet open…)."""


class StaleDossier(DossierError):
    """The dossier changed since its author loaded it (another tab, a co-editor, an agent,
    a new revision of the form): nothing was written."""

    def __init__(self, dossier_id: int | None) -> None:
        super().__init__(
            _l(
                "This dossier was changed in another window or by someone else since you "
                "opened it. Your last changes were not saved: reload the page to see the "
                "current version."
            )
        )
        self.dossier_id = dossier_id


class SubmissionRefused(DossierError):
    """What prevents the submission: answers to fix (``errors``, keyed like
    ``validate_answers``) and general reasons (``reasons``: eligibility, identity, files)."""

    def __init__(self, errors: Errors | None = None, reasons: list[str] | None = None) -> None:
        self.errors = errors or {}
        self.reasons = list(reasons or [])
        message = (
            "; ".join(self.reasons)
            if self.reasons
            else _l("Some answers are missing or need to be corrected.")
        )
        super().__init__(message)


class AlreadyAnswered(DossierError):
    """The satisfaction question is answered once per dossier."""

    def __init__(self) -> None:
        super().__init__(_l("You have already answered this question. Thank you!"))


# ---------------------------------------------------------------------------------------
# Extension points for plugins


@dataclass
class Hooks:
    """What plugins add to the dossier rules of one app."""

    submission_checks: list[SubmissionCheck] = field(default_factory=list)
    """Each returns the reasons (translated sentences) that prevent submitting now."""
    attachments_checker: AttachmentsChecker | None = None
    """Makes the ``CleanContext.check_attachments`` hook for one dossier and person."""


def hooks(app: Flask | None = None) -> Hooks:
    """The dossier hooks of ``app`` (the current app by default)."""
    app = app or current_app
    return app.extensions.setdefault("guichet_dossier_hooks", Hooks())


def add_submission_check(app: Flask, check: SubmissionCheck) -> None:
    """Make ``check(dossier)`` run before every submission (files still being scanned…)."""
    registered = hooks(app).submission_checks
    if check not in registered:
        registered.append(check)


def set_attachments_checker(app: Flask, factory: AttachmentsChecker) -> None:
    """Let attachment answers through ``factory(dossier, user)``'s check. Without one,
    attachment answers are refused: nothing else can tell whose files the ids are."""
    hooks(app).attachments_checker = factory


# ---------------------------------------------------------------------------------------
# Who may do what, and when


def is_editor(dossier: Dossier, user) -> bool:
    """Whether ``user`` may fill this dossier: its owner or an accepted, not revoked,
    co-editor (agents and administrators read dossiers, they do not fill them)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if dossier.owner_id is not None and dossier.owner_id == user.id:
        return True
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                Invitation.dossier_id == dossier.id,
                Invitation.user_id == user.id,
                Invitation.accepted_at.is_not(None),
                Invitation.revoked_at.is_(None),
            )
        )
    )


def is_editable(dossier: Dossier) -> bool:
    """Whether the dossier's state still lets its applicant change it."""
    return dossier.state in EDITABLE_STATES and not dossier.archived


def _require_editor(dossier: Dossier, user) -> None:
    if not is_editor(dossier, user):
        raise NotAllowed()


def _require_editable(dossier: Dossier) -> None:
    if not is_editable(dossier):
        raise NotEditable(
            _l("This dossier is being reviewed and can no longer be changed.")
            if dossier.state != DossierState.draft
            else _l("This dossier can no longer be changed.")
        )


def _require_version(dossier: Dossier, expected_version: int | None) -> None:
    if expected_version is None or dossier.version != expected_version:
        raise StaleDossier(dossier.id)


def opening_problem(
    procedure: Procedure, *, test: bool = False, now: datetime | None = None
) -> Any | None:
    """Why the procedure does not take new dossiers now (None when it does).

    A test dossier needs the procedure in test mode (a draft procedure with its draft form);
    a real one needs it published, past its opening date and before its deadline (the
    deadline counts even before the scheduled task closes the procedure).
    """
    now = now or utcnow()
    if test:
        if procedure.state != ProcedureState.draft or procedure.draft_revision_id is None:
            return _l("This test link is no longer valid: the procedure is not in test mode.")
        return None
    if procedure.state == ProcedureState.closed:
        if procedure.closed_reason:
            return _l("This procedure is closed: %(reason)s", reason=procedure.closed_reason)
        return _l("This procedure is closed and no longer takes dossiers.")
    if procedure.state != ProcedureState.published or procedure.published_revision_id is None:
        return _l("This procedure is not open.")
    if procedure.opens_at is not None and procedure.opens_at > now:
        return _l("This procedure is not open yet.")
    if procedure.deadline_at is not None and procedure.deadline_at <= now:
        return _l("The deadline of this procedure has passed: it no longer takes dossiers.")
    return None


def _revision_for(procedure: Procedure, test: bool) -> ProcedureRevision:
    return procedure.draft_revision if test else procedure.published_revision


def form_fields(dossier: Dossier) -> list[FieldDefinition]:
    """The fields of the dossier's revision in form order (applicant's and annotations)."""
    return form_order(dossier.revision)


# ---------------------------------------------------------------------------------------
# Validation


def _refuse_attachments(ids: list[int], spec: Any) -> None:
    raise ValidationError([gettext("Files cannot be attached on this platform.")])


def answer_context(dossier: Dossier, user) -> CleanContext:
    """The look-ups validation may make for ``dossier`` filled by ``user``: which dossier
    numbers a link may name, whose files an attachment answer may hold."""
    factory = hooks().attachments_checker
    check = factory(dossier, user) if factory is not None else _refuse_attachments

    def dossier_exists(number: int) -> bool:
        # Any filed dossier may be named (agents check the link); drafts are private.
        return number != dossier.id and bool(
            db.session.scalar(
                sa.select(sa.literal(True)).where(
                    Dossier.id == number, Dossier.state != DossierState.draft
                )
            )
        )

    return CleanContext(dossier_exists=dossier_exists, check_attachments=check)


def validate(
    dossier: Dossier, answers: Mapping[str, Any] | None, *, user, partial: bool
) -> tuple[dict[str, Any], Errors]:
    """``(cleaned, errors)`` for answers to the dossier's form (hidden fields dropped)."""
    return validate_answers(
        form_fields(dossier),
        answers if isinstance(answers, Mapping) else {},
        context=answer_context(dossier, user),
        partial=partial,
    )


def top_level_key(error_key: str) -> str:
    """The field an error key is about: ``bloc[2].enfant`` → ``bloc``, ``adresse.city`` →
    ``adresse``."""
    return error_key.split(".", 1)[0].split("[", 1)[0]


# ---------------------------------------------------------------------------------------
# Drafts


def create_draft(
    procedure: Procedure,
    user,
    *,
    test: bool = False,
    prefill: Mapping[str, Any] | None = None,
) -> Dossier:
    """A new draft owned by ``user``; ``test=True`` makes a test dossier of a procedure in
    test mode (on its draft form). ``prefill`` holds raw answers keyed by stable id (from
    a link's ``champ_<id>`` parameters or the API): each is validated like any answer and
    kept only if valid; hidden and unknown fields are dropped. Raises ``ProcedureNotOpen``.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAllowed()
    problem = opening_problem(procedure, test=test)
    if problem is not None:
        raise ProcedureNotOpen(problem)
    now = utcnow()
    dossier = Dossier(
        procedure=procedure,
        revision=_revision_for(procedure, test),
        owner_id=user.id,
        state=DossierState.draft,
        identity={},
        answers={},
        annotations={},
        is_test=test,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=procedure.draft_retention_days or 180),
    )
    db.session.add(dossier)
    db.session.flush()
    if prefill:
        cleaned, errors = validate(dossier, prefill, user=user, partial=True)
        if errors:
            log.info("Prefill of dossier %s: invalid values dropped for %s", dossier.id, errors)
        dossier.answers = cleaned
        db.session.flush()
    return dossier


def save_answers(
    dossier: Dossier, user, answers: Mapping[str, Any], *, expected_version: int
) -> tuple[Dossier, Errors]:
    """Store the applicant's answers; return the dossier and the errors to show.

    A draft is saved half-filled (required fields may wait), its valid answers stored and an
    invalid one left at its previous value, so that a typing mistake never erases what was
    saved before. A submitted dossier (before review) is seen by agents: it is only
    changed by answers that pass the full validation, and the change is recorded as the
    applicant's (``applicant_modified_at``). Hidden and unknown fields are dropped.

    Raises ``NotAllowed``, ``NotEditable`` and ``StaleDossier`` (nothing written).
    """
    _require_editor(dossier, user)
    _require_version(dossier, expected_version)
    _require_editable(dossier)
    partial = dossier.state == DossierState.draft
    cleaned, errors = validate(dossier, answers, user=user, partial=partial)
    if errors and not partial:
        return dossier, errors
    previous = dict(dossier.answers or {})
    for key in {top_level_key(error_key) for error_key in errors}:
        if key in previous:
            cleaned[key] = previous[key]
    if cleaned != previous:
        now = utcnow()
        dossier.answers = cleaned
        dossier.updated_at = now
        if dossier.state == DossierState.submitted:
            dossier.applicant_modified_at = now
        _flush(dossier)
    return dossier, errors


def _flush(dossier: Dossier) -> None:
    """Write now, so that a concurrent change is detected here (``StaleDossier``) and not
    at the caller's commit."""
    dossier_id = dossier.id
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise StaleDossier(dossier_id) from error


# ---------------------------------------------------------------------------------------
# Identity


def _clean_name(value: Any, limit: int, missing: str, errors: Errors, key: str) -> str | None:
    try:
        text = clean_text(value if value is not None else "", multiline=False, limit=limit)
    except ValidationError as error:
        errors[key] = [str(message) for message in error.messages]
        return None
    if not text:
        errors[key] = [missing]
        return None
    return text


def _clean_person(data: Mapping[str, Any], errors: Errors, prefix: str = "") -> dict[str, Any]:
    civility = registry.get("civility")
    person: dict[str, Any] = {}
    try:
        person["civility"] = civility.clean(
            data.get("civility"), {"stable_id": "civility", "type": "civility"}
        )
    except ValidationError as error:
        errors[prefix + "civility"] = [str(message) for message in error.messages]
    if person.get("civility") is None and prefix + "civility" not in errors:
        errors[prefix + "civility"] = [gettext("Choose Madam or Sir.")]
    person["first_name"] = _clean_name(
        data.get("first_name"),
        NAME_MAX_LENGTH,
        gettext("Enter the first name."),
        errors,
        prefix + "first_name",
    )
    person["last_name"] = _clean_name(
        data.get("last_name"),
        NAME_MAX_LENGTH,
        gettext("Enter the last name."),
        errors,
        prefix + "last_name",
    )
    return person


def clean_identity(
    procedure: Procedure, identity: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None, Errors]:
    """``(identity, on_behalf_of, errors)`` from what the applicant typed.

    The procedure decides who files (``filer_kind``): a person (civility, first and last
    name) or a company (SIRET checked like a ``siret`` field, and its name). A beneficiary
    (``on_behalf`` with ``beneficiary``: civility, first and last name) is only taken when
    the procedure allows filing on behalf of someone.
    """
    errors: Errors = {}
    data = identity if isinstance(identity, Mapping) else {}
    if procedure.filer_kind == FilerKind.company:
        cleaned: dict[str, Any] = {"kind": "company"}
        try:
            cleaned["siret"] = registry.get("siret").clean(
                data.get("siret"), {"stable_id": "siret", "type": "siret"}
            )
        except ValidationError as error:
            errors["siret"] = [str(message) for message in error.messages]
        if cleaned.get("siret") is None and "siret" not in errors:
            errors["siret"] = [gettext("Enter the SIRET number of the company.")]
        cleaned["name"] = _clean_name(
            data.get("name"),
            COMPANY_NAME_MAX_LENGTH,
            gettext("Enter the name of the company."),
            errors,
            "name",
        )
    else:
        cleaned = {"kind": "person", **_clean_person(data, errors)}
    beneficiary = None
    on_behalf = data.get("on_behalf")
    if on_behalf in (True, "true", "on", "1", "yes", "oui"):
        if not procedure.allow_on_behalf:
            errors["on_behalf"] = [
                gettext("This procedure does not allow filing on behalf of someone else.")
            ]
        else:
            given = data.get("beneficiary")
            beneficiary = _clean_person(
                given if isinstance(given, Mapping) else {}, errors, "beneficiary."
            )
    return cleaned, beneficiary, errors


def identity_complete(dossier: Dossier) -> bool:
    """Whether the dossier says who files, as its procedure asks."""
    identity = dossier.identity or {}
    if dossier.procedure.filer_kind == FilerKind.company:
        return identity.get("kind") == "company" and bool(identity.get("siret"))
    return identity.get("kind") == "person" and bool(
        identity.get("first_name") and identity.get("last_name")
    )


def set_identity(dossier: Dossier, identity: Mapping[str, Any], *, user=None) -> Errors:
    """Record who files (see ``clean_identity``); return the errors (nothing is changed when
    there are any). With ``user``, they must be allowed to fill the dossier."""
    if user is not None:
        _require_editor(dossier, user)
    _require_editable(dossier)
    cleaned, beneficiary, errors = clean_identity(dossier.procedure, identity)
    if errors:
        return errors
    if cleaned != (dossier.identity or {}) or beneficiary != dossier.on_behalf_of:
        now = utcnow()
        dossier.identity = cleaned
        dossier.on_behalf_of = beneficiary
        dossier.updated_at = now
        if dossier.state == DossierState.submitted:
            dossier.applicant_modified_at = now
        _flush(dossier)
    return {}


# ---------------------------------------------------------------------------------------
# Submission


def eligibility_problem(dossier: Dossier, answers: Mapping[str, Any]) -> str | None:
    """The message of the first ineligibility rule that holds for these answers, if any."""
    fields = form_fields(dossier)
    for rule in dossier.revision.eligibility_rules or []:
        condition = rule.get("condition") if isinstance(rule, Mapping) else None
        if not condition:
            continue
        if conditions.evaluate(condition, answers, fields):
            message = (rule.get("message") or "").strip()
            return message or gettext("Your answers show that you cannot file this procedure.")
    return None


def submission_problems(
    dossier: Dossier, user, answers: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Errors, list[str]]:
    """``(cleaned, errors, reasons)``: what a submission of these answers (the stored ones
    by default) would be refused for, without changing anything."""
    answers = dossier.answers if answers is None else answers
    cleaned, errors = validate(dossier, answers, user=user, partial=False)
    reasons: list[str] = []
    if dossier.state == DossierState.draft and not identity_complete(dossier):
        reasons.append(gettext("Tell us who is filing this dossier before submitting it."))
    if not errors:
        problem = eligibility_problem(dossier, cleaned)
        if problem:
            reasons.append(problem)
    for check in hooks().submission_checks:
        reasons.extend(check(dossier))
    return cleaned, errors, reasons


def submit(dossier: Dossier, user, *, expected_version: int) -> Dossier:
    """Submit a draft, or record the changes of a submitted dossier (before review).

    A first submission is refused (``ProcedureNotOpen``, ``SubmissionRefused``) when the
    procedure does not take dossiers, the filer is unknown, an answer is missing or
    invalid, an ineligibility rule holds, or a plugin's check objects (files still being
    scanned). Otherwise the dossier is routed, submitted through the workflow, moved on
    by the declarative mode, and the receipt (mail with a PDF) is queued in the outbox.

    Submitting again a dossier that is already submitted (after a correction request, or
    after editing it) checks the same answers and records the change; the state does not
    move. Both send ``app.signals.dossier_submitted`` (``first`` tells which), in this
    transaction: the messaging plugin resolves the pending correction requests on it.
    Raises ``NotAllowed``, ``StaleDossier`` and ``NotEditable`` like ``save_answers``.
    """
    _require_editor(dossier, user)
    _require_version(dossier, expected_version)
    _require_editable(dossier)
    first = dossier.state == DossierState.draft
    if first:
        problem = opening_problem(dossier.procedure, test=dossier.is_test)
        if problem is not None:
            raise ProcedureNotOpen(problem)
    cleaned, errors, reasons = submission_problems(dossier, user)
    if errors or reasons:
        raise SubmissionRefused(errors, reasons)
    now = utcnow()
    changed = cleaned != (dossier.answers or {})
    if changed:
        dossier.answers = cleaned
    if not first:
        if changed:
            dossier.applicant_modified_at = now
        dossier.updated_at = now
        _flush(dossier)
        signals.dossier_submitted.send(
            current_app._get_current_object(), dossier=dossier, first=False
        )
        return dossier

    group = route(dossier)
    dossier.group_id = group.id if group is not None else None
    workflow.apply(dossier, workflow.Event.submit, user, at=now)
    dossier.expires_at = None
    _flush(dossier)
    mode = dossier.procedure.declarative_mode
    if mode in (DeclarativeMode.in_review, DeclarativeMode.accepted):
        workflow.apply(dossier, workflow.Event.start_review, None, at=now)
        if mode == DeclarativeMode.accepted:
            workflow.apply(dossier, workflow.Event.accept, None, at=now)
        _flush(dossier)
    send_receipt(dossier)
    signals.dossier_submitted.send(current_app._get_current_object(), dossier=dossier, first=True)
    return dossier


def send_receipt(dossier: Dossier) -> None:
    """Queue the "dossier submitted" mail, as the administrator worded it, with the PDF
    receipt (its HTML is taken now, the PDF made by the worker that sends the mail: the
    submission does not wait for it); its outbox key makes it leave once per dossier
    whatever happens."""
    owner = dossier.owner
    if owner is None or not owner.email:
        log.warning("Dossier %s has no owner email: no receipt sent", dossier.id)
        return
    subject, body = mail_templates.render(dossier.procedure, MailEvent.submitted, dossier)
    mail.send(
        owner.email,
        subject,
        body,
        pdfs=[(receipts.receipt_filename(dossier), receipts.receipt_html(dossier))],
        key=f"dossier-{dossier.id}-receipt",
    )
    _flush(dossier)


# ---------------------------------------------------------------------------------------
# Satisfaction


def record_satisfaction(
    dossier: Dossier, user, level: str | SatisfactionLevel, comment: str | None = None
) -> SatisfactionAnswer:
    """Record the applicant's answer to "how did filing go?", once per dossier, after
    submission. Raises ``NotAllowed``, ``AlreadyAnswered`` or ``DossierError``."""
    _require_editor(dossier, user)
    if dossier.state == DossierState.draft:
        raise DossierError(_l("This question is asked once the dossier is submitted."))
    try:
        level = SatisfactionLevel(level)
    except ValueError:
        raise DossierError(_l("Choose one of the three answers.")) from None
    text = None
    if comment is not None and str(comment).strip():
        try:
            text = clean_text(str(comment), multiline=True, limit=SATISFACTION_COMMENT_MAX_LENGTH)
        except ValidationError as error:
            raise DossierError(" ".join(map(str, error.messages))) from None
    exists = db.session.scalar(
        sa.select(sa.literal(True)).where(SatisfactionAnswer.dossier_id == dossier.id)
    )
    if exists:
        raise AlreadyAnswered()
    answer = SatisfactionAnswer(
        dossier_id=dossier.id, procedure_id=dossier.procedure_id, level=level, comment=text
    )
    db.session.add(answer)
    try:
        db.session.flush()
    except IntegrityError:  # the same answer sent twice at once: the first one counts
        db.session.rollback()
        raise AlreadyAnswered() from None
    return answer


# ---------------------------------------------------------------------------------------
# Deleting a draft (the portal's "my dossiers"). Kept apart from the filing rules above.


def delete_draft(dossier: Dossier, user) -> None:
    """Delete a draft its owner gave up, with its files; a tombstone keeps its number.

    Only the owner may (a co-editor may not, and anyone else gets ``NotAllowed``, which the
    portal answers with a 404); only a draft may be deleted (``NotEditable``): a submitted
    dossier belongs to the administration's records and is only hidden. The files go
    through the attachments plugin's ``delete_dossier_files`` first, so that their bytes
    are removed once the deletion commits; the plugin is imported here, lazily, because
    the core does not depend on plugins (no plugin loaded: no files to delete). Rows that
    only the database would cascade (SQLite does not enforce foreign keys) are deleted
    explicitly. Nothing is committed.
    """
    from ..models import DossierSearch, DossierTombstone, dossier_label

    if user is None or dossier.owner_id is None or dossier.owner_id != getattr(user, "id", None):
        raise NotAllowed()
    if dossier.state != DossierState.draft:
        raise NotEditable(_l("Only a draft can be deleted."))
    if "plugins.attachments" in current_app.extensions.get("guichet_plugins", []):
        from plugins.attachments.services import delete_dossier_files

        delete_dossier_files(dossier.id)
    db.session.add(
        DossierTombstone(
            number=dossier.id,
            procedure_id=dossier.procedure_id,
            state=dossier.state,
            reason="deleted_by_applicant",
            created_at=dossier.created_at,
            submitted_at=dossier.submitted_at,
            decided_at=dossier.decided_at,
        )
    )
    for table in (Invitation.__table__, DossierSearch.__table__, dossier_label):
        db.session.execute(sa.delete(table).where(table.c.dossier_id == dossier.id))
    db.session.delete(dossier)
