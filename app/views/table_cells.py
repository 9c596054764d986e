"""The cells of an agent's dossier table, as HTML.

A page is a hundred rows of up to a dozen columns: a thousand cells. As a Jinja macro,
each cell cost a macro call and a few translations (a third of the page's time on a
large procedure); here a cell is one method call, its fixed texts translated once per
page. Every value is escaped by ``markupsafe``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import url_for
from flask_babel import gettext, ngettext
from markupsafe import Markup, escape

from ..models import DossierState
from ..services.tables import Column, Row
from ..workflow import state_label

STATE_CLASSES = {  # the badge of a state, here and in the templates' ``state_badge``
    DossierState.submitted: "info",
    DossierState.in_review: "primary",
    DossierState.accepted: "success",
    DossierState.refused: "danger",
    DossierState.closed_without_action: "default",
}


class Cells:
    """``cells(column, row)``: the HTML of one cell of the table. Markup is joined from
    escaped pieces (``Markup.format`` goes through ``string.Formatter``, slow at this
    count), and a dossier's address is the first row's with its number replaced."""

    def __init__(self, table_state: Mapping[str, Any], colour: Callable[[str], Any]) -> None:
        address = url_for("DossierInstructionView.show", number=0, **table_state)
        path, mark, arguments = address.partition("?")
        if not path.endswith("/0"):  # pragma: no cover - the route's shape changed
            raise ValueError(f"unexpected dossier address {address}")
        self.address = (path[:-1], mark + arguments)
        self.colour = colour
        self.you_follow = escape(gettext("You follow it"))
        self.waiting = Markup('<span class="label label-warning">{}</span>').format(
            gettext("Waiting for corrections")
        )
        self.select = gettext("Select dossier n° %(number)d")  # formatted per row
        self.states = {
            state: Markup('<span class="label label-{}">{}</span>').format(
                STATE_CLASSES.get(state, "default"), state_label(state)
            )
            for state in DossierState
        }

    def __call__(self, column: Column, row: Row) -> Markup:
        kind = column.kind
        if kind == "id":
            head, tail = self.address
            return Markup(f'<a href="{escape(head)}{row.id}{escape(tail)}">{row.id}</a>')
        if kind == "applicant":
            return escape(row.applicant)
        if kind == "state":
            return self.states.get(row.state) or escape(row.state)
        if kind == "group":
            return escape(row.group or "")
        if kind == "followers":
            names = escape(", ".join(row.followers))
            if not row.followed_by_me:
                return names
            return names + Markup(
                ' <span class="fa fa-star" title="{0}" aria-label="{0}"></span>'
            ).format(self.you_follow)
        if kind == "labels":
            return Markup("").join(self._label(name, color) for _id, name, color in row.labels)
        if kind == "unread":
            return self._unread(row.unread) if row.unread else Markup("")
        if kind == "correction":
            return self.waiting if row.pending_correction else Markup("")
        text = escape(column.text(row.values.get(column.key)))
        return Markup(f'<span style="white-space: pre-line">{text}</span>')

    def rows(self, rows: Sequence[Row], shown: Sequence[Column], *, selectable: bool) -> Markup:
        """The table's body rows: the batch checkbox if ``selectable``, then a cell per
        shown column, the first one the row's header."""
        lines = []
        for row in rows:
            cells = [f"<td>{self.selection(row)}</td>"] if selectable else []
            for index, column in enumerate(shown):
                tag = "td" if index else 'th scope="row"'
                cells.append(f"<{tag}>{self(column, row)}</{tag[:2]}>")
            lines.append(f"<tr>{''.join(cells)}</tr>")
        return Markup("\n".join(lines))

    def selection(self, row: Row) -> Markup:
        """The row's checkbox of the batch actions' form."""
        number, label = row.id, escape(self.select % {"number": row.id})
        return Markup(
            f'<input type="checkbox" class="batch-select" form="batch-form" name="dossiers" '
            f'value="{number}" id="select-{number}"><label for="select-{number}" '
            f'class="sr-only">{label}</label>'
        )

    def _label(self, name: str, color: str) -> Markup:
        shade = self.colour(color)
        return Markup(
            '<span class="label" style="background-color: {}; color: {}; font-size: 85%">{}</span> '
        ).format(shade.background, shade.text, name)

    @staticmethod
    def _unread(count: int) -> Markup:
        return Markup(
            '<span class="badge" title="{}">{}<span class="sr-only"> {}</span></span>'
        ).format(
            ngettext("%(num)d unread message", "%(num)d unread messages", count),
            count,
            ngettext("unread message", "unread messages", count),
        )
