"""Choosing the dossier a template preview is rendered for: a sample, or a real one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ...extensions import db
from ...models import Dossier, DossierState, Procedure

RECENT = 20


def recent_numbers(procedure: Procedure) -> list[int]:
    """Numbers of the procedure's latest submitted dossiers, offered as suggestions."""
    return list(
        db.session.scalars(
            sa.select(Dossier.id)
            .where(Dossier.procedure_id == procedure.id, Dossier.state != DossierState.draft)
            .order_by(Dossier.id.desc())
            .limit(RECENT)
        )
    )


def chosen_dossier(procedure: Procedure, typed: str | None) -> tuple[Dossier | None, Any]:
    """``(dossier, error)`` for the number typed in a preview form: no number means the
    sample dossier. Only submitted dossiers of this procedure qualify (administrators do
    not see applicants' drafts)."""
    typed = (typed or "").strip().removeprefix("n°").strip()
    if not typed:
        return None, None
    if not typed.isdigit():
        return None, _l("Enter a dossier number, or leave the box empty for a sample.")
    dossier = db.session.scalar(
        sa.select(Dossier).where(
            Dossier.id == int(typed),
            Dossier.procedure_id == procedure.id,
            Dossier.state != DossierState.draft,
        )
    )
    if dossier is None:
        return None, _l("This procedure has no submitted dossier n° %(number)s.", number=typed)
    return dossier, None
