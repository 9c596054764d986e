"""The mails sent to applicants on each event of their dossier, as administrators word them.

Every ``MailEvent`` has a default text shipped here; a procedure's administrator may
override it (a ``MailTemplate`` row) and reset it to the default (the row is deleted).
Texts are plain text with tags (``app/services/template_tags.py``); ``render`` is what the
code sending an event's mail calls.

The defaults are written in French, not through gettext: they are the content of mails to
French applicants, written with tags whose names are French too (``--numéro du dossier--``),
and an administrator edits them as data. The screens around them are translated as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Dossier, MailEvent, MailTemplate, Procedure
from . import attestations, template_tags
from .template_tags import TagProblem

SUBJECT_MAX_LENGTH = 255
BODY_MAX_LENGTH = 20_000

EVENT_LABELS: dict[MailEvent, Any] = {
    MailEvent.submitted: _l("Dossier submitted"),
    MailEvent.review_started: _l("Review started"),
    MailEvent.accepted: _l("Dossier accepted"),
    MailEvent.refused: _l("Dossier refused"),
    MailEvent.closed_without_action: _l("Dossier closed without action"),
    MailEvent.reopened: _l("Dossier reopened"),
    MailEvent.new_message: _l("New message from the service"),
    MailEvent.correction_requested: _l("Correction requested"),
    MailEvent.expiry_warning: _l("Dossier about to be deleted"),
}
"""Names of the events in the screens, in the order of a dossier's life."""

EVENT_HELP: dict[MailEvent, Any] = {
    MailEvent.submitted: _l("Sent to the applicant when they submit their dossier."),
    MailEvent.review_started: _l("Sent when an agent starts reviewing the dossier."),
    MailEvent.accepted: _l("Sent when the dossier is accepted."),
    MailEvent.refused: _l("Sent when the dossier is refused."),
    MailEvent.closed_without_action: _l("Sent when the dossier is closed without action."),
    MailEvent.reopened: _l("Sent when a decision is cancelled and the review resumes."),
    MailEvent.new_message: _l("Sent when an agent writes to the applicant."),
    MailEvent.correction_requested: _l(
        "Sent when an agent asks the applicant to correct their dossier."
    ),
    MailEvent.expiry_warning: _l(
        "Sent two weeks before a decided dossier reaches the end of its retention period."
    ),
}

_HELLO = "Bonjour,\n\n"
_REGARDS = "\n\nBien cordialement,\n--nom du service--"
_DOSSIER = "dossier n° --numéro du dossier-- pour la démarche « --libellé démarche-- »"

DEFAULTS: dict[MailEvent, tuple[str, str]] = {
    MailEvent.submitted: (
        "Votre dossier n° --numéro du dossier-- a bien été déposé",
        f"{_HELLO}Votre {_DOSSIER} a bien été déposé le --date de dépôt--.\n\n"
        "Il va être examiné par --nom du service--. Tant que son instruction n'a pas "
        "commencé, vous pouvez encore le modifier.\n\n"
        f"Vous pouvez le consulter et suivre son avancement à tout moment : --lien dossier--"
        f"{_REGARDS}",
    ),
    MailEvent.review_started: (
        "Votre dossier n° --numéro du dossier-- est en cours d'instruction",
        f"{_HELLO}Votre {_DOSSIER} est désormais en cours d'instruction par "
        "--nom du service--. Il ne peut plus être modifié, mais vous pouvez toujours "
        "échanger avec le service par la messagerie du dossier : --lien dossier--"
        f"{_REGARDS}",
    ),
    MailEvent.accepted: (
        "Votre dossier n° --numéro du dossier-- a été accepté",
        f"{_HELLO}Nous avons le plaisir de vous informer que votre {_DOSSIER} a été "
        "accepté.\n\n--motivation--\n\n"
        f"Votre dossier reste consultable à cette adresse : --lien dossier--{_REGARDS}",
    ),
    MailEvent.refused: (
        "Votre dossier n° --numéro du dossier-- a été refusé",
        f"{_HELLO}Nous sommes au regret de vous informer que votre {_DOSSIER} a été "
        "refusé.\n\nMotif du refus :\n--motivation--\n\n"
        "Vous pouvez consulter votre dossier et échanger avec le service par sa "
        f"messagerie : --lien dossier--{_REGARDS}",
    ),
    MailEvent.closed_without_action: (
        "Votre dossier n° --numéro du dossier-- a été classé sans suite",
        f"{_HELLO}Votre {_DOSSIER} a été classé sans suite.\n\n--motivation--\n\n"
        f"Vous pouvez consulter votre dossier à cette adresse : --lien dossier--{_REGARDS}",
    ),
    MailEvent.reopened: (
        "Votre dossier n° --numéro du dossier-- est de nouveau en cours d'instruction",
        f"{_HELLO}La décision prise sur votre {_DOSSIER} a été annulée : votre dossier "
        "est de nouveau en cours d'instruction par --nom du service--.\n\n"
        f"Vous pouvez le consulter à cette adresse : --lien dossier--{_REGARDS}",
    ),
    MailEvent.new_message: (
        "Nouveau message au sujet de votre dossier n° --numéro du dossier--",
        f"{_HELLO}--nom du service-- vous a écrit au sujet de votre {_DOSSIER}.\n\n"
        "Pour lire ce message et y répondre, rendez-vous sur votre dossier : "
        f"--lien dossier--{_REGARDS}",
    ),
    MailEvent.correction_requested: (
        "Votre dossier n° --numéro du dossier-- est à corriger",
        f"{_HELLO}--nom du service-- vous demande de corriger ou de compléter votre "
        f"{_DOSSIER}. Le détail de la demande figure dans la messagerie du dossier.\n\n"
        "Après avoir apporté les corrections demandées, déposez à nouveau votre dossier : "
        f"--lien dossier--{_REGARDS}",
    ),
    MailEvent.expiry_warning: (
        "Votre dossier n° --numéro du dossier-- sera bientôt supprimé",
        f"{_HELLO}La durée de conservation de votre {_DOSSIER} arrive à son terme : il "
        "sera supprimé dans deux semaines.\n\n"
        "Si vous souhaitez qu'il soit conservé plus longtemps, vous pouvez demander une "
        f"prolongation depuis votre dossier : --lien dossier--{_REGARDS}",
    ),
}

