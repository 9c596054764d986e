"""Statistics (app/services/stats.py) on a small platform whose every figure is known
(tests/stats_data.py): each figure is checked exactly, on SQLite and on PostgreSQL alike,
then the snapshots that materialise them and the beat task that refreshes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import stats_data
from stats_data import NOW

from app.extensions import db
from app.models import Dossier, DossierState, StatsSnapshot
from app.services import stats

ZERO_MONTH = {
    "filed": 0,
    "decided": 0,
    "count": 0,
    "median_seconds": None,
    "p90_seconds": None,
    "satisfaction": {"answers": 0, "satisfied": 0, "rate": None},
}


@pytest.fixture
def ids(app):
    with app.app_context():
        yield stats_data.build()


@pytest.fixture
def ctx(app, ids):
    with app.app_context():
        yield ids


def month(key: str, filed, decided, count, median, p90, answers, satisfied, rate) -> dict:
    return {
        "month": key,
        "filed": filed,
        "decided": decided,
        "count": count,
        "median_seconds": median,
        "p90_seconds": p90,
        "satisfaction": {"answers": answers, "satisfied": satisfied, "rate": rate},
    }


# ---------------------------------------------------------------------------------------
# Public figures


def test_public_counts_active_procedures_partner_administrations_and_agents(ctx):
    figures = stats.public_figures(NOW)
    assert figures["active_procedures"] == 4  # P1 P2 P3 P7: not closed, test or disabled
    assert figures["administrations"] == 5  # every administration but the disabled one
    assert figures["agents"] == 3  # u1, u2 (two groups, once), u3; not inactive nor u6


def test_public_totals_count_filed_and_decided_dossiers_without_test_ones(ctx):
    figures = stats.public_figures(NOW)
    assert figures["filed"] == 12
    assert figures["decided"] == 9
    assert figures["decisions"] == {"accepted": 6, "refused": 2, "closed_without_action": 1}


def test_public_monthly_series_cover_the_last_twelve_months_with_every_figure(ctx):
    figures = stats.public_figures(NOW)
    quiet = [f"2024-{m:02d}" for m in range(5, 13)]
    assert figures["since"] == "2024-05"
    assert figures["months"] == [*quiet, "2025-01", "2025-02", "2025-03", "2025-04"]
    assert figures["per_month"] == [{"month": key, **ZERO_MONTH} for key in quiet] + [
        month("2025-01", 4, 1, 1, 172800.0, 172800.0, 2, 1, 0.5),
        month("2025-02", 3, 3, 3, 864000.0, 1140480.0, 1, 1, 1.0),
        month("2025-03", 3, 2, 2, 1317600.0, 2337120.0, 3, 2, 2 / 3),
        month("2025-04", 1, 2, 2, 918000.0, 1635120.0, 0, 0, None),
    ]


def test_public_processing_time_and_satisfaction_cover_the_months_shown(ctx):
    figures = stats.public_figures(NOW)
    # The 2023 decision (864,000 s) is outside; the interpolated 90th percentile is the
    # same float to the last bit on both databases.
    assert figures["processing"] == {
        "count": 8,
        "median_seconds": 518400.0,
        "p90_seconds": 2047679.9999999998,
    }
    assert figures["satisfaction"] == {"answers": 6, "satisfied": 4, "rate": 4 / 6}


def test_public_procedures_by_kind_group_ministries_with_their_local_services(ctx):
    assert stats.public_figures(NOW)["procedures_by_kind"] == {
        "ministries": 2,
        "local_authorities": 1,
        "public_establishments": 1,
        "other": 0,
    }


def test_public_support_gives_the_median_time_to_a_first_answer(ctx):
    assert stats.public_figures(NOW)["support"] == {
        "answered": 2,
        "median_first_answer_seconds": 91800.0,
    }


def test_a_young_platform_shows_only_the_months_since_its_first_dossier(app):
    with app.app_context():
        stats_data.build()
        db.session.execute(
            sa.delete(Dossier).where(Dossier.submitted_at < stats_data.at("2025-01-01"))
        )
        db.session.commit()
        figures = stats.public_figures(NOW)
    assert figures["months"] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert figures["filed"] == 11


def test_an_empty_platform_has_zeros_and_no_medians(app):
    with app.app_context():
        figures = stats.public_figures(NOW)
    assert figures["months"] == ["2025-04"]
    assert figures["per_month"] == [{"month": "2025-04", **ZERO_MONTH}]
    assert (figures["filed"], figures["decided"], figures["agents"]) == (0, 0, 0)
    assert figures["processing"] == {"count": 0, "median_seconds": None, "p90_seconds": None}
    assert figures["satisfaction"]["rate"] is None
    assert figures["support"] == {"answered": 0, "median_first_answer_seconds": None}


# ---------------------------------------------------------------------------------------
# Platform admin figures


def test_platform_gives_the_figures_per_administration_most_filed_first(ctx):
    figures = stats.platform_figures(NOW)
    rows = {row["id"]: row for row in figures["administrations"]}
    assert [row["id"] for row in figures["administrations"]] == [
        ctx["A1"],
        ctx["A2"],
        ctx["A3"],  # one dossier each: by name, "town" before "university"
        ctx["A4"],
        ctx["A5"],
    ]
    assert figures["administrations_without_procedure"] == 1
    assert rows[ctx["A1"]] == {
        "id": ctx["A1"],
        "name": "Administration ministry",
        "kind": "ministry",
        "procedures": 1,
        "active_procedures": 1,
        "agents": 2,
        "filed": 6,
        "decided": 5,
        "decisions": {"accepted": 3, "refused": 1, "closed_without_action": 1},
        "processing": {"count": 4, "median_seconds": 518400.0, "p90_seconds": 1105920.0},
        "satisfaction": {"answers": 3, "satisfied": 2, "rate": 2 / 3},
    }
    assert rows[ctx["A2"]]["decisions"] == {
        "accepted": 2,
        "refused": 0,
        "closed_without_action": 0,
    }
    assert rows[ctx["A2"]]["processing"] == {
        "count": 2,
        "median_seconds": 1317600.0,
        "p90_seconds": 2337120.0,
    }
    assert rows[ctx["A2"]]["satisfaction"] == {"answers": 2, "satisfied": 1, "rate": 0.5}
    assert (rows[ctx["A2"]]["filed"], rows[ctx["A2"]]["agents"]) == (4, 1)
    town = rows[ctx["A3"]]
    assert (town["procedures"], town["active_procedures"], town["agents"]) == (2, 1, 1)
    assert (town["filed"], town["decided"]) == (1, 1)
    assert town["satisfaction"] == {"answers": 1, "satisfied": 1, "rate": 1.0}
    university = rows[ctx["A4"]]
    assert (university["procedures"], university["active_procedures"]) == (2, 1)
    assert university["processing"] == {
        "count": 1,
        "median_seconds": 21600.0,
        "p90_seconds": 21600.0,
    }
    assert university["satisfaction"] == {"answers": 0, "satisfied": 0, "rate": None}
    disabled = rows[ctx["A5"]]
    assert (disabled["active_procedures"], disabled["agents"], disabled["filed"]) == (0, 1, 0)


def test_platform_ranks_procedures_by_dossiers_filed_in_the_last_thirty_days(ctx):
    top = stats.platform_figures(NOW)["top_procedures"]
    assert [(row["id"], row["filed_recently"], row["filed"], row["decided"]) for row in top] == [
        (ctx["P3"], 1, 1, 1),
        (ctx["P4"], 1, 1, 1),
        (ctx["P1"], 0, 6, 5),
        (ctx["P2"], 0, 4, 2),
    ]
    assert top[0]["administration"] == "Administration town"
    assert top[1]["state"] == "closed"


def test_platform_growth_gives_monthly_and_running_totals(ctx):
    growth = stats.platform_figures(NOW)["growth"]
    assert len(growth) == 24
    assert growth[0] == {
        "month": "2023-05",
        "administrations": 1,
        "total_administrations": 1,
        "procedures": 1,
        "total_procedures": 1,
        "filed": 0,
        "total_filed": 0,
    }
    assert growth[1]["month"] == "2023-06"
    assert (growth[1]["filed"], growth[1]["total_filed"]) == (1, 1)
    by_month = {row["month"]: row for row in growth}
    assert (by_month["2024-06"]["administrations"], by_month["2024-06"]["procedures"]) == (1, 1)
    assert by_month["2025-01"]["procedures"] == 2
    assert growth[-1] == {
        "month": "2025-04",
        "administrations": 1,
        "total_administrations": 6,
        "procedures": 0,
        "total_procedures": 6,
        "filed": 1,
        "total_filed": 12,
    }


# ---------------------------------------------------------------------------------------
# One procedure


def test_procedure_figures_give_funnel_decisions_durations_and_satisfaction(ctx):
    figures = stats.procedure_figures(ctx["P1"], NOW)
    assert figures["funnel"] == {"started": 7, "submitted": 6, "decided": 5}
    assert figures["decisions"] == {"accepted": 3, "refused": 1, "closed_without_action": 1}
    assert figures["processing"] == {
        "count": 5,
        "median_seconds": 864000.0,
        "p90_seconds": 1071360.0,
    }
    assert figures["durations"] == [
        {"bucket": "0-1", "count": 1},
        {"bucket": "1-7", "count": 1},
        {"bucket": "7-14", "count": 2},
        {"bucket": "14-30", "count": 1},  # exactly 14 days is in the next bucket
        {"bucket": "30-60", "count": 0},
        {"bucket": "60-90", "count": 0},
        {"bucket": "90+", "count": 0},
    ]
    assert figures["satisfaction"] == {
        "answers": 4,
        "satisfied": 3,
        "rate": 0.75,
        "levels": {"satisfied": 3, "neutral": 0, "dissatisfied": 1},
    }


def test_procedure_weeks_count_decisions_per_iso_week_over_twenty_six_weeks(ctx):
    weeks = stats.procedure_figures(ctx["P1"], NOW)["weeks"]
    assert len(weeks) == 26
    assert (weeks[0]["week"], weeks[-1]["week"]) == ("2024-10-21", "2025-04-14")
    assert {row["week"]: row["decided"] for row in weeks if row["decided"]} == {
        "2025-01-06": 1,  # Sunday 12 January belongs to the week of Monday the 6th
        "2025-01-27": 1,  # Saturday 1 February
        "2025-02-03": 1,
        "2025-02-10": 1,  # the deleted dossier still counts
    }


def test_a_new_procedure_weeks_start_at_its_first_submission(ctx):
    weeks = stats.procedure_figures(ctx["P3"], NOW)["weeks"]
    assert weeks == [
        {"week": "2025-03-17", "decided": 0},
        {"week": "2025-03-24", "decided": 0},
        {"week": "2025-03-31", "decided": 0},
        {"week": "2025-04-07", "decided": 1},
        {"week": "2025-04-14", "decided": 0},
    ]


def test_a_procedure_in_test_mode_has_no_figures(ctx):
    figures = stats.procedure_figures(ctx["P5"], NOW)
    assert figures["funnel"] == {"started": 0, "submitted": 0, "decided": 0}
    assert figures["satisfaction"]["answers"] == 0
    assert figures["weeks"] == [{"week": "2025-04-14", "decided": 0}]


# ---------------------------------------------------------------------------------------
# Building blocks


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.9, 7.0),
        ([1, 2, 3, 4], 0.5, 2.5),
        ([10, 20, 30, 40, 50], 0.9, 46.0),
    ],
)
def test_percentile_cont_interpolates_like_postgresql(values, fraction, expected):
    assert stats.percentile_cont(values, fraction) == expected


def test_month_helpers_step_across_years():
    assert stats.shift_month("2025-01", -1) == "2024-12"
    assert stats.shift_month("2024-12", 13) == "2026-01"
    assert stats.month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert stats.week_key(stats_data.at("2025-01-12 23:59")) == "2025-01-06"


# ---------------------------------------------------------------------------------------
# Snapshots and the beat task


def test_a_missing_snapshot_is_computed_once_then_read(ctx):
    first = stats.read(stats.PUBLIC_KEY, stats.public_figures, timedelta(minutes=15), NOW)
    assert first.payload["filed"] == 12
    db.session.add(
        Dossier(
            procedure_id=ctx["P1"],
            revision_id=db.session.scalar(
                sa.select(Dossier.revision_id).where(Dossier.procedure_id == ctx["P1"]).limit(1)
            ),
            state=DossierState.submitted,
            submitted_at=stats_data.at("2025-04-02"),
        )
    )
    db.session.commit()
    later = NOW + timedelta(minutes=14)
    again = stats.read(stats.PUBLIC_KEY, stats.public_figures, timedelta(minutes=15), later)
    assert again.payload["filed"] == 12
    assert again.computed_at == NOW
    stale = NOW + timedelta(minutes=16)
    fresh = stats.read(stats.PUBLIC_KEY, stats.public_figures, timedelta(minutes=15), stale)
    assert fresh.payload["filed"] == 13
    assert fresh.computed_at == stale
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatsSnapshot)) == 1


def test_the_beat_task_refreshes_platform_snapshots_and_forgets_old_procedure_ones(app, ctx):
    old = stats.refresh(stats.procedure_key(ctx["P1"]), lambda now: {"x": 1}, NOW - timedelta(2))
    recent = stats.refresh(stats.procedure_key(ctx["P2"]), lambda now: {"x": 2}, NOW)
    assert old.payload == {"x": 1} and recent.payload == {"x": 2}
    durations = stats.refresh_platform(NOW)
    assert set(durations) == {"public", "platform"}
    keys = set(db.session.scalars(sa.select(StatsSnapshot.key)))
    assert keys == {"public", "platform", stats.procedure_key(ctx["P2"])}
    assert db.session.get(StatsSnapshot, "platform").payload["top_procedures"][0]["id"] == ctx["P3"]


def test_register_stats_schedules_the_refresh_every_ten_minutes(make_app):
    from app.views.stats import register_stats

    app = make_app()
    if "stats" not in app.blueprints:
        register_stats(app)
    entry = app.extensions["celery"].conf.beat_schedule["stats-refresh"]
    assert entry == {"task": "guichet.stats.refresh", "schedule": 600.0}
    with app.app_context():
        stats_data.build()
        # Run as a worker would (apply: in this process, whatever the broker).
        durations = app.extensions["celery"].tasks["guichet.stats.refresh"].apply().get()
        assert set(durations) == {"public", "platform"}
        snapshot = db.session.get(StatsSnapshot, "public")
        assert snapshot is not None and snapshot.payload["filed"] == 12
