"""The agent's table, home page and ``/stats`` as HTTP requests against gunicorn, each set
beside the database's own time for the same statement.

For each query of ``bench.tables.scenario`` (default tab, choice filter, date range, text
sort, full-text search, second and last page) the agent's saved view is set to the query
(filters live there, as when the agent adds them through the filter form), then the table's
address is requested ``runs`` times through a signed-in session: p50 / p95 of the whole
request (the page's rows, followers, labels and the tab counters, rendered), the page
statement's execution time (``EXPLAIN ANALYZE`` on PostgreSQL, the statement's run time on
SQLite) and their ratio to the floor (page statement + counters statement). The counters
are measured on the agent's home page (``/instruction/``), which is little else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from . import harness
from .harness import Figure, summary_ms, verdict

TABLE_P95_MS = 100
TABLE_SQL_MS = 20
COUNTERS_SQL_MS = 60
SECTION = "agent table"


def table_figures(
    app: Any,
    base_url: str,
    runs: int,
    *,
    database: str,
    say: Callable[[str], None],
    warm: int = 4,
) -> tuple[list[Figure], dict[str, Any]]:
    """The table figures, and what was measured (procedure, agent, plan excerpts).
    Each address is warmed first by ``warm`` requests at once, twice (``warm`` = gunicorn's
    workers: each compiles its templates and fills its caches on its first request)."""
    from app.extensions import db
    from app.models import SavedView
    from app.services import tables
    from app.services.seed import SEED_PASSWORD

    from .tables import explain, explain_text, scenario

    section = f"{SECTION} ({database})"
    figures: list[Figure] = []
    with app.app_context(), app.test_request_context():
        found = scenario()
        for line in found.describe():
            say(line)
        agent, columns, engine = found.agent, found.columns, db.engine
        client, _ = harness.sign_in(base_url, agent.email, SEED_PASSWORD)
        address = f"{base_url}/instruction/procedures/{found.procedure.id}/"
        counts_statement = tables.counts_statement(agent, [found.procedure.id])
        counters_ms = _database_ms(engine, counts_statement, runs)
        plans: dict[str, str] = {}
        saved_before = db.session.scalar(
            sa.select(SavedView).where(
                SavedView.user_id == agent.id, SavedView.procedure_id == found.procedure.id
            )
        )
        before = (
            {name: getattr(saved_before, name) for name in ("tab", "columns", "filters", "sort")}
            if saved_before is not None
            else None
        )
        if engine.dialect.name == "postgresql":
            _index_fields_in_use(found, say)
        try:
            for case in found.cases:
                tables.remember(agent, case.query.replace(search="", cursor=None))
                db.session.commit()
                url = (
                    address + "?" + "&".join(f"{k}={_quoted(v)}" for k, v in case.address().items())
                )
                durations = harness.timed_get(client, url, runs, warm)
                statement = tables.page_statement(case.query, agent, columns)
                sql_ms = _database_ms(engine, statement, runs)
                if engine.dialect.name == "postgresql":
                    plans[case.name] = explain_text(engine, statement)[0]
                    plan_spine = explain(engine, statement, 1)[1]
                else:
                    plan_spine = ""
                http = summary_ms(durations)
                floor = sql_ms + counters_ms
                figures.append(
                    Figure(
                        section,
                        case.name,
                        {
                            **http,
                            "sql_ms": round(sql_ms, 2),
                            "ratio": round(http["p50_ms"] / floor, 1) if floor else None,
                            "plan": plan_spine,
                        },
                        f"p95 < {TABLE_P95_MS} ms, SQL < {TABLE_SQL_MS} ms",
                        verdict(http["p95_ms"] < TABLE_P95_MS and sql_ms < TABLE_SQL_MS),
                    )
                )
                say(
                    f"  {case.name}: {http['p50_ms']:.0f} / {http['p95_ms']:.0f} ms, "
                    f"SQL {sql_ms:.1f} ms"
                )
        finally:
            _restore_saved_view(agent.id, found.procedure.id, before)

        home_ids = found.home_procedures or [found.procedure.id]
        home_statement = tables.counts_statement(agent, home_ids)
        home_sql = _database_ms(engine, home_statement, runs)
        if engine.dialect.name == "postgresql":
            plans["tab counters"] = explain_text(engine, counts_statement)[0]
        durations = harness.timed_get(client, f"{base_url}/instruction/", runs, warm)
        http = summary_ms(durations)
        figures.append(
            Figure(
                section,
                f"tab counters (agent home, {len(home_ids)} procedures)",
                {
                    **http,
                    "sql_ms": round(home_sql, 2),
                    "ratio": round(http["p50_ms"] / home_sql, 1) if home_sql else None,
                    "largest_procedure_counters_ms": round(counters_ms, 2),
                },
                f"p95 < {TABLE_P95_MS} ms, SQL < {COUNTERS_SQL_MS} ms",
                verdict(http["p95_ms"] < TABLE_P95_MS and home_sql < COUNTERS_SQL_MS),
            )
        )
        details = {
            "procedure_id": found.procedure.id,
            "procedure_dossiers": found.dossiers,
            "agent_sees": found.visible,
            "pages_of_tab_all": found.pages,
            "plans": plans,
        }
    return figures, details


def stats_figures(
    app: Any,
    base_url: str,
    runs: int,
    *,
    database: str,
    say: Callable[[str], None],
    warm: int = 4,
) -> list[Figure]:
    """``/stats`` with a fresh snapshot (the normal case), once without one (the first
    visit computes it), and the agent's home page."""
    from app.extensions import db
    from app.models import StatsSnapshot
    from app.services import stats
    from app.services.seed import SEED_PASSWORD

    from .stats import add_satisfaction_and_support, analyse
    from .tables import scenario

    section = f"/stats and home ({database})"
    with app.app_context(), app.test_request_context():
        add_satisfaction_and_support()
        analyse()
        stats.refresh(stats.PUBLIC_KEY, stats.public_figures)
        db.session.commit()
        agent_email = scenario(walk_pages=False).agent.email
    anonymous = harness.session(base_url)
    fresh = summary_ms(harness.timed_get(anonymous, f"{base_url}/stats", runs, warm))
    with app.app_context():
        db.session.execute(sa.delete(StatsSnapshot).where(StatsSnapshot.key == stats.PUBLIC_KEY))
        db.session.commit()
    first, _ = harness.timed(lambda: anonymous.get(f"{base_url}/stats", timeout=300))
    client, _ = harness.sign_in(base_url, agent_email, SEED_PASSWORD)
    home = summary_ms(harness.timed_get(client, f"{base_url}/instruction/", runs, warm))
    say(f"  /stats {fresh['p50_ms']:.0f} / {fresh['p95_ms']:.0f} ms")
    return [
        Figure(
            section,
            "GET /stats (snapshot fresh)",
            fresh,
            f"p95 < {TABLE_P95_MS} ms",
            verdict(fresh["p95_ms"] < TABLE_P95_MS),
        ),
        Figure(
            section,
            "GET /stats (no snapshot: computes it)",
            {"ms": round(first * 1000, 1)},
            note="once; the beat task keeps the snapshot fresh",
        ),
        Figure(
            section,
            "GET /instruction/ (agent home)",
            home,
            f"p95 < {TABLE_P95_MS} ms",
            verdict(home["p95_ms"] < TABLE_P95_MS),
        ),
    ]


