"""The condition language: when a field or section is shown, where a dossier is routed,
which answers make an applicant ineligible.

A condition is a JSON tree: ``{"all": [...]}``, ``{"any": [...]}``, and leaves
``{"field": "<stable_id>", "op": "<op>", "value": ...}`` (see ``OPERATORS``). No condition
(``None`` or ``{}``) holds.

Evaluation, the same here and in the browser (``plugins/public_forms/static/js/
conditions.js``, checked against the shared vectors of ``tests/vectors/conditions.json``):

- A leaf whose field is unknown, unanswered, hidden or holds a value that cannot be read for
  its type is false, whatever the operator, except ``empty`` (true) and ``not_empty``
  (false). Hiding therefore cascades: a field shown only when a hidden field has some value
  is hidden too.
- Values are read by the field type's ``condition_kind`` (see ``KINDS``) from the raw
  answers the browser holds or from the stored, cleaned ones: both read the same, so that the
  browser and the server agree before and after submission. Numbers accept "1 234,5",
  dates ``YYYY-MM-DD`` or ``DD/MM/YYYY``, booleans ``true``/``false`` and form words.
- Texts compare exactly after trimming; ``contains`` ignores case. Emails ignore case.
- Department, region and country compare by code. A commune or an address lies in the
  department whose code opens its INSEE code, and in that department's region; an address
  abroad or without an INSEE code is in none (its geographic tests are false).
- A malformed node is false; ``validate`` tells administrators what is wrong with it.

A condition may only use fields placed before the field it belongs to (so that the form
is evaluated in one pass, in order), never a field inside a repeated block, and never a
private annotation from the applicant's form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from functools import cache
from typing import Any

from flask_babel import gettext, lazy_gettext

from app.data.geo import department_of_commune, department_regions
from app.fields.base import FieldSpec, as_spec, field_specs, is_blank
from app.fields.registry import UnknownFieldType, get

__all__ = [
    "KINDS",
    "OPERATORS",
    "OTHER",
    "client_geo",
    "evaluate",
    "validate",
    "visible_fields",
]

OPERATORS: dict[str, Any] = {
    "eq": lazy_gettext("is"),
    "ne": lazy_gettext("is not"),
    "lt": lazy_gettext("is less than"),
    "le": lazy_gettext("is at most"),
    "gt": lazy_gettext("is greater than"),
    "ge": lazy_gettext("is at least"),
    "contains": lazy_gettext("contains"),
    "not_contains": lazy_gettext("does not contain"),
    "empty": lazy_gettext("is not answered"),
    "not_empty": lazy_gettext("is answered"),
    "in_department": lazy_gettext("is in the department(s)"),
    "not_in_department": lazy_gettext("is not in the department(s)"),
    "in_region": lazy_gettext("is in the region(s)"),
    "not_in_region": lazy_gettext("is not in the region(s)"),
}
"""The operators of the language, with their labels for the condition editor."""

KINDS = {
    "number": ("eq", "ne", "lt", "le", "gt", "ge"),
    "date": ("eq", "ne", "lt", "le", "gt", "ge"),
    "datetime": ("eq", "ne", "lt", "le", "gt", "ge"),
    "boolean": ("eq", "ne"),
    "checkbox": ("eq", "ne"),
    "text": ("eq", "ne", "contains", "not_contains"),
    "email": ("eq", "ne"),
    "siret": ("eq", "ne"),
    "civility": ("eq", "ne"),
    "choice": ("eq", "ne"),
    "choices": ("contains", "not_contains"),
    "linked": ("eq", "ne"),
    "country": ("eq", "ne"),
    "department": (
        "eq", "ne", "in_department", "not_in_department", "in_region", "not_in_region",
    ),
    "region": ("eq", "ne", "in_region", "not_in_region"),
    "commune": (
        "eq", "ne", "in_department", "not_in_department", "in_region", "not_in_region",
    ),
    "address": ("in_department", "not_in_department", "in_region", "not_in_region"),
    "presence": (),
}  # fmt: skip
"""How the language reads each kind of value, and the comparisons (beyond ``empty`` and
``not_empty``) it makes on it. Field types name their kind in ``condition_kind``."""

OTHER = "__other__"
"""Compared with a ``drop_down`` allowing "other": the answer is not one of the choices."""
MAX_DEPTH = 20

_MISSING = object()
_INVALID = object()
_SPACES = re.compile(r"[ \t\n\r\u00a0\u202f]")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FRENCH_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_ISO_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
)
_FRENCH_DATETIME = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})[ T]([0-9]{2})[:h]([0-9]{2})")
_SIRET = re.compile(r"[0-9]{14}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_COMMUNE = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")
TRUE_WORDS = frozenset({"true", "on", "1", "yes", "oui"})
FALSE_WORDS = frozenset({"false", "off", "0", "no", "non"})
CIVILITY_ALIASES = {"mme": "Mme", "madame": "Mme", "m.": "M.", "m": "M.", "monsieur": "M."}


@cache
def _departments() -> dict[str, str]:
    return department_regions()


@cache
def _regions() -> frozenset[str]:
    return frozenset(_departments().values())


def client_geo() -> dict[str, Any]:
    """What the browser's evaluator needs for geographic operators: ``{"departments":
    {department code: region code}}``. Embed it in pages whose form has a place field."""
    return {"departments": dict(_departments())}


# -- reading values ------------------------------------------------------------------------


def _valid_day(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return day <= days


def _to_number(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else _INVALID
    if isinstance(value, str):
        compact = _SPACES.sub("", value).replace(",", ".")
        if _NUMBER.fullmatch(compact):
            return float(compact)
    return _INVALID


def _to_date(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    text = value.strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _FRENCH_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        return _INVALID
    if not _valid_day(int(year), int(month), int(day)):
        return _INVALID
    return f"{year}-{month}-{day}"


def _to_datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    text = value.strip()
    if match := _ISO_DATETIME.fullmatch(text):
        year, month, day, hour, minute, second = match.groups()
    elif match := _FRENCH_DATETIME.fullmatch(text):
        day, month, year, hour, minute = match.groups()
        second = None
    else:
        day_only = _to_date(text)
        return _INVALID if day_only is _INVALID else f"{day_only}T00:00"
    if not _valid_day(int(year), int(month), int(day)):
        return _INVALID
    if int(hour) > 23 or int(minute) > 59 or (second is not None and int(second) > 59):
        return _INVALID
    return f"{year}-{month}-{day}T{hour}:{minute}"


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return _INVALID


def _to_siret(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    compact = _SPACES.sub("", value)
    return compact if _SIRET.fullmatch(compact) else _INVALID


def _to_civility(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    return CIVILITY_ALIASES.get(value.strip().lower(), _INVALID)


def _to_department(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    code = value.strip().upper()
    return code if code in _departments() else _INVALID


def _to_region(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    code = value.strip()
    return code if code in _regions() else _INVALID


def _to_commune(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    code = value.strip().upper()
    if not _COMMUNE.fullmatch(code) or department_of_commune(code) not in _departments():
        return _INVALID
    return code


def _choices(spec: FieldSpec) -> list[Any]:
    choices = spec.option("choices", [])
    return choices if isinstance(choices, list) else []


def _read(kind: str, value: Any, spec: FieldSpec) -> Any:
    """The comparable form of an answer: a value, ``_MISSING`` or ``_INVALID``."""
    if kind == "checkbox":
        if is_blank(value):
            return False
        return _to_boolean(value)
    if is_blank(value):
        return _MISSING
    if kind == "number":
        return _to_number(value)
    if kind == "date":
        return _to_date(value)
    if kind == "datetime":
        return _to_datetime(value)
    if kind == "boolean":
        return _to_boolean(value)
    if kind == "text":
        return value.strip() if isinstance(value, str) else _INVALID
    if kind == "email":
        return value.strip().lower() if isinstance(value, str) else _INVALID
    if kind == "siret":
        return _to_siret(value)
    if kind == "civility":
        return _to_civility(value)
    if kind == "choice":
        if not isinstance(value, str):
            return _INVALID
        text = value.strip()
        if text in _choices(spec) or spec.option("allow_other", False) is True:
            return text
        return _INVALID
    if kind == "choices":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            return _INVALID
        picked = [item.strip() for item in items if item.strip()]
        choices = _choices(spec)
        return picked if all(item in choices for item in picked) else _INVALID
    if kind == "linked":
        return _read_linked(value, spec)
    if kind == "country":
        if not isinstance(value, str):
            return _INVALID
        code = value.strip().upper()
        return code if _COUNTRY.fullmatch(code) else _INVALID
    if kind == "department":
        return _to_department(value)
    if kind == "region":
        return _to_region(value)
    if kind == "commune":
        return _to_commune(value)
    if kind == "address":
        return _read_address(value)
    if kind == "presence":
        return True
    return _MISSING


def _read_linked(value: Any, spec: FieldSpec) -> Any:
    if not isinstance(value, dict):
        return _INVALID
    primary, secondary = value.get("primary"), value.get("secondary")
    if not isinstance(primary, str) or not primary.strip():
        return _INVALID
    primary = primary.strip()
    entry = next(
        (
            choice
            for choice in _choices(spec)
            if isinstance(choice, dict) and choice.get("primary") == primary
        ),
        None,
    )
    if entry is None:
        return _INVALID
    if is_blank(secondary):
        return (primary, None)
    secondaries = entry.get("secondary")
    secondaries = secondaries if isinstance(secondaries, list) else []
    if not isinstance(secondary, str) or secondary.strip() not in secondaries:
        return _INVALID
    return (primary, secondary.strip())


def _read_address(value: Any) -> Any:
    """An address's department code (None abroad or without a usable INSEE code)."""
    if not isinstance(value, dict):
        return _INVALID
    if all(is_blank(value.get(key)) for key in ("street", "postcode", "city", "insee_code")):
        return _MISSING
    country = value.get("country")
    country = country.strip().upper() if isinstance(country, str) and country.strip() else "FR"
    if country != "FR":
        return ("address", None)
    commune = _to_commune(value.get("insee_code"))
    return ("address", None if commune is _INVALID else department_of_commune(commune))


