"""Time the agents' exports ([G6]) on the largest procedure of a seeded PostgreSQL database.

    createdb -h 127.0.0.1 -U postgres guichet_bench_exports
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/guichet_bench_exports \\
        .venv/bin/flask --app app guichet init --no-admin
    DATABASE_URL=… .venv/bin/python -m bench.seed --dossiers 1000000   # largest: 200,000
    .venv/bin/python -m bench.exports --database-url postgresql+psycopg://…/guichet_bench_exports \\
        --counts 50000 200000

For each count N and format (CSV, XLSX), a fresh Python process (so that its peak memory is
the export's alone, over the app's own footprint) builds the app on the database, takes an
administrator of the largest procedure (who sees all of it), and exports the first N
dossiers of the "all" tab — the filter ``number ≤ the N-th number``, sorted by number —
with the default columns plus every form field, through ``services.exports.write_export``
exactly as the worker does (server-side cursor, chunks, formatting, writing the file; not
storing it). It reports dossiers per second, the process's peak RSS (``ru_maxrss``) and its
RSS before the export, the file's size, and the time of ``COPY (the same SELECT) TO STDOUT``
read to the end, the database's own floor for producing those rows (``copy_ratio``: the
export's time over COPY's). For XLSX, also the time xlsxwriter itself needs to write as
many rows of the same cells, already formatted (``xlsxwriter_per_second``: the format's
own floor, which the target "close to what xlsxwriter itself can write" is about).

Targets (not asserted anywhere): CSV ≥ 50,000 dossiers/s, XLSX ≥ 6,000/s, peak RSS under
250 MB at 50,000 and 200,000 dossiers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMATS = ("csv", "xlsx")
COLUMN_SETS = ("default", "all")
"""The table's default columns (10), or those plus every form field (35 on the largest)."""


def measure(
    database_url: str,
    counts: list[int],
    formats: Sequence[str] = FORMATS,
    column_sets: Sequence[str] = COLUMN_SETS,
) -> list[dict[str, Any]]:
    """One result per (count, column set, format), each measured in its own process."""
    results = []
    for count in counts:
        for chosen in column_sets:
            for export_format in formats:
                results.append(_in_subprocess(database_url, count, export_format, chosen))
    return results


