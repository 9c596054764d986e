"""``python -m bench``: how figures are judged and reported, and what the table benchmark
and the applicants file. Timings are never asserted; the servers are not started here (the
harness's own run, ``python -m bench --quick``, takes minutes on a shared machine)."""

from __future__ import annotations

import json
import math

import pytest
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.services import seed, tables
from bench import __main__ as cli
from bench import harness, submissions
from bench.harness import Figure

SIZES = {"administrations": 5, "procedures": 4, "agents": 20, "applicants": 50, "dossiers": 300}


def test_percentiles_are_nearest_rank():
    values = [n / 1000 for n in range(1, 21)]  # 1 … 20 ms, shuffled below
    values.reverse()

    assert harness.percentile(values, 95) == 0.019
    assert harness.percentile(values, 50) == 0.010
    assert harness.summary_ms(values) == {"p50_ms": 10.0, "p95_ms": 19.0}
    assert math.isnan(harness.percentile([], 95))


def test_exports_are_held_to_their_format_rate_and_a_flat_memory():
    rows = [
        {"format": "csv", "dossiers": 50_000, "dossiers_per_second": 80_000, "peak_rss_mb": 150},
        {"format": "csv", "dossiers": 200_000, "dossiers_per_second": 70_000, "peak_rss_mb": 160},
        {"format": "xlsx", "dossiers": 50_000, "dossiers_per_second": 5_000, "peak_rss_mb": 150},
        {"format": "xlsx", "dossiers": 200_000, "dossiers_per_second": 7_000, "peak_rss_mb": 240},
    ]

    verdicts = {figure.name: figure.verdict for figure in cli.export_figures(rows, "exports")}

    assert verdicts == {
        "CSV, 50,000 dossiers": "PASS",
        "CSV, 200,000 dossiers": "PASS",
        "XLSX, 50,000 dossiers": "MISS",  # under 6,000 dossiers/s
        "XLSX, 200,000 dossiers": "PASS",
        "CSV: memory from 50,000 to 200,000 dossiers": "PASS",
        "XLSX: memory from 50,000 to 200,000 dossiers": "MISS",  # 150 → 240 MB is not flat
    }


def test_the_table_shows_each_verdict_its_values_and_target_and_counts_them():
    figures = [
        Figure("agent table", "default tab", {"p50_ms": 12.5, "p95_ms": 40.0, "plan": "Limit"},
               "p95 < 100 ms", "PASS"),
        Figure("agent table", "search", {"p50_ms": 150.0, "p95_ms": 300.0}, "p95 < 100 ms",
               "MISS"),
        Figure("upload", "200 MB", {"seconds": 2.5}, note="raw body"),
    ]  # fmt: skip

    text = cli.table(figures)

    assert "PASS  default tab" in text and "MISS  search" in text
    assert "p50 12.5 ms, p95 40.0 ms" in text and "Limit" not in text
    assert "seconds 2.50, (raw body)" in text
    assert text.count("== agent table") == 1 and text.endswith("1 PASS, 1 MISS")


def test_a_benchmark_that_cannot_run_is_reported_and_the_others_go_on():
    def broken() -> list[Figure]:
        raise RuntimeError("no server")

    (figure,) = cli._guarded("load", broken)

    assert figure.verdict is None and "no server" in figure.note
    assert json.dumps(figure.to_dict())  # written to results.json as it is


def test_quick_runs_are_small_and_full_runs_are_the_issue_s_figures():
    quick = cli.parse_args(["tables", "--quick"])
    full = cli.parse_args([])

    assert (quick.commands, quick.runs, quick.applicants, quick.load_applicants) == (
        ["tables"],
        5,
        10,
        20,
    )
    assert quick.upload_sizes == [2, 20] and quick.sqlite_dir.name == "bench-sqlite-quick"
    assert (full.commands, full.runs, full.applicants, full.load_applicants) == (
        ["all"],
        20,
        50,
        100,
    )
    assert full.upload_sizes == [20, 200] and full.export_counts is None


def test_each_autosave_sends_one_more_third_of_the_form_with_every_input_of_its_fields():
    inputs = [
        ("champ_a", "1"),
        ("champ_b.street", "1 rue de la Paix"),
        ("champ_b.city", "Paris"),
        ("champ_c[0]", "1"),
        ("champ_c[0].d", "x"),
        ("champ_e", "oui"),
        ("champ_f", "2"),
    ]
    plan = submissions.Plan(
        procedure_id=1, slug="p", title="P", fields=5, attachment_field=None, emails=["a@b.c"],
        identities=[{}], inputs=[inputs], present=[["a", "b", "c", "e", "f"]],
        dossier_before=0, outbox_before=0,
    )  # fmt: skip

    first, second, last = submissions._slices(plan, 0)

    assert first == ([("champ_a", "1"), *inputs[1:3]], ["a", "b"])
    assert second[1] == ["a", "b", "c"] and ("champ_c[0].d", "x") in second[0]
    assert last == (inputs, ["a", "b", "c", "e", "f"])


def test_the_table_scenario_picks_the_largest_procedure_and_queries_the_service_accepts(app):
    with app.app_context(), app.test_request_context():
        seed.load_seed(**SIZES)
        found = tables_scenario()

        assert found.dossiers == max(_sizes().values())
        assert found.visible > 0 and found.procedure.id in found.home_procedures
        keys = [case.key for case in found.cases]
        assert keys[0] == "default" and keys[-3:] == ["search", "second_page", "last_page"]
        for case in found.cases:
            page = tables.fetch_page(case.query, found.agent, found.columns)
            address = MultiDict(case.address())
            assert address["tab"] == case.query.tab and address["sort"] == case.query.sort.column
            if case.key == "search":
                assert page.rows and address["q"] == case.query.search
        last = next(case for case in found.cases if case.key == "last_page")
        assert tables.fetch_page(last.query, found.agent, found.columns).next_cursor is None


def tables_scenario():
    from bench.tables import scenario

    return scenario()


def _sizes() -> dict[int, int]:
    import sqlalchemy as sa

    from app.models import Dossier

    return dict(
        db.session.execute(
            sa.select(Dossier.procedure_id, sa.func.count()).group_by(Dossier.procedure_id)
        ).all()
    )


@pytest.mark.parametrize("html", ['<input name="csrf_token" type="hidden" value="abc">'])
def test_the_csrf_token_is_read_from_the_page(html):
    assert harness.csrf_token(html) == "abc"
    with pytest.raises(harness.BenchError):
        harness.csrf_token("<p>no form</p>")
