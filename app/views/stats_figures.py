"""From a statistics snapshot's payload to what a page shows: numbers formatted in the
reader's language, SVG charts and the data table that follows each chart.

A ``Figure`` is a chart with its text alternative: the table's caption is the chart's
title and its rows hold every value drawn. The same figures serve the public portal (USWDS)
and the back office (Bootstrap): only the templates' classes differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel import Locale
from flask_babel import (
    format_date,
    format_decimal,
    format_number,
    format_percent,
    get_locale,
    ngettext,
)
from flask_babel import gettext as _
from markupsafe import Markup

from ..models import AdministrationKind, DossierState, SatisfactionLevel
from ..services.stats import DAY, DURATION_BUCKETS, KIND_GROUP_ORDER
from ..workflow import state_label
from . import charts

NO_VALUE = "–"


# ---------------------------------------------------------------------------------------
# Numbers and dates in the reader's language


def number(value: float | None) -> str:
    """A count: "1 234" in French, "1,234" in English."""
    return NO_VALUE if value is None else format_number(value)


def days_value(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / DAY


def days(seconds: float | None) -> str:
    """A duration in days with one decimal: "12,5 jours", "12.5 days"."""
    if seconds is None:
        return NO_VALUE
    value = round(seconds / DAY, 1)
    shown = format_decimal(value, format="#,##0.0")
    return ngettext("%(days)s day", "%(days)s days", 1 if value == 1 else 2, days=shown)


def day_ticks(value: float) -> str:
    """A tick of a days axis: no unit (the axis title says it)."""
    return format_decimal(value, format="#,##0.#")


def percent(rate: float | None) -> str:
    """A share with one decimal in the locale's own pattern: "12,5 %", "12.5%"."""
    if rate is None:
        return NO_VALUE
    pattern = Locale.parse(str(get_locale() or "fr")).percent_formats[None].pattern
    return format_percent(rate, format=pattern.replace("#,##0", "#,##0.0", 1))


def share(part: int, whole: int) -> str:
    return percent(part / whole if whole else None)


def _month_date(key: str) -> date:
    year, month = (int(part) for part in key.split("-"))
    return date(year, month, 1)


def month_label(key: str) -> str:
    """ "janvier 2025" / "January 2025"."""
    return format_date(_month_date(key), "LLLL yyyy")


def month_tick(key: str) -> str:
    """ "janv. 25" / "Jan 25": short enough for twelve under a chart."""
    return format_date(_month_date(key), "LLL yy")


def week_label(key: str) -> str:
    """The Monday that starts the week: "6 janv. 2025"."""
    return format_date(date.fromisoformat(key), "d MMM yyyy")


def week_tick(key: str) -> str:
    return format_date(date.fromisoformat(key), "d MMM")


# ---------------------------------------------------------------------------------------
# Labels


def decision_labels() -> dict[str, str]:
    return {
        state.value: state_label(state)
        for state in (
            DossierState.accepted,
            DossierState.refused,
            DossierState.closed_without_action,
        )
    }


def kind_group_labels() -> dict[str, str]:
    return {
        "ministries": _("Ministries and their local services"),
        "local_authorities": _("Local authorities"),
        "public_establishments": _("Public establishments"),
        "other": _("Other public bodies"),
    }


def kind_labels() -> dict[str, str]:
    return {
        AdministrationKind.ministry.value: _("Ministry"),
        AdministrationKind.deconcentrated_service.value: _("Local service of a ministry"),
        AdministrationKind.local_authority.value: _("Local authority"),
        AdministrationKind.public_establishment.value: _("Public establishment"),
        AdministrationKind.other.value: _("Other public body"),
    }


def duration_labels() -> dict[str, str]:
    return {
        "0-1": _("Less than 1 day"),
        "1-7": _("1 to 7 days"),
        "7-14": _("7 to 14 days"),
        "14-30": _("14 to 30 days"),
        "30-60": _("30 to 60 days"),
        "60-90": _("60 to 90 days"),
        "90+": _("90 days or more"),
    }


def satisfaction_labels() -> dict[str, str]:
    return {
        SatisfactionLevel.satisfied.value: _("Satisfied"),
        SatisfactionLevel.neutral.value: _("Neither satisfied nor dissatisfied"),
        SatisfactionLevel.dissatisfied.value: _("Dissatisfied"),
    }


# ---------------------------------------------------------------------------------------
# Figures: a chart and its table


@dataclass
class Figure:
    """A chart (``svg``) followed by its data table (``headers`` and ``rows`` of text, the
    first cell of a row being its header)."""

    id: str
    title: str
    svg: Markup
    headers: list[str]
    rows: list[list[str]]


def _description(first: str, last: str) -> str:
    return _(
        "From %(first)s to %(last)s. The table that follows the chart gives every value.",
        first=first,
        last=last,
    )


def _table_only() -> str:
    return _("The table that follows the chart gives every value.")


