"""Time the agent table's queries on the largest procedure of a seeded database.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/guichet_bench_ws \\
        .venv/bin/python -m bench.tables

The database is one loaded by ``flask --app app guichet demo --scale seed`` (50,000
dossiers; [G10] will seed 1,000,000). For each query — the default tab's first page, a
choice filter, a date range, a sort on a text field, a full-text search, a deep page, the
tab counters — it prints the time through the service (``services.tables``: median of
``--runs`` runs after one warm-up, the follow-up queries of a page included) and, on
PostgreSQL, the database's own ``EXPLAIN (ANALYZE)`` execution time of the main statement
and its plan's spine. With ``--tuned`` it measures again after creating the indexes a
large procedure would get (``tables.index_statement`` for the fields used, and ``TUNING``),
then drops them.

The seed writes dossiers with Core statements that the search listener never sees: when
the procedure's search documents are missing, they are rebuilt first (``search.rebuild``)
and the table analysed, and the time that took is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa


def _median_ms(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = action()  # warm-up: plans, caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), result


def _explain(engine: sa.Engine, statement: sa.Select, runs: int) -> tuple[float | None, str]:
    """PostgreSQL's own execution time of ``statement`` (median of ``runs`` EXPLAIN
    ANALYZE, in ms) and its plan's top nodes."""
    if engine.dialect.name != "postgresql":
        return None, ""
    compiled = statement.compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = engine.raw_connection()
    plans = []
    try:
        cursor = raw.cursor()
        for _ in range(runs):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), compiled.params)
            (plan,) = cursor.fetchone()
            plans.append(plan if isinstance(plan, list) else json.loads(plan))
        raw.rollback()
    finally:
        raw.close()
    return statistics.median(plan[0]["Execution Time"] for plan in plans), _driver(plans[-1])


def _driver(plan: list[dict[str, Any]]) -> str:
    """Whether the plan sorts, and how it reads ``dossier`` (the scan that drives it)."""
    root = plan[0]["Plan"]
    steps, node = [], root
    while node["Node Type"] in ("Limit", "Sort", "Incremental Sort", "Aggregate"):
        steps.append(node["Node Type"])
        node = node["Plans"][0]
    found = _scan_of(root, "dossier")
    if found is not None:
        name = found.get("Index Name") or found["Node Type"]
        steps.append(f"{found['Node Type']} {name}" if "Index Name" in found else name)
    return " > ".join(steps)


