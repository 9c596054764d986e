"""Statistics of the platform, of each administration and of each procedure.

Every figure is aggregated by SQL (GROUP BY a month, a week, a procedure) and the results are
materialised in ``stats_snapshot`` rows (docs/decisions/0009-statistics-snapshot.md): a
Celery beat task refreshes the platform-wide ones every ten minutes, and a page finding its
row missing or stale computes it then. Pages therefore read one row, whatever the number of
dossiers.

Definitions, the same on every screen:

- Test dossiers never count: ``is_test`` dossiers, and what is left of dossiers made while a
  procedure was in test mode (before its first publication: tombstones of deleted test
  drafts, satisfaction answers whose test dossier was wiped).
- Deleted dossiers still count through their tombstone (number, state and dates), so that
  the history does not shrink when retention periods run out.
- Filed: submitted at least once (``submitted_at``), counted in the month of submission.
  Decided: accepted, refused or closed without action (``decided_at``), counted in the month
  of decision; a reopened dossier is not decided until it is decided again.
- Processing time: from submission to decision, in whole seconds (each timestamp truncated
  to its second, so PostgreSQL and SQLite agree to the unit). Median and 90th percentile
  are ``percentile_cont`` (linear interpolation) on PostgreSQL and the same formula in
  Python over an ordered SQL column on SQLite: both give the same numbers.
- Months and weeks are UTC calendar months and ISO weeks (Monday), named ``YYYY-MM`` and
  by their Monday ``YYYY-MM-DD``. Series cover the last ``MONTHS_SHOWN`` months (or
  ``WEEKS_SHOWN`` weeks) up to the current one, from the first with any dossier, with zeros
  for months without any; headline medians and rates cover the same months.
- Satisfaction rate: the share of "satisfied" among the answers to the three-level
  question (answers counted in the month they were given).
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import (
    DECIDED_STATES,
    Administration,
    AdministrationKind,
    Dossier,
    DossierState,
    DossierTombstone,
    InstructorGroup,
    Procedure,
    ProcedureState,
    SatisfactionAnswer,
    SatisfactionLevel,
    StatsSnapshot,
    SupportRequest,
    instructor_group_member,
    utcnow,
)

log = logging.getLogger(__name__)

PUBLIC_KEY = "public"
PLATFORM_KEY = "platform"
PROCEDURE_KEY_PREFIX = "procedure:"

MONTHS_SHOWN = 12
WEEKS_SHOWN = 26
GROWTH_MONTHS_SHOWN = 24
TOP_PROCEDURES = 20
RECENT = timedelta(days=30)
"""Window of "most active procedures": dossiers filed in the last 30 days."""

REFRESH_EVERY = timedelta(minutes=10)
"""Period of the beat task that refreshes the public and platform snapshots."""
STALE_AFTER = timedelta(minutes=15)
"""A platform-wide snapshot older than this is recomputed by the page that reads it (the
beat task is late or not running, as in the embedded default without a Celery beat)."""
PROCEDURE_STALE_AFTER = timedelta(minutes=10)
"""A procedure's snapshot is only computed on demand: this is how old it may get."""
FORGOTTEN_AFTER = timedelta(days=1)
"""Procedure snapshots nobody read for this long are deleted by the beat task."""

SORT_MEMORY = "64MB"
"""PostgreSQL ``work_mem`` while computing a snapshot: the 90th percentile of a year of a
million dossiers sorts about 30 MB of durations, which would otherwise spill to disk."""

_LOCK_NAMESPACE = 0x5354  # "ST": first key of PostgreSQL advisory locks on snapshots

KIND_GROUPS: dict[AdministrationKind, str] = {
    AdministrationKind.ministry: "ministries",
    AdministrationKind.deconcentrated_service: "ministries",
    AdministrationKind.local_authority: "local_authorities",
    AdministrationKind.public_establishment: "public_establishments",
    AdministrationKind.other: "other",
}
"""Kinds of administration as the public statistics group them: a ministry with its
deconcentrated (local) services, local authorities, public establishments, others."""
KIND_GROUP_ORDER = ("ministries", "local_authorities", "public_establishments", "other")