# -- comparing -----------------------------------------------------------------------------


def _codes(target: Any, *, upper: bool) -> list[str] | None:
    items = [target] if isinstance(target, str) else target
    if not isinstance(items, list):
        return None
    codes = [item.strip() for item in items if isinstance(item, str)]
    return [code.upper() for code in codes] if upper else codes


def _in_places(op: str, department: str | None, target: Any) -> bool:
    if department is None:
        return False
    if op in ("in_department", "not_in_department"):
        codes = _codes(target, upper=True)
        if codes is None:
            return False
        return (department in codes) == (op == "in_department")
    codes = _codes(target, upper=False)
    if codes is None:
        return False
    region = _departments().get(department)
    return (region in codes) == (op == "in_region")


def _ordered(op: str, value: Any, target: Any) -> bool:
    if target is _INVALID:
        return False
    return {
        "eq": value == target,
        "ne": value != target,
        "lt": value < target,
        "le": value <= target,
        "gt": value > target,
        "ge": value >= target,
    }[op]


def _equality(op: str, value: Any, target: Any) -> bool:
    if target is _INVALID:
        return False
    return (value == target) == (op == "eq")


def _stripped(target: Any, *, upper: bool = False) -> Any:
    if not isinstance(target, str):
        return _INVALID
    return target.strip().upper() if upper else target.strip()


