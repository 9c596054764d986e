"""Drafts prepared by an administration's system (the REST API) for an applicant to finish.

``prepare`` makes a draft with nobody as owner, its answers validated exactly as the
portal validates a prefill link's ``champ_<id>`` parameters and any saved answer
(``app.services.dossiers.create_draft`` and ``validate``), and a secret link whose SHA-256
is kept in ``Dossier.prefill_token_hash``. The applicant opens the link, signs in, and
``claim`` makes the draft theirs (once: the link is then spent). An unclaimed draft is
deleted with the other abandoned drafts when it expires (retention).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext

from ..extensions import db
from ..fields.base import field_specs
from ..models import Dossier, DossierState, Procedure
from . import dossiers

TOKEN_MAX = 100


@dataclass(frozen=True)
class Prepared:
    dossier: Dossier
    token: str  # goes into the link, never stored


class PrefillRefused(Exception):
    """Answers that are not all valid: ``errors`` by stable id (nothing was made)."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("invalid answers")
        self.errors = dict(errors)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def prepare(procedure: Procedure, answers: Mapping[str, Any], author) -> Prepared:
    """A new unowned draft of ``procedure`` holding ``answers``. Raises
    ``dossiers.ProcedureNotOpen`` or ``PrefillRefused``; nothing is committed.

    Every answer must be valid and name a field of the applicant's form: a system that
    prefills wants to know at once what was wrong, whereas a link followed by a person
    drops what is invalid (the person corrects it in the form).
    """
    dossier = dossiers.create_draft(procedure, author)
    known = {
        spec.stable_id
        for spec in field_specs(dossiers.form_fields(dossier))
        if not spec.private and spec.parent is None
    }
    errors: dict[str, list[str]] = {
        key: [gettext("This field is not in the procedure's form.")]
        for key in answers
        if key not in known
    }
    cleaned, invalid = dossiers.validate(dossier, answers, user=author, partial=True)
    for key, messages in invalid.items():
        errors.setdefault(key, []).extend(str(message) for message in messages)
    if errors:
        raise PrefillRefused(errors)
    token = secrets.token_urlsafe(32)
    dossier.answers = cleaned
    dossier.owner_id = None
    dossier.prefill_token_hash = _hash(token)
    db.session.flush()
    return Prepared(dossier, token)


def find(token: str) -> Dossier | None:
    """The unclaimed draft of this link, or None (unknown, spent, or not a draft any more)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    return db.session.scalar(
        sa.select(Dossier).where(
            Dossier.prefill_token_hash == _hash(token),
            Dossier.owner_id.is_(None),
            Dossier.state == DossierState.draft,
        )
    )


def claim(token: str, user) -> Dossier | None:
    """Make the link's draft ``user``'s; None when the link is not valid (any more).
    The caller commits."""
    dossier = find(token)
    if dossier is None or user is None or not getattr(user, "is_authenticated", False):
        return None
    dossier.owner_id = user.id
    dossier.prefill_token_hash = None
    db.session.flush()
    return dossier