def _scan_of(node: dict[str, Any], table: str) -> dict[str, Any] | None:
    if node.get("Relation Name") == table and "Scan" in node["Node Type"]:
        return node
    for child in node.get("Plans", []):
        if child.get("Parent Relationship") == "SubPlan":
            continue
        found = _scan_of(child, table)
        if found is not None:
            return found
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each query")
    parser.add_argument(
        "--tuned",
        action="store_true",
        help="measure again with the indexes of tables.index_statement and TUNING "
        "(PostgreSQL; dropped afterwards)",
    )
    parser.add_argument(
        "--custom-plans",
        action="store_true",
        help="plan every execution with its values (plan_cache_mode=force_custom_plan): "
        "psycopg prepares a statement after 5 runs, and PostgreSQL may then pick a generic "
        "plan blind to the procedure, groups and search text",
    )
    options = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to a database loaded with `guichet demo --scale seed`.")
    os.environ.setdefault("GUICHET_INSTANCE_DIR", tempfile.mkdtemp(prefix="guichet-bench-"))

    from app import create_app
    from app.extensions import db
    from app.models import Dossier, DossierSearch, DossierState, Procedure, User
    from app.models import instructor_group_member as members
    from app.services import search, tables
    from app.services.tables import Filter, Sort, TableQuery

    overrides: dict[str, Any] = {"GUICHET_SYNC_PERMISSIONS_ON_START": False}
    if options.custom_plans:
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c jit=off -c plan_cache_mode=force_custom_plan"},
        }
    app = create_app(overrides)
    with app.app_context(), app.test_request_context():
        engine = db.engine
        largest = db.session.execute(
            sa.select(Dossier.procedure_id, sa.func.count())
            .group_by(Dossier.procedure_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).first()
        if largest is None:
            sys.exit("No dossier here: load the seed first.")
        procedure = db.session.get(Procedure, largest[0])
        agent_id, group_size = db.session.execute(
            sa.select(members.c.user_id, sa.func.count())
            .join(Dossier, Dossier.group_id == members.c.group_id)
            .where(Dossier.procedure_id == procedure.id)
            .group_by(members.c.user_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).first()
        agent = db.session.get(User, agent_id)

        submitted = db.session.scalar(
            sa.select(sa.func.count()).where(
                Dossier.procedure_id == procedure.id, Dossier.state != DossierState.draft
            )
        )
        indexed = db.session.scalar(
            sa.select(sa.func.count()).where(DossierSearch.procedure_id == procedure.id)
        )
        print(f"database       {engine.url.render_as_string(hide_password=True)}")
        print(
            f"procedure      #{procedure.id} “{procedure.title}”: {largest[1]:,} dossiers, "
            f"{submitted:,} submitted"
        )
        print(f"agent          {agent.email}: sees {group_size:,} dossiers of it")
        if indexed < submitted:
            started = time.perf_counter()
            written = search.rebuild(procedure.id)
            if engine.dialect.name == "postgresql":
                db.session.execute(sa.text("ANALYZE dossier_search"))
                db.session.commit()
            print(
                f"search index   {written:,} documents rebuilt in "
                f"{time.perf_counter() - started:.1f} s (the seed writes with Core)"
            )

        columns = tables.catalogue(procedure, agent)
        fields = [c for c in columns.columns.values() if c.spec is not None]
        choice = next(c for c in fields if c.kind == "choice" and c.choices)
        day = next(c for c in fields if c.kind == "date")
        text = next(c for c in fields if c.kind == "text")
        answered = sorted(
            db.session.scalars(
                sa.select(Dossier.answers[day.spec.stable_id].as_string()).where(
                    Dossier.procedure_id == procedure.id,
                    Dossier.answers[day.spec.stable_id].as_string().is_not(None),
                )
            )
        )
        low = answered[len(answered) // 2][:10]  # a month from the median answer
        high = (date.fromisoformat(low) + timedelta(days=31)).isoformat()
        word = tables.applicant_name(
            db.session.scalar(
                sa.select(Dossier.identity)
                .where(Dossier.procedure_id == procedure.id, Dossier.state != DossierState.draft)
                .limit(1)
            )
        ).split()[-1]

        def query(**changes: Any) -> TableQuery:
            return tables.validate(TableQuery(procedure.id, **changes), columns)

        cases = [
            ("default tab, page 1", query()),
            (
                f"choice filter ({choice.label} = {choice.choices[0][0]})",
                query(tab="all", filters=(Filter(choice.key, "in", [choice.choices[0][0]]),)),
            ),
            (
                f"date range ({day.label}, one month)",
                query(tab="all", filters=(Filter(day.key, "between", [low, high]),)),
            ),
            (f"sort on a text field ({text.label})", query(tab="all", sort=Sort(text.key, "asc"))),
            (f"full-text search (“{word}”)", query(tab="all", search=word)),
        ]
        deep = query(tab="all")
        pages = 1
        while True:
            page = tables.fetch_page(deep, agent, columns)
            if not page.next_cursor:
                break
            deep, pages = deep.replace(cursor=page.next_cursor), pages + 1
        cases.append((f"deep page (page {pages} of tab all)", deep))

        def measure(title: str) -> None:
            print(f"\n{title}")
            print(f"{'query':52} {'rows':>5} {'service ms':>11} {'PG exec ms':>11}  plan")
            for name, item in cases:
                ms, page = _median_ms(
                    lambda item=item: tables.fetch_page(item, agent, columns), options.runs
                )
                executed, node = _explain(
                    engine, tables.page_statement(item, agent, columns), options.runs
                )
                shown = f"{executed:11.2f}" if executed is not None else f"{'-':>11}"
                print(f"{name[:52]:52} {len(page.rows):5} {ms:11.2f} {shown}  {node}")
            ms, counts = _median_ms(lambda: tables.tab_counts(agent, [procedure.id]), options.runs)
            executed, node = _explain(
                engine, tables.counts_statement(agent, [procedure.id]), options.runs
            )
            shown = f"{executed:11.2f}" if executed is not None else f"{'-':>11}"
            print(f"{'tab counters (7 tabs, one query)':52} {'':5} {ms:11.2f} {shown}  {node}")
            print("  " + ", ".join(f"{tab} {n:,}" for tab, n in counts[procedure.id].items()))

        measure("As seeded (the initial migration's indexes only)")
        if options.tuned and engine.dialect.name == "postgresql":
            statements = [*TUNING, *(tables.index_statement(c) for c in (choice, day, text))]
            db.session.commit()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                started = time.perf_counter()
                for statement in statements:
                    conn.execute(sa.text(statement))
                conn.execute(sa.text("ANALYZE dossier"))
                print(
                    f"\ntuning: {len(statements)} statements in "
                    f"{time.perf_counter() - started:.1f} s:"
                )
                for statement in statements:
                    print(f"  {statement}")
                try:
                    measure("Tuned")
                finally:
                    db.session.commit()  # its read locks would hold the drops back
                    for statement in statements:
                        conn.execute(sa.text(_undo(statement)))
                    conn.execute(sa.text("ANALYZE dossier"))


TUNING = (
    "CREATE STATISTICS IF NOT EXISTS st_dossier_procedure_group (dependencies, ndistinct) "
    "ON procedure_id, group_id FROM dossier",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_dossier_counters_covering ON dossier "
    "(procedure_id, group_id, state, archived) INCLUDE (id, hidden_by_administration_at, "
    "expires_at)",
)
"""Global objects a migration could add: the planner learns that a group belongs to one
procedure (its estimates of an agent's share of a procedure are off by 500× without), and
the counters read the index alone."""


def _undo(statement: str) -> str:
    """The DROP of one of the tuning statements (the bench leaves the database as seeded)."""
    name = statement.split(" IF NOT EXISTS ", 1)[1].split()[0]
    if statement.startswith("CREATE STATISTICS"):
        return f"DROP STATISTICS IF EXISTS {name}"
    return f"DROP INDEX CONCURRENTLY IF EXISTS {name}"


if __name__ == "__main__":
    main()
