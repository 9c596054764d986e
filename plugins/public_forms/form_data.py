"""The portal form's inputs ↔ answers as the field types read them.

The form works without script: every answer travels as ordinary form inputs, and the
portal's script (autosave) posts the very same inputs, so one parser serves both.

Input names: ``champ_<stable id>`` for a field, ``champ_<id>.<part>`` for a part of it (the
day of a date, the city of an address, the "other" text of a drop-down list), and
``champ_<block>[<row>].<child>`` inside a repeated block, each row also marked by a
``champ_<block>[<row>]`` input so that an empty row still counts. Stable ids hold only
letters, digits, ``-`` and ``_``, so ``.`` and ``[`` cannot be confused with them. The
error keys of ``validate_answers`` are these names without the ``champ_`` prefix.

``form_to_answers`` reads the raw answers (uncleaned: what the person typed, in the
answers' shape); ``answers_to_form`` writes stored or raw answers back as input values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from functools import cache
from typing import Any

from werkzeug.datastructures import MultiDict

from app.data.geo import reference
from app.fields import FieldSpec
from app.fields import get as get_type
from app.fields.base import current_language
from app.fields.contrib.choices import OTHER
from app.fields.contrib.structure import MAX_ROWS

PREFIX = "champ_"
ADDRESS_PARTS = ("street", "postcode", "city", "country")
DATE_PARTS = ("day", "month", "year")

WIDGETS: dict[str, str] = {
    "checkbox": "checkbox",
    "multiple_drop_down": "multiple",
    "attachment": "multiple",
    "linked_drop_down": "linked",
    "address": "address",
    "date": "date",
    "datetime": "datetime",
    "repetition": "repetition",
    "commune": "commune",
}
"""How each type's answer is spread over inputs; any other type is one input."""

_ROW = re.compile(r"\[(\d{1,6})\]")
_INSEE_IN_PARENTHESES = re.compile(r"\(\s*(\d[0-9AB]\d{3})\s*\)\s*$", re.IGNORECASE)


def input_name(stable_id: str, block: str | None = None, row: int | None = None) -> str:
    """The name of a field's input (of its row's input inside a block)."""
    if block is None:
        return PREFIX + stable_id
    return f"{PREFIX}{block}[{row}].{stable_id}"


