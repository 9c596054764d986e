"""The agent table's queries on the largest procedure of a seeded database.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/guichet_bench_ws \\
        .venv/bin/python -m bench.tables

``scenario()`` picks what every table benchmark measures — the largest procedure, the
agent who sees most of it, and the queries: the default tab's first page, a choice filter,
a date range, a sort on a text field, a full-text search, the second and the last page, and
the tab counters. ``python -m bench tables`` times them as HTTP requests against gunicorn
(``bench/agent_pages.py``); this module's command line times them through the service
(``services.tables``: median of ``--runs`` runs after one warm-up, the follow-up queries of
a page included) and, on PostgreSQL, prints the database's own ``EXPLAIN (ANALYZE)``
execution time of the main statement and its plan's spine. With ``--tuned`` it measures
again after creating the indexes a large procedure would get (``tables.index_statement``
for the fields used, what ``table_indexes.ensure`` makes), then drops them.

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
from dataclasses import dataclass, field
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


def explain(engine: sa.Engine, statement: sa.Select, runs: int) -> tuple[float | None, str]:
    """PostgreSQL's own execution time of ``statement`` (median of ``runs`` EXPLAIN
    ANALYZE, in ms) and its plan's top nodes; (None, "") on another database."""
    if engine.dialect.name != "postgresql":
        return None, ""
    plans = [json.loads(text) for text in explain_text(engine, statement, runs, "JSON")]
    return statistics.median(plan[0]["Execution Time"] for plan in plans), _driver(plans[-1])


def explain_text(
    engine: sa.Engine, statement: sa.Select, runs: int = 1, format_: str = "TEXT"
) -> list[str]:
    """The ``EXPLAIN (ANALYZE, BUFFERS)`` output of ``runs`` executions of ``statement``
    (PostgreSQL), as text (``TEXT``) or JSON text (``JSON``)."""
    compiled = statement.compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = engine.raw_connection()
    outputs = []
    try:
        cursor = raw.cursor()
        for _ in range(runs):
            cursor.execute(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT {format_}) " + str(compiled), compiled.params
            )
            rows = cursor.fetchall()
            if format_ == "JSON":
                (plan,) = rows[0]
                outputs.append(plan if isinstance(plan, str) else json.dumps(plan))
            else:
                outputs.append("\n".join(row[0] for row in rows))
        raw.rollback()
    finally:
        raw.close()
    return outputs


def execution_ms(engine: sa.Engine, statement: sa.Select, runs: int) -> float:
    """The database's time for ``statement``: EXPLAIN ANALYZE's execution time on
    PostgreSQL; elsewhere (SQLite, in-process) the median time to execute it and fetch its
    rows, after one warm-up."""
    if engine.dialect.name == "postgresql":
        return explain(engine, statement, runs)[0]
    with engine.connect() as connection:
        ms, _ = _median_ms(lambda: connection.execute(statement).all(), runs)
    return ms


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


# ---------------------------------------------------------------------------------------
# What is measured


@dataclass
class Case:
    """One table request: its name and the query the page runs."""

    key: str
    name: str
    query: Any  # services.tables.TableQuery

    def address(self) -> dict[str, str]:
        """The table address's parameters for this query (filters are the agent's saved
        view: ``tables.remember`` them first)."""
        args = {
            "tab": self.query.tab,
            "sort": self.query.sort.column,
            "dir": self.query.sort.direction,
        }
        if self.query.search:
            args["q"] = self.query.search
        if self.query.cursor:
            args["cursor"] = self.query.cursor
        return args


@dataclass
class Scenario:
    """The largest procedure, the agent who sees most of it, and the table's queries."""

    procedure: Any
    dossiers: int
    submitted: int
    agent: Any
    visible: int
    columns: Any
    cases: list[Case]
    pages: int  # pages of the tab "all" (the last page's number)
    home_procedures: list[int] = field(default_factory=list)  # the agent's home page
    search_rebuilt: str = ""

    def describe(self) -> list[str]:
        return [
            f"procedure #{self.procedure.id} “{self.procedure.title}”: {self.dossiers:,} "
            f"dossiers, {self.submitted:,} submitted",
            f"agent {self.agent.email}: sees {self.visible:,} dossiers of it, "
            f"{len(self.home_procedures)} procedures on the home page",
        ] + ([self.search_rebuilt] if self.search_rebuilt else [])


