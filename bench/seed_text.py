"""The search text of seeded dossiers, as ``app.services.search.document_text`` writes it,
at a million-dossier pace.

Why not call ``document_text`` for every dossier: it formats each answer through its field
type (``FieldType.as_text``), which goes through Babel and the Flask locale for numbers,
yes/no and civilities, and through ``phonenumbers`` for phones — about 260 µs per dossier,
four and a half minutes for a million. The values a seed draws repeat a lot, so here:

- answers of types that keep the default ``format`` (text, email…) are the string itself;
- answers of low-cardinality types (choices, places, yes/no) are formatted once by the real
  ``as_text`` and remembered;
- numbers, dates, date-times, French mobile numbers and repeated blocks, which rarely
  repeat, are written by a few lines that reproduce Babel's, the date types' and
  ``phonenumbers``' output for the seeded values (anything else falls back to ``as_text``);
- everything else goes through the real ``as_text``.

The number, names and email that start the text come from ``document_text`` itself (called
with an empty form). Whatever the shortcut, ``Renderer.check`` compares the result with
``document_text`` on a sample of dossiers during the load: a difference in the first
dossiers (``search.py`` changed its format) switches the load to ``document_text`` for every
dossier, slower but right; a difference later (a value the shortcut misreads) stops the
load. Either way the search documents are the application's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from babel.numbers import get_decimal_symbol, get_group_symbol

from app.fields import registry
from app.fields.base import FieldSpec, FieldType, field_specs
from app.models import DossierState
from app.services import search

MEMOISED = frozenset(
    {
        "checkbox",
        "yes_no",
        "civility",
        "drop_down",
        "multiple_drop_down",
        "linked_drop_down",
        "country",
        "region",
        "department",
        "commune",
    }
)
"""Types whose seeded values are few: the real ``as_text`` once per distinct value."""

_SPEC = object()
_FRENCH_MOBILE = re.compile(r"\+33([67])(\d{2})(\d{2})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")


def _french_mobile(value: Any) -> str | None:
    """+33612345678 → 06 12 34 56 78 (``phonenumbers``' national format)."""
    match = _FRENCH_MOBILE.fullmatch(value) if type(value) is str else None
    return "0" + " ".join(match.groups()) if match else None


def _french_date(value: Any) -> str | None:
    """2024-12-25 → 25/12/2024 (``format_date``)."""
    match = _ISO_DATE.fullmatch(value) if type(value) is str else None
    return f"{match[3]}/{match[2]}/{match[1]}" if match else None


def _french_datetime(value: Any) -> str | None:
    """2024-12-25T14:30 → 25/12/2024 14:30 (``format_datetime``)."""
    match = _ISO_DATETIME.fullmatch(value) if type(value) is str else None
    return f"{match[3]}/{match[2]}/{match[1]} {match[4]}:{match[5]}" if match else None


class TextMismatch(RuntimeError):
    """The fast text of a dossier differs from the application's: the load stops."""


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    return value


class Renderer:
    """Builds search texts for one load. Use inside ``flask_babel.force_locale`` of the
    platform's default language, as ``search.refresh`` does."""

    def __init__(self, emails: Mapping[int, str], locale: str = "fr") -> None:
        self.emails = emails
        self.group = get_group_symbol(locale)
        self.decimal = get_decimal_symbol(locale)
        self.forms: dict[int, list[tuple[str, bool, Callable[[Any], str]]]] = {}
        self.specs: dict[int, list[FieldSpec]] = {}
        self.checked = 0
        self.exact = False
        """True once the shortcut was found to differ: every text is then the application's
        own (slower, still right)."""

    def add_form(self, revision_id: int, definitions: list[dict[str, Any]]) -> None:
        """Prepare one revision's renderers from its field definitions (dicts with id,
        stable_id, type, label, private, options, parent, position), in the order
        ``search._forms`` reads them from the database."""
        ordered = sorted(definitions, key=lambda d: (d["private"], d["position"], d["id"]))
        specs = [spec for spec in field_specs(ordered) if _has_value(spec.type)]
        self.specs[revision_id] = specs
        self.forms[revision_id] = [
            (spec.stable_id, spec.private, self._renderer(spec))
            for spec in specs
            if spec.type not in search.UNSEARCHED_TYPES
        ]

    def _renderer(self, spec: FieldSpec, definition: Any = _SPEC) -> Callable[[Any], str]:
        """The fastest way to write ``spec``'s answers that gives ``as_text``'s result.

        ``definition`` is what the real ``as_text`` receives (the spec, or None for the
        children of a repeated block, as ``Repetition.format`` passes them).
        """
        field_type = registry.get(spec.type)
        given = spec if definition is _SPEC else definition

        def real(value: Any) -> str:
            try:
                return field_type.as_text(value, given)
            except Exception:  # as search._answer_text: a broken type never blocks
                return ""

        kind = type(field_type)
        plain = kind.format is FieldType.format and kind.is_empty is FieldType.is_empty
        if plain:  # text, textarea, formatted, email…: the string itself
            return lambda value: (
                (value if value.strip() else "") if type(value) is str else real(value)
            )
        if spec.type in MEMOISED:
            memo: dict[Any, str] = {}

            def memoised(value: Any) -> str:
                key = _hashable(value)
                text = memo.get(key)
                if text is None:
                    text = memo[key] = real(value)
                return text

            return memoised
        if spec.type in ("integer", "decimal"):
            return lambda value: self._number(value) or real(value)
        if spec.type == "date":
            return lambda value: _french_date(value) or real(value)
        if spec.type == "datetime":
            return lambda value: _french_datetime(value) or real(value)
        if spec.type == "phone":
            return lambda value: _french_mobile(value) or real(value)
        if spec.type == "repetition":
            return self._block(spec, field_type, real)
        return real

    def _block(
        self, spec: FieldSpec, field_type: FieldType, real: Callable[[Any], str]
    ) -> Callable[[Any], str]:
        """A repeated block as ``Repetition.format`` writes it: one numbered line per row,
        "label : text" per cell in the form's order (not the row's key order: jsonb sorts
        keys), each cell through its child type's ``as_text``."""
        children = {
            child.stable_id: (child.label or child.stable_id, self._renderer(child, None))
            for child in spec.children
        }

        def block(value: Any) -> str:
            if not isinstance(value, list) or field_type.is_empty(value):
                return real(value)
            lines = []
            for number, row in enumerate(value, start=1):
                if not isinstance(row, dict):
                    continue
                if any(key not in children for key in row):
                    return real(value)
                cells = []
                for key, (label, render) in children.items():
                    if key in row:
                        cells.append(f"{label} : {render(row[key])}")
                lines.append(f"{number}. " + " ; ".join(cells))
            return "\n".join(lines)

        return block

    def _number(self, value: Any) -> str | None:
        """A seeded int or float as Babel writes it in French ("28 179,67"), else None."""
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return None
        text = str(value) if isinstance(value, int) else repr(value)
        if "e" in text or "E" in text:
            return None
        whole, _, fraction = text.partition(".")
        groups = []
        while len(whole) > 3:
            whole, tail = whole[:-3], whole[-3:]
            groups.insert(0, tail)
        groups.insert(0, whole)
        number = self.group.join(groups)
        return f"{number}{self.decimal}{fraction}" if fraction else number

    def text(self, row: Mapping[str, Any]) -> str:
        """The search text of one dossier row (the seed's dict), as ``document_text``.

        The pieces before the answers (number, names, email) come from ``document_text``
        itself, called without a form; the answers follow, formatted as above.
        """
        if self.exact:
            return self.expected(row)
        pieces = [search.document_text(self._indexed(row, with_answers=False), [], self.emails)]
        answers, annotations = row["answers"] or {}, row["annotations"] or {}
        for stable_id, private, render in self.forms[row["revision_id"]]:
            value = (annotations if private else answers).get(stable_id)
            if value is not None:
                pieces.append(render(value))
        return "\n".join(piece for piece in pieces if piece)

    def expected(self, row: Mapping[str, Any]) -> str:
        """The application's own text of the row: ``search.document_text``."""
        specs = self.specs[row["revision_id"]]
        return search.document_text(self._indexed(row), specs, self.emails)

    def check(self, row: Mapping[str, Any], text: str) -> None:
        """Compare with the application's ``document_text``; raise on any difference."""
        expected = self.expected(row)
        self.checked += 1
        if text != expected:
            raise TextMismatch(
                f"search text of dossier {row['id']} differs from document_text:\n"
                f"fast: {text!r}\napp:  {expected!r}"
            )

    @staticmethod
    def _indexed(row: Mapping[str, Any], *, with_answers: bool = True) -> search.Indexed:
        person = row["on_behalf_of"]
        return search.Indexed(
            id=row["id"],
            procedure_id=row["procedure_id"],
            revision_id=row["revision_id"],
            owner_id=row["owner_id"],
            state=DossierState(row["state"]),
            identity=row["identity"],
            on_behalf_of=person if isinstance(person, Mapping) else None,
            answers=row["answers"] if with_answers else None,
            annotations=row["annotations"] if with_answers else None,
        )


def _has_value(type_name: str) -> bool:
    try:
        return registry.get(type_name).has_value
    except registry.UnknownFieldType:
        return False
