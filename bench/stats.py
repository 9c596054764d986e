"""Time the statistics on a seeded database (``DATABASE_URL``) and print the figures.

    # a seeded PostgreSQL database (50,000 dossiers)
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE guichet_stats_bench"
    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/guichet_stats_bench
    .venv/bin/flask --app app guichet init --no-admin
    .venv/bin/flask --app app guichet demo --scale seed
    .venv/bin/python -m bench.stats                   # as seeded
    .venv/bin/python -m bench.stats --grow-to 1000000 # copy dossiers up to 1,000,000 first

It times what the beat task does (computing the ``public`` and ``platform`` snapshots), the
on-demand snapshot of the largest procedure, and ``GET /stats`` both reading its snapshot
(the normal case) and finding none (the first visit). The seed has no satisfaction answers
nor support requests: the bench adds some (answers to 30 % of submitted dossiers, 2,000
requests) so that those queries have rows to read. ``--grow-to`` (PostgreSQL only) copies
the existing dossiers, each copy shifted back in time by up to a year, until the table
holds that many; it changes the database, which is meant for benchmarks only.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Dossier, SatisfactionAnswer, StatsSnapshot, SupportRequest, utcnow
from app.services import stats
from app.views.stats import register_stats

PAGE_REQUESTS = 20
RUNS = 3


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def grow(target: int) -> int:
    """Copy non-test dossiers (answers included) until ``dossier`` holds ``target`` rows;
    each copy keeps its durations and moves back in time by 0 to 364 days."""
    if db.session.get_bind().dialect.name != "postgresql":
        raise SystemExit("--grow-to needs PostgreSQL (it copies with INSERT … SELECT).")
    table = Dossier.__table__
    shifted = {"created_at", "updated_at", "submitted_at", "review_started_at", "decided_at"}
    added = 0
    while (count := db.session.scalar(sa.select(sa.func.count()).select_from(table))) < target:
        batch = min(target - count, count)
        source = (
            sa.select(
                table,
                sa.func.make_interval(
                    0, 0, 0, sa.cast(sa.func.floor(sa.func.random() * 365), sa.Integer)
                ).label("shift"),
                sa.func.row_number().over(order_by=table.c.id).label("n"),
            )
            .where(table.c.is_test == sa.false())
            .limit(batch)
            .subquery()
        )
        first_id = sa.select(sa.func.max(table.c.id)).scalar_subquery()
        values = []
        for column in table.columns:
            if column.name == "id":
                values.append(first_id + source.c.n)
            elif column.name in ("prefill_token_hash", "expires_at", "expiry_warned_at"):
                values.append(sa.null())
            elif column.name in shifted:
                values.append(source.c[column.name] - source.c.shift)
            else:
                values.append(source.c[column.name])
        db.session.execute(
            table.insert().from_select([c.name for c in table.columns], sa.select(*values))
        )
        db.session.commit()
        added += batch
        print(f"  … {count + batch:,} dossiers", flush=True)
    return added


def add_satisfaction_and_support() -> None:
    """Answers to about 30 % of submitted dossiers (topped up after ``--grow-to``), and
    2,000 support requests (90 % answered, within 0 to 72 hours) unless there are some."""
    submitted = db.session.scalar(
        sa.select(sa.func.count()).where(Dossier.submitted_at.is_not(None), ~Dossier.is_test)
    )
    answers = db.session.scalar(sa.select(sa.func.count()).select_from(SatisfactionAnswer))
    if answers < 0.2 * submitted:
        postgresql_ = db.session.get_bind().dialect.name == "postgresql"
        level = (
            "(ARRAY['satisfied', 'satisfied', 'neutral', 'dissatisfied'])"
            "[1 + floor(random() * 4)::int]"
            if postgresql_
            else "CASE abs(random()) % 4 WHEN 3 THEN 'dissatisfied' WHEN 2 THEN 'neutral' "
            "ELSE 'satisfied' END"
        )
        created = (
            "submitted_at + interval '5 minutes'"
            if postgresql_
            else "datetime(submitted_at, '+5 minutes')"
        )
        sample = "random() < 0.3" if postgresql_ else "abs(random()) % 10 < 3"
        db.session.execute(
            sa.text(
                "INSERT INTO satisfaction_answer (dossier_id, procedure_id, level, created_at) "
                f"SELECT id, procedure_id, {level}, {created} FROM dossier "
                f"WHERE submitted_at IS NOT NULL AND NOT is_test AND {sample} AND NOT EXISTS "
                "(SELECT 1 FROM satisfaction_answer s WHERE s.dossier_id = dossier.id)"
            )
        )
    if not db.session.scalar(sa.select(sa.func.count()).select_from(SupportRequest)):
        now = utcnow()
        rows = []
        for n in range(2_000):
            created = now - timedelta(hours=n * 2)
            answered = created + timedelta(hours=(n * 7) % 72) if n % 10 else None
            rows.append(
                {
                    "name": f"Personne {n}",
                    "email": f"personne{n}@bench.example",
                    "subject": "Question",
                    "body": "Question de test de performance.",
                    "locale": "fr",
                    "created_at": created,
                    "first_answered_at": answered,
                }
            )
        db.session.execute(sa.insert(SupportRequest), rows)
    db.session.commit()


def analyse() -> None:
    """Fresh planner statistics and visibility map, as autovacuum would leave them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE dossier"))
        connection.execute(sa.text("VACUUM ANALYZE satisfaction_answer"))


