"""Tags in administrators' texts (mail templates, the attestation): ``--numéro du
dossier--``, ``--libellé démarche--``, … and one tag per form field.

How field tags are written (docs/decisions/0005-template-tags-stored-by-stable-id.md):
administrators type and read a field's tag as its label, ``--Nom de l'entreprise--``,
but the text is *stored* with the field's stable id, ``--champ:f3a9c2e1--``. So a template
keeps working when a label is reworded, across revisions (dossiers answer older revisions,
and stable ids survive them), and can never point at the wrong one of two fields. A field
whose label cannot be a tag — shared with another field or a system tag, containing ``--``,
starting or ending with a dash — is offered as ``--champ:<stable id>--`` directly.

Tags are matched without regard to case, accents' Unicode form or repeated spaces.
Private fields (agents' annotations) have no tag: their values never reach an applicant.
An unknown tag is refused when a text is saved; one left behind by a field deleted later
renders as nothing.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date, gettext, ngettext
from flask_babel import lazy_gettext as _l

from ..fields import registry
from ..models import Dossier, FieldDefinition, MailEvent, Procedure, ProcedureRevision

log = logging.getLogger(__name__)

TAG = re.compile(r"--([^\s-](?:[^\n]*?[^\s-])?)--")
"""``--name--`` on one line; the name neither starts nor ends with a dash or a space, so
that separator lines (``-----``) and the mail signature line (``-- ``) are not tags."""

FIELD_PREFIX = "champ:"
ATTESTATION = "attestation"
"""The context of the attestation's texts (mail templates use their ``MailEvent``)."""

DECISIONS = frozenset(
    {
        MailEvent.accepted.value,
        MailEvent.refused.value,
        MailEvent.closed_without_action.value,
        ATTESTATION,
    }
)

DOSSIER_PATH = "/dossiers/{number}"
ATTESTATION_PATH = "/dossiers/{number}/attestation"
"""Where the applicant portal serves a dossier and its attestation (after ``PUBLIC_URL``)."""

SAMPLE_NUMBER = 12345


def tag_key(name: str) -> str:
    """How tags are compared: Unicode NFC, spaces collapsed, case folded."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


@dataclass(frozen=True)
class Tag:
    """One tag an administrator may use: ``name`` goes between the dashes."""

    name: str
    description: Any
    stable_id: str | None = None
    contexts: frozenset[str] | None = field(default=None, compare=False)
    """Where the tag makes sense (None: everywhere); elsewhere it is refused on save."""

    @property
    def text(self) -> str:
        return f"--{self.name}--"

    @property
    def key(self) -> str:
        return tag_key(self.name)


SYSTEM_TAGS: tuple[Tag, ...] = (
    Tag("numéro du dossier", _l("the dossier number")),
    Tag("libellé démarche", _l("the title of the procedure")),
    Tag("date de dépôt", _l("the date the dossier was submitted")),
    Tag("motivation", _l("the motivation of the decision"), contexts=DECISIONS),
    Tag("lien dossier", _l("the link to the dossier, for the applicant")),
    Tag(
        "lien attestation",
        _l("the link to download the attestation"),
        contexts=frozenset({MailEvent.accepted.value}),
    ),
    Tag("nom du service", _l("the name of the service in charge of the procedure")),
)
_SYSTEM_BY_KEY = {tag.key: tag for tag in SYSTEM_TAGS}


class TagProblem(ValueError):
    """Tags of a text that cannot be accepted; ``message`` names them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current_revision(procedure: Procedure) -> ProcedureRevision | None:
    """The revision administrators are editing: the draft if any, else the published one."""
    return procedure.draft_revision or procedure.published_revision


def _has_value(definition: FieldDefinition) -> bool:
    try:
        return registry.get(definition.type).has_value
    except registry.UnknownFieldType:
        return True


def _tagged_fields(revision: ProcedureRevision | None) -> list[FieldDefinition]:
    """Fields that get a tag: top-level, public, holding a value (a repeated block's
    children live inside the block's value)."""
    if revision is None:
        return []
    return [
        item
        for item in revision.fields
        if not item.private and item.parent_id is None and _has_value(item)
    ]


def field_tags(revision: ProcedureRevision | None) -> list[Tag]:
    """The tags of a revision's fields, in form order, each named by its label when the
    label can be typed unambiguously, else by ``champ:<stable id>``."""
    fields = _tagged_fields(revision)
    labels = {item.stable_id: " ".join((item.label or "").split()) for item in fields}
    uses: dict[str, int] = {}
    for label in labels.values():
        uses[tag_key(label)] = uses.get(tag_key(label), 0) + 1
    tags = []
    for item in fields:
        label = labels[item.stable_id]
        key = tag_key(label)
        typeable = (
            bool(label)
            and TAG.fullmatch(f"--{label}--") is not None
            and uses[key] == 1
            and key not in _SYSTEM_BY_KEY
            and not key.startswith(FIELD_PREFIX)
        )
        name = label if typeable else f"{FIELD_PREFIX}{item.stable_id}"
        description = _l("the answer to “%(label)s”", label=label or item.stable_id)
        tags.append(Tag(name, description, stable_id=item.stable_id))
    return tags