def filed_and_decided(figure_id: str, per_month: Sequence[dict[str, Any]]) -> Figure:
    months = [row["month"] for row in per_month]
    title = _("Dossiers filed and decided per month")
    svg = charts.bar_chart(
        figure_id,
        title,
        _description(month_label(months[0]), month_label(months[-1])),
        [month_tick(month) for month in months],
        [
            charts.Series(_("Dossiers filed"), [row["filed"] for row in per_month]),
            charts.Series(_("Dossiers decided"), [row["decided"] for row in per_month]),
        ],
        x_label=_("Month"),
        y_label=_("Dossiers"),
        value_format=number,
    )
    rows = [
        [month_label(row["month"]), number(row["filed"]), number(row["decided"])]
        for row in per_month
    ]
    headers = [_("Month"), _("Dossiers filed"), _("Dossiers decided")]
    return Figure(figure_id, title, svg, headers, rows)


def decisions(figure_id: str, split: dict[str, int]) -> Figure:
    labels = decision_labels()
    total = sum(split.values())
    title = _("Decisions")
    svg = charts.horizontal_bar_chart(
        figure_id,
        title,
        _table_only(),
        list(labels.values()),
        [split[key] for key in labels],
        value_format=number,
    )
    rows = [[labels[key], number(split[key]), share(split[key], total)] for key in labels]
    rows.append([_("Total"), number(total), share(total, total)])
    return Figure(figure_id, title, svg, [_("Decision"), _("Dossiers"), _("Share")], rows)


def processing_per_month(figure_id: str, per_month: Sequence[dict[str, Any]]) -> Figure:
    months = [row["month"] for row in per_month]
    title = _("Processing time per month, from submission to decision")
    svg = charts.line_chart(
        figure_id,
        title,
        _description(month_label(months[0]), month_label(months[-1])),
        [month_tick(month) for month in months],
        [
            charts.Series(_("Median"), [days_value(row["median_seconds"]) for row in per_month]),
            charts.Series(
                _("90th percentile"), [days_value(row["p90_seconds"]) for row in per_month]
            ),
        ],
        x_label=_("Month of decision"),
        y_label=_("Days"),
        value_format=day_ticks,
        integer=False,
    )
    rows = [
        [
            month_label(row["month"]),
            number(row["count"]),
            days(row["median_seconds"]),
            days(row["p90_seconds"]),
        ]
        for row in per_month
    ]
    headers = [_("Month of decision"), _("Dossiers decided"), _("Median"), _("90th percentile")]
    return Figure(figure_id, title, svg, headers, rows)


def satisfaction_per_month(figure_id: str, per_month: Sequence[dict[str, Any]]) -> Figure:
    months = [row["month"] for row in per_month]
    title = _("Satisfaction of applicants per month")
    svg = charts.line_chart(
        figure_id,
        title,
        _description(month_label(months[0]), month_label(months[-1])),
        [month_tick(month) for month in months],
        [charts.Series(_("Satisfied"), [row["satisfaction"]["rate"] for row in per_month])],
        x_label=_("Month"),
        y_label=_("Share of “satisfied” answers"),
        value_format=lambda value: format_percent(value),
        integer=False,
        top_value=1.0,
    )
    rows = [
        [
            month_label(row["month"]),
            number(row["satisfaction"]["answers"]),
            number(row["satisfaction"]["satisfied"]),
            percent(row["satisfaction"]["rate"]),
        ]
        for row in per_month
    ]
    headers = [_("Month"), _("Answers"), _("Satisfied"), _("Satisfaction rate")]
    return Figure(figure_id, title, svg, headers, rows)


def procedures_by_kind(figure_id: str, by_kind: dict[str, int]) -> Figure:
    labels = kind_group_labels()
    total = sum(by_kind.values())
    title = _("Active procedures by kind of administration")
    svg = charts.horizontal_bar_chart(
        figure_id,
        title,
        _table_only(),
        [labels[key] for key in KIND_GROUP_ORDER],
        [by_kind[key] for key in KIND_GROUP_ORDER],
        value_format=number,
    )
    rows = [
        [labels[key], number(by_kind[key]), share(by_kind[key], total)] for key in KIND_GROUP_ORDER
    ]
    headers = [_("Kind of administration"), _("Active procedures"), _("Share")]
    return Figure(figure_id, title, svg, headers, rows)


# -- one procedure ---------------------------------------------------------------------


def funnel(figure_id: str, steps: dict[str, int]) -> Figure:
    labels = {
        "started": _("Drafts started"),
        "submitted": _("Dossiers submitted"),
        "decided": _("Dossiers decided"),
    }
    title = _("From draft to decision")
    svg = charts.horizontal_bar_chart(
        figure_id,
        title,
        _table_only(),
        list(labels.values()),
        [steps[key] for key in labels],
        value_format=number,
    )
    rows = [
        [labels[key], number(steps[key]), share(steps[key], steps["started"])] for key in labels
    ]
    headers = [_("Step"), _("Dossiers"), _("Share of drafts started")]
    return Figure(figure_id, title, svg, headers, rows)


