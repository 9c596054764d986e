"""Guichet at scale, against the database's own floor: ``python -m bench`` (``make bench``).

    python -m bench [all|tables|exports|submissions|load|upload|stats|sqlite …]
        [--database-url URL] [--seed N] [--quick] [--runs N] [--workers N]

Runs against a seeded PostgreSQL database (``--seed N`` loads N dossiers first when it is
empty, with ``bench/seed.py``) and real servers on loopback — gunicorn, a Celery worker on
Redis — and prints one table, each figure held to its target (PASS / MISS), written to
``bench/results.json`` as well. It never fails: a MISS is a figure, not an error (the exit
status is 0 unless a benchmark could not run at all).

- ``tables``: the agent's table on the largest procedure (default tab, choice filter, date
  range, text sort, full-text search, second and last page, tab counters): p50 / p95 of the
  HTTP request, the same statement's ``EXPLAIN ANALYZE`` time, their ratio.
- ``exports``: CSV / XLSX of 50,000 and 200,000 dossiers (``bench/exports.py``).
- ``submissions``: 50 applicants at once (draft, three autosaves, submit).
- ``load``: the load test — 100 applicants at once, with an attachment each.
- ``upload``: a 200 MB file (and a 20 MB one): time and the web process's peak memory.
- ``stats``: ``/stats`` and the agent's home page.
- ``sqlite``: the table and ``/stats`` on the embedded default (SQLite, ``demo --scale
  seed``).

``--quick`` makes everything small (a few runs, 10 and 20 applicants, 2 and 20 MB
uploads, small exports, a small SQLite seed): for trying the harness, not for figures.
docs/performance.md has the figures and how to read them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import harness
from .harness import BenchError, Figure, verdict

ROOT = harness.ROOT
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/guichet_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
RESULTS = ROOT / "bench" / "results.json"
COMMANDS = ("all", "tables", "exports", "submissions", "load", "upload", "stats", "sqlite")

CSV_PER_S = 50_000
XLSX_PER_S = 6_000
EXPORT_MEMORY_MB = 250
FLAT_SHARE = 0.2
FLAT_MB = 10
"""Export memory is "flat" when the largest export's peak is at most 20 % + 10 MB above the
smallest's (the app's own footprint varies by a few MB from one process to the next)."""
UPLOAD_GROWTH_MB = 20
DEMO_SEED_SECONDS = 300
QUICK_SQLITE_SEED = {
    "administrations": 20,
    "procedures": 12,
    "agents": 60,
    "applicants": 600,
    "dossiers": 1_500,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0].split(":")[0]
    )
    parser.add_argument(
        "commands",
        nargs="*",
        metavar="command",
        help="one or more of: " + ", ".join(COMMANDS) + " (default: all)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="the seeded PostgreSQL database (default %(default)s, or BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="when the database is missing or holds no dossier: create it, migrate it and "
        "load N dossiers with bench/seed.py first",
    )
    parser.add_argument("--quick", action="store_true", help="a small run to try the harness")
    parser.add_argument("--runs", type=int, help="timed requests per page (20; quick: 5)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Celery's broker")
    parser.add_argument("--applicants", type=int, help="submissions: applicants (50; quick 10)")
    parser.add_argument(
        "--load-applicants", type=int, help="load: applicants with an attachment (100; quick 20)"
    )
    parser.add_argument(
        "--export-counts", type=int, nargs="+", help="dossiers per export (50000 200000)"
    )
    parser.add_argument(
        "--upload-sizes", type=int, nargs="+", help="upload sizes in MB (20 200; quick 2 20)"
    )
    parser.add_argument(
        "--sqlite-dir",
        type=Path,
        default=ROOT / "instance" / "bench-sqlite",
        help="where the SQLite database of `sqlite` is kept between runs (%(default)s)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the JSON written")
    options = parser.parse_args(argv)
    unknown = [name for name in options.commands if name not in COMMANDS]
    if unknown:
        parser.error(f"unknown command {', '.join(unknown)}: choose from {', '.join(COMMANDS)}")
    options.commands = options.commands or ["all"]
    quick = options.quick
    options.runs = options.runs or (5 if quick else 20)
    options.applicants = options.applicants or (10 if quick else 50)
    options.load_applicants = options.load_applicants or (20 if quick else 100)
    options.upload_sizes = options.upload_sizes or ([2, 20] if quick else [20, 200])
    if quick and options.sqlite_dir == parser.get_default("sqlite_dir"):
        options.sqlite_dir = ROOT / "instance" / "bench-sqlite-quick"
    return options


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


# ---------------------------------------------------------------------------------------
# The databases


def _psycopg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _database_state(url: str) -> str:
    """'missing', 'empty' (no dossier, or not migrated) or 'seeded'."""
    import psycopg

    try:
        with psycopg.connect(_psycopg_dsn(url), connect_timeout=5) as connection:
            migrated = connection.execute(
                "SELECT to_regclass('public.dossier') IS NOT NULL"
            ).fetchone()[0]
            if not migrated:
                return "empty"
            found = connection.execute("SELECT EXISTS (SELECT 1 FROM dossier)").fetchone()[0]
            return "seeded" if found else "empty"
    except psycopg.OperationalError as error:
        if "does not exist" in str(error):
            return "missing"
        raise BenchError(f"cannot reach the database: {error}") from None


def _flask(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "guichet", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def ensure_postgresql(options: argparse.Namespace, folder: Path) -> None:
    """Check the database is seeded; with ``--seed`` create, migrate and load it if not."""
    url = options.database_url
    state = _database_state(url)
    if state == "seeded":
        return
    if not options.seed:
        raise BenchError(
            f"the database {url} is {state}: load it first (add --seed 1000000, or run "
            "bench/seed.py as docs/performance.md shows)"
        )
    if state == "missing":
        import psycopg
        from psycopg import sql

        base, _, name = _psycopg_dsn(url).rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    say(f"migrating {url}")
    env = {**os.environ, "DATABASE_URL": url, "GUICHET_INSTANCE_DIR": str(folder)}
    env.pop("CELERY_BROKER_URL", None)
    _flask(["init", "--no-admin"], env)
    say(f"loading {options.seed:,} dossiers with bench/seed.py")
    from .seed import Options, run

    app = _app(url, folder)
    with app.app_context():
        run(url, Options(dossiers=options.seed, force=True), out=say)


def _app(url: str, folder: Path) -> Any:
    """An application on ``url`` for the harness's own reads and writes."""
    os.environ["DATABASE_URL"] = url
    os.environ["GUICHET_INSTANCE_DIR"] = str(folder)
    os.environ.pop("CELERY_BROKER_URL", None)
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_DIR": str(folder),
            "GUICHET_SYNC_PERMISSIONS_ON_START": False,
            "SECRET_KEY": "bench-secret-" + "x" * 40,
        }
    )