def _compare(kind: str, op: str, value: Any, target: Any, spec: FieldSpec) -> bool:
    if op not in KINDS.get(kind, ()):
        return False
    if kind == "number":
        return _ordered(op, value, _to_number(target))
    if kind == "date":
        return _ordered(op, value, _to_date(target))
    if kind == "datetime":
        return _ordered(op, value, _to_datetime(target))
    if kind in ("boolean", "checkbox"):
        return _equality(op, value, _to_boolean(target))
    if kind == "text":
        target = _stripped(target)
        if target is _INVALID:
            return False
        if op in ("contains", "not_contains"):
            return (target.lower() in value.lower()) == (op == "contains")
        return _equality(op, value, target)
    if kind == "email":
        target = _stripped(target)
        return _equality(op, value, target if target is _INVALID else target.lower())
    if kind == "siret":
        return _equality(op, value, _to_siret(target))
    if kind == "civility":
        return _equality(op, value, _to_civility(target))
    if kind == "choice":
        if target == OTHER:
            return (value not in _choices(spec)) == (op == "eq")
        return _equality(op, value, _stripped(target))
    if kind == "choices":
        target = _stripped(target)
        if target is _INVALID:
            return False
        return (target in value) == (op == "contains")
    if kind == "linked":
        return _compare_linked(op, value, target)
    if kind == "country":
        return _equality(op, value, _stripped(target, upper=True))
    if kind == "department":
        if op in ("eq", "ne"):
            return _equality(op, value, _stripped(target, upper=True))
        return _in_places(op, value, target)
    if kind == "region":
        if op in ("eq", "ne"):
            return _equality(op, value, _stripped(target))
        codes = _codes(target, upper=False)
        return codes is not None and (value in codes) == (op == "in_region")
    if kind == "commune":
        if op in ("eq", "ne"):
            return _equality(op, value, _stripped(target, upper=True))
        return _in_places(op, department_of_commune(value), target)
    if kind == "address":
        return _in_places(op, value[1], target)
    return False