DAY = 86_400
DURATION_EDGES = (1 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY, 90 * DAY)
"""Upper bounds (excluded) of the processing-time buckets, in seconds; a last bucket holds
everything from 90 days on."""
DURATION_BUCKETS = ("0-1", "1-7", "7-14", "14-30", "30-60", "60-90", "90+")
"""Bucket keys, in days."""

DECISION_ORDER = (
    DossierState.accepted,
    DossierState.refused,
    DossierState.closed_without_action,
)


# ---------------------------------------------------------------------------------------
# Calendar helpers (UTC)


def month_key(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m}"


def shift_month(key: str, months: int) -> str:
    """``"2025-01"`` shifted by ``months`` (negative goes back)."""
    year, month = (int(part) for part in key.split("-"))
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    keys = []
    key = first
    while key <= last:
        keys.append(key)
        key = shift_month(key, 1)
    return keys


def month_start(key: str) -> datetime:
    year, month = (int(part) for part in key.split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week of ``moment``."""
    day = moment.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def week_key(moment: datetime) -> str:
    return f"{week_start(moment):%Y-%m-%d}"


# ---------------------------------------------------------------------------------------
# Dialect-aware SQL expressions. Constants are literal SQL, not bound parameters: with
# server-side binding (psycopg 3) two binds of one format would make the GROUP BY
# expression differ from the selected one.


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _utc(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.timezone(sa.literal_column("'UTC'"), column)


def month_of(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """The UTC month of a timestamp column, as ``YYYY-MM`` text."""
    if _is_postgresql():
        return sa.func.to_char(_utc(column), sa.literal_column("'YYYY-MM'"))
    return sa.func.strftime(sa.literal_column("'%Y-%m'"), column)


def week_of(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """The Monday (UTC) of a timestamp column's ISO week, as ``YYYY-MM-DD`` text."""
    if _is_postgresql():
        monday = sa.func.date_trunc(sa.literal_column("'week'"), _utc(column))
        return sa.func.to_char(monday, sa.literal_column("'YYYY-MM-DD'"))
    return sa.func.date(column, sa.literal_column("'-6 days'"), sa.literal_column("'weekday 1'"))


def seconds_between(
    start: sa.ColumnElement[Any], end: sa.ColumnElement[Any]
) -> sa.ColumnElement[int]:
    """Whole seconds from ``start`` to ``end``, each truncated to its second."""
    if _is_postgresql():
        return sa.cast(
            sa.func.floor(sa.extract("epoch", end)) - sa.func.floor(sa.extract("epoch", start)),
            sa.BigInteger,
        )
    epoch = sa.literal_column("'%s'")
    return sa.cast(sa.func.strftime(epoch, end), sa.Integer) - sa.cast(
        sa.func.strftime(epoch, start), sa.Integer
    )


def duration_bucket(seconds: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """Index in ``DURATION_BUCKETS`` of a processing time."""
    return sa.case(
        *(
            (seconds < sa.literal_column(str(edge)), sa.literal_column(str(index)))
            for index, edge in enumerate(DURATION_EDGES)
        ),
        else_=sa.literal_column(str(len(DURATION_EDGES))),
    )


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont`` over ascending values: linear interpolation between
    the two rows around ``fraction × (n − 1)``, in the same floating-point operations (the
    result is the same to the last bit)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    low = float(ordered[lower])
    if lower == upper:
        return low
    return low + (position - lower) * (float(ordered[upper]) - low)


TOTAL = "*"
"""Key of the figures over every group, when ``percentiles`` is asked for them."""


def percentiles(
    seconds: sa.ColumnElement[int],
    where: Iterable[sa.ColumnElement[bool]],
    select_from: sa.FromClause,
    group: sa.ColumnElement[Any] | None = None,
    total: bool = False,
) -> dict[Any, dict[str, Any]]:
    """``{group: {"count", "median_seconds", "p90_seconds"}}``, plus ``TOTAL`` over all
    groups when ``total`` (the only key when ``group`` is None); groups without rows are
    left out. ``percentile_cont`` on PostgreSQL (the total in the same pass, by grouping
    sets), an ordered column read in batches and interpolated in Python elsewhere."""
    where = list(where)
    if _is_postgresql():
        as_float = sa.cast(seconds, sa.Float)
        measures = [
            sa.func.count(),
            sa.func.percentile_cont(sa.literal_column("0.5")).within_group(as_float),
            sa.func.percentile_cont(sa.literal_column("0.9")).within_group(as_float),
        ]
        if group is None:
            statement = sa.select(sa.literal_column("NULL"), sa.false(), *measures)
        else:
            statement = sa.select(group, sa.func.grouping(group) == 1, *measures)
            statement = statement.group_by(
                sa.func.grouping_sets(group, sa.tuple_()) if total else group
            )
        rows = db.session.execute(statement.select_from(select_from).where(*where))
        return {
            TOTAL if is_total or group is None else key: {
                "count": count,
                "median_seconds": median,
                "p90_seconds": p90,
            }
            for key, is_total, count, median, p90 in rows
            if count
        }
    key = group if group is not None else sa.literal_column("NULL")
    statement = (
        sa.select(key.label("g"), seconds.label("s"))
        .select_from(select_from)
        .where(*where)
        .order_by(sa.literal_column("g"), sa.literal_column("s"))
        .execution_options(yield_per=10_000)
    )
    values: dict[Any, list[int]] = defaultdict(list)
    for key_value, value in db.session.execute(statement):
        values[TOTAL if group is None else key_value].append(value)
    if total and group is not None and values:
        values[TOTAL] = list(heapq.merge(*values.values()))
    return {
        key_value: {
            "count": len(ordered),
            "median_seconds": percentile_cont(ordered, 0.5),
            "p90_seconds": percentile_cont(ordered, 0.9),
        }
        for key_value, ordered in values.items()
    }


# ---------------------------------------------------------------------------------------
# What counts


def dossier_facts() -> sa.Subquery:
    """Procedure, state and dates of every non-test dossier, live or deleted (tombstones
    of dossiers made before the procedure's first publication were test dossiers)."""
    live = sa.select(
        Dossier.procedure_id.label("procedure_id"),
        Dossier.state.label("state"),
        Dossier.created_at.label("created_at"),
        Dossier.submitted_at.label("submitted_at"),
        Dossier.decided_at.label("decided_at"),
    ).where(Dossier.is_test == sa.false())
    deleted = (
        sa.select(
            DossierTombstone.procedure_id,
            DossierTombstone.state,
            DossierTombstone.created_at,
            DossierTombstone.submitted_at,
            DossierTombstone.decided_at,
        )
        .join(Procedure, Procedure.id == DossierTombstone.procedure_id)
        .where(
            Procedure.published_at.is_not(None),
            DossierTombstone.created_at >= Procedure.published_at,
        )
    )
    return sa.union_all(live, deleted).subquery("facts")


def _decided(facts: sa.Subquery) -> sa.ColumnElement[bool]:
    return sa.and_(facts.c.decided_at.is_not(None), facts.c.state.in_(DECIDED_STATES))


def _decision_counts(facts: sa.Subquery) -> list[sa.ColumnElement[int]]:
    return [
        sa.func.count().filter(facts.c.state == state, facts.c.decided_at.is_not(None))
        for state in DECISION_ORDER
    ]


def _split(counts: Sequence[int]) -> dict[str, int]:
    return {
        state.value: int(count or 0) for state, count in zip(DECISION_ORDER, counts, strict=True)
    }


def counted_satisfaction() -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """The answers that count: of a real dossier, or orphaned (their dossier deleted) but
    given after the procedure's first publication, when test dossiers no longer exist."""
    answers = sa.outerjoin(
        SatisfactionAnswer, Dossier, Dossier.id == SatisfactionAnswer.dossier_id
    ).join(Procedure, Procedure.id == SatisfactionAnswer.procedure_id)
    counted = sa.or_(
        sa.and_(SatisfactionAnswer.dossier_id.is_not(None), Dossier.is_test == sa.false()),
        sa.and_(
            SatisfactionAnswer.dossier_id.is_(None),
            Procedure.published_at.is_not(None),
            SatisfactionAnswer.created_at >= Procedure.published_at,
        ),
    )
    return answers, counted


def _satisfied() -> sa.ColumnElement[int]:
    return sa.func.count().filter(SatisfactionAnswer.level == SatisfactionLevel.satisfied)


def satisfaction_entry(answers: int, satisfied: int) -> dict[str, Any]:
    return {
        "answers": answers,
        "satisfied": satisfied,
        "rate": satisfied / answers if answers else None,
    }


def _timing(entry: dict[str, Any] | None) -> dict[str, Any]:
    entry = entry or {}
    return {
        "count": entry.get("count", 0),
        "median_seconds": entry.get("median_seconds"),
        "p90_seconds": entry.get("p90_seconds"),
    }


def _active_procedures() -> sa.Select:
    return (
        sa.select(Procedure.id)
        .join(Administration, Administration.id == Procedure.administration_id)
        .where(Procedure.state == ProcedureState.published, Administration.disabled_at.is_(None))
    )


# ---------------------------------------------------------------------------------------
# The public figures


def public_figures(now: datetime | None = None) -> dict[str, Any]:
    """Everything ``/stats`` shows (see the module's docstring for the definitions)."""
    now = now or utcnow()
    facts = dossier_facts()

    filed_by_month = dict(
        db.session.execute(
            sa.select(month_of(facts.c.submitted_at), sa.func.count())
            .where(facts.c.submitted_at.is_not(None))
            .group_by(month_of(facts.c.submitted_at))
        ).all()
    )
    decided_by_month: dict[str, list[int]] = {
        month: [int(count) for count in counts]
        for month, *counts in db.session.execute(
            sa.select(month_of(facts.c.decided_at), *_decision_counts(facts))
            .where(_decided(facts))
            .group_by(month_of(facts.c.decided_at))
        )
    }
    months = _months_shown(now, filed_by_month, MONTHS_SHOWN)
    since = month_start(months[0])

    timing_by_month = percentiles(
        seconds_between(facts.c.submitted_at, facts.c.decided_at),
        [_decided(facts), facts.c.decided_at >= since],
        facts,
        group=month_of(facts.c.decided_at),
        total=True,
    )

    answers, counted = counted_satisfaction()
    satisfaction_by_month = {
        month: satisfaction_entry(total, satisfied)
        for month, total, satisfied in db.session.execute(
            sa.select(month_of(SatisfactionAnswer.created_at), sa.func.count(), _satisfied())
            .select_from(answers)
            .where(counted, SatisfactionAnswer.created_at >= since)
            .group_by(month_of(SatisfactionAnswer.created_at))
        )
    }

    by_kind = dict.fromkeys(KIND_GROUP_ORDER, 0)
    for kind, count in db.session.execute(
        sa.select(Administration.kind, sa.func.count())
        .join(Procedure, Procedure.administration_id == Administration.id)
        .where(Procedure.id.in_(_active_procedures()))
        .group_by(Administration.kind)
    ):
        by_kind[KIND_GROUPS[kind]] += count

    per_month = []
    for month in months:
        decided = decided_by_month.get(month, [0, 0, 0])
        per_month.append(
            {
                "month": month,
                "filed": int(filed_by_month.get(month, 0)),
                "decided": sum(decided),
                **_timing(timing_by_month.get(month)),
                "satisfaction": satisfaction_by_month.get(month, satisfaction_entry(0, 0)),
            }
        )
    decision_totals = [sum(counts[i] for counts in decided_by_month.values()) for i in range(3)]
    satisfaction_total = [
        sum(entry[name] for entry in satisfaction_by_month.values())
        for name in ("answers", "satisfied")
    ]
    return {
        "now": now.isoformat(),
        "since": months[0],
        "months": months,
        "active_procedures": _count(_active_procedures().subquery()),
        "administrations": _count(
            sa.select(Administration.id).where(Administration.disabled_at.is_(None)).subquery()
        ),
        "agents": agent_count(),
        "filed": int(sum(filed_by_month.values())),
        "decided": sum(decision_totals),
        "decisions": _split(decision_totals),
        "processing": _timing(timing_by_month.get(TOTAL)),
        "satisfaction": satisfaction_entry(*satisfaction_total),
        "per_month": per_month,
        "procedures_by_kind": by_kind,
        "support": support_figures(since),
    }


def _count(subquery: sa.Subquery) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(subquery)) or 0)