def error_key(name: str) -> str:
    """The ``validate_answers`` error key of an input name."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name


def dom_id(name: str) -> str:
    """An element id for an input name (``champ_bloc[0].nom`` → ``champ_bloc-0-nom``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def widget(field_type: str) -> str:
    return WIDGETS.get(field_type, "single")


# ---------------------------------------------------------------------------------------
# Inputs → answers


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def compose_date(day: Any, month: Any, year: Any) -> str | None:
    """``YYYY-MM-DD`` from three inputs; None when all are empty, and something the date
    type refuses (with its own message) when one is missing or not a number."""
    parts = [(_text(part) or "").strip() for part in (year, month, day)]
    if not any(parts):
        return None
    year_, month_, day_ = parts
    if all(part.isascii() and part.isdigit() for part in parts):
        return f"{year_.zfill(4)}-{month_.zfill(2)}-{day_.zfill(2)}"
    return f"{year_}-{month_}-{day_}"


def split_date(value: Any) -> dict[str, str]:
    """The day, month and year inputs of a ``YYYY-MM-DD`` answer (raw text kept as is)."""
    if not isinstance(value, str) or not value:
        return {}
    pieces = value.split("-", 2)
    if len(pieces) != 3:
        return {"day": value}
    year, month, day = pieces
    if month.isdigit() and day.isdigit() and len(month) == 2 and len(day) == 2:
        month, day = month.lstrip("0") or "0", day.lstrip("0") or "0"
    return {"day": day, "month": month, "year": year}


@cache
def _communes_by_name() -> dict[str, tuple[str, ...]]:
    names: dict[str, list[str]] = {}
    for commune in reference().communes.values():
        names.setdefault(name_key(commune.name), []).append(commune.code)
    return {key: tuple(codes) for key, codes in names.items()}


def name_key(name: str) -> str:
    """A place name for comparison: no accents, case or punctuation; "St" = "Saint"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name).split()
    replaced = {"st": "saint", "ste": "sainte"}
    return " ".join(replaced.get(word, word) for word in words)


def resolve_commune(text: Any) -> Any:
    """The INSEE code of the commune typed as ``Name (code)``, a code, a postcode of one
    commune only, or a name borne by one commune only; else the text itself (the commune
    type then asks to choose from the list)."""
    if not isinstance(text, str):
        return text
    value = text.strip()
    if not value:
        return value
    communes = reference().communes
    match = _INSEE_IN_PARENTHESES.search(value)
    if match and match.group(1).upper() in communes:
        return match.group(1).upper()
    if value.upper() in communes:
        return value.upper()
    by_postcode = reference().communes_by_postcode.get(value)
    if by_postcode and len(by_postcode) == 1:
        return by_postcode[0].code
    codes = _communes_by_name().get(name_key(value), ())
    if len(codes) == 1:
        return codes[0]
    return value


def commune_label(code: Any) -> str:
    """How a commune answer is shown in its input: ``Name (code)``."""
    commune = reference().communes.get(code) if isinstance(code, str) else None
    return f"{commune.name} ({commune.code})" if commune else str(code or "")


def commune_suggestions(query: str, limit: int = 20) -> list[str]:
    """Communes whose name starts with the query (or whose postcode or code does), as
    ``Name (code)``: the suggestions the commune input offers."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    ref = reference()
    found: list[str] = []
    if query[:2].isdigit():
        for postcode, communes in ref.communes_by_postcode.items():
            if postcode.startswith(query):
                found.extend(commune_label(commune.code) for commune in communes)
        if query.upper() in ref.communes:
            found.insert(0, commune_label(query.upper()))
    else:
        key = name_key(query)
        starting = [
            commune for commune in ref.communes.values() if name_key(commune.name).startswith(key)
        ]
        starting.sort(key=lambda commune: (len(commune.name), commune.name))
        found = [commune_label(commune.code) for commune in starting]
    return list(dict.fromkeys(found))[:limit]


def read_value(spec: FieldSpec, form: MultiDict, name: str) -> Any:
    """The raw answer of one field from its inputs."""
    kind = widget(spec.type)
    if kind == "checkbox":
        return form.get(name)
    if kind == "multiple":
        return [value for value in form.getlist(name) if isinstance(value, str) and value]
    if kind == "linked":
        return {"primary": form.get(name + ".primary"), "secondary": form.get(name + ".secondary")}
    if kind == "address":
        return {part: form.get(f"{name}.{part}") for part in ADDRESS_PARTS}
    if kind in ("date", "datetime"):
        direct = form.get(name)
        if direct is not None:
            return direct
        day = compose_date(*(form.get(f"{name}.{part}") for part in DATE_PARTS))
        if kind == "date":
            return day
        time = (form.get(name + ".time") or "").strip()
        if day is None and not time:
            return None
        return f"{day or ''}T{time}"
    if kind == "commune":
        return resolve_commune(form.get(name))
    if kind == "repetition":
        return _read_rows(spec, form, name)
    value = form.get(name)
    if spec.type == "drop_down" and value == OTHER:
        return form.get(name + ".other", "")
    return value


def _read_rows(spec: FieldSpec, form: MultiDict, name: str) -> list[dict[str, Any]]:
    start = name + "["
    indexes: set[int] = set()
    for key in form:
        if key.startswith(start):
            match = _ROW.match(key, len(name))
            if match:
                indexes.add(int(match.group(1)))
    rows = []
    for index in sorted(indexes)[: MAX_ROWS + 1]:
        rows.append(
            {
                child.stable_id: read_value(
                    child, form, input_name(child.stable_id, spec.stable_id, index)
                )
                for child in spec.children
                if get_type(child.type).has_value
            }
        )
    return rows


def form_to_answers(
    specs: Iterable[FieldSpec], form: MultiDict, only: Collection[str] | None = None
) -> dict[str, Any]:
    """The raw answers of the top-level fields in ``only`` (all by default) from the
    form's inputs; a field whose inputs are absent reads as unanswered (None)."""
    answers: dict[str, Any] = {}
    for spec in specs:
        if only is not None and spec.stable_id not in only:
            continue
        if spec.parent is not None or not get_type(spec.type).has_value:
            continue
        answers[spec.stable_id] = read_value(spec, form, input_name(spec.stable_id))
    return answers


def prune_blank_rows(
    specs: Iterable[FieldSpec], answers: dict[str, Any], visible: Collection[str]
) -> dict[str, Any]:
    """Drop the rows of repeated blocks whose shown fields are all empty, as validation
    does, so that the rows shown with their errors keep the numbers errors use."""
    for spec in specs:
        rows = answers.get(spec.stable_id)
        if spec.type != "repetition" or not isinstance(rows, list):
            continue
        children = [
            child
            for child in spec.children
            if child.stable_id in visible and get_type(child.type).has_value
        ]
        answers[spec.stable_id] = [
            row
            for row in rows
            if isinstance(row, dict)
            and not all(
                get_type(child.type).is_empty(row.get(child.stable_id)) for child in children
            )
        ]
    return answers


# ---------------------------------------------------------------------------------------
# Answers → inputs


def _number_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    text = str(value)
    if isinstance(value, float) and current_language() == "fr":
        text = text.replace(".", ",")
    return text


def _write(spec: FieldSpec, value: Any, name: str, values: MultiDict) -> None:
    if value is None:
        return
    kind = widget(spec.type)
    if kind == "checkbox":
        if value is True or (isinstance(value, str) and value.strip().lower() in ("true", "on")):
            values.add(name, "true")
    elif kind == "multiple":
        for item in value if isinstance(value, list) else [value]:
            values.add(name, str(item))
    elif kind == "linked":
        if isinstance(value, Mapping):
            for part in ("primary", "secondary"):
                if value.get(part) is not None:
                    values.add(f"{name}.{part}", str(value[part]))
    elif kind == "address":
        if isinstance(value, Mapping):
            for part in ADDRESS_PARTS:
                if value.get(part) is not None:
                    values.add(f"{name}.{part}", str(value[part]))
    elif kind in ("date", "datetime"):
        day, _, time = str(value).partition("T")
        for part, text in split_date(day).items():
            values.add(f"{name}.{part}", text)
        if kind == "datetime" and time:
            values.add(name + ".time", time[:5])
    elif kind == "commune":
        values.add(name, commune_label(value))
    elif kind == "repetition":
        for index, row in enumerate(value if isinstance(value, list) else []):
            values.add(f"{name}[{index}]", "1")
            if not isinstance(row, Mapping):
                continue
            for child in spec.children:
                _write(
                    child,
                    row.get(child.stable_id),
                    input_name(child.stable_id, spec.stable_id, index),
                    values,
                )
    elif spec.type == "yes_no" and isinstance(value, bool):
        values.add(name, "true" if value else "false")
    elif spec.type == "drop_down" and isinstance(value, str):
        choices = spec.option("choices", [])
        if value and value not in choices and spec.option("allow_other", False):
            values.add(name, OTHER)
            values.add(name + ".other", value)
        else:
            values.add(name, value)
    elif spec.type in ("integer", "decimal"):
        values.add(name, _number_text(value))
    elif spec.type in ("phone", "iban", "siret") and isinstance(value, str):
        values.add(
            name, get_type(spec.type).as_text(value, spec) if _looks_clean(spec, value) else value
        )
    else:
        values.add(name, value if isinstance(value, str) else str(value))


def _looks_clean(spec: FieldSpec, value: str) -> bool:
    """Whether a stored identifier is in its cleaned form (then shown formatted)."""
    if spec.type == "phone":
        return value.startswith("+") and value[1:].isdigit()
    if spec.type == "siret":
        return len(value) == 14 and value.isdigit()
    return value.isalnum() and value.upper() == value


def answers_to_form(specs: Iterable[FieldSpec], answers: Mapping[str, Any] | None) -> MultiDict:
    """The input values that show these answers (stored or as typed)."""
    values: MultiDict = MultiDict()
    answers = answers or {}
    for spec in specs:
        if spec.parent is None and get_type(spec.type).has_value:
            _write(spec, answers.get(spec.stable_id), input_name(spec.stable_id), values)
    return values