def _compare_linked(op: str, value: tuple[str, str | None], target: Any) -> bool:
    primary, secondary = value
    if isinstance(target, str):
        return (primary == target.strip()) == (op == "eq")
    if not isinstance(target, dict) or not ("primary" in target or "secondary" in target):
        return False
    equal = True
    for key, own in (("primary", primary), ("secondary", secondary)):
        if key in target:
            wanted = target[key]
            wanted = wanted.strip() if isinstance(wanted, str) else wanted
            equal = equal and own == wanted
    return equal == (op == "eq")


# -- evaluating ----------------------------------------------------------------------------


class _Form:
    """The fields of a form indexed by stable id, with their position in form order."""

    def __init__(self, fields: Iterable[Any]) -> None:
        self.top = field_specs(fields)
        self.specs: dict[str, FieldSpec] = {}
        self.position: dict[str, int] = {}
        for index, spec in enumerate(self.top):
            self.specs[spec.stable_id] = spec
            self.position[spec.stable_id] = index
            for child in spec.children:
                self.specs[child.stable_id] = child
                self.position[child.stable_id] = index


def _kind(spec: FieldSpec) -> str | None:
    try:
        return get(spec.type).condition_kind
    except UnknownFieldType:
        return None


def _leaf(node: Mapping[str, Any], answers: Mapping[str, Any], form: _Form, visible: Any) -> bool:
    op = node.get("op")
    if op not in OPERATORS:
        return False
    stable_id = node.get("field")
    spec = form.specs.get(stable_id) if isinstance(stable_id, str) else None
    kind = _kind(spec) if spec is not None else None
    if (
        spec is None
        or kind is None
        or spec.parent is not None
        or (visible is not None and stable_id not in visible)
    ):
        value = _MISSING
    else:
        value = _read(kind, answers.get(stable_id), spec)
    if value is _MISSING or value is _INVALID:
        return op == "empty"
    if op == "empty":
        return False
    if op == "not_empty":
        return True
    return _compare(kind, op, value, node.get("value"), spec)


def _node(node: Any, answers: Mapping[str, Any], form: _Form, visible: Any, depth: int) -> bool:
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return False
    if "all" in node:
        children = node["all"]
        return isinstance(children, list) and all(
            _node(child, answers, form, visible, depth + 1) for child in children
        )
    if "any" in node:
        children = node["any"]
        return isinstance(children, list) and any(
            _node(child, answers, form, visible, depth + 1) for child in children
        )
    if "field" in node:
        return _leaf(node, answers, form, visible)
    return False


def _holds(condition: Any, answers: Mapping[str, Any], form: _Form, visible: Any) -> bool:
    if condition is None or (isinstance(condition, dict) and not condition):
        return True
    return _node(condition, answers, form, visible, 0)


def evaluate(
    condition: Any,
    answers: Mapping[str, Any] | None,
    fields: Iterable[Any],
    *,
    visible: Collection[str] | None = None,
) -> bool:
    """Whether ``condition`` holds for these answers.

    ``fields`` are the form's definitions (rows, mappings or FieldSpecs). With ``visible``,
    fields outside it count as hidden; without, only absent answers count as unanswered
    (stored answers never hold hidden fields, which is what routing and eligibility use).
    """
    answers = answers if isinstance(answers, Mapping) else {}
    return _holds(condition, answers, _Form(fields), visible)


def visible_fields(fields: Iterable[Any], answers: Mapping[str, Any] | None) -> set[str]:
    """Stable ids of the fields shown for these answers, blocks' children included.

    One pass in form order. A field is shown when its section is and its condition holds; a
    section title's condition shows or hides every field until the next title of the same or
    a higher level; a block's children are shown when the block is and their own condition
    holds. Conditions see hidden fields as unanswered, so hiding cascades. The applicant's
    form and the private annotations are two forms: the sections of one never hide the other.
    """
    answers = answers if isinstance(answers, Mapping) else {}
    form = _Form(fields)
    visible: set[str] = set()
    for private in (False, True):
        sections: list[tuple[int, bool]] = []
        for spec in form.top:
            if spec.private != private:
                continue
            if spec.type == "header_section":
                level = _section_level(spec)
                while sections and sections[-1][0] >= level:
                    sections.pop()
            in_shown_section = not sections or sections[-1][1]
            shown = in_shown_section and _holds(spec.condition, answers, form, visible)
            if spec.type == "header_section":
                sections.append((level, shown))
            if not shown:
                continue
            visible.add(spec.stable_id)
            for child in spec.children:
                if _holds(child.condition, answers, form, visible):
                    visible.add(child.stable_id)
    return visible