def ensure_sqlite(options: argparse.Namespace) -> tuple[str, list[Figure]]:
    """The SQLite database of ``demo --scale seed`` (kept in ``--sqlite-dir``; a small
    seed with ``--quick``), loaded when missing; its URL and the seed's timing."""
    folder = options.sqlite_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "guichet.db"
    url = f"sqlite:///{path}"
    ready = folder / ".seeded"
    figures: list[Figure] = []
    if ready.exists():
        return url, figures
    if path.exists():
        path.unlink()
    env = {**os.environ, "DATABASE_URL": url, "GUICHET_INSTANCE_DIR": str(folder)}
    env.pop("CELERY_BROKER_URL", None)
    say(f"SQLite: migrating {path}")
    _flask(["init", "--no-admin"], env)
    started = time.perf_counter()
    if options.quick:
        say("SQLite: a small seed (--quick)")
        app = _app(url, folder)
        from app.services.seed import load_seed

        with app.app_context():
            load_seed(**QUICK_SQLITE_SEED)
    else:
        say("SQLite: flask guichet demo --scale seed (50,000 dossiers)")
        _flask(["demo", "--scale", "seed"], env)
        seconds = time.perf_counter() - started
        figures.append(
            Figure(
                "SQLite (embedded default)",
                "flask guichet demo --scale seed",
                {"seconds": round(seconds, 1)},
                f"< {DEMO_SEED_SECONDS} s",
                verdict(seconds < DEMO_SEED_SECONDS),
            )
        )
    ready.write_text(datetime.now(UTC).isoformat())
    return url, figures


# ---------------------------------------------------------------------------------------
# The benchmarks


def bench_tables(app: Any, server: harness.Server, options, details: dict) -> list[Figure]:
    from .agent_pages import table_figures

    say("agent table (PostgreSQL)")
    figures, found = table_figures(
        app, server.url, options.runs, database="PostgreSQL", say=say, warm=options.workers
    )
    details["tables"] = found
    return figures


def bench_stats(app: Any, server: harness.Server, options, details: dict) -> list[Figure]:
    from .agent_pages import stats_figures

    say("/stats and the agent home page (PostgreSQL)")
    return stats_figures(
        app, server.url, options.runs, database="PostgreSQL", say=say, warm=options.workers
    )


def bench_submissions(app: Any, server: harness.Server, options, details: dict) -> list[Figure]:
    from .submissions import run

    say(f"submissions: {options.applicants} concurrent applicants")
    return run(
        app,
        server.url,
        options.applicants,
        with_attachment=False,
        section="submissions (gunicorn + PostgreSQL + Redis + Celery)",
        offset=0,
        outbox_wait=20 if options.quick else 60,
        say=say,
    )