def _months_shown(now: datetime, first_data: Iterable[str], count: int) -> list[str]:
    """The last ``count`` months up to ``now``'s, starting no earlier than the first month
    that has data (a young platform shows no run of empty months)."""
    last = month_key(now)
    first = shift_month(last, -(count - 1))
    earliest = min((month for month in first_data if month), default=last)
    return month_range(max(first, min(earliest, last)), last)


def agent_count() -> int:
    """Active accounts that belong to at least one instructor group of a procedure of an
    administration that is not disabled."""
    members = (
        sa.select(instructor_group_member.c.user_id)
        .join(InstructorGroup, InstructorGroup.id == instructor_group_member.c.group_id)
        .join(Procedure, Procedure.id == InstructorGroup.procedure_id)
        .join(Administration, Administration.id == Procedure.administration_id)
        .join(User, User.id == instructor_group_member.c.user_id)
        .where(Administration.disabled_at.is_(None), User.active == sa.true())
        .distinct()
    )
    return _count(members.subquery())


def support_figures(since: datetime) -> dict[str, Any]:
    """Median time from a support request to its first answer, over the requests made
    since ``since`` that were answered; and how many of them there are."""
    timing = percentiles(
        seconds_between(SupportRequest.created_at, SupportRequest.first_answered_at),
        [
            SupportRequest.first_answered_at.is_not(None),
            SupportRequest.created_at >= since,
        ],
        SupportRequest.__table__,
    ).get(TOTAL)
    return {
        "answered": timing["count"] if timing else 0,
        "median_first_answer_seconds": timing["median_seconds"] if timing else None,
    }


