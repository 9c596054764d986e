"""Agents' dossier tables: a serialisable description in, one scoped SQL statement out.

A :class:`TableQuery` says everything a table shows: procedure, tab, columns, filters, sort,
search text and page position. It is plain data (``to_dict`` / ``from_dict``), so that the
agent's saved view, the table's links, an export job (``ExportJob.query``), a batch action
and the REST API all carry the same description of "the current filter and columns".

``catalogue(procedure, user)`` lists the columns a person may use on a procedure: system
columns and every form field and private annotation, each with the filter operators its
field type offers (``FieldType.filter_operators``). ``validate`` checks a query against it
and normalises its values; anything unknown is refused with a translated
:class:`TableQueryError`, never a 500. Then:

- ``rows_statement`` — the filtered, scoped, sorted SELECT of every matching dossier (what
  exports stream with a server-side cursor), one statement;
- ``fetch_page`` — one page of ``PAGE_SIZE`` rows by keyset on (sort key, number), never
  OFFSET, plus one query each for the page's followers, labels and threads (unread
  messages of the agent, pending correction requests);
- ``tab_counts`` — the counters of every tab of one or several procedures in one query,
  from the tallies the database keeps (``DossierTally``), never by reading every dossier;
- ``find_number`` — a dossier number typed in the search box, if the person sees it;
- ``neighbours`` — the previous and next dossier of the same query, for the dossier page.

Why the SQL looks the way it does (``performance-notes.md``, measured): answers are read
with ``answers ->> 'stable_id'`` (the key inlined, never a bound parameter, so that
expression indexes and statistics on it apply), numbers with a cast to ``numeric``; dates
are compared as ISO text (immutable and index-friendly, unlike a cast to ``date``); a multiple
choice uses ``?|``. Sorting always ends on the number, and NULLs (unanswered) sort as the
largest value (``ASC NULLS LAST`` / ``DESC NULLS FIRST``, PostgreSQL's defaults) so that one
ascending expression index serves both directions.

Scoping: every statement is limited by ``security.visible_dossiers`` seen through the
person's staff roles only (an agent who also files dossiers does not find their own
applications here), and drafts never appear.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel import dates
from flask import current_app, g
from flask_babel import get_locale, get_timezone, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import visitors

from ..extensions import db
from ..fields import registry
from ..fields.base import FILTER_OPERATORS, FieldSpec, FieldType, field_specs
from ..fields.contrib.choices import parse_boolean
from ..fields.contrib.dates import parse_date
from ..fields.contrib.numbers import parse_number
from ..models import (
    DECIDED_STATES,
    Dossier,
    DossierState,
    DossierTally,
    FieldDefinition,
    Follow,
    InstructorGroup,
    Label,
    Message,
    Procedure,
    ProcedureRevision,
    SavedView,
    User,
    dossier_label,
    instructor_group_member,
    utcnow,
)
from ..security import (
    Roles,
    can_administer_procedure,
    is_platform_admin,
    role_names,
    visible_dossiers,
    visible_procedures,
)
from ..workflow import state_label
from . import search

PAGE_SIZE = 100
EXPIRY_NOTICE = timedelta(days=14)
"""Decided dossiers whose retention ends within this delay are "expiring"."""
SEARCH_MAX_LENGTH = 200
FILTER_VALUE_MAX_LENGTH = 200
MAX_FILTERS = 20
MAX_CHOSEN_VALUES = 200

STAFF_ROLES = frozenset({Roles.ADMIN, Roles.ADMINISTRATOR, Roles.AGENT})
"""The roles through which the workspace sees dossiers."""

TABS: dict[str, Any] = {
    "to_follow": _l("To follow"),
    "followed": _l("Followed by me"),
    "decided": _l("Decided"),
    "all": _l("All"),
    "archived": _l("Archived"),
    "expiring": _l("Expiring soon"),
    "deleted": _l("Deleted"),
}
"""The tabs of a table, in display order, with their labels."""
DEFAULT_TAB = "to_follow"

OPEN_STATES = (DossierState.submitted, DossierState.in_review)
STATE_ORDER = (
    DossierState.submitted,
    DossierState.in_review,
    DossierState.accepted,
    DossierState.refused,
    DossierState.closed_without_action,
)
"""Sorting by state follows a dossier's life, not the alphabet."""

SYSTEM = "system"
FORM = "form"
ANNOTATIONS = "annotations"
COLUMN_GROUPS: dict[str, Any] = {
    SYSTEM: _l("Dossier"),
    FORM: _l("Form"),
    ANNOTATIONS: _l("Private annotations"),
}

DEFAULT_COLUMNS = (
    "number",
    "applicant",
    "state",
    "group",
    "submitted_at",
    "updated_at",
    "followers",
    "labels",
    "messages",
    "correction",
)

_ORDERED = ("eq", "lt", "le", "gt", "ge", "between")
_PRESENCE = ("empty", "not_empty")
_CHOICE = ("in", "not_in")
_STABLE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_NUMBER_QUERY = re.compile(r"^\s*(?:n\s*°|no\.?|#)?\s*(\d{1,18})\s*$", re.IGNORECASE)


