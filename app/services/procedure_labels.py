"""The labels (étiquettes) agents put on a procedure's dossiers, and their colours.

Colours come from a fixed palette rather than a colour picker: every colour is named (so
that a screen reader, or a colour-blind agent, reads "Rouge" rather than a hex code) and is
paired with a text colour that reaches a contrast of at least 4.5:1 (WCAG AA), which the
tests check.

Functions change the session and leave the commit to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Label, Procedure, dossier_label

NAME_MAX_LENGTH = 80


@dataclass(frozen=True)
class Colour:
    """A palette entry: the key stored in ``Label.color``, its name, and the background
    and text colours of a label drawn with it."""

    key: str
    name: Any
    background: str
    text: str


PALETTE: tuple[Colour, ...] = (
    Colour("gray", _l("Grey"), "#545B64", "#FFFFFF"),
    Colour("blue", _l("Blue"), "#1F5FAD", "#FFFFFF"),
    Colour("teal", _l("Teal"), "#0F6E6E", "#FFFFFF"),
    Colour("green", _l("Green"), "#1E7B34", "#FFFFFF"),
    Colour("yellow", _l("Yellow"), "#F2D349", "#1B1B1B"),
    Colour("orange", _l("Orange"), "#A14A00", "#FFFFFF"),
    Colour("red", _l("Red"), "#B3261E", "#FFFFFF"),
    Colour("pink", _l("Pink"), "#A8336C", "#FFFFFF"),
    Colour("purple", _l("Purple"), "#6A3FA0", "#FFFFFF"),
    Colour("brown", _l("Brown"), "#6D4C2F", "#FFFFFF"),
)
DEFAULT_COLOUR = PALETTE[0]
_BY_KEY = {colour.key: colour for colour in PALETTE}


class LabelError(Exception):
    """Input the rules refuse; ``field`` names the form input it is about."""

    def __init__(self, message: Any, field: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


def colour(key: str | None) -> Colour:
    """The palette entry of a stored key; grey for a key the palette no longer has."""
    return _BY_KEY.get(key or "", DEFAULT_COLOUR)


def ordered_labels(procedure: Procedure) -> list[Label]:
    return sorted(procedure.labels, key=lambda label: (label.name.casefold(), label.id or 0))


def usage_counts(procedure: Procedure) -> dict[int, int]:
    """Number of dossiers carrying each label of the procedure, in one query."""
    rows = db.session.execute(
        sa.select(dossier_label.c.label_id, sa.func.count())
        .join(Label, Label.id == dossier_label.c.label_id)
        .where(Label.procedure_id == procedure.id)
        .group_by(dossier_label.c.label_id)
    )
    return {label_id: count for label_id, count in rows}


def _clean(procedure: Procedure, name: str, colour_key: str, edited: Label | None) -> tuple:
    name = " ".join((name or "").split())
    if not name:
        raise LabelError(_l("Enter the name of the label."), "name")
    if len(name) > NAME_MAX_LENGTH:
        raise LabelError(
            _l("A label name has at most %(num)d characters.", num=NAME_MAX_LENGTH), "name"
        )
    for label in procedure.labels:
        if label is not edited and label.name.casefold() == name.casefold():
            raise LabelError(
                _l("This procedure already has a label called “%(name)s”.", name=label.name),
                "name",
            )
    if colour_key not in _BY_KEY:
        raise LabelError(_l("Choose one of the colours of the list."), "color")
    return name, colour_key


def create(procedure: Procedure, name: str, colour_key: str) -> Label:
    name, colour_key = _clean(procedure, name, colour_key, None)
    label = Label(name=name, color=colour_key)
    procedure.labels.append(label)
    db.session.flush()
    return label


def update(label: Label, name: str, colour_key: str) -> None:
    """Rename and recolour a label; dossiers carrying it show the change at once."""
    label.name, label.color = _clean(label.procedure, name, colour_key, label)


def delete(label: Label) -> int:
    """Delete a label and take it off every dossier; returns how many dossiers had it.

    The association rows are deleted explicitly rather than left to ``ON DELETE CASCADE``,
    which SQLite only honours when foreign keys are switched on.
    """
    removed = db.session.execute(
        sa.delete(dossier_label).where(dossier_label.c.label_id == label.id)
    ).rowcount
    label.procedure.labels.remove(label)
    db.session.delete(label)
    db.session.flush()
    return removed