# ---------------------------------------------------------------------------------------
# The platform admin's figures


def platform_figures(now: datetime | None = None) -> dict[str, Any]:
    """Per administration: the public figures; the most active procedures; growth."""
    now = now or utcnow()
    facts = dossier_facts()
    recent_since = now - RECENT

    procedures = {
        row.id: row
        for row in db.session.execute(
            sa.select(
                Procedure.id,
                Procedure.title,
                Procedure.state,
                Procedure.administration_id,
                Procedure.published_at,
            )
        )
    }
    per_procedure = {
        procedure_id: (int(filed), int(recent), [int(c) for c in counts])
        for procedure_id, filed, recent, *counts in db.session.execute(
            sa.select(
                facts.c.procedure_id,
                sa.func.count(facts.c.submitted_at),
                sa.func.count().filter(facts.c.submitted_at >= recent_since),
                *_decision_counts(facts),
            ).group_by(facts.c.procedure_id)
        )
    }
    filed_by_month = dict(
        db.session.execute(
            sa.select(month_of(facts.c.submitted_at), sa.func.count())
            .where(facts.c.submitted_at.is_not(None))
            .group_by(month_of(facts.c.submitted_at))
        ).all()
    )
    since = month_start(_months_shown(now, filed_by_month, MONTHS_SHOWN)[0])
    timing = percentiles(
        seconds_between(facts.c.submitted_at, facts.c.decided_at),
        [_decided(facts), facts.c.decided_at >= since],
        facts.join(Procedure, Procedure.id == facts.c.procedure_id),
        group=Procedure.administration_id,
    )
    answers, counted = counted_satisfaction()
    satisfaction = {
        administration_id: satisfaction_entry(total, satisfied)
        for administration_id, total, satisfied in db.session.execute(
            sa.select(Procedure.administration_id, sa.func.count(), _satisfied())
            .select_from(answers)
            .where(counted, SatisfactionAnswer.created_at >= since)
            .group_by(Procedure.administration_id)
        )
    }
    agents = dict(
        db.session.execute(
            sa.select(
                Procedure.administration_id,
                sa.func.count(sa.distinct(instructor_group_member.c.user_id)),
            )
            .select_from(instructor_group_member)
            .join(InstructorGroup, InstructorGroup.id == instructor_group_member.c.group_id)
            .join(Procedure, Procedure.id == InstructorGroup.procedure_id)
            .join(User, User.id == instructor_group_member.c.user_id)
            .where(User.active == sa.true())
            .group_by(Procedure.administration_id)
        ).all()
    )

    rows: dict[int, dict[str, Any]] = {}
    for administration in db.session.execute(
        sa.select(Administration.id, Administration.name, Administration.kind).where(
            Administration.id.in_(sa.select(Procedure.administration_id))
        )
    ):
        rows[administration.id] = {
            "id": administration.id,
            "name": administration.name,
            "kind": administration.kind.value,
            "procedures": 0,
            "active_procedures": 0,
            "agents": int(agents.get(administration.id, 0)),
            "filed": 0,
            "decided": 0,
            "decisions": _split([0, 0, 0]),
            "processing": _timing(timing.get(administration.id)),
            "satisfaction": satisfaction.get(administration.id, satisfaction_entry(0, 0)),
        }
    active = set(db.session.scalars(_active_procedures()))
    for procedure in procedures.values():
        row = rows[procedure.administration_id]
        row["procedures"] += 1
        row["active_procedures"] += int(procedure.id in active)
        filed, _recent, counts = per_procedure.get(procedure.id, (0, 0, [0, 0, 0]))
        row["filed"] += filed
        row["decided"] += sum(counts)
        for state, count in zip(DECISION_ORDER, counts, strict=True):
            row["decisions"][state.value] += count

    names = {row["id"]: row["name"] for row in rows.values()}
    ranked = sorted(
        (
            (recent, filed, -procedure_id)
            for procedure_id, (filed, recent, _counts) in per_procedure.items()
            if procedure_id in procedures
        ),
        reverse=True,
    )[:TOP_PROCEDURES]
    top = []
    for recent, filed, negative_id in ranked:
        procedure = procedures[-negative_id]
        top.append(
            {
                "id": procedure.id,
                "title": procedure.title,
                "administration": names[procedure.administration_id],
                "state": procedure.state.value,
                "filed_recently": recent,
                "filed": filed,
                "decided": sum(per_procedure[procedure.id][2]),
            }
        )

    return {
        "now": now.isoformat(),
        "since": month_key(since),
        "administrations": sorted(rows.values(), key=lambda row: (-row["filed"], row["name"])),
        "administrations_without_procedure": _count(
            sa.select(Administration.id)
            .where(~Administration.id.in_(sa.select(Procedure.administration_id)))
            .subquery()
        ),
        "top_procedures": top,
        "recent_days": RECENT.days,
        "growth": growth(now, filed_by_month, procedures.values()),
    }