_ACCEPTED_WITH_ATTESTATION = (
    DEFAULTS[MailEvent.accepted][0],
    DEFAULTS[MailEvent.accepted][1].replace(
        "\n\nVotre dossier reste",
        "\n\nVous pouvez télécharger votre attestation : --lien attestation--"
        "\n\nVotre dossier reste",
    ),
)


@dataclass(frozen=True)
class MailText:
    """A template as administrators read it (field tags by label)."""

    subject: str
    body: str
    is_default: bool


class TemplateError(Exception):
    """Texts that cannot be saved; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(str(message) for message in errors.values()))
        self.errors = errors


def default_text(procedure: Procedure, event: MailEvent) -> tuple[str, str]:
    """The shipped (subject, body) of an event; the acceptance mail links the attestation
    only when the procedure issues one."""
    if event == MailEvent.accepted and attestations.is_enabled(procedure):
        return _ACCEPTED_WITH_ATTESTATION
    return DEFAULTS[event]


def stored(procedure: Procedure, event: MailEvent) -> MailTemplate | None:
    return db.session.scalar(
        sa.select(MailTemplate).where(
            MailTemplate.procedure_id == procedure.id, MailTemplate.event == event
        )
    )


def customised_events(procedure: Procedure) -> set[MailEvent]:
    """The events whose template the administrator has overridden."""
    return set(
        db.session.scalars(
            sa.select(MailTemplate.event).where(MailTemplate.procedure_id == procedure.id)
        )
    )


def current(procedure: Procedure, event: MailEvent) -> MailText:
    """The template in force, as administrators edit it."""
    template = stored(procedure, event)
    if template is None:
        return MailText(*default_text(procedure, event), is_default=True)
    return MailText(
        template_tags.to_display(procedure, template.subject),
        template_tags.to_display(procedure, template.body),
        is_default=False,
    )


def problems(procedure: Procedure, event: MailEvent, subject: str, body: str) -> dict[str, Any]:
    """What prevents saving these texts, keyed by form field (empty when nothing does)."""
    errors: dict[str, Any] = {}
    if not subject.strip():
        errors["subject"] = _l("Enter the subject of the mail.")
    elif "\n" in subject or "\r" in subject:
        errors["subject"] = _l("The subject is a single line.")
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = _l(
            "The subject has at most %(num)d characters.", num=SUBJECT_MAX_LENGTH
        )
    if not body.strip():
        errors["body"] = _l("Enter the text of the mail.")
    elif len(body) > BODY_MAX_LENGTH:
        errors["body"] = _l("The text has at most %(num)d characters.", num=BODY_MAX_LENGTH)
    for name, text in (("subject", subject), ("body", body)):
        if name in errors:
            continue
        try:
            template_tags.check(procedure, text, event.value)
        except TagProblem as problem:
            errors[name] = problem.message
    return errors


def save(procedure: Procedure, event: MailEvent, subject: str, body: str) -> None:
    """Store the administrator's texts (TemplateError if they cannot be); saving the default
    text itself leaves the event on its default. Nothing is committed."""
    subject, body = subject.strip(), body.strip()
    errors = problems(procedure, event, subject, body)
    if errors:
        raise TemplateError(errors)
    subject = template_tags.to_storage(procedure, subject)
    body = template_tags.to_storage(procedure, body)
    template = stored(procedure, event)
    if (subject, body) == default_text(procedure, event):
        if template is not None:
            db.session.delete(template)
        return
    if template is None:
        template = MailTemplate(procedure_id=procedure.id, event=event)
        db.session.add(template)
    template.subject, template.body = subject, body


def reset(procedure: Procedure, event: MailEvent) -> None:
    """Go back to the shipped text (nothing is committed)."""
    template = stored(procedure, event)
    if template is not None:
        db.session.delete(template)


def render_texts(
    procedure: Procedure, subject: str, body: str, dossier: Dossier | None
) -> tuple[str, str]:
    """Render a (subject, body) pair — stored, or typed and not yet saved — for a dossier,
    or for a sample one when ``dossier`` is None."""
    values = template_tags.tag_values(procedure, dossier)
    subject = template_tags.render(template_tags.to_storage(procedure, subject), values)
    body = template_tags.render(template_tags.to_storage(procedure, body), values)
    subject = " ".join(subject.split())
    body = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", body).strip() + "\n"
    return subject, body


def render(
    procedure: Procedure, event: MailEvent, dossier: Dossier | None = None
) -> tuple[str, str]:
    """The (subject, body) of the mail of ``event`` for ``dossier``, ready for
    ``mail.send``. With ``dossier=None`` the tags get sample values (previews)."""
    template = stored(procedure, event)
    subject, body = (
        (template.subject, template.body) if template else default_text(procedure, event)
    )
    return render_texts(procedure, subject, body, dossier)