def _index_fields_in_use(found: Any, say: Callable[[str], None]) -> None:
    """What the hourly ``table_indexes`` task does once agents of the procedure sort and
    filter by the scenario's fields: a colleague's saved view per such query, then
    ``table_indexes.ensure`` (indexes already there are kept)."""
    import time

    from app.extensions import db
    from app.models import InstructorGroup, User, instructor_group_member
    from app.services import table_indexes, tables

    used = [
        case.query
        for case in found.cases
        if case.query.filters or case.query.sort.column.startswith(("field:", "annotation:"))
    ]
    colleagues = db.session.scalars(
        sa.select(instructor_group_member.c.user_id)
        .join(InstructorGroup, InstructorGroup.id == instructor_group_member.c.group_id)
        .where(
            InstructorGroup.procedure_id == found.procedure.id,
            instructor_group_member.c.user_id != found.agent.id,
        )
        .distinct()
        .order_by(instructor_group_member.c.user_id)
        .limit(len(used))
    ).all()
    for user_id, query in zip(colleagues, used, strict=False):
        tables.remember(db.session.get(User, user_id), query.replace(search="", cursor=None))
    db.session.commit()
    started = time.perf_counter()
    report = table_indexes.ensure()
    say(
        f"table indexes (colleagues' saved views): created {', '.join(report.created) or '-'}, "
        f"kept {', '.join(report.kept) or '-'} in {time.perf_counter() - started:.1f} s"
    )


def _database_ms(engine: sa.Engine, statement: sa.Select, runs: int) -> float:
    from .tables import execution_ms

    return execution_ms(engine, statement, max(3, min(runs, 7)))


def _quoted(value: str) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _restore_saved_view(user_id: int, procedure_id: int, before: dict[str, Any] | None) -> None:
    """Put the agent's saved view back as it was (or remove the bench's)."""
    from app.extensions import db
    from app.models import SavedView

    db.session.rollback()
    saved = db.session.scalar(
        sa.select(SavedView).where(
            SavedView.user_id == user_id, SavedView.procedure_id == procedure_id
        )
    )
    if saved is not None:
        if before is None:
            db.session.delete(saved)
        else:
            for name, value in before.items():
                setattr(saved, name, value)
    db.session.commit()