def bench_load(app: Any, server: harness.Server, options, details: dict) -> list[Figure]:
    from .submissions import run

    say(f"load test: {options.load_applicants} concurrent applicants with an attachment")
    return run(
        app,
        server.url,
        options.load_applicants,
        with_attachment=True,
        section="load test [G9] (gunicorn + PostgreSQL + Redis + Celery)",
        offset=options.applicants,
        outbox_wait=30 if options.quick else 120,
        say=say,
    )


def bench_exports(options: argparse.Namespace, app: Any) -> list[Figure]:
    """CSV / XLSX exports through ``bench/exports.py`` (written separately), if present."""
    section = "exports (PostgreSQL)"
    try:
        from . import exports
    except ImportError as error:
        return [Figure(section, "exports", note=f"not measured: bench/exports.py ({error})")]
    counts = options.export_counts or _export_counts(options, app)
    say(f"exports of {', '.join(f'{n:,}' for n in counts)} dossiers")
    rows = exports.measure(options.database_url, counts)
    return export_figures(rows, section)


def _export_counts(options: argparse.Namespace, app: Any) -> list[int]:
    if not options.quick:
        return [50_000, 200_000]
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Dossier, DossierState

    with app.app_context():
        largest = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Dossier)
            .where(Dossier.state != DossierState.draft)
            .group_by(Dossier.procedure_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        )
    largest = largest or 0
    return [largest // 4, largest // 2]


def _pick(row: dict[str, Any], *names: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def export_figures(rows: list[dict[str, Any]], section: str) -> list[Figure]:
    """One figure per export, held to its format's rate and the memory ceiling, and one per
    format and column set: is memory flat from the smallest export to the largest?"""
    figures = []
    series: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        kind = str(_pick(row, "format", "kind") or "?").lower()
        columns = row.get("column_set")
        label = f"{kind.upper()}" + (f", {columns} columns" if columns else "")
        count = _pick(row, "dossiers", "count", "rows")
        rate = _pick(row, "dossiers_per_second", "dossiers_per_s", "rows_per_second")
        memory = _pick(row, "peak_rss_mb", "peak_memory_mb", "memory_mb")
        floor = CSV_PER_S if kind == "csv" else XLSX_PER_S if kind == "xlsx" else None
        checks = []
        if floor is not None and rate is not None:
            checks.append(rate >= floor)
        if memory is not None:
            checks.append(memory < EXPORT_MEMORY_MB)
            if count is not None:
                series.setdefault(label, []).append((int(count), float(memory)))
        figures.append(
            Figure(
                section,
                f"{label}, {count:,} dossiers" if count is not None else label,
                row,
                (f"≥ {floor:,} dossiers/s, " if floor else "") + f"memory < {EXPORT_MEMORY_MB} MB",
                verdict(all(checks)) if checks else None,
            )
        )
    for label, points in series.items():
        if len(points) < 2:
            continue
        points.sort()
        (small, low), (large, high) = points[0], points[-1]
        figures.append(
            Figure(
                section,
                f"{label}: memory from {small:,} to {large:,} dossiers",
                {"from_mb": low, "to_mb": high},
                f"flat (≤ +{FLAT_SHARE:.0%} + {FLAT_MB} MB)",
                verdict(high <= low * (1 + FLAT_SHARE) + FLAT_MB),
            )
        )
    return figures


def bench_upload(options: argparse.Namespace) -> list[Figure]:
    """``bench/upload_memory.py`` in its own process (it builds its own SQLite app)."""
    say(f"upload of {' and '.join(f'{n} MB' for n in options.upload_sizes)} files")
    output = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "upload_memory.py"),
            "--json",
            "--sizes",
            *map(str, options.upload_sizes),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = json.loads(output.strip().splitlines()[-1])
    section = "upload (gunicorn, 1 sync worker)"
    figures = []
    for mode in dict.fromkeys(row["mode"] for row in rows):
        mine = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["size_mb"])
        for row in mine:
            figures.append(
                Figure(
                    section,
                    f"{row['size_mb']} MB, {mode}",
                    {
                        "seconds": row["seconds"],
                        "peak_rss_mb": row["peak_rss_mb"],
                        "rss_before_mb": row["rss_before_mb"],
                        "status": row["status"],
                    },
                    "HTTP 201",
                    verdict(row["status"] == 201),
                )
            )
        if len(mine) >= 2:
            growth = mine[-1]["peak_rss_mb"] - mine[0]["peak_rss_mb"]
            figures.append(
                Figure(
                    section,
                    f"{mode}: peak memory growth from {mine[0]['size_mb']} to "
                    f"{mine[-1]['size_mb']} MB",
                    {"growth_mb": round(growth, 1)},
                    f"independent of size (< {UPLOAD_GROWTH_MB} MB)",
                    verdict(growth < UPLOAD_GROWTH_MB),
                )
            )
    return figures