def available_tags(procedure: Procedure, context: str) -> list[Tag]:
    """The tags offered for a text in ``context``: system tags first, then fields."""
    system = [tag for tag in SYSTEM_TAGS if tag.contexts is None or context in tag.contexts]
    return system + field_tags(current_revision(procedure))


def check(procedure: Procedure, text: str, context: str) -> None:
    """Raise TagProblem naming every tag of ``text`` that cannot be used in ``context``."""
    known = {tag.key for tag in available_tags(procedure, context)}
    known |= set(_fields_by_key(procedure))
    unknown: list[str] = []
    misplaced: list[str] = []
    for match in TAG.finditer(text or ""):
        key = tag_key(match.group(1))
        if key in known:
            continue
        bucket = misplaced if key in _SYSTEM_BY_KEY else unknown
        if match.group(0) not in bucket:
            bucket.append(match.group(0))
    messages = []
    if unknown:
        messages.append(
            ngettext(
                "Unknown tag: %(tags)s. Use the tags of the list, written exactly the same.",
                "Unknown tags: %(tags)s. Use the tags of the list, written exactly the same.",
                len(unknown),
                tags=", ".join(unknown),
            )
        )
    if misplaced:
        messages.append(
            ngettext(
                "This tag cannot be used in this text: %(tags)s.",
                "These tags cannot be used in this text: %(tags)s.",
                len(misplaced),
                tags=", ".join(misplaced),
            )
        )
    if messages:
        raise TagProblem(" ".join(messages))


def _replace(text: str, replacement: Callable[[re.Match[str]], str]) -> str:
    return TAG.sub(replacement, text or "")


def _fields_by_key(procedure: Procedure) -> dict[str, Tag]:
    """Field tags by every key they may be typed with: their name and ``champ:<id>``."""
    by_key = {}
    for tag in field_tags(current_revision(procedure)):
        by_key[tag.key] = tag
        by_key[tag_key(FIELD_PREFIX + tag.stable_id)] = tag
    return by_key


def to_storage(procedure: Procedure, text: str) -> str:
    """The text as stored: field tags by stable id, system tags in their canonical spelling."""
    by_key = _fields_by_key(procedure)

    def canonical(match: re.Match[str]) -> str:
        key = tag_key(match.group(1))
        if key in by_key:
            return f"--{FIELD_PREFIX}{by_key[key].stable_id}--"
        if key in _SYSTEM_BY_KEY:
            return _SYSTEM_BY_KEY[key].text
        return match.group(0)

    return _replace(text, canonical)


def to_display(procedure: Procedure, text: str) -> str:
    """The stored text as administrators read and edit it: field tags by label."""
    by_key = _fields_by_key(procedure)

    def readable(match: re.Match[str]) -> str:
        tag = by_key.get(tag_key(match.group(1)))
        return tag.text if tag is not None else match.group(0)

    return _replace(text, readable)


def render(text: str, values: dict[str, str]) -> str:
    """Replace each tag of a stored text by its value (keys from ``tag_values``); a tag
    with no value (a field deleted since) becomes empty."""

    def value(match: re.Match[str]) -> str:
        key = tag_key(match.group(1))
        if key not in values:
            log.warning("Template tag %s has no value", match.group(0))
        return values.get(key, "")

    return _replace(text, value)


# ---------------------------------------------------------------------------------------
# Values


def absolute(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def local_date(moment: datetime | None) -> str:
    """A timestamp as a date in the platform's time zone, in words (``12 mars 2026``)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Paris"))
    return format_date(moment.astimezone(zone).date(), format="long")


def answer_text(definition: FieldDefinition, value: Any) -> str:
    """A stored answer as text, as its field type writes it (``str`` for a type the
    registry does not know, or a value its type cannot read: a mail must still leave)."""
    if value is None:
        return ""
    try:
        return registry.get(definition.type).as_text(value, definition)
    except (LookupError, TypeError, ValueError, AttributeError):
        log.warning("Answer to field %s rendered with str()", definition.stable_id)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(str(item) for item in value.values() if item not in (None, ""))
    return str(value)


def tag_values(procedure: Procedure, dossier: Dossier | None) -> dict[str, str]:
    """The value of every tag for one dossier, keyed by ``tag_key``; ``dossier=None``
    gives sample values for a preview (each field shows its label in brackets)."""
    service = procedure.service_name or procedure.administration.name
    values = {
        "libellé démarche": procedure.title,
        "nom du service": service,
    }
    if dossier is None:
        number = SAMPLE_NUMBER
        values |= {
            "date de dépôt": local_date(datetime.now(UTC)),
            "motivation": gettext("(the motivation of the decision)"),
        }
        for item in _tagged_fields(current_revision(procedure)):
            values[FIELD_PREFIX + item.stable_id] = f"[{' '.join(item.label.split())}]"
    else:
        number = dossier.id
        values |= {
            "date de dépôt": local_date(dossier.submitted_at),
            "motivation": dossier.motivation or "",
        }
        answers = dossier.answers or {}
        for item in _tagged_fields(dossier.revision or current_revision(procedure)):
            values[FIELD_PREFIX + item.stable_id] = answer_text(item, answers.get(item.stable_id))
    values |= {
        "numéro du dossier": str(number),
        "lien dossier": absolute(DOSSIER_PATH.format(number=number)),
        "lien attestation": absolute(ATTESTATION_PATH.format(number=number)),
    }
    return {tag_key(name): value for name, value in values.items()}