def scenario(*, walk_pages: bool = True) -> Scenario:
    """Pick the procedure, agent and queries (needs an app and a request context).

    Rebuilds the procedure's search documents when the seed left them missing. With
    ``walk_pages`` the tab "all" is walked page by page to find the last page's cursor.
    """
    from app.extensions import db
    from app.models import Dossier, DossierSearch, DossierState, Procedure, User
    from app.models import instructor_group_member as members
    from app.services import search, tables
    from app.services.tables import Filter, Sort, TableQuery

    largest = db.session.execute(
        sa.select(Dossier.procedure_id, sa.func.count())
        .group_by(Dossier.procedure_id)
        .order_by(sa.func.count().desc())
        .limit(1)
    ).first()
    if largest is None:
        raise SystemExit("No dossier here: load the seed first.")
    procedure = db.session.get(Procedure, largest[0])
    agent_id, group_size = db.session.execute(
        sa.select(members.c.user_id, sa.func.count())
        .join(Dossier, Dossier.group_id == members.c.group_id)
        .where(Dossier.procedure_id == procedure.id)
        .group_by(members.c.user_id)
        .order_by(sa.func.count().desc(), members.c.user_id)
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
    rebuilt = ""
    if indexed < submitted:
        started = time.perf_counter()
        written = search.rebuild(procedure.id)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE dossier_search"))
        db.session.commit()
        rebuilt = (
            f"search index: {written:,} documents rebuilt in "
            f"{time.perf_counter() - started:.1f} s (the seed writes with Core)"
        )

    columns = tables.catalogue(procedure, agent)
    fields = [c for c in columns.columns.values() if c.spec is not None]
    choice = next((c for c in fields if c.kind == "choice" and c.choices), None)
    day = next((c for c in fields if c.kind == "date"), None)
    text = next((c for c in fields if c.kind == "text"), None)
    word = tables.applicant_name(
        db.session.scalar(
            sa.select(Dossier.identity)
            .where(Dossier.procedure_id == procedure.id, Dossier.state != DossierState.draft)
            .order_by(Dossier.id)
            .limit(1)
        )
    ).split()[-1]

    def query(**changes: Any) -> TableQuery:
        return tables.validate(TableQuery(procedure.id, **changes), columns)

    first = query(tab="all")
    page = tables.fetch_page(first, agent, columns)
    second = first.replace(cursor=page.next_cursor) if page.next_cursor else first
    last, pages = first, 1
    if walk_pages:
        while page.next_cursor:
            last, pages = first.replace(cursor=page.next_cursor), pages + 1
            page = tables.fetch_page(last, agent, columns)
    cases = [Case("default", "default tab, page 1", query())]
    if choice is not None:
        value = choice.choices[0][0]
        cases.append(
            Case(
                "choice",
                f"choice filter ({choice.label} = {value})",
                query(tab="all", filters=(Filter(choice.key, "in", [value]),)),
            )
        )
    if day is not None:
        answered = sorted(
            db.session.scalars(
                sa.select(Dossier.answers[day.spec.stable_id].as_string()).where(
                    Dossier.procedure_id == procedure.id,
                    Dossier.answers[day.spec.stable_id].as_string().is_not(None),
                )
            )
        )
        if answered:
            low = answered[len(answered) // 2][:10]  # a month from the median answer
            high = (date.fromisoformat(low) + timedelta(days=31)).isoformat()
            cases.append(
                Case(
                    "date_range",
                    f"date range ({day.label}, one month)",
                    query(tab="all", filters=(Filter(day.key, "between", [low, high]),)),
                )
            )
    if text is not None:
        cases.append(
            Case(
                "text_sort",
                f"sort on a text field ({text.label})",
                query(tab="all", sort=Sort(text.key, "asc")),
            )
        )
    cases += [
        Case("search", f"full-text search (“{word}”)", query(tab="all", search=word)),
        Case("second_page", "second page (tab all)", second),
        Case("last_page", f"last page (page {pages} of tab all)", last),
    ]
    return Scenario(
        procedure=procedure,
        dossiers=largest[1],
        submitted=submitted,
        agent=agent,
        visible=group_size,
        columns=columns,
        cases=cases,
        pages=pages,
        home_procedures=[p.id for p in tables.workspace_procedures(agent)],
        search_rebuilt=rebuilt,
    )


# ---------------------------------------------------------------------------------------
# Command line: through the service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each query")
    parser.add_argument(
        "--tuned",
        action="store_true",
        help="measure again with the indexes of tables.index_statement "
        "(PostgreSQL; dropped afterwards)",
    )
    options = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL to a database loaded with `guichet demo --scale seed`.")
    os.environ.setdefault("GUICHET_INSTANCE_DIR", tempfile.mkdtemp(prefix="guichet-bench-"))

    from app import create_app
    from app.extensions import db
    from app.services import tables

    app = create_app({"GUICHET_SYNC_PERMISSIONS_ON_START": False})
    with app.app_context(), app.test_request_context():
        engine = db.engine
        found = scenario()
        procedure, agent, columns = found.procedure, found.agent, found.columns
        print(f"database       {engine.url.render_as_string(hide_password=True)}")
        for line in found.describe():
            print(line)

        def measure(title: str) -> None:
            print(f"\n{title}")
            print(f"{'query':52} {'rows':>5} {'service ms':>11} {'PG exec ms':>11}  plan")
            for case in found.cases:
                ms, page = _median_ms(
                    lambda item=case.query: tables.fetch_page(item, agent, columns), options.runs
                )
                executed, node = explain(
                    engine, tables.page_statement(case.query, agent, columns), options.runs
                )
                shown = f"{executed:11.2f}" if executed is not None else f"{'-':>11}"
                print(f"{case.name[:52]:52} {len(page.rows):5} {ms:11.2f} {shown}  {node}")
            ms, counts = _median_ms(lambda: tables.tab_counts(agent, [procedure.id]), options.runs)
            executed, node = explain(
                engine, tables.counts_statement(agent, [procedure.id]), options.runs
            )
            shown = f"{executed:11.2f}" if executed is not None else f"{'-':>11}"
            print(f"{'tab counters (7 tabs, one query)':52} {'':5} {ms:11.2f} {shown}  {node}")
            print("  " + ", ".join(f"{tab} {n:,}" for tab, n in counts[procedure.id].items()))

        measure("As seeded (the initial migration's indexes only)")
        if options.tuned and engine.dialect.name == "postgresql":
            used = [
                columns.get(case.query.filters[0].column)
                for case in found.cases
                if case.query.filters
            ]
            used += [columns.get(c.query.sort.column) for c in found.cases if c.key == "text_sort"]
            statements = [tables.index_statement(c) for c in used]
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


def _undo(statement: str) -> str:
    """The DROP of one of the tuning statements (the bench leaves the database as seeded)."""
    name = statement.split(" IF NOT EXISTS ", 1)[1].split()[0]
    return f"DROP INDEX CONCURRENTLY IF EXISTS {name}"


if __name__ == "__main__":
    main()