def _section_level(spec: FieldSpec) -> int:
    """A section title's level, 1 when the option is missing or not 1, 2 or 3."""
    level = spec.option("level", 1)
    integral = isinstance(level, int | float) and not isinstance(level, bool)
    return int(level) if integral and level in (1, 2, 3) else 1


# -- checking, for administrators ----------------------------------------------------------


def validate(condition: Any, field: Any, fields: Iterable[Any]) -> list[str]:
    """What is wrong with ``condition`` (translated sentences; empty when it is sound).

    ``field`` is the field (or section) the condition belongs to, or None for a routing or
    eligibility rule, which may use any field of the form. ``fields`` is the whole form.
    """
    form = _Form(fields)
    own = as_spec(field) if field is not None else None
    problems: list[str] = []
    if condition is None or (isinstance(condition, dict) and not condition):
        return problems
    _check(condition, own, form, problems, 0)
    return list(dict.fromkeys(problems))


def _check(node: Any, own: FieldSpec | None, form: _Form, problems: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        problems.append(gettext("This condition is nested too deeply."))
        return
    if not isinstance(node, dict):
        problems.append(gettext("A condition must be a group (all, any) or a test on a field."))
        return
    groups = [key for key in ("all", "any") if key in node]
    if groups:
        if len(node) != 1:
            problems.append(gettext("A group of conditions holds “all” or “any”, nothing else."))
            return
        children = node[groups[0]]
        if not isinstance(children, list) or not children:
            problems.append(gettext("Add at least one test to each group of conditions."))
            return
        for child in children:
            _check(child, own, form, problems, depth + 1)
        return
    if not set(node) <= {"field", "op", "value"} or "field" not in node or "op" not in node:
        problems.append(gettext("A test names a field (“field”), an operator (“op”) and a value."))
        return
    _check_leaf(node, own, form, problems)


def _check_leaf(
    node: Mapping[str, Any], own: FieldSpec | None, form: _Form, problems: list[str]
) -> None:
    stable_id, op = node.get("field"), node.get("op")
    spec = form.specs.get(stable_id) if isinstance(stable_id, str) else None
    if spec is None:
        problems.append(
            gettext(
                "The condition uses a field that does not exist: %(field)s.", field=str(stable_id)
            )
        )
        return
    label = spec.label or spec.stable_id
    if own is not None and spec.stable_id == own.stable_id:
        problems.append(gettext("A field's condition cannot use the field itself."))
        return
    if spec.parent is not None:
        problems.append(
            gettext(
                "“%(label)s” is inside a repeated block: conditions cannot use it.", label=label
            )
        )
        return
    try:
        field_type = get(spec.type)
    except UnknownFieldType:
        problems.append(gettext("“%(label)s” has an unknown type.", label=label))
        return
    if not field_type.has_value:
        problems.append(
            gettext("“%(label)s” holds no answer: conditions cannot use it.", label=label)
        )
        return
    if spec.private and (own is None or not own.private):
        problems.append(
            gettext(
                "“%(label)s” is a private annotation: the form's conditions cannot use it.",
                label=label,
            )
        )
        return
    if own is not None and own.private and not spec.private:
        problems.append(
            gettext(
                "“%(label)s” belongs to the applicant's form: an annotation's condition can "
                "only use annotations.",
                label=label,
            )
        )
        return
    if own is not None:
        own_position = form.position.get(own.stable_id)
        if own_position is None and own.parent is not None:
            own_position = form.position.get(own.parent)
        if own_position is None:
            own_position = len(form.top)
        if form.position[spec.stable_id] >= own_position:
            problems.append(
                gettext(
                    "“%(label)s” comes after this field: a condition can only use fields "
                    "placed before it.",
                    label=label,
                )
            )
            return
    if op not in OPERATORS:
        problems.append(gettext("Unknown operator “%(op)s”.", op=str(op)))
        return
    if op not in field_type.condition_operators:
        problems.append(
            gettext(
                "“%(label)s” cannot be tested with “%(operator)s”.",
                label=label,
                operator=OPERATORS[op],
            )
        )
        return
    problem = _value_problem(field_type.condition_kind, op, node.get("value"), spec, label)
    if problem:
        problems.append(problem)


def _value_problem(
    kind: str | None, op: str, value: Any, spec: FieldSpec, label: str
) -> str | None:
    """Why ``value`` cannot be compared with a field of this kind by ``op``, or None."""
    from app.fields.contrib.geo import parse_commune, parse_country, parse_department, parse_region

    if op in ("empty", "not_empty"):
        if value is None:
            return None
        return gettext("“%(operator)s” compares with no value: remove it.", operator=OPERATORS[op])
    if op in ("in_department", "not_in_department", "in_region", "not_in_region"):
        by_department = op.endswith("department")
        codes = _codes(value, upper=by_department)
        parse = parse_department if by_department else parse_region
        if not codes or any(parse(code) is None for code in codes):
            if by_department:
                return gettext("Give one or more department codes, for example 69 or 2A.")
            return gettext("Give one or more region codes, for example 84.")
        return None
    checks = {
        "number": (
            lambda: _to_number(value) is not _INVALID and not isinstance(value, str),
            lambda: gettext("Compare “%(label)s” with a number.", label=label),
        ),
        "date": (
            lambda: _to_date(value) is not _INVALID,
            lambda: gettext("Compare “%(label)s” with a date (YYYY-MM-DD).", label=label),
        ),
        "datetime": (
            lambda: _to_datetime(value) is not _INVALID,
            lambda: gettext(
                "Compare “%(label)s” with a date and time (YYYY-MM-DDTHH:MM).", label=label
            ),
        ),
        "boolean": (
            lambda: isinstance(value, bool),
            lambda: gettext("Compare “%(label)s” with true or false.", label=label),
        ),
        "text": (
            lambda: isinstance(value, str) and bool(value.strip()),
            lambda: gettext("Compare “%(label)s” with some text.", label=label),
        ),
        "siret": (
            lambda: _to_siret(value) is not _INVALID,
            lambda: gettext("Compare “%(label)s” with a SIRET number (14 digits).", label=label),
        ),
        "civility": (
            lambda: _to_civility(value) is not _INVALID,
            lambda: gettext("Compare “%(label)s” with Mme or M.", label=label),
        ),
        "choice": (
            lambda: (
                isinstance(value, str)
                and (
                    value.strip() in _choices(spec)
                    or (value == OTHER and spec.option("allow_other", False) is True)
                )
            ),
            lambda: gettext("Compare “%(label)s” with one of its choices.", label=label),
        ),
        "choices": (
            lambda: isinstance(value, str) and value.strip() in _choices(spec),
            lambda: gettext("Compare “%(label)s” with one of its choices.", label=label),
        ),
        "linked": (
            lambda: _linked_target_valid(value, spec),
            lambda: gettext("Compare “%(label)s” with one of its choices.", label=label),
        ),
        "country": (
            lambda: parse_country(value) is not None,
            lambda: gettext(
                "Compare “%(label)s” with a country code (ISO 3166, for example FR).", label=label
            ),
        ),
        "department": (
            lambda: parse_department(value) is not None,
            lambda: gettext("Give a department code, for example 69 or 2A."),
        ),
        "region": (
            lambda: parse_region(value) is not None,
            lambda: gettext("Give a region code, for example 84."),
        ),
        "commune": (
            lambda: parse_commune(value) is not None,
            lambda: gettext("Give the INSEE code of a commune, for example 69123."),
        ),
    }
    checks["checkbox"] = checks["boolean"]
    checks["email"] = checks["text"]
    valid, message = checks.get(kind, (lambda: True, lambda: ""))
    return None if valid() else message()


def _linked_target_valid(value: Any, spec: FieldSpec) -> bool:
    entries = {
        choice.get("primary"): choice.get("secondary") or []
        for choice in _choices(spec)
        if isinstance(choice, dict)
    }
    if isinstance(value, str):
        return value.strip() in entries
    if not isinstance(value, dict) or not value or not set(value) <= {"primary", "secondary"}:
        return False
    primary = value.get("primary")
    if primary is not None and primary not in entries:
        return False
    secondary = value.get("secondary")
    if secondary is None:
        return primary is not None
    options = entries.get(primary) if primary is not None else sum(entries.values(), [])
    return secondary in options
