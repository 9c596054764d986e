"""The attestation: a PDF issued when a dossier is accepted, from the administrator's
template (title, body, footer, all with the tags of ``template_tags``).

The acceptance calls ``is_enabled`` then ``render_pdf``; the template screen previews with
``render_pdf_texts`` (texts typed and not yet saved). The PDF is made by WeasyPrint from an
HTML page whose every administrator or applicant text is escaped, and WeasyPrint may fetch
nothing but ``data:`` URLs, so a text can neither inject markup nor make the server request
an address.

The procedure's logo and the template's signature image are drawn from ``data:`` URLs
given by an image source that the attachments plugin registers (``set_image_source``):
the core does not read stored files itself. Without one, the PDF has no images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import AttestationTemplate, Dossier, Procedure
from . import pdf, template_tags
from .template_tags import ATTESTATION, TagProblem

TITLE_MAX_LENGTH = 255
BODY_MAX_LENGTH = 20_000
FOOTER_MAX_LENGTH = 2_000

DEFAULT_TITLE = "Attestation d'acceptation du dossier n° --numéro du dossier--"
DEFAULT_BODY = (
    "--nom du service-- atteste que le dossier n° --numéro du dossier--, déposé le "
    "--date de dépôt-- dans le cadre de la démarche « --libellé démarche-- », a fait "
    "l'objet d'une décision favorable.\n\n--motivation--"
)
DEFAULT_FOOTER = "Attestation délivrée par --nom du service--."
"""Shipped in French, like the mail templates' defaults (see ``mail_templates``)."""


@dataclass(frozen=True)
class AttestationText:
    """The template as administrators read it (field tags by label)."""

    enabled: bool
    title: str
    body: str
    footer: str
    is_default: bool


class AttestationError(Exception):
    """Texts that cannot be saved; ``errors`` maps form fields to messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("; ".join(str(message) for message in errors.values()))
        self.errors = errors


ImageSource = Callable[[int], str | None]
"""``source(attachment_id)``: a ``data:`` URL of that image, or None when it may not be
drawn (missing, not an image, not scanned clean)."""

_IMAGE_SOURCE = "guichet_attestation_image_source"


def set_image_source(app: Flask, source: ImageSource) -> None:
    """Let attestations draw the procedure's logo and the signature image through
    ``source`` (the attachments plugin registers it)."""
    app.extensions[_IMAGE_SOURCE] = source


def image_data_url(attachment_id: int | None) -> str | None:
    """The ``data:`` URL of a stored image, through the registered source (None without
    one, or when that image may not be drawn)."""
    source = current_app.extensions.get(_IMAGE_SOURCE)
    if source is None or not attachment_id:
        return None
    return source(attachment_id)


def _stored(procedure: Procedure) -> AttestationTemplate | None:
    return procedure.attestation_template


def signature_id(procedure: Procedure) -> int | None:
    """The attachment id of the template's signature image, if it has one."""
    template = _stored(procedure)
    return template.signature_id if template is not None else None


def set_signature(procedure: Procedure, attachment_id: int | None) -> int | None:
    """Make ``attachment_id`` the template's signature image (None removes it), creating
    the template with its default texts, disabled, if none was saved. Returns the previous
    signature's id. Nothing is committed."""
    template = _stored(procedure)
    if template is None:
        if attachment_id is None:
            return None
        template = AttestationTemplate(
            procedure=procedure,
            enabled=False,
            title=template_tags.to_storage(procedure, DEFAULT_TITLE),
            body=template_tags.to_storage(procedure, DEFAULT_BODY),
            footer=template_tags.to_storage(procedure, DEFAULT_FOOTER),
        )
        db.session.add(template)
    previous = template.signature_id
    template.signature_id = attachment_id
    return previous


def is_enabled(procedure: Procedure) -> bool:
    """Whether accepting a dossier of this procedure issues an attestation."""
    template = _stored(procedure)
    return bool(template and template.enabled)