def _in_subprocess(
    database_url: str, count: int, export_format: str, chosen: str
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.exports",
        "--child",
        "--database-url",
        database_url,
        "--counts",
        str(count),
        "--formats",
        export_format,
        "--columns",
        chosen,
    ]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"export bench failed ({export_format}, {count}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(database_url: str, count: int, export_format: str, chosen: str) -> dict[str, Any]:
    """Run one export in this process and describe it (see the module's docstring)."""
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import AdministrationMember, Dossier, DossierState, Procedure, User
    from app.services import exports, tables
    from app.services.tables import DEFAULT_COLUMNS, FORM, Filter, Sort, TableQuery
    from config import POSTGRESQL_OPTIONS

    instance = tempfile.mkdtemp(prefix="guichet-bench-exports-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": POSTGRESQL_OPTIONS}},
            "INSTANCE_DIR": instance,
            "GUICHET_SYNC_PERMISSIONS_ON_START": False,
        }
    )
    with app.app_context(), app.test_request_context():
        procedure_id, _size = db.session.execute(
            sa.select(Dossier.procedure_id, sa.func.count())
            .where(Dossier.state != DossierState.draft)
            .group_by(Dossier.procedure_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()
        procedure = db.session.get(Procedure, procedure_id)
        user = db.session.scalar(
            sa.select(User)
            .join(AdministrationMember, AdministrationMember.user_id == User.id)
            .where(AdministrationMember.administration_id == procedure.administration_id)
            .limit(1)
        )
        columns = tables.catalogue(procedure, user)
        keys = [key for key in DEFAULT_COLUMNS if key in columns.columns]
        if chosen == "all":
            keys += [c.key for c in columns.columns.values() if c.group == FORM]
        everything = tables.validate(
            TableQuery(procedure.id, tab="all", columns=tuple(keys), sort=Sort("number", "asc")),
            columns,
        )
        numbers = tables.rows_statement(everything, user, columns).with_only_columns(Dossier.id)
        last = db.session.scalar(numbers.offset(count - 1).limit(1))
        if last is None:  # fewer than asked for: all of them (the result says how many)
            last = db.session.scalar(sa.select(sa.func.max(numbers.subquery().c.id)))
        query = everything.replace(filters=(Filter("number", "le", str(last)),))
        query = tables.validate(query, columns)
        rows = exports.count_rows(query, user, columns)
        with tempfile.TemporaryDirectory(prefix="guichet-bench-export-") as directory:
            # warm-up, as in a worker that has exported before: modules that field types
            # load on first use (countries, phone numbers…), plans, caches
            warm = query.replace(filters=(Filter("number", "le", str(last)),), search="")
            first = db.session.scalar(numbers.offset(min(count, 200) - 1).limit(1))
            warm = warm.replace(filters=(Filter("number", "le", str(first)),))
            exports.write_export(Path(directory), export_format, procedure, warm, user, columns)
        db.session.rollback()
        rss_before = _rss_bytes()
        with tempfile.TemporaryDirectory(prefix="guichet-bench-export-") as directory:
            started, cpu = time.perf_counter(), time.process_time()
            path, _media = exports.write_export(
                Path(directory), export_format, procedure, query, user, columns
            )
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            size = path.stat().st_size
        db.session.rollback()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        copy_seconds = _copy_time(db, tables.rows_statement(query, user, columns))
        writer_seconds = None
        if export_format == "xlsx":
            writer_seconds = _xlsxwriter_time(procedure, query, user, columns, rows)
    return {
        "format": export_format,
        "column_set": chosen,
        "dossiers": rows,
        "columns": len(query.columns),
        "seconds": round(elapsed, 3),
        "dossiers_per_second": round(rows / elapsed),
        "cpu_seconds": round(cpu, 3),
        "dossiers_per_cpu_second": round(rows / cpu) if cpu else None,
        "peak_rss_mb": round(peak / 2**20, 1),
        "rss_before_mb": round(rss_before / 2**20, 1),
        "file_mb": round(size / 2**20, 1),
        "copy_seconds": round(copy_seconds, 3),
        "copy_ratio": round(elapsed / copy_seconds, 1) if copy_seconds else None,
        **(
            {
                "xlsxwriter_seconds": round(writer_seconds, 3),
                "xlsxwriter_per_second": round(rows / writer_seconds),
                "xlsxwriter_ratio": round(elapsed / writer_seconds, 1),
            }
            if writer_seconds
            else {}
        ),
        "load_average": round(os.getloadavg()[0], 1),  # the machine may be shared
    }


def _xlsxwriter_time(procedure, query, user, columns, count: int, sample: int = 2000) -> float:
    """Seconds the export's XLSX writer needs to write ``count`` rows already formatted
    (the export's first ``sample`` rows and their repeated blocks' entries, written over
    and over through ``XlsxWriter.write_cells``): xlsxwriter's own work, the floor of an
    XLSX export whatever Guichet does to read and format the dossiers."""
    from app.extensions import db
    from app.services import exports

    layout = exports.Layout(query, columns)
    chunk = next(exports._chunks(query, user, columns, sample), [])
    db.session.rollback()
    if not chunk:
        return 0.0
    lines = [layout.values(row) for row in chunk]
    entries = [
        [list(block.rows(row.id, row.values.get(block.column.key))) for row in chunk]
        for block in layout.blocks
    ]

    def first(size: int) -> tuple[list, list]:
        return lines[:size], [[cells for row in b[:size] for cells in row] for b in entries]

    whole, rest = first(len(lines)), first(count % len(lines))
    with tempfile.TemporaryDirectory(prefix="guichet-bench-xlsxwriter-") as directory:
        writer = exports.XlsxWriter(Path(directory), layout, procedure)
        started = time.perf_counter()
        for _ in range(count // len(lines)):
            writer.write_cells(*whole)
        writer.write_cells(*rest)
        writer.close()
        return time.perf_counter() - started


def _copy_time(db, statement) -> float:
    """Seconds for ``COPY (statement) TO STDOUT``, every byte read."""
    from app.services.exports import copy_command

    raw, command = copy_command(statement)
    started = time.perf_counter()
    with raw.cursor() as cursor, cursor.copy(command) as copy:
        for _data in copy:
            pass
    elapsed = time.perf_counter() - started
    db.session.rollback()
    return elapsed


def _table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'format':<6} {'dossiers':>9} {'cols':>4} {'seconds':>8} {'dossiers/s':>10} "
        f"{'per CPU s':>9} {'load':>5} "
        f"{'peak RSS':>9} {'RSS before':>10} {'file':>8} {'COPY s':>7} {'×COPY':>6} "
        f"{'xlsxwriter/s':>12}"
    )
    lines = [head]
    for r in results:
        lines.append(
            f"{r['format']:<6} {r['dossiers']:>9,} {r['columns']:>4} {r['seconds']:>8.2f} "
            f"{r['dossiers_per_second']:>10,} {r['dossiers_per_cpu_second']:>9,} "
            f"{r['load_average']:>5} "
            f"{r['peak_rss_mb']:>6.0f} MB "
            f"{r['rss_before_mb']:>7.0f} MB {r['file_mb']:>5.0f} MB "
            f"{r['copy_seconds']:>7.2f} {r['copy_ratio']:>6} "
            + (f"{r['xlsxwriter_per_second']:>12,}" if "xlsxwriter_per_second" in r else "")
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--counts", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument(
        "--formats", nargs="+", choices=("csv", "xlsx", "ods", "json"), default=FORMATS
    )
    parser.add_argument("--columns", nargs="+", choices=COLUMN_SETS, default=COLUMN_SETS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("a PostgreSQL --database-url (or DATABASE_URL) is needed")
    if args.child:
        result = _child(args.database_url, args.counts[0], args.formats[0], args.columns[0])
        print(json.dumps(result))
        return 0
    results = measure(args.database_url, args.counts, args.formats, args.columns)
    print(json.dumps(results, indent=2) if args.json else _table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