def durations(figure_id: str, buckets: Sequence[dict[str, Any]]) -> Figure:
    labels = duration_labels()
    total = sum(bucket["count"] for bucket in buckets)
    title = _("Processing time of decided dossiers")
    svg = charts.bar_chart(
        figure_id,
        title,
        _table_only(),
        [labels[key] for key in DURATION_BUCKETS],
        [charts.Series(_("Dossiers decided"), [bucket["count"] for bucket in buckets])],
        x_label=_("Time from submission to decision"),
        y_label=_("Dossiers"),
        value_format=number,
    )
    rows = [
        [labels[bucket["bucket"]], number(bucket["count"]), share(bucket["count"], total)]
        for bucket in buckets
    ]
    headers = [_("Processing time"), _("Dossiers"), _("Share")]
    return Figure(figure_id, title, svg, headers, rows)


def decided_per_week(figure_id: str, weeks: Sequence[dict[str, Any]]) -> Figure:
    title = _("Dossiers decided per week")
    keys = [row["week"] for row in weeks]
    svg = charts.bar_chart(
        figure_id,
        title,
        _description(week_label(keys[0]), week_label(keys[-1])),
        [week_tick(key) for key in keys],
        [charts.Series(_("Dossiers decided"), [row["decided"] for row in weeks])],
        x_label=_("Week starting on"),
        y_label=_("Dossiers"),
        value_format=number,
    )
    rows = [[week_label(row["week"]), number(row["decided"])] for row in weeks]
    return Figure(figure_id, title, svg, [_("Week starting on"), _("Dossiers decided")], rows)


def satisfaction_levels(figure_id: str, satisfaction: dict[str, Any]) -> Figure:
    labels = satisfaction_labels()
    levels = satisfaction["levels"]
    title = _("Satisfaction of applicants")
    svg = charts.horizontal_bar_chart(
        figure_id,
        title,
        _table_only(),
        list(labels.values()),
        [levels[key] for key in labels],
        value_format=number,
    )
    rows = [
        [labels[key], number(levels[key]), share(levels[key], satisfaction["answers"])]
        for key in labels
    ]
    return Figure(figure_id, title, svg, [_("Answer"), _("Answers"), _("Share")], rows)


# -- the platform admin ----------------------------------------------------------------


def top_procedures(figure_id: str, top: Sequence[dict[str, Any]], recent_days: int) -> Figure:
    title = ngettext(
        "Most active procedures: dossiers filed in the last %(num)d day",
        "Most active procedures: dossiers filed in the last %(num)d days",
        recent_days,
    )
    shown = top[:10]
    svg = charts.horizontal_bar_chart(
        figure_id,
        title,
        _table_only(),
        [_shorten(row["title"]) for row in shown],
        [row["filed_recently"] for row in shown],
        value_format=number,
    )
    rows = [
        [
            row["title"],
            row["administration"],
            number(row["filed_recently"]),
            number(row["filed"]),
            number(row["decided"]),
        ]
        for row in top
    ]
    headers = [
        _("Procedure"),
        _("Administration"),
        ngettext("Filed in the last %(num)d day", "Filed in the last %(num)d days", recent_days),
        _("Filed in all"),
        _("Decided in all"),
    ]
    return Figure(figure_id, title, svg, headers, rows)


def _shorten(text: str, length: int = 34) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def growth(figure_id: str, months: Sequence[dict[str, Any]]) -> Figure:
    keys = [row["month"] for row in months]
    title = _("Growth of the platform")
    svg = charts.line_chart(
        figure_id,
        title,
        _description(month_label(keys[0]), month_label(keys[-1])),
        [month_tick(key) for key in keys],
        [charts.Series(_("Dossiers filed since the start"), [r["total_filed"] for r in months])],
        x_label=_("Month"),
        y_label=_("Dossiers"),
        value_format=number,
    )
    rows = [
        [
            month_label(row["month"]),
            number(row["administrations"]),
            number(row["total_administrations"]),
            number(row["procedures"]),
            number(row["total_procedures"]),
            number(row["filed"]),
            number(row["total_filed"]),
        ]
        for row in months
    ]
    headers = [
        _("Month"),
        _("New administrations"),
        _("Administrations in all"),
        _("Procedures published"),
        _("Procedures published in all"),
        _("Dossiers filed"),
        _("Dossiers filed in all"),
    ]
    return Figure(figure_id, title, svg, headers, rows)


def administrations_chart(figure_id: str, rows: Sequence[dict[str, Any]]) -> Markup:
    """The ten administrations with the most dossiers filed (the table is the page's
    per-administration table)."""
    shown = [row for row in rows if row["filed"]][:10]
    return charts.horizontal_bar_chart(
        figure_id,
        _("Administrations with the most dossiers filed"),
        _("The table of administrations that follows gives every value."),
        [_shorten(row["name"]) for row in shown],
        [row["filed"] for row in shown],
        value_format=number,
    )