def current(procedure: Procedure) -> AttestationText:
    template = _stored(procedure)
    if template is None:
        return AttestationText(False, DEFAULT_TITLE, DEFAULT_BODY, DEFAULT_FOOTER, True)
    display = template_tags.to_display
    return AttestationText(
        template.enabled,
        display(procedure, template.title),
        display(procedure, template.body),
        display(procedure, template.footer or ""),
        False,
    )


def problems(procedure: Procedure, title: str, body: str, footer: str) -> dict[str, Any]:
    """What prevents saving these texts, keyed by form field (empty when nothing does)."""
    errors: dict[str, Any] = {}
    if not title.strip():
        errors["title"] = _l("Enter the title of the attestation.")
    elif "\n" in title or "\r" in title:
        errors["title"] = _l("The title is a single line.")
    elif len(title) > TITLE_MAX_LENGTH:
        errors["title"] = _l("The title has at most %(num)d characters.", num=TITLE_MAX_LENGTH)
    if not body.strip():
        errors["body"] = _l("Enter the text of the attestation.")
    elif len(body) > BODY_MAX_LENGTH:
        errors["body"] = _l("The text has at most %(num)d characters.", num=BODY_MAX_LENGTH)
    if len(footer) > FOOTER_MAX_LENGTH:
        errors["footer"] = _l("The footer has at most %(num)d characters.", num=FOOTER_MAX_LENGTH)
    for name, text in (("title", title), ("body", body), ("footer", footer)):
        if name not in errors:
            try:
                template_tags.check(procedure, text, ATTESTATION)
            except TagProblem as problem:
                errors[name] = problem.message
    return errors


def save(procedure: Procedure, enabled: bool, title: str, body: str, footer: str) -> None:
    """Store the template (AttestationError if its texts cannot be). Nothing is committed."""
    title, body, footer = title.strip(), body.strip(), footer.strip()
    errors = problems(procedure, title, body, footer)
    if errors:
        raise AttestationError(errors)
    template = _stored(procedure)
    if template is None:
        template = AttestationTemplate(procedure=procedure)
        db.session.add(template)
    template.enabled = enabled
    template.title = template_tags.to_storage(procedure, title)
    template.body = template_tags.to_storage(procedure, body)
    template.footer = template_tags.to_storage(procedure, footer) or None


def render_html(
    procedure: Procedure, title: str, body: str, footer: str, dossier: Dossier | None
) -> str:
    """The attestation page, texts (stored, or as typed) rendered for ``dossier`` (a
    sample one when None)."""
    values = template_tags.tag_values(procedure, dossier)

    def text(source: str) -> str:
        return template_tags.render(template_tags.to_storage(procedure, source), values)

    issued = (dossier.decided_at if dossier is not None else None) or datetime.now(UTC)
    paragraphs = [part.strip() for part in text(body).split("\n\n")]
    return render_template(
        "guichet/procedures/attestation_pdf.html",
        procedure=procedure,
        administration=procedure.administration,
        number=values[template_tags.tag_key("numéro du dossier")],
        issued_on=template_tags.local_date(issued),
        title=" ".join(text(title).split()),
        paragraphs=[part for part in paragraphs if part],
        footer=text(footer).strip(),
        sample=dossier is None,
        logo=image_data_url(procedure.logo_id),
        signature=image_data_url(signature_id(procedure)),
    )


def render_pdf_texts(
    procedure: Procedure, title: str, body: str, footer: str, dossier: Dossier | None = None
) -> bytes:
    """A PDF of texts typed and not saved yet (the template screen's preview)."""
    return pdf.from_html(render_html(procedure, title, body, footer, dossier))


def render_pdf(procedure: Procedure, dossier: Dossier | None = None) -> bytes:
    """The attestation PDF of ``dossier`` from the procedure's template (its default text
    if none was saved); ``dossier=None`` renders a sample for previews."""
    template = _stored(procedure)
    if template is None:
        return render_pdf_texts(procedure, DEFAULT_TITLE, DEFAULT_BODY, DEFAULT_FOOTER, dossier)
    return render_pdf_texts(
        procedure, template.title, template.body, template.footer or "", dossier
    )