class TableQueryError(ValueError):
    """A table description that cannot be run; ``message`` says why, translated."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# ---------------------------------------------------------------------------------------
# The description


@dataclass(frozen=True)
class Filter:
    """One filter row. ``value`` is None for ``empty``/``not_empty``, a list of two for
    ``between``, a list for ``in``/``not_in``, else one text; ``validate`` normalises it
    (numbers as decimal text, days as ``YYYY-MM-DD``, yes/no as ``true``/``false``)."""

    column: str
    operator: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "operator": self.operator, "value": self.value}


@dataclass(frozen=True)
class Sort:
    column: str = "updated_at"
    direction: str = "desc"

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "direction": self.direction}


@dataclass(frozen=True)
class TableQuery:
    """Everything one table shows; plain data, JSON-ready through ``to_dict``.

    ``cursor`` is the opaque page position given by :class:`Page` (None: the first page).
    """

    procedure_id: int
    tab: str = DEFAULT_TAB
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    filters: tuple[Filter, ...] = ()
    sort: Sort = field(default_factory=Sort)
    search: str = ""
    cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "procedure_id": self.procedure_id,
            "tab": self.tab,
            "columns": list(self.columns),
            "filters": [item.to_dict() for item in self.filters],
            "sort": self.sort.to_dict(),
            "search": self.search,
            "cursor": self.cursor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableQuery:
        """The query ``to_dict`` wrote; TableQueryError when its shape is wrong (its content
        is ``validate``'s business)."""
        try:
            sort = data.get("sort") or {}
            return cls(
                procedure_id=int(data["procedure_id"]),
                tab=str(data.get("tab") or DEFAULT_TAB),
                columns=tuple(str(key) for key in data.get("columns") or DEFAULT_COLUMNS),
                filters=tuple(
                    Filter(str(item["column"]), str(item["operator"]), item.get("value"))
                    for item in data.get("filters") or ()
                ),
                sort=Sort(
                    str(sort.get("column") or "updated_at"), str(sort.get("direction") or "desc")
                ),
                search=str(data.get("search") or ""),
                cursor=data.get("cursor") or None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise TableQueryError(_l("This table description is not valid.")) from None

    def replace(self, **changes: Any) -> TableQuery:
        return replace(self, **changes)


# ---------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Column:
    """A column a table may show, filter and sort on.

    ``kind`` says how its value is read in SQL and compared (see ``_value``); ``choices``
    lists (value, label) pairs for choice columns, None when any value of the right form
    is accepted (communes: 35,000 codes).
    """

    key: str
    label: str
    kind: str
    operators: tuple[str, ...]
    group: str = SYSTEM
    spec: FieldSpec | None = None
    choices: tuple[tuple[str, str], ...] | None = None
    open_choices: bool = False
    nullable: bool = True

    @property
    def document(self) -> str | None:
        """The JSON column holding the value: answers or annotations (None: system)."""
        if self.group == FORM:
            return "answers"
        if self.group == ANNOTATIONS:
            return "annotations"
        return None

    @property
    def operator_labels(self) -> list[tuple[str, str]]:
        return [(op, str(FILTER_OPERATORS[op])) for op in self.operators]

    @property
    def plain(self) -> bool:
        """A field whose text is its stored string (free text, e-mail…): its type formats
        nothing."""
        if self.spec is None:
            return False
        try:
            kind = type(registry.get(self.spec.type))
        except registry.UnknownFieldType:
            return False
        return all(
            getattr(kind, name) is getattr(FieldType, name)
            for name in ("as_text", "format", "is_empty")
        )

    def text(self, value: Any) -> str:
        """A cell's text, as exports and screens show it."""
        if value is None:
            return ""
        if self.spec is not None:
            try:
                return registry.get(self.spec.type).as_text(value, self.spec)
            except Exception:  # an unknown or failing type must not break a table
                return str(value)
        if self.kind == "state":
            return state_label(DossierState(value))
        if self.kind == "timestamp":
            return short_moment(value)
        return str(value)


def short_moment(value: datetime) -> str:
    """``flask_babel.format_datetime(value, "short")``, its locale's patterns parsed once
    (a table page shows two hundred dates; Babel looked them up for each)."""
    locale, zone = get_locale(), get_timezone()
    key = (str(locale), str(zone))
    formatter = _SHORT_MOMENTS.get(key)
    if formatter is None:
        day = dates.parse_pattern(dates.get_date_format("short", locale))
        hour = dates.parse_pattern(dates.get_time_format("short", locale))
        glue = dates.get_datetime_format("short", locale).replace("'", "")

        def formatter(moment: datetime) -> str:
            local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)
            return glue.replace("{0}", hour.apply(local, locale)).replace(
                "{1}", day.apply(local, locale)
            )

        _SHORT_MOMENTS[key] = formatter
    return formatter(value)


_SHORT_MOMENTS: dict[tuple[str, str], Callable[[datetime], str]] = {}


@dataclass(frozen=True)
class Catalogue:
    """The columns of one procedure's table for one person, in chooser order."""

    procedure_id: int
    columns: dict[str, Column]

    @property
    def group_names(self) -> dict[int, str]:
        """The names of the groups the person sees, by id (cells of the group column)."""
        return {int(value): name for value, name in self.columns["group"].choices or ()}

    def get(self, key: str) -> Column:
        column = self.columns.get(key)
        if column is None:
            raise TableQueryError(_l("Unknown column: %(column)s.", column=key))
        return column

    def by_group(self) -> list[tuple[str, list[Column]]]:
        return [
            (str(label), [c for c in self.columns.values() if c.group == group])
            for group, label in COLUMN_GROUPS.items()
        ]


def catalogue(procedure: Procedure, user) -> Catalogue:
    """Every column of ``procedure``'s table that ``user`` may use (two queries: the fields
    of every revision, the groups and labels)."""
    columns = {column.key: column for column in _system_columns(procedure, user)}
    columns.update(field_catalogue(procedure))
    return Catalogue(procedure.id, columns)


def field_catalogue(procedure: Procedure) -> dict[str, Column]:
    """The form fields' and annotations' columns of a procedure, by key (one query)."""
    columns = {}
    for spec, group in _field_columns(procedure):
        column = _field_column(spec, group)
        if column is not None:
            columns[column.key] = column
    return columns


def _system_columns(procedure: Procedure, user) -> list[Column]:
    groups = _visible_groups(procedure, user)
    labels = db.session.execute(
        sa.select(Label.id, Label.name)
        .where(Label.procedure_id == procedure.id)
        .order_by(Label.name)
    ).all()
    states = tuple((state.value, state_label(state)) for state in STATE_ORDER)
    timestamp_ops = (*_ORDERED, *_PRESENCE)
    return [
        Column("number", str(_l("Number")), "id", (*_ORDERED, "in"), nullable=False),
        Column("applicant", str(_l("Applicant")), "applicant", ("contains", "eq", *_PRESENCE)),
        Column("state", str(_l("State")), "state", _CHOICE, choices=states, nullable=False),
        Column(
            "group",
            str(_l("Instructor group")),
            "group",
            _CHOICE,
            choices=tuple((str(group_id), name) for group_id, name in groups),
        ),
        Column("submitted_at", str(_l("Submitted at")), "timestamp", timestamp_ops),
        Column("updated_at", str(_l("Updated at")), "timestamp", _ORDERED, nullable=False),
        Column("decided_at", str(_l("Decided at")), "timestamp", timestamp_ops),
        Column("expires_at", str(_l("Deleted after")), "timestamp", timestamp_ops),
        Column("followers", str(_l("Followed by")), "followers", _PRESENCE, nullable=False),
        Column(
            "labels",
            str(_l("Labels")),
            "labels",
            (*_CHOICE, *_PRESENCE),
            choices=tuple((str(label_id), name) for label_id, name in labels),
        ),
        Column("messages", str(_l("Unread messages")), "unread", _PRESENCE, nullable=False),
        Column("correction", str(_l("Waiting for corrections")), "correction", ("eq",)),
    ]


def _visible_groups(procedure: Procedure, user) -> list[tuple[int, str]]:
    """The groups offered as filter values: all of them to those who see the whole
    procedure, else the person's own groups (other groups' names are not theirs to see)."""
    statement = (
        sa.select(InstructorGroup.id, InstructorGroup.name)
        .where(InstructorGroup.procedure_id == procedure.id)
        .order_by(InstructorGroup.position, InstructorGroup.name)
    )
    if not (is_platform_admin(user) or can_administer_procedure(user, procedure)):
        statement = statement.where(
            InstructorGroup.id.in_(
                sa.select(instructor_group_member.c.group_id).where(
                    instructor_group_member.c.user_id == user.id
                )
            )
        )
    return [(row.id, row.name) for row in db.session.execute(statement)]


def _field_columns(procedure: Procedure) -> list[tuple[FieldSpec, str]]:
    """The top-level answerable fields of every revision, the newest definition of each
    stable id winning: dossiers answer different revisions, and a field removed from the
    form still has answers in older dossiers (it comes last)."""
    rows = db.session.execute(
        sa.select(FieldDefinition, ProcedureRevision.number)
        .join(ProcedureRevision, ProcedureRevision.id == FieldDefinition.revision_id)
        .where(ProcedureRevision.procedure_id == procedure.id)
        .order_by(
            ProcedureRevision.number.desc(),
            FieldDefinition.private,
            FieldDefinition.position,
            FieldDefinition.id,
        )
    ).all()
    current = procedure.published_revision_id or procedure.draft_revision_id
    newest: dict[int, list[FieldDefinition]] = {}
    for definition, _number in rows:
        newest.setdefault(definition.revision_id, []).append(definition)
    ordered_revisions = [current, *(r for r in newest if r != current)]
    seen: set[str] = set()
    result: list[tuple[FieldSpec, str]] = []
    for revision_id in ordered_revisions:
        for spec in field_specs(newest.get(revision_id, [])):
            if spec.stable_id in seen:
                continue
            seen.add(spec.stable_id)
            result.append((spec, ANNOTATIONS if spec.private else FORM))
    return sorted(result, key=lambda item: item[1] == ANNOTATIONS)


_KIND_OF_CONDITION = {
    "number": "number",
    "date": "date",
    "datetime": "date",
    "boolean": "boolean",
    "checkbox": "boolean",
    "text": "text",
    "email": "text",
    "siret": "text",
    "choice": "choice",
    "civility": "choice",
    "country": "choice",
    "region": "choice",
    "department": "choice",
    "commune": "choice",
    "choices": "choices",
    "linked": "linked",
    "address": "address",
}
"""How a field type's answers are read in SQL, from its ``condition_kind`` (the registry's
own account of how its values read): JSON shape and comparison."""


def _field_column(spec: FieldSpec, group: str) -> Column | None:
    try:
        field_type = registry.get(spec.type)
    except registry.UnknownFieldType:
        return None
    if not field_type.has_value or not _STABLE_ID.match(spec.stable_id):
        return None
    kind = _KIND_OF_CONDITION.get(field_type.condition_kind or "")
    if kind is None:  # "presence": phones, IBANs, links, files, blocks
        textual = {"eq", "contains"} & set(field_type.filter_operators)
        kind = "text" if textual else "presence"
    choices, open_choices = field_choices(spec)
    prefix = "annotation" if group == ANNOTATIONS else "field"
    label = spec.label or spec.stable_id
    return Column(
        f"{prefix}:{spec.stable_id}",
        label,
        kind,
        tuple(field_type.filter_operators),
        group=group,
        spec=spec,
        choices=choices,
        open_choices=open_choices,
    )


def field_choices(spec: FieldSpec) -> tuple[tuple[tuple[str, str], ...] | None, bool]:
    """(value, label) pairs a choice field offers (its filter's values, an annotation's
    select), and whether other values are valid too; (None, False) when the field is not
    a choice among a list. Labels are the type's own text for each stored value."""
    field_type = registry.get(spec.type)
    kind = field_type.condition_kind
    if kind in ("choice", "choices"):
        values = [str(choice) for choice in spec.option("choices", [])]
        return tuple((v, v) for v in values), bool(spec.option("allow_other", False))
    if kind == "linked":
        primaries = [str(c.get("primary")) for c in spec.option("choices", []) if c.get("primary")]
        return tuple((v, v) for v in primaries), False
    if kind == "civility":
        from ..fields.contrib.identity import CIVILITIES

        return tuple((code, str(label)) for code, label in CIVILITIES.items()), False
    if kind == "country":
        from ..fields.contrib.geo import countries

        return tuple(countries()), False
    if kind == "region":
        from ..data.geo import reference

        regions = sorted(reference().regions.items(), key=lambda item: search.fold(item[1]))
        return tuple(regions), False
    if kind == "department":
        from ..data.geo import reference

        return tuple(
            (code, field_type.as_text(code, spec)) for code in sorted(reference().departments)
        ), False
    if kind == "commune":
        return None, False
    return None, False


# ---------------------------------------------------------------------------------------
# Checking a description


def validate(query: TableQuery, columns: Catalogue, *, lenient: bool = False) -> TableQuery:
    """The query with its values normalised, or TableQueryError saying what is wrong.

    ``lenient`` drops what no longer exists instead (a saved view whose field was removed
    from the form, a label deleted since): for descriptions stored a while ago.
    """
    if query.procedure_id != columns.procedure_id:
        raise TableQueryError(_l("This table description is for another procedure."))
    tab = query.tab
    if tab not in TABS:
        if not lenient:
            raise TableQueryError(_l("Unknown tab: %(tab)s.", tab=tab))
        tab = DEFAULT_TAB
    chosen = []
    for key in query.columns:
        if key in columns.columns:
            if key not in chosen:
                chosen.append(key)
        elif not lenient:
            columns.get(key)
    if not chosen:
        chosen = [key for key in DEFAULT_COLUMNS if key in columns.columns]
    filters = []
    if len(query.filters) > MAX_FILTERS and not lenient:
        raise TableQueryError(_l("Use at most %(num)d filters.", num=MAX_FILTERS))
    for item in query.filters[:MAX_FILTERS]:
        try:
            filters.append(_checked_filter(item, columns))
        except TableQueryError:
            if not lenient:
                raise
    sort = query.sort
    if sort.column not in columns.columns or sort.direction not in ("asc", "desc"):
        if not lenient:
            if sort.column not in columns.columns:
                columns.get(sort.column)
            raise TableQueryError(_l("Sort in ascending or descending order."))
        sort = Sort()
    text = " ".join(query.search.split())
    if len(text) > SEARCH_MAX_LENGTH:
        raise TableQueryError(_l("Search with at most %(num)d characters.", num=SEARCH_MAX_LENGTH))
    return replace(
        query, tab=tab, columns=tuple(chosen), filters=tuple(filters), sort=sort, search=text
    )


def _checked_filter(item: Filter, columns: Catalogue) -> Filter:
    column = columns.get(item.column)
    if item.operator not in column.operators:
        if item.operator in FILTER_OPERATORS:
            raise TableQueryError(
                _l(
                    "The column “%(column)s” cannot be filtered with “%(operator)s”.",
                    column=column.label,
                    operator=FILTER_OPERATORS[item.operator],
                )
            )
        raise TableQueryError(_l("Unknown filter operator: %(operator)s.", operator=item.operator))
    return Filter(column.key, item.operator, _checked_value(column, item.operator, item.value))


def _refused_value(column: Column, message: Any) -> TableQueryError:
    return TableQueryError(
        _l("Filter on “%(column)s”: %(reason)s", column=column.label, reason=message)
    )


def _checked_value(column: Column, operator: str, value: Any) -> Any:
    if operator in _PRESENCE:
        return None
    if operator == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _refused_value(column, _l("enter the two ends of the range."))
        low, high = (_scalar(column, part) for part in value)
        if _comparable(column, low) > _comparable(column, high):
            raise _refused_value(column, _l("the first value must not exceed the second."))
        return [low, high]
    if operator in _CHOICE:
        values = value if isinstance(value, list | tuple) else [value]
        chosen = []
        for item in values:
            if isinstance(item, str) and not item.strip():
                continue
            normalised = _choice(column, item)
            if normalised not in chosen:
                chosen.append(normalised)
        if not chosen:
            raise _refused_value(column, _l("choose at least one value."))
        if len(chosen) > MAX_CHOSEN_VALUES:
            raise _refused_value(
                column, _l("choose at most %(num)d values.", num=MAX_CHOSEN_VALUES)
            )
        return chosen
    if column.kind in ("boolean", "correction"):
        parsed = parse_boolean(value)
        if parsed is None:
            raise _refused_value(column, _l("choose yes or no."))
        return "true" if parsed else "false"
    return _scalar(column, value)


def _scalar(column: Column, value: Any) -> str:
    """One value of an ordered or text filter, normalised to text."""
    if column.kind in ("number", "id"):
        number = parse_number(value)
        if number is None or (column.kind == "id" and number != number.to_integral_value()):
            raise _refused_value(column, _l("enter a number."))
        if not number.is_finite() or abs(number) >= Decimal(10) ** 18:
            raise _refused_value(column, _l("this number is too large."))
        return format(number.normalize(), "f") if column.kind == "number" else str(int(number))
    if column.kind in ("date", "timestamp"):
        day = parse_date(value)
        if day is None:
            raise _refused_value(column, _l("enter a date, for example 25/12/2024."))
        return day.isoformat()
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise _refused_value(column, _l("enter a value."))
    text = " ".join(str(value).split())
    if len(text) > FILTER_VALUE_MAX_LENGTH:
        raise _refused_value(
            column, _l("enter at most %(num)d characters.", num=FILTER_VALUE_MAX_LENGTH)
        )
    return text


def _comparable(column: Column, value: str) -> Any:
    return Decimal(value) if column.kind in ("number", "id") else value


def _choice(column: Column, value: Any) -> str:
    if column.kind == "id":
        return _scalar(column, value)
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _refused_value(column, _l("choose among the values offered."))
    text = str(value).strip()
    if column.choices is not None:
        if text in {choice for choice, _label in column.choices} or column.open_choices:
            return text
        raise _refused_value(
            column, _l("“%(value)s” is not one of the values offered.", value=text)
        )
    # Open lists (communes): the field type itself says whether the code exists.
    try:
        cleaned = registry.get(column.spec.type).clean(text, column.spec)
    except Exception:
        cleaned = None
    if not isinstance(cleaned, str):
        raise _refused_value(column, _l("“%(value)s” is not a valid value.", value=text))
    return cleaned


# ---------------------------------------------------------------------------------------
# Scoping


class SeenAs:
    """A person seen through some of their roles only (``security`` scopes by role)."""

    is_authenticated = True

    def __init__(self, user, roles: Iterable[str]) -> None:
        wanted = set(roles)
        self.id = user.id
        self.roles = [role for role in user.roles if role.name in wanted]


def workspace_scope(user) -> sa.ColumnElement[bool]:
    """Where-clause on ``Dossier``: what the workspace shows this person (never drafts)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return sa.false()
    return sa.and_(Dossier.state != DossierState.draft, visible_dossiers(SeenAs(user, STAFF_ROLES)))


def group_hint(user) -> sa.ColumnElement[bool] | None:
    """For a person who sees dossiers through their instructor groups only, those groups'
    ids as literals, to AND with ``workspace_scope`` (which still decides).

    Why: ``group_id IN (SELECT … FROM instructor_group_member …)`` hides from the planner
    which groups, and how big they are; it joins the membership first, expects a handful of
    rows and sorts the whole tab (performance-notes.md, "the same trap holds for a set of
    instructor groups"). With the ids written out it knows, and walks the ordered group or
    procedure index instead. One small query; None for those who see whole procedures.
    """
    if role_names(user) & STAFF_ROLES != {Roles.AGENT}:
        return None
    known = g.setdefault("workspace_group_ids", {})  # once per request or task
    if user.id not in known:
        known[user.id] = db.session.scalars(
            sa.select(instructor_group_member.c.group_id)
            .where(instructor_group_member.c.user_id == user.id)
            .order_by(instructor_group_member.c.group_id)
        ).all()
    ids = known[user.id]
    return Dossier.group_id.in_(ids) if ids else sa.false()


def _scoped(user) -> list[sa.ColumnElement[bool]]:
    hint = group_hint(user)
    return [workspace_scope(user)] if hint is None else [workspace_scope(user), hint]


def workspace_procedures(user) -> list[Procedure]:
    """The procedures whose tables this person opens, by title."""
    if not STAFF_ROLES & role_names(user):
        return []
    return list(
        db.session.scalars(
            sa.select(Procedure)
            .options(joinedload(Procedure.administration))
            .where(visible_procedures(SeenAs(user, STAFF_ROLES)))
            .order_by(Procedure.title, Procedure.id)
        )
    )


def workspace_procedure(user, procedure_id: int) -> Procedure | None:
    """The procedure if this person opens its table, else None (the caller answers 404)."""
    if not STAFF_ROLES & role_names(user):
        return None
    return db.session.scalar(
        sa.select(Procedure).where(
            Procedure.id == procedure_id, visible_procedures(SeenAs(user, STAFF_ROLES))
        )
    )


def find_number(user, text: str) -> int | None:
    """The dossier a search text designates by its number (``123``, ``n° 123``, ``#123``),
    if this person sees it in the workspace; None otherwise."""
    match = _NUMBER_QUERY.match(text or "")
    if match is None:
        return None
    number = int(match.group(1))
    return db.session.scalar(
        sa.select(Dossier.id).where(Dossier.id == number, workspace_scope(user))
    )


# ---------------------------------------------------------------------------------------
# SQL pieces


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _among(column: Any, ids: Sequence[int]) -> sa.ColumnElement:
    """``column IN ids``; on PostgreSQL as one array parameter (``= ANY``) rather than one
    parameter per id: for an export's chunks of 2,000 dossiers, compiling and parsing
    2,000 placeholders per lookup took longer than the database's answer."""
    if _dialect() == "postgresql":
        return column == sa.any_(sa.bindparam("ids", list(ids), ARRAY(sa.Integer), unique=True))
    return column.in_(ids)


def _identity(key: str) -> sa.ColumnElement:
    """A text of the dossier's filer (``identity ->> key``), on PostgreSQL."""
    return Dossier.identity.op("->>", return_type=sa.Text)(_key(key))


def _key(stable_id: str) -> sa.ColumnElement:
    """A JSON key inlined as a literal: expression indexes and statistics match constants,
    not parameters. Column keys come from the catalogue, whose ids passed ``_STABLE_ID``."""
    if not _STABLE_ID.match(stable_id):
        raise TableQueryError(_l("Unknown column: %(column)s.", column=stable_id))
    return sa.literal_column(f"'{stable_id}'", sa.Text)


def _path(stable_id: str, part: str | None = None) -> sa.ColumnElement:
    _key(stable_id)
    suffix = f".{part}" if part else ""
    return sa.literal_column(f"'$.\"{stable_id}\"{suffix}'", sa.Text)


class _Sql:
    """How values are read, per database."""

    def __init__(self, dialect: str, user_id: int | None = None) -> None:
        self.postgresql = dialect == "postgresql"
        self.user_id = user_id  # whose unread counters a statement reads

    def document(self, column: Column) -> sa.ColumnElement:
        return getattr(Dossier, column.document)

    def text(self, column: Column) -> sa.ColumnElement:
        document, sid = self.document(column), column.spec.stable_id
        if self.postgresql:
            return document.op("->>", return_type=sa.Text)(_key(sid))
        return sa.cast(sa.func.json_extract(document, _path(sid)), sa.Text)

    def number(self, column: Column) -> sa.ColumnElement:
        if self.postgresql:
            return sa.cast(self.text(column), sa.Numeric)
        return sa.type_coerce(
            sa.func.json_extract(self.document(column), _path(column.spec.stable_id)), sa.Numeric
        )

    def boolean(self, column: Column) -> sa.ColumnElement:
        """``'true'`` / ``'false'`` / NULL."""
        if self.postgresql:
            return self.text(column)
        return sa.func.json_type(self.document(column), _path(column.spec.stable_id))

    def part(self, column: Column, part: str) -> sa.ColumnElement:
        document, sid = self.document(column), column.spec.stable_id
        if self.postgresql:
            element = document.op("->", return_type=JSONB)(_key(sid))
            return element.op("->>", return_type=sa.Text)(sa.literal_column(f"'{part}'"))
        return sa.cast(sa.func.json_extract(document, _path(sid, part)), sa.Text)

    def any_of(self, column: Column, values: list[str]) -> sa.ColumnElement[bool]:
        """Whether a JSON list answer holds one of ``values`` (False when unanswered)."""
        document, sid = self.document(column), column.spec.stable_id
        if self.postgresql:
            element = document.op("->", return_type=JSONB)(_key(sid))
            wanted = sa.bindparam(None, values, type_=ARRAY(sa.Text))
            return sa.func.coalesce(element.op("?|", return_type=sa.Boolean)(wanted), sa.false())
        items = sa.func.json_each(document, _path(sid)).table_valued("value")
        return sa.exists(sa.select(1).select_from(items).where(items.c.value.in_(values)))

    def address(self, column: Column) -> sa.ColumnElement:
        parts = [self.part(column, name) for name in ("street", "postcode", "city")]
        if self.postgresql:
            return sa.func.concat_ws(" ", *parts)
        joined = sa.func.coalesce(parts[0], "")
        for part in parts[1:]:
            joined = joined + " " + sa.func.coalesce(part, "")
        return sa.func.trim(joined)

    def applicant(self) -> sa.ColumnElement:
        """The applicant as sorted and searched: a company's name, else "last first"."""
        if self.postgresql:
            person = sa.func.nullif(
                sa.func.concat_ws(" ", _identity("last_name"), _identity("first_name")), ""
            )
            return sa.func.coalesce(_identity("name"), person)

        def read(key: str) -> sa.ColumnElement:
            return sa.func.json_extract(Dossier.identity, sa.literal_column(f"'$.{key}'"))

        person = sa.func.trim(
            sa.func.coalesce(read("last_name"), "") + " " + sa.func.coalesce(read("first_name"), "")
        )
        return sa.func.coalesce(read("name"), sa.func.nullif(person, ""))


def _first_label() -> sa.ScalarSelect:
    return (
        sa.select(sa.func.min(Label.name))
        .join(dossier_label, dossier_label.c.label_id == Label.id)
        .where(dossier_label.c.dossier_id == Dossier.id)
        .correlate(Dossier)
        .scalar_subquery()
    )


def _unread_messages(user_id: int | None) -> sa.Select:
    """The messages of the row's dossier unread by the person, as the message thread
    counts them for an agent (``plugins.messaging.services.unread_counts``): not deleted,
    written by someone else, after the person's marker on their follow (only followed
    dossiers have a marker, so only they have a counter)."""
    return (
        sa.select(Message.id)
        .join(
            Follow,
            sa.and_(Follow.dossier_id == Message.dossier_id, Follow.user_id == user_id),
        )
        .where(
            Message.dossier_id == Dossier.id,
            Message.deleted_at.is_(None),
            sa.or_(Message.author_id.is_(None), Message.author_id != user_id),
            sa.or_(Follow.messages_seen_at.is_(None), Message.created_at > Follow.messages_seen_at),
        )
        .correlate(Dossier)
    )


def _pending_corrections() -> sa.Select:
    """The correction requests of the row's dossier the applicant has not answered yet."""
    return (
        sa.select(Message.id)
        .where(
            Message.dossier_id == Dossier.id,
            Message.correction_reason.is_not(None),
            Message.correction_resolved_at.is_(None),
        )
        .correlate(Dossier)
    )


def _thread_statement(ids: list[int], user_id: int) -> sa.Select:
    """(dossier, unread messages, pending correction) of a page's dossiers, in one query:
    one pass over their messages, the person's follow joined at most once per message."""
    unread = sa.and_(
        Follow.id.is_not(None),
        Message.deleted_at.is_(None),
        sa.or_(Message.author_id.is_(None), Message.author_id != user_id),
        sa.or_(Follow.messages_seen_at.is_(None), Message.created_at > Follow.messages_seen_at),
    )
    waiting = sa.and_(
        Message.correction_reason.is_not(None), Message.correction_resolved_at.is_(None)
    )
    return (
        sa.select(
            Message.dossier_id,
            sa.func.sum(sa.case((unread, 1), else_=0)),
            sa.func.max(sa.case((waiting, 1), else_=0)),
        )
        .outerjoin(
            Follow,
            sa.and_(Follow.dossier_id == Message.dossier_id, Follow.user_id == user_id),
        )
        .where(_among(Message.dossier_id, ids))
        .group_by(Message.dossier_id)
    )


def _value(column: Column, sql: _Sql) -> sa.ColumnElement:
    """The column's value as SQL compares and sorts it."""
    kind = column.kind
    if kind == "id":
        return Dossier.id
    if kind == "state":
        return sa.case(
            {state: position for position, state in enumerate(STATE_ORDER)},
            value=Dossier.state,
            else_=len(STATE_ORDER),
        )
    if kind == "timestamp":
        return getattr(Dossier, column.key)
    if kind == "applicant":
        return sql.applicant()
    if kind == "group":
        return (
            sa.select(InstructorGroup.name)
            .where(InstructorGroup.id == Dossier.group_id)
            .correlate(Dossier)
            .scalar_subquery()
        )
    if kind == "followers":
        return Dossier.follower_count
    if kind == "labels":
        return _first_label()
    if kind == "unread":
        return _unread_messages(sql.user_id).with_only_columns(sa.func.count()).scalar_subquery()
    if kind == "correction":
        return sa.case((sa.exists(_pending_corrections()), 1), else_=0)
    if kind == "number":
        return sql.number(column)
    if kind == "boolean":
        return sql.boolean(column)
    if kind == "linked":
        return sql.part(column, "primary")
    return sql.text(column)


_COMPARISONS = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _number(text: str | Decimal) -> Decimal | float:
    """A filter's or cursor's number as the database binds it: SQLite takes no Decimal."""
    number = Decimal(text)
    return number if _dialect() == "postgresql" else float(number)


def _local_start(day: date) -> datetime:
    """The UTC moment a local day starts (``BABEL_DEFAULT_TIMEZONE``)."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Paris"))
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _day_bound(column: Column, day_iso: str, *, next_day: bool = False) -> Any:
    """Where a day starts (or the next one), as the column compares it: UTC timestamps
    for system dates, ISO text for answers (a date-time's text sorts after its day's)."""
    day = date.fromisoformat(day_iso) + (timedelta(days=1) if next_day else timedelta())
    return _local_start(day) if column.kind == "timestamp" else day.isoformat()


def _filter_clause(item: Filter, column: Column, sql: _Sql) -> sa.ColumnElement[bool]:
    op, value = item.operator, item.value
    kind = column.kind
    if kind == "followers":
        return Dossier.follower_count > 0 if op == "not_empty" else Dossier.follower_count == 0
    if kind == "labels":
        labelled = sa.select(dossier_label.c.dossier_id).where(
            dossier_label.c.dossier_id == Dossier.id
        )
        if op in _CHOICE:
            labelled = labelled.where(dossier_label.c.label_id.in_([int(v) for v in value]))
        found = sa.exists(labelled)
        return found if op in ("in", "not_empty") else ~found
    if kind == "unread":
        unread = sa.exists(_unread_messages(sql.user_id))
        return unread if op == "not_empty" else ~unread
    if kind == "correction":
        waiting = sa.exists(_pending_corrections())
        return waiting if value == "true" else ~waiting
    if kind == "group":
        chosen = Dossier.group_id.in_([int(v) for v in value])
        return chosen if op == "in" else sa.or_(Dossier.group_id.is_(None), ~chosen)
    if kind == "state":
        chosen = Dossier.state.in_([DossierState(v) for v in value])
        return chosen if op == "in" else ~chosen
    target = Dossier.id if kind == "id" else _value(column, sql)
    if op == "empty":
        return target.is_(None)
    if op == "not_empty":
        return target.is_not(None)
    if op == "contains":
        searched = sql.address(column) if kind == "address" else target
        return searched.icontains(value, autoescape=True)
    if op in _CHOICE:
        if kind == "choices":
            chosen = sql.any_of(column, list(value))
        else:
            values = [int(v) for v in value] if kind == "id" else list(value)
            chosen = target.in_(values)
        if op == "in":
            return chosen
        return chosen == sa.false() if kind == "choices" else sa.or_(target.is_(None), ~chosen)
    if kind in ("date", "timestamp"):
        return _day_clause(op, value, column, target)
    if kind in ("number", "id"):
        typed = _number if kind == "number" else int
        if op == "between":
            return target.between(typed(value[0]), typed(value[1]))
        return _COMPARISONS[op](target, typed(value))
    if op == "eq":
        return target == value
    raise TableQueryError(_l("Unknown filter operator: %(operator)s.", operator=op))


def _day_clause(op: str, value: Any, column: Column, target: sa.ColumnElement) -> Any:
    """Day comparisons as half-open ranges, so that a date-time (or a timestamp) falls in
    its day and an index on the value serves them."""
    if op == "between":
        low, high = value
        return sa.and_(
            target >= _day_bound(column, low), target < _day_bound(column, high, next_day=True)
        )
    start, end = _day_bound(column, value), _day_bound(column, value, next_day=True)
    if op == "eq":
        return sa.and_(target >= start, target < end)
    if op == "lt":
        return target < start
    if op == "le":
        return target < end
    if op == "gt":
        return target >= end
    return target >= start


def _tab_clauses(user) -> dict[str, sa.ColumnElement[bool]]:
    """Each tab's where-clause (on top of the scope). "Followed" counts only the person's
    follows; "to follow" is an open dossier nobody follows yet."""
    shown = Dossier.hidden_by_administration_at.is_(None)
    live = sa.and_(shown, Dossier.archived == sa.false())
    open_ = Dossier.state.in_(OPEN_STATES)
    # "Followed by anyone" is the follower count the database keeps (a probe of ``follow``
    # per open dossier cost 400 ms on a 112,000-dossier tab); "by me" is the person's own
    # follows, a few hundred at most: a hash of them for the counters, a join for a page.
    i_follow = Dossier.id.in_(sa.select(Follow.dossier_id).where(Follow.user_id == user.id))
    decided = Dossier.state.in_(list(DECIDED_STATES))
    return {
        "to_follow": sa.and_(live, open_, Dossier.follower_count == 0),
        "followed": sa.and_(live, open_, Dossier.follower_count > 0, i_follow),
        "decided": sa.and_(live, decided),
        "all": live,
        "archived": sa.and_(shown, Dossier.archived == sa.true()),
        "expiring": sa.and_(
            shown,
            decided,
            Dossier.expires_at.is_not(None),
            Dossier.expires_at <= utcnow() + EXPIRY_NOTICE,
        ),
        "deleted": Dossier.hidden_by_administration_at.is_not(None),
    }


# ---------------------------------------------------------------------------------------
# Statements


def _ordering(expression: sa.ColumnElement, direction: str) -> list[Any]:
    if direction == "asc":
        return [expression.asc().nulls_last(), Dossier.id.asc()]
    return [expression.desc().nulls_first(), Dossier.id.desc()]


def _after(
    expression: sa.ColumnElement, nullable: bool, direction: str, key: Any, number: int
) -> sa.ColumnElement[bool]:
    """Rows after (key, number) in ``direction``, NULL keys being the largest."""
    if direction == "asc":
        if key is None:
            return sa.and_(expression.is_(None), Dossier.id > number)
        after = sa.tuple_(expression, Dossier.id) > sa.tuple_(key, number)
        return sa.or_(after, expression.is_(None)) if nullable else after
    if key is None:
        return sa.or_(expression.is_not(None), sa.and_(expression.is_(None), Dossier.id < number))
    return sa.tuple_(expression, Dossier.id) < sa.tuple_(key, number)


def _flipped(direction: str) -> str:
    return "desc" if direction == "asc" else "asc"


def _base(query: TableQuery, user, columns: Catalogue, sql: _Sql, *, tab: bool = True) -> sa.Select:
    """The scoped, filtered SELECT over the procedure's dossiers, without a select list."""
    statement = (
        sa.select()
        .select_from(Dossier)
        .where(Dossier.procedure_id == query.procedure_id, *_scoped(user))
    )
    if tab:
        statement = statement.where(_tab_clauses(user)[query.tab])
    for item in query.filters:
        statement = statement.where(_filter_clause(item, columns.get(item.column), sql))
    if query.search:
        statement = statement.where(
            Dossier.id.in_(search.matching(query.search, _dialect(), [query.procedure_id]))
        )
    return statement


def _select_list(query: TableQuery, columns: Catalogue, sql: _Sql) -> list[Any]:
    selected: list[Any] = [
        Dossier.id.label("id"),
        Dossier.state.label("state"),
        Dossier.identity.label("identity"),
        Dossier.owner_id.label("owner_id"),
        Dossier.group_id.label("group_id"),
    ]
    for key in query.columns:
        column = columns.get(key)
        if column.kind == "timestamp":
            selected.append(getattr(Dossier, key).label(key))
        elif column.document is not None:
            selected.append(getattr(Dossier, column.document)[column.spec.stable_id].label(key))
    return selected


def rows_statement(query: TableQuery, user, columns: Catalogue) -> sa.Select:
    """Every dossier the query matches, in its order, with the chosen columns' raw values
    (``Column.text`` formats them). One statement; exports stream it, in batches, with a
    server-side cursor. The query must have passed ``validate``."""
    sql = _Sql(_dialect(), user.id)
    sort_column = columns.get(query.sort.column)
    sort_key = _value(sort_column, sql)
    return (
        _base(query, user, columns, sql)
        .add_columns(*_select_list(query, columns, sql), sort_key.label("sort_key"))
        .order_by(*_ordering(sort_key, query.sort.direction))
    )


def text_statement(
    query: TableQuery, user, columns: Catalogue, zone: str, safe: Callable[[Any], Any]
) -> sa.Select | None:
    """``rows_statement`` with each chosen column as the text an export writes, for
    PostgreSQL to write the CSV itself (``COPY``): the same texts as ``Column.text`` and
    the export's readers, NULL when empty; ``safe`` wraps each free text (the CSV's
    formula guard). None on SQLite, or when a column's text needs Python (a field type
    that formats its answers: dates, phone numbers, addresses…)."""
    if _dialect() != "postgresql":
        return None
    sql = _Sql("postgresql", user.id)
    texts = []
    for key in query.columns:
        column = columns.get(key)
        text = _sql_text(column, sql, columns, zone)
        if text is None:
            return None
        if column.kind not in ("id", "unread", "timestamp", "state", "correction"):
            text = safe(text)  # not our own texts (numbers, dates, state names, "Yes")
        texts.append(sa.func.nullif(text, "").label(key))
    sort_key = _value(columns.get(query.sort.column), sql)
    return (
        _base(query, user, columns, sql)
        .add_columns(*texts)
        .order_by(*_ordering(sort_key, query.sort.direction))
    )


def _sql_text(column: Column, sql: _Sql, columns: Catalogue, zone: str) -> Any:
    """A column's text in SQL, None when only Python can write it. A free-text answer that
    is a JSON number is written as PostgreSQL prints it (dossier links are whole numbers);
    one of another JSON type (which the form never stores for these fields) is left out."""
    kind = column.kind
    if kind in ("id", "unread"):
        return sa.cast(_value(column, sql), sa.Text)
    if kind == "state":
        return sa.case(
            {state: str(state_label(state)) for state in DossierState}, value=Dossier.state
        )
    if kind == "group":
        names = columns.group_names
        return sa.case(names, value=Dossier.group_id) if names else sa.null()
    if kind == "timestamp":
        local = sa.func.timezone(zone, getattr(Dossier, column.key))
        return sa.func.to_char(local, "YYYY-MM-DD HH24:MI")
    if kind == "applicant":

        def read(key: str) -> sa.ColumnElement:
            return sa.func.nullif(_identity(key), "")

        email = sa.select(User.email).where(User.id == Dossier.owner_id).correlate(Dossier)
        person = sa.func.concat_ws(" ", read("first_name"), read("last_name"))
        return sa.func.coalesce(read("name"), sa.func.nullif(person, ""), email.scalar_subquery())
    if kind == "followers":
        name = sa.func.coalesce(
            sa.func.nullif(
                sa.func.concat_ws(
                    " ", sa.func.nullif(User.first_name, ""), sa.func.nullif(User.last_name, "")
                ),
                "",
            ),
            User.email,
        )
        names = (
            sa.select(
                sa.func.array_agg(
                    aggregate_order_by(name, User.last_name, User.first_name, User.id)
                )
            )
            .join(Follow, Follow.user_id == User.id)
            .where(Follow.dossier_id == Dossier.id)
            .correlate(Dossier)
        )
        return sa.func.array_to_string(names.scalar_subquery(), ", ")
    if kind == "labels":
        names = (
            sa.select(sa.func.array_agg(aggregate_order_by(Label.name, Label.name)))
            .join(dossier_label, dossier_label.c.label_id == Label.id)
            .where(dossier_label.c.dossier_id == Dossier.id)
            .correlate(Dossier)
        )
        return sa.func.array_to_string(names.scalar_subquery(), ", ")
    if kind == "correction":
        return sa.case((sa.exists(_pending_corrections()), gettext("Yes")), else_=None)
    if column.plain:
        answer = sql.document(column).op("->", return_type=JSONB)(_key(column.spec.stable_id))
        text = sql.text(column)
        return sa.case(
            (sa.func.jsonb_typeof(answer) == "number", text),
            (sa.and_(sa.func.jsonb_typeof(answer) == "string", text.op("~")(r"\S")), text),
            else_=None,
        )
    return None


@dataclass
class Row:
    """One dossier of a page: raw values by column key, ready for ``Column.text``."""

    id: int
    state: DossierState
    values: dict[str, Any]
    applicant: str
    group: str | None
    owner_id: int | None = None
    followers: list[str] = field(default_factory=list)
    followed_by_me: bool = False
    labels: list[tuple[int, str, str]] = field(default_factory=list)
    unread: int = 0
    pending_correction: bool = False


@dataclass
class Page:
    rows: list[Row]
    next_cursor: str | None
    previous_cursor: str | None


def page_statement(query: TableQuery, user, columns: Catalogue) -> sa.Select:
    """The one SELECT of a page's rows (``PAGE_SIZE + 1`` of them, to know whether there is
    a next page), at the query's cursor; backwards pages come in reverse order."""
    sql = _Sql(_dialect(), user.id)
    sort_column = columns.get(query.sort.column)
    sort_key = _value(sort_column, sql)
    position = _decode_cursor(query.cursor, query.sort)
    direction = query.sort.direction
    if position is not None and position[0] == "before":
        direction = _flipped(direction)
    statement = (
        _base(query, user, columns, sql)
        .add_columns(*_select_list(query, columns, sql), sort_key.label("sort_key"))
        .order_by(*_ordering(sort_key, direction))
        .limit(PAGE_SIZE + 1)
    )
    if position is not None:
        _, key, number = position
        statement = statement.where(
            _after(sort_key, sort_column.nullable, direction, _typed_key(sort_column, key), number)
        )
    return statement


def fetch_page(query: TableQuery, user, columns: Catalogue) -> Page:
    """One page of ``PAGE_SIZE`` rows at the query's cursor, in four queries whatever the
    page holds: the rows, their followers, their labels, their threads (unread messages,
    pending corrections), each only when a shown column or the tab needs it (and, once
    per request, the agent's groups: ``group_hint``)."""
    statement = page_statement(query, user, columns)
    position = _decode_cursor(query.cursor, query.sort)
    backwards = position is not None and position[0] == "before"
    results = db.session.execute(statement).all()
    more = len(results) > PAGE_SIZE
    results = results[:PAGE_SIZE]
    if backwards:
        results.reverse()
    group_names = columns.group_names
    keys = _value_keys(query, results)
    rows = [_row(result, keys, group_names) for result in results]
    _add_people_and_labels(rows, query, user)
    first, last = (results[0], results[-1]) if results else (None, None)
    has_next = more if not backwards else position is not None
    has_previous = (position is not None) if not backwards else more
    return Page(
        rows=rows,
        next_cursor=_encode_cursor("after", query.sort, last) if has_next and last else None,
        previous_cursor=_encode_cursor("before", query.sort, first)
        if has_previous and first
        else None,
    )


def _value_keys(query: TableQuery, results: Sequence[Any]) -> list[str]:
    """The chosen columns the rows of a statement hold a value of (the others are looked
    up afterwards: followers, labels…), found once for all the rows."""
    return [key for key in query.columns if results and key in results[0]._mapping]


def _row(result: Any, keys: Sequence[str], group_names: Mapping[int, str]) -> Row:
    mapping = result._mapping
    return Row(
        id=mapping["id"],
        state=mapping["state"],
        values={key: mapping[key] for key in keys},
        applicant=applicant_name(mapping["identity"]),
        group=group_names.get(mapping["group_id"]),
        owner_id=mapping["owner_id"],
    )


def applicant_name(identity: Mapping[str, Any] | None) -> str:
    """How a dossier's filer reads: a company's name, else "First Last"."""
    if not isinstance(identity, Mapping):
        return ""
    if identity.get("name"):
        return str(identity["name"])
    parts = [identity.get("first_name"), identity.get("last_name")]
    return " ".join(str(part) for part in parts if part)


def _add_people_and_labels(rows: list[Row], query: TableQuery, user) -> None:
    if not rows:
        return
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    nameless = {row.owner_id for row in rows if not row.applicant and row.owner_id}
    if nameless:  # an identity not filled in yet: the account's address says who
        emails = dict(
            db.session.execute(
                sa.select(User.id, User.email).where(_among(User.id, nameless))
            ).all()
        )
        for row in rows:
            row.applicant = row.applicant or emails.get(row.owner_id) or ""
    if "followers" in query.columns or query.tab in ("to_follow", "followed"):
        followers = db.session.execute(
            sa.select(Follow.dossier_id, User.id, User.first_name, User.last_name, User.email)
            .join(User, User.id == Follow.user_id)
            .where(_among(Follow.dossier_id, ids))
            .order_by(User.last_name, User.first_name, User.id)
        )
        for dossier_id, user_id, first_name, last_name, email in followers:
            name = " ".join(part for part in (first_name, last_name) if part) or email
            by_id[dossier_id].followers.append(name)
            if user_id == user.id:
                by_id[dossier_id].followed_by_me = True
    if "labels" in query.columns:
        labels = db.session.execute(
            sa.select(dossier_label.c.dossier_id, Label.id, Label.name, Label.color)
            .join(Label, Label.id == dossier_label.c.label_id)
            .where(_among(dossier_label.c.dossier_id, ids))
            .order_by(Label.name)
        )
        for dossier_id, label_id, name, color in labels:
            by_id[dossier_id].labels.append((label_id, name, color))
    if "messages" in query.columns or "correction" in query.columns:
        for dossier_id, unread, waiting in db.session.execute(_thread_statement(ids, user.id)):
            by_id[dossier_id].unread = int(unread or 0)
            by_id[dossier_id].pending_correction = bool(waiting)


# ---------------------------------------------------------------------------------------
# Cursors: the (sort key, number) of a page's edge, with the sort they belong to


def _encode_cursor(direction: str, sort: Sort, result: Any) -> str:
    key = result._mapping["sort_key"]
    if isinstance(key, datetime):
        encoded: Any = ["t", key.astimezone(UTC).isoformat()]
    elif isinstance(key, Decimal):
        encoded = ["n", str(key)]
    elif isinstance(key, float):
        encoded = ["n", repr(key)]
    else:
        encoded = key
    data = {"d": direction, "c": sort.column, "o": sort.direction, "k": encoded, "i": result.id}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None, sort: Sort) -> tuple[str, Any, int] | None:
    """(direction, key, number) of a cursor, None for the first page; a cursor of another
    sort (the agent changed it since) also means the first page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        direction, number = data["d"], int(data["i"])
        if direction not in ("after", "before"):
            raise ValueError(direction)
        if (data["c"], data["o"]) != (sort.column, sort.direction):
            return None
        key = data["k"]
        if isinstance(key, list):
            tag, text = key
            key = datetime.fromisoformat(text) if tag == "t" else Decimal(text)
        elif key is not None and not isinstance(key, str | int | float):
            raise ValueError(key)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise TableQueryError(
            _l("This page link is no longer valid: the table starts again at its first page.")
        ) from None
    return direction, key, number


def _typed_key(column: Column, key: Any) -> Any:
    """A cursor's key as the sort expression compares it."""
    if key is None:
        return None
    if (column.kind == "timestamp") != isinstance(key, datetime):
        raise TableQueryError(_l("This page link is no longer valid."))
    if isinstance(key, Decimal):
        return _number(key)
    return key


# ---------------------------------------------------------------------------------------
# Counters, neighbours


def tab_counts(user, procedure_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """How many dossiers each tab of each procedure holds for this person, in one query.

    Filters and search do not apply: counters are the tabs' sizes. Most tabs are sums of
    the procedure's tallies (``DossierTally``: a few rows per group and state, whatever the
    number of dossiers); "followed by me" counts the person's follows and "expiring" the
    decided dossiers near their end, through their indexes.
    """
    procedure_ids = list(procedure_ids)
    if not procedure_ids:
        return {}
    statement = counts_statement(user, procedure_ids)
    counts = {procedure_id: dict.fromkeys(TABS, 0) for procedure_id in procedure_ids}
    for row in db.session.execute(statement):
        counts[row.procedure_id] = {tab: int(row._mapping[tab] or 0) for tab in TABS}
    return counts


_TALLY_TABS = ("to_follow", "decided", "all", "archived", "deleted")
_DOSSIER_TABS = ("followed", "expiring")


def counts_statement(user, procedure_ids: Sequence[int]) -> sa.Select:
    """The one SELECT of ``tab_counts``: a row per procedure, a column per tab.

    Three parts added up (``UNION ALL``): the tallies under the person's scope, made a
    clause on the tally's procedure, group and state (``_on_tally``); their followed open
    dossiers; their expiring ones."""
    ids = list(procedure_ids)
    postgresql = _dialect() == "postgresql"

    def counter(clause: sa.ColumnElement[bool], value: Any) -> sa.ColumnElement[int]:
        if postgresql:
            return sa.func.sum(value).filter(clause)
        return sa.func.sum(sa.case((clause, value), else_=0))

    tally = DossierTally
    live = sa.and_(tally.hidden == sa.false(), tally.archived == sa.false())
    open_ = tally.state.in_(OPEN_STATES)
    tally_clauses = {
        "to_follow": sa.and_(live, open_, tally.followed == sa.false()),
        "decided": sa.and_(live, tally.state.in_(list(DECIDED_STATES))),
        "all": live,
        "archived": sa.and_(tally.hidden == sa.false(), tally.archived == sa.true()),
        "deleted": tally.hidden == sa.true(),
    }
    zero = sa.literal(0, sa.BigInteger)
    scope = _scoped(user)
    tallied = (
        sa.select(
            tally.procedure_id.label("procedure_id"),
            *(
                (counter(tally_clauses[tab], tally.n) if tab in _TALLY_TABS else zero).label(tab)
                for tab in TABS
            ),
        )
        .where(tally.procedure_id.in_(ids), *(_on_tally(clause) for clause in scope))
        .group_by(tally.procedure_id)
    )
    dossier_tabs = _tab_clauses(user)
    parts = [tallied]
    for name in _DOSSIER_TABS:
        parts.append(
            sa.select(
                Dossier.procedure_id.label("procedure_id"),
                *((sa.func.count() if tab == name else zero).label(tab) for tab in TABS),
            )
            .where(Dossier.procedure_id.in_(ids), *scope, dossier_tabs[name])
            .group_by(Dossier.procedure_id)
        )
    together = sa.union_all(*parts).subquery("counts")
    return sa.select(
        together.c.procedure_id, *(sa.func.sum(together.c[tab]).label(tab) for tab in TABS)
    ).group_by(together.c.procedure_id)


_TALLIED = frozenset({"procedure_id", "group_id", "state"})


def _on_tally(clause: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """A where-clause on ``Dossier`` made the same clause on ``DossierTally``: the
    workspace scope reads only the dossier's procedure, group and state, which the tally
    keeps (anything else is a programming error, raised)."""
    source, target = Dossier.__table__, DossierTally.__table__

    def swap(element: Any) -> Any:
        if isinstance(element, sa.Column) and element.table is source:
            if element.name not in _TALLIED:
                raise ValueError(f"the tab counters cannot scope on dossier.{element.name}")
            return target.c[element.name]
        return None

    return visitors.replacement_traverse(clause, {}, swap)


def compact_tallies() -> int:
    """Sum the tallies into one row per key (beat, every five minutes); returns how many
    rows it read. One ``DELETE … RETURNING``: the rows it removes are exactly those it
    sums, whatever commits meanwhile."""
    tally = DossierTally.__table__
    key = ("procedure_id", "group_id", "state", "archived", "hidden", "followed")
    removed = db.session.execute(
        sa.delete(tally).returning(*(tally.c[name] for name in key), tally.c.n)
    ).all()
    sums: dict[tuple, int] = {}
    for row in removed:
        sums[tuple(row[:-1])] = sums.get(tuple(row[:-1]), 0) + row[-1]
    kept = [dict(zip(key, values, strict=True), n=n) for values, n in sums.items() if n]
    if kept:
        db.session.execute(sa.insert(tally), kept)
    db.session.commit()
    return len(removed)


def neighbours(
    query: TableQuery, user, columns: Catalogue, dossier_id: int
) -> tuple[int | None, int | None]:
    """The dossiers just before and after ``dossier_id`` in the query's order (None at an
    end, or both None when the dossier is not among the query's rows)."""
    sql = _Sql(_dialect(), user.id)
    sort_column = columns.get(query.sort.column)
    sort_key = _value(sort_column, sql)
    base = _base(query, user, columns, sql)
    found = db.session.execute(
        base.add_columns(sort_key.label("sort_key")).where(Dossier.id == dossier_id)
    ).first()
    if found is None:
        return None, None
    key = found.sort_key
    result = []
    for direction in (_flipped(query.sort.direction), query.sort.direction):
        statement = (
            base.add_columns(Dossier.id)
            .where(_after(sort_key, sort_column.nullable, direction, key, dossier_id))
            .order_by(*_ordering(sort_key, direction))
            .limit(1)
        )
        result.append(db.session.scalar(statement))
    return result[0], result[1]


# ---------------------------------------------------------------------------------------
# Indexes for large procedures


def index_statement(column: Column) -> str | None:
    """The PostgreSQL index that lets a large procedure's table sort by a form field or an
    annotation without reading the whole tab, and gives the planner statistics on its
    values for filters (performance-notes.md: 300 ms to 0.3 ms): the very expression this
    module compares and sorts, after the procedure, before the number. Stable ids are
    shared by a procedure's clones only, so one index serves them all.

    ``table_indexes.ensure`` creates them, outside a transaction (``CONCURRENTLY``), for
    the fields agents of large procedures use. None for system columns, which have their
    own indexes, and for values compared otherwise (lists).
    """
    if column.spec is None or column.kind in ("choices", "presence"):
        return None
    from sqlalchemy.dialects import postgresql

    expression = _value(column, _Sql("postgresql")).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    sql = str(expression).replace("dossier.", "")
    return (
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index_name(column)}" '
        f"ON dossier (procedure_id, ({sql}), id)"
    )


def index_name(column: Column) -> str:
    """The name of ``index_statement``'s index: ``table_indexes`` owns every name with its
    prefix (it drops those no saved view needs)."""
    return f"ix_table_{column.document}_{column.spec.stable_id}".replace("-", "_")[:63]


# ---------------------------------------------------------------------------------------
# The agent's saved view


def restore(user, procedure_id: int, columns: Catalogue) -> TableQuery:
    """The agent's saved columns, filters, sort and tab for this procedure (what no longer
    exists is dropped), else the defaults."""
    saved = db.session.scalar(
        sa.select(SavedView).where(
            SavedView.user_id == user.id, SavedView.procedure_id == procedure_id
        )
    )
    query = TableQuery(procedure_id)
    if saved is not None:
        try:
            query = TableQuery.from_dict(
                {
                    "procedure_id": procedure_id,
                    "tab": saved.tab,
                    "columns": saved.columns or DEFAULT_COLUMNS,
                    "filters": saved.filters or [],
                    "sort": saved.sort or {},
                }
            )
        except TableQueryError:
            query = TableQuery(procedure_id)
    return validate(query, columns, lenient=True)


def remember(user, query: TableQuery) -> None:
    """Save the query's tab, columns, filters and sort as the agent's view of the
    procedure (not its search or page). Nothing is committed; a concurrent first save by
    the same person is harmless."""
    values = {
        "tab": query.tab,
        "columns": list(query.columns),
        "filters": [item.to_dict() for item in query.filters],
        "sort": query.sort.to_dict(),
    }
    saved = db.session.scalar(
        sa.select(SavedView).where(
            SavedView.user_id == user.id, SavedView.procedure_id == query.procedure_id
        )
    )
    if saved is not None:
        for name, value in values.items():
            if getattr(saved, name) != value:
                setattr(saved, name, value)
        return
    try:
        with db.session.begin_nested():
            db.session.add(SavedView(user_id=user.id, procedure_id=query.procedure_id, **values))
    except IntegrityError:
        pass


def describe_filter(item: Filter, columns: Catalogue) -> str:
    """A filter as a sentence: "Montant demandé (€) is between 100 and 200"."""
    column = columns.get(item.column)
    operator = FILTER_OPERATORS[item.operator]
    value = item.value
    if value is None:
        return f"{column.label} {operator}"
    labels = dict(column.choices or ())
    if isinstance(value, list) and item.operator == "between":
        shown = gettext(
            "%(low)s and %(high)s", low=_shown(column, value[0]), high=_shown(column, value[1])
        )
    elif isinstance(value, list):
        shown = ", ".join(labels.get(v, _shown(column, v)) for v in value)
    else:
        shown = _shown(column, value)
    return f"{column.label} {operator} {shown}"


def _shown(column: Column, value: str) -> str:
    if column.kind in ("date", "timestamp"):
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    if column.kind == "boolean":
        return gettext("Yes") if value == "true" else gettext("No")
    if column.spec is not None and column.kind == "choice":
        return column.text(value)
    return value


__all__ = [
    "DEFAULT_COLUMNS",
    "PAGE_SIZE",
    "TABS",
    "Catalogue",
    "Column",
    "Filter",
    "Page",
    "Row",
    "Sort",
    "TableQuery",
    "TableQueryError",
    "applicant_name",
    "catalogue",
    "compact_tallies",
    "counts_statement",
    "describe_filter",
    "fetch_page",
    "field_catalogue",
    "field_choices",
    "find_number",
    "group_hint",
    "index_name",
    "index_statement",
    "neighbours",
    "page_statement",
    "remember",
    "restore",
    "short_moment",
    "rows_statement",
    "tab_counts",
    "validate",
    "workspace_procedure",
    "workspace_procedures",
    "workspace_scope",
]