def growth(
    now: datetime, filed_by_month: dict[str, int], procedures: Iterable[Any]
) -> list[dict[str, Any]]:
    """Per month: administrations that joined, procedures first published, dossiers filed,
    and the running totals of each, over the last ``GROWTH_MONTHS_SHOWN`` months."""
    joined = dict(
        db.session.execute(
            sa.select(month_of(Administration.created_at), sa.func.count()).group_by(
                month_of(Administration.created_at)
            )
        ).all()
    )
    published: dict[str, int] = defaultdict(int)
    for procedure in procedures:
        if procedure.published_at is not None:
            published[month_key(procedure.published_at)] += 1
    series = {"administrations": joined, "procedures": published, "filed": filed_by_month}
    last = month_key(now)
    first = min((min(values, default=last) for values in series.values()), default=last)
    months = month_range(min(first, last), last)
    totals = dict.fromkeys(series, 0)
    rows = []
    for month in months:
        row: dict[str, Any] = {"month": month}
        for name, values in series.items():
            added = int(values.get(month, 0))
            totals[name] += added
            row[name] = added
            row[f"total_{name}"] = totals[name]
        rows.append(row)
    return rows[-GROWTH_MONTHS_SHOWN:]


# ---------------------------------------------------------------------------------------
# One procedure's figures