def median_of(action: Callable[[], object], runs: int) -> float:
    return statistics.median(timed(action) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grow-to", type=int, default=0, help="copy dossiers up to this count")
    options = parser.parse_args()
    app = create_app({"GUICHET_SYNC_PERMISSIONS_ON_START": False})
    with app.app_context():
        if "stats" not in app.blueprints:
            register_stats(app)
    with app.app_context():
        database = db.session.get_bind().dialect.name
        if options.grow_to:
            print(f"Growing the dossier table to {options.grow_to:,} rows…", flush=True)
            added = timed(lambda: grow(options.grow_to))
            print(f"  done in {added:.0f} s")
            analyse()  # the planner must know the table's new size before the next inserts
        add_satisfaction_and_support()
        analyse()
        dossiers = db.session.scalar(sa.select(sa.func.count()).select_from(Dossier))
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(SatisfactionAnswer))
        largest = db.session.execute(
            sa.select(Dossier.procedure_id, sa.func.count())
            .group_by(Dossier.procedure_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()

        public = median_of(lambda: stats.refresh(stats.PUBLIC_KEY, stats.public_figures), RUNS)
        platform = median_of(
            lambda: stats.refresh(stats.PLATFORM_KEY, stats.platform_figures), RUNS
        )
        procedure = median_of(
            lambda: stats.refresh(
                stats.procedure_key(largest[0]),
                lambda now: stats.procedure_figures(largest[0], now),
            ),
            RUNS,
        )
        size = len(str(db.session.get(StatsSnapshot, stats.PUBLIC_KEY).payload))

    client = app.test_client()
    assert client.get("/stats").status_code == 200  # warm: templates compiled
    page = statistics.median(timed(lambda: client.get("/stats")) for _ in range(PAGE_REQUESTS))
    with app.app_context():
        db.session.execute(sa.delete(StatsSnapshot).where(StatsSnapshot.key == stats.PUBLIC_KEY))
        db.session.commit()
    first_visit = timed(lambda: client.get("/stats"))

    print(f"database                          {database}")
    print(f"dossiers                          {dossiers:>12,}")
    print(f"satisfaction answers              {answers:>12,}")
    print(f"largest procedure                 {largest[1]:>12,} dossiers")
    print(f"public snapshot (beat task)       {public * 1000:>9.0f} ms   median of {RUNS}")
    print(f"platform snapshot (beat task)     {platform * 1000:>9.0f} ms   median of {RUNS}")
    print(f"largest procedure's snapshot      {procedure * 1000:>9.0f} ms   median of {RUNS}")
    print(f"public payload                    {size:>9,} characters")
    print(f"GET /stats, snapshot fresh        {page * 1000:>9.1f} ms   median of {PAGE_REQUESTS}")
    print(f"GET /stats, no snapshot yet       {first_visit * 1000:>9.0f} ms   (computes it)")


if __name__ == "__main__":
    main()