def bench_sqlite(options: argparse.Namespace, folder: Path, details: dict) -> list[Figure]:
    from .agent_pages import stats_figures, table_figures

    url, figures = ensure_sqlite(options)
    app = _app(url, folder / "sqlite-app")
    with harness.gunicorn(url, folder / "sqlite-server", workers=options.workers) as server:
        say("agent table (SQLite)")
        tables, found = table_figures(
            app, server.url, options.runs, database="SQLite", say=say, warm=options.workers
        )
        details["sqlite_tables"] = {k: v for k, v in found.items() if k != "plans"}
        figures += tables
        figures += stats_figures(
            app, server.url, options.runs, database="SQLite", say=say, warm=options.workers
        )
    return figures


# ---------------------------------------------------------------------------------------
# Output


LABELS = {
    "p50_ms": "p50 {} ms",
    "p95_ms": "p95 {} ms",
    "sql_ms": "SQL {} ms",
    "ratio": "×{}",
}
HIDDEN = {
    "plan",
    "rss_before_mb",
    "status",
    "format",
    "column_set",
    "dossiers",
    "cpu_seconds",
    "dossiers_per_cpu_second",
}


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def describe(figure: Figure) -> str:
    parts = []
    for key, value in figure.values.items():
        if key in HIDDEN or value is None or isinstance(value, (dict, list)):
            continue
        if key in LABELS:
            parts.append(LABELS[key].format(_value(value)))
        else:
            parts.append(f"{key.replace('_', ' ')} {_value(value)}")
    if figure.note:
        parts.append(f"({figure.note})")
    return ", ".join(parts)


def table(figures: list[Figure]) -> str:
    lines = []
    section = None
    for figure in figures:
        if figure.section != section:
            section = figure.section
            lines += ["", f"== {section}"]
        mark = figure.verdict or "    "
        lines.append(f"{mark:<5} {figure.name}")
        lines.append(f"      {describe(figure)}")
        if figure.target:
            lines.append(f"      target: {figure.target}")
    passed = sum(f.verdict == "PASS" for f in figures)
    missed = sum(f.verdict == "MISS" for f in figures)
    lines += ["", f"{passed} PASS, {missed} MISS"]
    return "\n".join(lines)


def machine(database_url: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "host": platform.node(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    if database_url:
        try:
            import psycopg

            with psycopg.connect(_psycopg_dsn(database_url), connect_timeout=5) as connection:
                info["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]
                info["database_size_mb"] = round(
                    connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                    / 1024
                    / 1024
                )
                info["dossiers"] = connection.execute("SELECT count(*) FROM dossier").fetchone()[0]
        except Exception:  # noqa: BLE001 - the machine description is best effort
            pass
    return info


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wanted = set(COMMANDS[1:]) if "all" in options.commands else set(options.commands)
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    started = time.perf_counter()
    postgresql = wanted & {"tables", "exports", "submissions", "load", "stats"}
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as name:
        folder = Path(name)
        try:
            if postgresql:
                ensure_postgresql(options, folder)
                app = _app(options.database_url, folder / "app")
                served: list[tuple[str, Callable]] = [
                    (key, function)
                    for key, function in (
                        ("tables", bench_tables),
                        ("stats", bench_stats),
                        ("submissions", bench_submissions),
                        ("load", bench_load),
                    )
                    if key in wanted
                ]
                if served:
                    with (
                        harness.celery_worker(
                            options.database_url, folder / "worker", options.redis_url
                        ),
                        harness.gunicorn(
                            options.database_url,
                            folder / "server",
                            workers=options.workers,
                            broker_url=options.redis_url,
                        ) as server,
                    ):
                        for key, function in served:
                            figures += _guarded(
                                key, lambda f=function: f(app, server, options, details)
                            )
                if "exports" in wanted:
                    figures += _guarded("exports", lambda: bench_exports(options, app))
            if "upload" in wanted:
                figures += _guarded("upload", lambda: bench_upload(options))
            if "sqlite" in wanted:
                figures += _guarded("sqlite", lambda: bench_sqlite(options, folder, details))
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 2
    print(table(figures))
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": options.quick,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(options.database_url if postgresql else None),
        "database_url": options.database_url if postgresql else None,
        "figures": [figure.to_dict() for figure in figures],
        "details": details,
    }
    options.results.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(f"\nwritten to {options.results}")
    return 0


def _guarded(name: str, action: Callable[[], list[Figure]]) -> list[Figure]:
    """A benchmark's figures; one that fails to run is reported as such, and the others
    still run."""
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - reported in the table, the run goes on
        import traceback

        traceback.print_exc()
        return [Figure(name, f"{name}: could not run", note=f"{type(error).__name__}: {error}")]


if __name__ == "__main__":
    sys.exit(main())