def procedure_figures(procedure_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Funnel, decisions, processing times, decisions per week and satisfaction of one
    procedure, over all its (non-test) dossiers; the weekly series covers the last
    ``WEEKS_SHOWN`` weeks."""
    now = now or utcnow()
    facts = dossier_facts()
    of_procedure = facts.c.procedure_id == procedure_id
    started, submitted, first_submitted, *counts = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(facts.c.submitted_at),
            sa.func.min(facts.c.submitted_at),
            *_decision_counts(facts),
        ).where(of_procedure)
    ).one()
    seconds = seconds_between(facts.c.submitted_at, facts.c.decided_at)
    buckets = dict(
        db.session.execute(
            sa.select(duration_bucket(seconds), sa.func.count())
            .where(of_procedure, _decided(facts))
            .group_by(duration_bucket(seconds))
        ).all()
    )
    timing = percentiles(seconds, [of_procedure, _decided(facts)], facts).get(TOTAL)

    last_week = week_start(now)
    first_week = last_week - timedelta(weeks=WEEKS_SHOWN - 1)
    if first_submitted is None:
        first_week = last_week  # nothing filed yet: no run of empty weeks
    else:
        first_week = min(max(first_week, week_start(first_submitted)), last_week)
    decided_by_week = dict(
        db.session.execute(
            sa.select(week_of(facts.c.decided_at), sa.func.count())
            .where(of_procedure, _decided(facts), facts.c.decided_at >= first_week)
            .group_by(week_of(facts.c.decided_at))
        ).all()
    )
    weeks = []
    week = first_week
    while week <= last_week:
        key = f"{week:%Y-%m-%d}"
        weeks.append({"week": key, "decided": int(decided_by_week.get(key, 0))})
        week += timedelta(weeks=1)

    answers, counted = counted_satisfaction()
    levels = dict.fromkeys((level.value for level in SatisfactionLevel), 0)
    for level, count in db.session.execute(
        sa.select(SatisfactionAnswer.level, sa.func.count())
        .select_from(answers)
        .where(counted, SatisfactionAnswer.procedure_id == procedure_id)
        .group_by(SatisfactionAnswer.level)
    ):
        levels[level.value] = count
    return {
        "now": now.isoformat(),
        "procedure_id": procedure_id,
        "funnel": {
            "started": int(started),
            "submitted": int(submitted),
            "decided": sum(int(count) for count in counts),
        },
        "decisions": _split(counts),
        "processing": _timing(timing),
        "durations": [
            {"bucket": key, "count": int(buckets.get(index, 0))}
            for index, key in enumerate(DURATION_BUCKETS)
        ],
        "weeks": weeks,
        "satisfaction": {
            **satisfaction_entry(sum(levels.values()), levels[SatisfactionLevel.satisfied.value]),
            "levels": levels,
        },
    }


# ---------------------------------------------------------------------------------------
# Snapshots


def _setting(name: str, default: timedelta) -> timedelta:
    seconds = current_app.config.get(name)
    return timedelta(seconds=float(seconds)) if seconds is not None else default


def procedure_key(procedure_id: int) -> str:
    return f"{PROCEDURE_KEY_PREFIX}{procedure_id}"


def public_snapshot() -> StatsSnapshot:
    """The public figures, at most ``STATS_STALE_AFTER_SECONDS`` old."""
    return read(PUBLIC_KEY, public_figures, _setting("STATS_STALE_AFTER_SECONDS", STALE_AFTER))


def platform_snapshot() -> StatsSnapshot:
    return read(PLATFORM_KEY, platform_figures, _setting("STATS_STALE_AFTER_SECONDS", STALE_AFTER))


def procedure_snapshot(procedure_id: int) -> StatsSnapshot:
    return read(
        procedure_key(procedure_id),
        lambda now: procedure_figures(procedure_id, now),
        _setting("STATS_PROCEDURE_STALE_AFTER_SECONDS", PROCEDURE_STALE_AFTER),
    )


def read(
    key: str,
    compute: Callable[[datetime], dict[str, Any]],
    max_age: timedelta,
    now: datetime | None = None,
) -> StatsSnapshot:
    """The snapshot ``key``; computed now when it is missing or older than ``max_age``.

    On PostgreSQL, one process computes while the others keep serving the stale row (or,
    when there is none yet, wait for the first one rather than compute it again).
    """
    now = now or utcnow()
    row = db.session.get(StatsSnapshot, key)
    if row is not None and now - row.computed_at <= max_age:
        return row
    return refresh(key, compute, now, stale=row)


def refresh(
    key: str,
    compute: Callable[[datetime], dict[str, Any]],
    now: datetime | None = None,
    stale: StatsSnapshot | None = None,
) -> StatsSnapshot:
    """Compute the figures of ``key``, store them and commit."""
    now = now or utcnow()
    postgresql_ = _is_postgresql()
    if postgresql_:
        lock_args = (sa.literal_column(str(_LOCK_NAMESPACE)), sa.func.hashtext(key))
        if not db.session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(*lock_args))):
            if stale is not None:
                return stale  # another process is computing it
            db.session.scalar(sa.select(sa.func.pg_advisory_xact_lock(*lock_args)))
            done = db.session.get(StatsSnapshot, key, populate_existing=True)
            if done is not None:
                db.session.commit()  # releases the lock
                return done
    if postgresql_:
        # Room to sort a percentile's durations in memory, for this transaction only.
        db.session.execute(sa.text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    started = time.perf_counter()
    payload = compute(now)
    values = {
        "key": key,
        "computed_at": now,
        "duration_ms": round((time.perf_counter() - started) * 1000),
        "payload": payload,
    }
    insert = (postgresql if postgresql_ else sqlite).insert(StatsSnapshot)
    db.session.execute(
        insert.values(**values).on_conflict_do_update(
            index_elements=[StatsSnapshot.key],
            set_={name: values[name] for name in ("computed_at", "duration_ms", "payload")},
        )
    )
    db.session.commit()
    log.info("Statistics %s computed in %d ms", key, values["duration_ms"])
    return db.session.get(StatsSnapshot, key, populate_existing=True)


def refresh_platform(now: datetime | None = None) -> dict[str, int]:
    """What the beat task does: recompute the public and platform snapshots, and forget
    the procedure snapshots nobody read lately. Returns each computation's duration."""
    now = now or utcnow()
    durations = {}
    for key, compute in ((PUBLIC_KEY, public_figures), (PLATFORM_KEY, platform_figures)):
        durations[key] = refresh(key, compute, now).duration_ms
    db.session.execute(
        sa.delete(StatsSnapshot).where(
            StatsSnapshot.key.startswith(PROCEDURE_KEY_PREFIX, autoescape=True),
            StatsSnapshot.computed_at < now - FORGOTTEN_AFTER,
        )
    )
    db.session.commit()
    return durations
