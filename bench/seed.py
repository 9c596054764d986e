"""Fill a PostgreSQL database with a million realistic dossiers, fast ([G10] item 1).

    createdb -h 127.0.0.1 -U postgres guichet_bench
    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/guichet_bench
    .venv/bin/flask --app app guichet init --no-admin
    .venv/bin/python -m bench.seed --dossiers 1000000        # --force to load again

What it writes: the seed's French world (``app/services/seed.py``: administrations, agents,
applicants, procedures, dossiers moved through the real workflow with their transitions,
messages and follows) at benchmark scale — 350 procedures of 10 to 40 fields drawn from
every field type, the largest holding exactly 20 % of the dossiers with one field of each of
the 25 answered types — plus private annotations, labels and the ``dossier_search`` rows.
Every seeded account's password is the seed's (``SEED_PASSWORD``). ``bench/seed_data.py``
says what is generated, ``bench/seed_text.py`` how the search text is made.

Why it is written this way (2 cores, PostgreSQL 15, measured; the machine was shared with
other test runs, load average 6 to 8, so figures are upper bounds):

- No ORM and no ``INSERT``: rows go through ``COPY … FROM STDIN`` (psycopg 3 ``write_row``).
  The server spends about 1 s of CPU per 100,000 dossier rows; the Python generator, about
  170 µs per dossier with its children, is the bottleneck.
- So the server works while Python generates: each big table has its own connection holding
  one ``COPY`` open for the whole load. Foreign keys are dropped for the load (a transition
  arrives before its dossier's transaction commits) and re-added after it, which validates
  the whole data set in one join each (``bench/seed_schema.py``; primary keys stay).
- ``COPY … FREEZE`` after a ``TRUNCATE`` in the same transaction writes rows frozen and
  all-visible: no hint-bit rewrite on first read and no ``VACUUM`` before index-only scans
  work (performance-notes.md counts tabs over index-only scans).
- Secondary indexes stay in place by default (``--indexes``): their upkeep runs on the
  server's core while Python generates, where rebuilding them afterwards is serial time
  (the GIN index on answers alone took 167 s to build for 1,000,000 dossiers).
- The search text is the application's own (``search.document_text``'s, checked on a
  sample), COPYed into a table whose trigger inserts ``to_tsvector('guichet_fr', text)``
  into ``dossier_search`` as rows arrive (``--search-text``). Measured at 100,000 dossiers:
  one ``INSERT … SELECT to_tsvector`` pass after the load took 13.4 s from a staging table
  on one connection (as a temporary table must), 9.3 s split over two connections, 10.9 s
  building a rougher text in SQL from the stored answers (no Python text, 35 % less
  generator CPU, but ISO dates and raw codes instead of what the application indexes); the
  trigger adds nothing after the load. For 1,000,000 dossiers, staged text with indexes
  rebuilt afterwards took 753 s in all, the trigger with indexes kept 564 s.

Then ``ANALYZE``, with ``CREATE STATISTICS`` on the answers agents filter large procedures
by (performance-notes.md: choice equality, date and number ranges), and every id sequence
moved past the loaded ids. Same ``--seed`` and sizes, same data; only "now" moves the dates
(``--now`` pins it).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import enum
import gc
import json
import operator
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.security.sqla.models import User, assoc_user_role
from flask_babel import force_locale
from psycopg import sql

from app.models import (
    Administration,
    AdministrationMember,
    Dossier,
    DossierState,
    FieldDefinition,
    Follow,
    InstructorGroup,
    Label,
    Message,
    Procedure,
    ProcedureRevision,
    StateTransition,
    dossier_label,
    instructor_group_member,
)
from app.security import Roles
from app.services import seed as base
from app.services.search import TEXT_SEARCH_CONFIG

from . import seed_schema
from .seed_data import BenchSeed, Sizes
from .seed_text import Renderer, TextMismatch

KEPT_TABLES = frozenset(
    {
        "alembic_version",
        "ab_permission",
        "ab_view_menu",
        "ab_permission_view",
        "ab_role",
        "ab_permission_view_role",
    }
)
"""FAB's roles and permissions and the schema version survive ``--force`` (as in the
tests' fixture); every other table is emptied."""

STAGING_TABLE = "bench_seed_search_text"
STAGING_FUNCTION = "bench_seed_search_index"
STATISTICS_PREFIX = "bench_seed_"
TRIGGERED_TABLES = ("follow", "dossier")
"""Tables whose triggers the load turns off: those keeping ``dossier.follower_count``
would update a dossier per follow COPYed, those keeping the tab counters' tallies would
write a row per dossier. The load writes the counts itself, the tallies after it."""
TALLY = (
    "INSERT INTO dossier_tally (procedure_id, group_id, state, archived, hidden, followed, n) "
    "SELECT procedure_id, group_id, state, archived, hidden_by_administration_at IS NOT NULL, "
    "follower_count > 0, count(*) FROM dossier WHERE state <> 'draft' GROUP BY 1, 2, 3, 4, 5, 6"
)
BENCH_TABLES = frozenset({STAGING_TABLE, seed_schema.DDL_TABLE})

REFERENCE_TABLES = (
    User.__table__,
    assoc_user_role,
    Administration.__table__,
    AdministrationMember.__table__,
    Procedure.__table__,
    ProcedureRevision.__table__,
    FieldDefinition.__table__,
    InstructorGroup.__table__,
    instructor_group_member,
    Label.__table__,
)
STREAMED_TABLES = (
    Dossier.__table__,
    StateTransition.__table__,
    Message.__table__,
    Follow.__table__,
    dossier_label,
)
SEARCH_TABLE = "dossier_search"
LOADED_TABLES = [t.name for t in (*REFERENCE_TABLES, *STREAMED_TABLES)] + [SEARCH_TABLE]
INDEXED_TABLES = ["ab_user", "ab_user_role"] + [t.name for t in STREAMED_TABLES] + [SEARCH_TABLE]
"""Tables whose secondary indexes ``--indexes drop`` (or ``gin``) rebuilds after the load;
the others are small."""

_staging_metadata = sa.MetaData()
STAGING = sa.Table(
    STAGING_TABLE,
    _staging_metadata,
    sa.Column("dossier_id", sa.BigInteger),
    sa.Column("procedure_id", sa.Integer),
    sa.Column("text", sa.Text),
)

BATCH_SIZE = 1_000
"""Dossiers generated between two writes to the COPY streams."""

EARLY_CHECKS = 200
"""The first search texts are all compared with the application's (in the first batch, so
that a shortcut gone stale is caught before anything is written)."""

STATISTICS_SHARE = 0.05
"""Procedures holding at least this share of the dossiers (and always the largest) get
statistics on the answers agents filter by."""

SEARCH_TEXT_MODES = {
    "stream": "the application's text, COPYed during the load into a table whose trigger "
    "inserts to_tsvector(text) into dossier_search (the server works while Python generates)",
    "staged": "the application's text, COPYed into an unlogged table, then one INSERT … "
    "SELECT to_tsvector per worker after the load",
    "sql": "no Python text: one INSERT … SELECT per worker after the load builds a text from "
    "the stored answers (ISO dates, raw codes: not what the application writes)",
}

INDEX_STRATEGIES = {
    "drop": "rebuild every secondary index after the load",
    "gin": "keep the btrees of the streamed tables, rebuild the GIN ones and dossier_search's",
    "keep": "load with every secondary index in place",
}

SESSION_SETTINGS = (
    "SET jit = off",  # performance-notes.md: JIT only adds seconds to bulk statements
    "SET synchronous_commit = off",
    "SET maintenance_work_mem = '1GB'",  # index builds and GIN accumulation in memory
    "SET max_parallel_maintenance_workers = 0",  # the builds already run one per core
)
STREAM_SETTINGS = (
    # GIN indexes kept during the load gather new entries in a pending list and merge it
    # into the index when it is full: a bigger list merges in fewer, larger batches (the
    # dossier stream's server CPU halved at 100,000 dossiers). Merged at the end.
    "SET gin_pending_list_limit = '64MB'",
    "SET work_mem = '256MB'",
)

S = DossierState


class SeedError(Exception):
    """The load cannot start or went wrong; the message says why (printed, exit 2)."""


@dataclass
class Options:
    """What to load; the defaults are [G10]'s figures."""

    dossiers: int = 1_000_000
    procedures: int = 350
    agents: int = 5_000
    applicants: int | None = None  # None: 60 % of the dossiers, as in the seed
    administrations: int = 567
    seed: int = base.RANDOM_SEED
    force: bool = False
    search_text: str = "stream"  # see SEARCH_TEXT_MODES
    indexes: str = "keep"  # see INDEX_STRATEGIES
    workers: int = 2
    check_every: int = 1_000
    now: datetime | None = None


@dataclass
class Report:
    """What was loaded and how long each phase took."""

    timings: list[tuple[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    database_size: int = 0
    states: dict[str, int] = field(default_factory=dict)
    largest: tuple[int, int] = (0, 0)  # procedure id, its dossiers
    statistics: int = 0
    texts_checked: int = 0
    texts_exact: bool = False  # the shortcut was stale: document_text for every dossier
    cpu: dict[str, float] = field(default_factory=dict)  # during the dossier phase

    @property
    def total_seconds(self) -> float:
        return sum(seconds for _, seconds in self.timings)

    def table(self) -> str:
        """The final table: row counts and sizes per table, then timings per phase."""
        lines = [f"{'table':<26}{'rows':>14}{'size':>12}"]
        for name, rows in self.counts.items():
            lines.append(f"{name:<26}{rows:>14,}{_megabytes(self.sizes.get(name, 0)):>12}")
        lines.append(f"{'database':<26}{'':>14}{_megabytes(self.database_size):>12}")
        total = sum(self.states.values()) or 1
        states = ", ".join(f"{s} {n:,} ({n / total:.1%})" for s, n in self.states.items())
        lines += [
            "",
            f"dossiers by state: {states}",
            f"largest procedure: n° {self.largest[0]} with {self.largest[1]:,} dossiers "
            f"({self.largest[1] / total:.1%})",
            f"expression statistics created: {self.statistics}; search texts compared with "
            f"document_text: {self.texts_checked:,}"
            + (" (shortcut out of date: all made by document_text)" if self.texts_exact else ""),
            "CPU during the dossier phase: "
            + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.cpu.items()),
            "",
            f"{'phase':<40}{'seconds':>10}",
        ]
        lines += [f"{name:<40}{seconds:>10.1f}" for name, seconds in self.timings]
        lines.append(f"{'total':<40}{self.total_seconds:>10.1f}")
        return "\n".join(lines)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


# ---------------------------------------------------------------------------------------
# Rows to COPY


class RowFormat:
    """How the seed's dict rows of one table become ``COPY`` tuples.

    Core ``INSERT``s fill in the models' Python-side defaults; ``COPY`` does not, so columns
    the rows leave out get their model default here (once, constant for the load). JSON
    documents are serialised, enums written as their values, SQL NULL markers as NULL.
    """

    def __init__(self, table: sa.Table, keys: Sequence[str], db_columns: set[str]) -> None:
        unknown = [key for key in keys if key not in db_columns]
        if unknown:
            raise SeedError(f"{table.name}: no column {unknown} in the database (migrated?)")
        defaults = []
        for column in table.columns:
            default = column.default
            if column.name in keys or column.name not in db_columns or default is None:
                continue
            if default.is_scalar:
                defaults.append((column, default.arg))
            elif default.is_callable:
                defaults.append((column, default.arg(None)))
        self.keys = tuple(keys)
        self.columns = self.keys + tuple(column.name for column, _ in defaults)
        self.tail = tuple(
            (_converter(column) or (lambda value: value))(value) for column, value in defaults
        )
        converters = [_converter(table.c[key]) for key in keys]
        self._converted = [(i, c) for i, c in enumerate(converters) if c is not None]
        self._get = operator.itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)

    def __call__(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = self._get(row)
        if self._converted:
            values = list(values)
            for index, convert in self._converted:
                values[index] = convert(values[index])
        return (*values, *self.tail)


def _converter(column: sa.Column) -> Callable[[Any], Any] | None:
    if isinstance(column.type, sa.JSON):
        return _json
    if isinstance(column.type, sa.Enum):
        return lambda value: value.value if isinstance(value, enum.Enum) else value
    return None


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json(value: Any) -> str | None:
    if value is None or isinstance(value, sa.sql.elements.Null):
        return None
    return _dumps(value)


def _copy_statement(table: str, columns: Sequence[str], *, freeze: bool = True) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN" + (" WITH (FREEZE)" if freeze else "")).format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


class ReferenceSink:
    """Writes the seed's reference rows (users, procedures…) on one connection, in the
    transaction that truncated each table, so that ``FREEZE`` applies."""

    def __init__(self, connection: psycopg.Connection, db_columns: dict[str, set[str]]) -> None:
        self.connection = connection
        self.db_columns = db_columns
        self.formats: dict[str, RowFormat] = {}

    def __call__(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        row_format = self.formats.get(table.name)
        with self.connection.cursor() as cursor:
            if row_format is None:
                row_format = RowFormat(table, list(rows[0]), self.db_columns[table.name])
                self.formats[table.name] = row_format
                cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table.name)))
            elif tuple(rows[0]) != row_format.keys:
                raise SeedError(f"{table.name}: rows with other columns than before")
            with cursor.copy(_copy_statement(table.name, row_format.columns)) as copy:
                for row in rows:
                    copy.write_row(row_format(row))


class Stream:
    """One table's ``COPY … FREEZE`` on its own connection, open for the whole load.

    Opened at the first rows (their keys give the columns); ``finish`` commits. The queued
    writer sends data from a thread of its own, so the generator rarely waits for the
    server.
    """

    def __init__(
        self,
        dsn: str,
        table: sa.Table,
        db_columns: set[str],
        *,
        create: Sequence[sql.Composable] = (),
        freeze: bool = True,
    ) -> None:
        self.dsn = dsn
        self.table = table
        self.db_columns = db_columns
        self.create = create
        self.freeze = freeze
        self.rows = 0
        self.server_cpu: float | None = None  # seconds of its server process, if local
        self.connection: psycopg.Connection | None = None
        self._context: Any = None
        self._copy: Any = None
        self._format: RowFormat | None = None

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._copy is None:
            self._open(rows[0])
        row_format, write_row = self._format, self._copy.write_row
        for row in rows:
            write_row(row_format(row))
        self.rows += len(rows)

    def _open(self, first: dict[str, Any]) -> None:
        columns = set(first) if self.create else self.db_columns
        self._format = RowFormat(self.table, list(first), columns)
        self.connection = connect(self.dsn, settings=STREAM_SETTINGS)
        cursor = self.connection.cursor()
        for statement in self.create or [
            sql.SQL("TRUNCATE {}").format(sql.Identifier(self.table.name))
        ]:
            cursor.execute(statement)
        statement = _copy_statement(self.table.name, self._format.columns, freeze=self.freeze)
        self._context = cursor.copy(statement)
        self._copy = self._context.__enter__()

    def finish(self) -> None:
        if self._copy is not None:
            self._context.__exit__(None, None, None)
            self._copy = None
        if self.connection is not None:
            self.connection.commit()
            self.server_cpu = backend_cpu(self.connection.info.backend_pid)
            self.connection.close()
            self.connection = None

    def abort(self) -> None:
        """Roll back whatever was written (after an error elsewhere)."""
        if self._copy is not None:
            error = SeedError("load aborted")
            # The server answers the aborted COPY with an error: expected, not news.
            with contextlib.suppress(Exception):
                self._context.__exit__(SeedError, error, None)
            self._copy = None
        if self.connection is not None:
            self.connection.rollback()
            self.connection.close()
            self.connection = None


def backend_cpu(pid: int) -> float | None:
    """CPU seconds a local PostgreSQL server process has used (Linux), else None: on a
    shared machine, wall time alone does not say who waited for whom."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------
# Connections and parallel statements


def dsn_from_url(url: str) -> str:
    """A libpq URI from the application's SQLAlchemy URL (PostgreSQL only)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SeedError(f"bench.seed loads PostgreSQL only, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def connect(
    dsn: str, *, autocommit: bool = False, settings: Sequence[str] = ()
) -> psycopg.Connection:
    connection = psycopg.connect(dsn, autocommit=autocommit)
    for setting in (*SESSION_SETTINGS, *settings):
        connection.execute(setting)
    if not autocommit:
        connection.commit()
    return connection


def run_parallel(
    dsn: str,
    statements: Sequence[tuple[str, sql.Composable | str, Sequence[Any] | None]],
    workers: int,
    out: Callable[[str], None],
) -> list[tuple[str, float]]:
    """Run (label, statement, params) items, ``workers`` at a time, each on its own
    connection in autocommit, in the given order (longest first is best). A deadlock
    between two ``ALTER TABLE … ADD FOREIGN KEY`` (procedures and revisions point at each
    other) is retried. Returns each item's duration; the first error is raised."""
    pending: queue.SimpleQueue[tuple[str, Any, Any]] = queue.SimpleQueue()
    for item in statements:
        pending.put(item)
    durations: list[tuple[str, float]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        with connect(dsn, autocommit=True) as connection:
            while not errors:
                try:
                    label, statement, params = pending.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    for attempt in range(5):
                        try:
                            connection.execute(statement, params)
                            break
                        except psycopg.errors.DeadlockDetected:
                            if attempt == 4:
                                raise
                except BaseException as error:
                    with lock:
                        errors.append(error)
                    return
                seconds = time.perf_counter() - started
                with lock:
                    durations.append((label, seconds))
                if seconds >= 5:
                    out(f"    {label}: {seconds:.1f} s")

    threads = [threading.Thread(target=worker) for _ in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return durations


# ---------------------------------------------------------------------------------------
# The load


@contextmanager
def _phase(report: Report, name: str, out: Callable[[str], None]) -> Iterator[None]:
    out(f"{name}…")
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    report.timings.append((name, seconds))
    out(f"{name}: {seconds:.1f} s")


def run(url: str, options: Options, out: Callable[[str], None] = print) -> Report:
    """Load the data set described by ``options`` into the database at ``url``.

    Needs an application context (field types format the search text through Babel with
    the platform's default language). Raises SeedError when the database is not migrated,
    or already holds data and ``force`` is not set.
    """
    if options.dossiers < 0 or options.procedures < 1 or options.agents < 1:
        raise SeedError("--dossiers ≥ 0, --procedures ≥ 1 and --agents ≥ 1, please")
    if options.search_text not in SEARCH_TEXT_MODES:
        raise SeedError(f"--search-text is one of {', '.join(SEARCH_TEXT_MODES)}")
    if options.indexes not in INDEX_STRATEGIES:
        raise SeedError(f"--indexes is one of {', '.join(INDEX_STRATEGIES)}")
    dsn = dsn_from_url(url)
    report = Report()
    started = time.perf_counter()
    with connect(dsn, autocommit=True) as connection:
        with _phase(report, "prepare (checks, drop indexes and keys)", out):
            role_ids = _preflight(connection, options, out)
            db_columns = _database_columns(connection)
            saved = seed_schema.foreign_keys(connection, LOADED_TABLES)
            saved += _indexes_to_drop(connection, options.indexes)
            seed_schema.drop(connection, saved)
        try:
            seed = _load(dsn, connection, options, role_ids, db_columns, report, out)
        except BaseException:
            out("load failed: putting indexes and constraints back before stopping")
            _restore(dsn, connection, saved, options, report, out, seed=None)
            raise
        _restore(dsn, connection, saved, options, report, out, seed=seed)
        with _phase(report, "reset id sequences", out):
            _reset_sequences(connection)
        with _phase(report, "count rows", out):
            _measure(connection, report)
    out(f"done in {time.perf_counter() - started:.1f} s")
    return report


def _indexes_to_drop(connection: psycopg.Connection, strategy: str) -> list[seed_schema.Saved]:
    """The secondary indexes and unique constraints to rebuild after the load."""
    found = seed_schema.indexes(connection, INDEXED_TABLES)
    if strategy == "keep":
        return []
    if strategy == "gin":
        return [i for i in found if i.table == SEARCH_TABLE or " USING gin " in i.restore]
    return found


def _preflight(
    connection: psycopg.Connection, options: Options, out: Callable[[str], None]
) -> dict[str, int]:
    """Check the schema and roles; refuse a database holding data unless ``force``."""
    migrated = connection.execute(
        "SELECT to_regclass('public.alembic_version') IS NOT NULL "
        "AND to_regclass('public.dossier_search') IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = %s)",
        (TEXT_SEARCH_CONFIG,),
    ).fetchone()[0]
    if not migrated:
        raise SeedError("database not migrated: run `flask --app app guichet init --no-admin`")
    wanted = [Roles.AGENT, Roles.APPLICANT, Roles.ADMINISTRATOR]
    role_ids = dict(
        connection.execute("SELECT name, id FROM ab_role WHERE name = ANY(%s)", (wanted,))
    )
    missing = [name for name in wanted if name not in role_ids]
    if missing:
        raise SeedError(f"roles {missing} missing: run `flask --app app guichet init`")

    tables = _guichet_tables(connection)
    filled = [
        table
        for table in tables
        if connection.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
        ).fetchone()[0]
    ]
    leftover = seed_schema.pending(connection)
    if (filled or leftover is not None) and not options.force:
        what = ", ".join(filled) or "nothing, but an interrupted load left indexes dropped"
        raise SeedError(
            f"the database already holds data ({what}): --force empties every Guichet table "
            "(FAB's roles and permissions stay) and loads again"
        )
    if options.force and (filled or leftover is not None):
        out(f"--force: emptying {len(tables)} tables")
        connection.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, tables))
            )
        )
    if leftover is not None:
        out(f"restoring {len(leftover)} indexes and constraints of an interrupted load")
        for item in leftover:
            if not item.exists(connection):
                connection.execute(item.restore)
        seed_schema.forget(connection)
    _drop_staging(connection)
    for table in TRIGGERED_TABLES:
        connection.execute(
            sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table))
        )
    for (name,) in connection.execute(
        "SELECT stxname FROM pg_statistic_ext WHERE stxname LIKE %s",
        (STATISTICS_PREFIX.replace("_", r"\_") + "%",),
    ).fetchall():
        connection.execute(sql.SQL("DROP STATISTICS {}").format(sql.Identifier(name)))
    return role_ids


def _guichet_tables(connection: psycopg.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    return [name for (name,) in rows if name not in KEPT_TABLES and name not in BENCH_TABLES]


def _database_columns(connection: psycopg.Connection) -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for table, column in connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public'"
    ):
        columns.setdefault(table, set()).add(column)
    return columns


def _load(
    dsn: str,
    connection: psycopg.Connection,
    options: Options,
    role_ids: dict[str, int],
    db_columns: dict[str, set[str]],
    report: Report,
    out: Callable[[str], None],
) -> BenchSeed:
    """Reference data in one transaction, then the dossiers on parallel streams, then the
    search rows."""
    now = options.now or datetime.now(UTC)
    sizes = Sizes(
        dossiers=options.dossiers,
        procedures=options.procedures,
        agents=options.agents,
        administrations=options.administrations,
        applicants=options.applicants,
    )
    with _phase(report, "reference data (users, procedures, forms)", out):
        with connect(dsn) as reference:
            sink = ReferenceSink(reference, db_columns)
            seed = BenchSeed(role_ids, seed=options.seed, now=now, sink=sink)
            procs, skeletons = seed.reference_data(sizes)
            reference.commit()
        out(
            f"  {len(procs)} procedures, {len(seed.field_rows):,} field definitions, "
            f"{sum(seed.accounts.values()):,} accounts"
        )
    python_text = options.search_text != "sql"
    renderer = Renderer(seed.emails, renderer_locale())
    if python_text:
        for revision_id, form in seed.forms.items():
            renderer.add_form(revision_id, form.definitions)

    streams = {table.name: Stream(dsn, table, db_columns[table.name]) for table in STREAMED_TABLES}
    staging = Stream(
        dsn, STAGING, set(), create=_staging_statements(options.search_text), freeze=False
    )
    cpu_started = time.process_time()
    with _phase(report, "dossiers (generate and COPY)", out), _no_garbage_collection():
        try:
            with force_locale(renderer_locale()):
                _stream_dossiers(seed, procs, skeletons, streams, staging, renderer, options, out)
            for stream in [*streams.values(), staging]:
                stream.finish()
        except BaseException:
            for stream in [*streams.values(), staging]:
                stream.abort()
            raise
    report.texts_checked = renderer.checked
    report.texts_exact = renderer.exact
    report.cpu["generator (Python)"] = time.process_time() - cpu_started
    for stream in [*streams.values(), staging]:
        if stream.server_cpu is not None:
            report.cpu[f"server {stream.table.name}"] = stream.server_cpu
    if options.search_text == "stream":
        _drop_staging(connection)
    else:
        with _phase(report, "dossier_search (to_tsvector)", out):
            _search_rows(dsn, connection, options, staging.rows > 0, out)
    return seed


def _staging_statements(mode: str) -> list[sql.Composable]:
    """The staging table of the search texts; in ``stream`` mode its trigger turns each
    row into a ``dossier_search`` row at once and keeps nothing."""
    table, function = sql.Identifier(STAGING_TABLE), sql.Identifier(STAGING_FUNCTION)
    statements: list[sql.Composable] = [
        sql.SQL(
            "CREATE UNLOGGED TABLE {} (dossier_id bigint, procedure_id integer, text text)"
        ).format(table)
    ]
    if mode == "stream":
        statements += [
            sql.SQL(
                "CREATE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "INSERT INTO dossier_search (dossier_id, procedure_id, document) VALUES "
                "(NEW.dossier_id, NEW.procedure_id, to_tsvector({}::regconfig, NEW.text)); "
                "RETURN NULL; END $$"
            ).format(function, sql.Literal(TEXT_SEARCH_CONFIG)),
            sql.SQL(
                "CREATE TRIGGER {} BEFORE INSERT ON {} FOR EACH ROW EXECUTE FUNCTION {}()"
            ).format(function, table, function),
        ]
    return statements


def _drop_staging(connection: psycopg.Connection) -> None:
    connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(STAGING_TABLE)))
    connection.execute(
        sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(STAGING_FUNCTION))
    )


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """The generator keeps millions of long-lived objects (skeletons, people, forms) and
    makes short-lived dicts without cycles: the cyclic collector would rescan the former
    again and again for nothing. Freeze what exists, pause collection, resume after."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def renderer_locale() -> str:
    """The platform's default language: search documents are written in it
    (``search.refresh``), whoever saves."""
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")


def _stream_dossiers(
    seed: BenchSeed,
    procs: list[Any],
    skeletons: list[tuple[int, int, datetime]],
    streams: dict[str, Stream],
    staging: Stream,
    renderer: Renderer,
    options: Options,
    out: Callable[[str], None],
) -> None:
    """Generate every dossier with the seed's ``dossier()`` and write it and its children
    to the streams, a batch at a time. Samples of the search texts are compared with the
    application's own (the first 200, then one in ``check_every``)."""
    python_text = options.search_text != "sql"
    total = len(skeletons)
    step = max(BATCH_SIZE, total // 20)
    batch, labels, texts = base._Batch(), [], []
    indexed = 0
    started = time.perf_counter()

    def flush() -> None:
        # The follower counts the triggers on ``follow`` keep, disabled during the load.
        followers = collections.Counter(follow["dossier_id"] for follow in batch.follows)
        for row in batch.dossiers:
            row["follower_count"] = followers[row["id"]]
        streams["dossier"].write(batch.dossiers)
        streams["state_transition"].write(batch.transitions)
        streams["message"].write(batch.messages)
        streams["follow"].write(batch.follows)
        streams["dossier_label"].write(labels)
        staging.write(texts)

    for number, (index, owner_id, created) in enumerate(skeletons, start=1):
        proc = procs[index]
        row, label_ids = seed.dossier_rows(proc, owner_id, created, batch)
        for label_id in label_ids:
            labels.append({"dossier_id": row["id"], "label_id": label_id})
        if python_text and row["state"] != S.draft:
            text = renderer.text(row)
            indexed += 1
            if options.check_every and (
                indexed <= EARLY_CHECKS or indexed % options.check_every == 0
            ):
                try:
                    renderer.check(row, text)
                except TextMismatch as mismatch:
                    if indexed > EARLY_CHECKS or number > BATCH_SIZE:
                        raise
                    out(
                        f"  {mismatch}\n  the search text shortcut is out of date with "
                        "app/services/search.py: using document_text for every dossier"
                    )
                    renderer.exact = True
                    text = renderer.expected(row)
                    rows = {item["id"]: item for item in batch.dossiers}
                    for staged in texts:
                        staged["text"] = renderer.expected(rows[staged["dossier_id"]])
            texts.append({"dossier_id": row["id"], "procedure_id": proc.id, "text": text})
        if len(batch.dossiers) >= BATCH_SIZE:
            flush()
            batch, labels, texts = base._Batch(), [], []
        if number % step == 0 or number == total:
            elapsed = time.perf_counter() - started
            rate = number / elapsed if elapsed else 0.0
            eta = (total - number) / rate if rate else 0.0
            out(
                f"  {number:>10,} / {total:,} dossiers  {rate:>8,.0f}/s  "
                f"{elapsed:>6.0f} s elapsed, about {eta:.0f} s to go"
            )
    flush()


def _search_rows(
    dsn: str,
    connection: psycopg.Connection,
    options: Options,
    staged: bool,
    out: Callable[[str], None],
) -> None:
    """``dossier_search`` from the staged texts (or, with ``--search-text sql``, from
    the stored answers), one ``INSERT … SELECT to_tsvector`` per worker on id ranges."""
    last = connection.execute("SELECT coalesce(max(id), 0) FROM dossier").fetchone()[0]
    if not last:
        return
    config = sql.Literal(TEXT_SEARCH_CONFIG)
    if options.search_text == "staged":
        if not staged:
            return
        statement = sql.SQL(
            "INSERT INTO dossier_search (dossier_id, procedure_id, document) "
            "SELECT dossier_id, procedure_id, to_tsvector({}::regconfig, text) FROM {} "
            "WHERE dossier_id BETWEEN %s AND %s"
        ).format(config, sql.Identifier(STAGING_TABLE))
    else:
        statement = sql.SQL(
            "INSERT INTO dossier_search (dossier_id, procedure_id, document) "
            "SELECT d.id, d.procedure_id, to_tsvector({}::regconfig, concat_ws(E'\\n', "
            "d.id::text, d.identity->>'first_name', d.identity->>'last_name', "
            "d.identity->>'name', d.identity->>'siret', u.email, "
            "(SELECT string_agg(a.value, E'\\n') FROM jsonb_each_text(d.answers) a), "
            "(SELECT string_agg(a.value, E'\\n') FROM jsonb_each_text(d.annotations) a))) "
            "FROM dossier d LEFT JOIN ab_user u ON u.id = d.owner_id "
            "WHERE d.state <> 'draft' AND d.id BETWEEN %s AND %s"
        ).format(config)
    workers = max(1, options.workers)
    bounds = [last * part // workers for part in range(workers + 1)]
    items = [
        (f"to_tsvector {low + 1:,}–{high:,}", statement, (low + 1, high))
        for low, high in zip(bounds, bounds[1:], strict=False)
    ]
    run_parallel(dsn, items, workers, out)
    _drop_staging(connection)


def _restore(
    dsn: str,
    connection: psycopg.Connection,
    saved: list[seed_schema.Saved],
    options: Options,
    report: Report,
    out: Callable[[str], None],
    *,
    seed: BenchSeed | None,
) -> None:
    """Indexes and unique constraints (biggest first), statistics and ANALYZE, then the
    foreign keys (validated against the analysed data), one per core. Without ``seed``
    (a failed load) only the schema is put back."""
    workers = options.workers
    weight = {"dossier": 0, "dossier_search": 1, "state_transition": 2, "message": 3}

    def order(item: seed_schema.Saved) -> tuple[int, int]:
        gin = 0 if " USING gin " in item.restore else 1
        return gin, weight.get(item.table, 9)

    for table in TRIGGERED_TABLES:
        connection.execute(
            sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table))
        )
    if seed is not None:
        connection.execute(TALLY)
    builds = sorted((i for i in saved if i.kind != "foreign_key"), key=order)
    with _phase(report, f"indexes and unique constraints ({len(builds)})", out):
        run_parallel(dsn, [(i.name, i.restore, None) for i in builds], workers, out)
    if seed is not None:
        with _phase(report, "merge GIN pending lists", out):
            gin = connection.execute(
                "SELECT x.oid::regclass::text FROM pg_index i "
                "JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am a ON a.oid = x.relam "
                "JOIN pg_class t ON t.oid = i.indrelid "
                "WHERE a.amname = 'gin' AND t.relnamespace = 'public'::regnamespace "
                "AND t.relname = ANY(%s)",
                (LOADED_TABLES,),
            ).fetchall()
            merges = [
                (name, "SELECT gin_clean_pending_list(%s::regclass)", (name,)) for (name,) in gin
            ]
            run_parallel(dsn, merges, workers, out)
        with _phase(report, "CREATE STATISTICS and ANALYZE", out):
            statements = _statistics(seed, options.dossiers)
            for statement in statements:
                connection.execute(statement)
            report.statistics = len(statements)
            analyze = [
                (f"analyze {table}", sql.SQL("ANALYZE {}").format(sql.Identifier(table)), None)
                for table in sorted(LOADED_TABLES, key=lambda t: weight.get(t, 9))
                if table != SEARCH_TABLE
            ]
            # dossier_search was INSERTed, not frozen by COPY: VACUUM sets its visibility map.
            vacuum = ("vacuum analyze dossier_search", "VACUUM (ANALYZE) dossier_search", None)
            analyze.insert(1, vacuum)
            run_parallel(dsn, analyze, workers, out)
    keys = [i for i in saved if i.kind == "foreign_key"]
    with _phase(report, f"foreign keys ({len(keys)}, validated)", out):
        big = {"state_transition": 0, "message": 1, "follow": 2, "dossier_search": 3, "dossier": 4}
        keys.sort(key=lambda item: big.get(item.table, 9))
        run_parallel(dsn, [(i.name, i.restore, None) for i in keys], workers, out)
    seed_schema.forget(connection)


NUMBER_TYPES = frozenset({"integer", "decimal"})
TEXT_COMPARED_TYPES = frozenset(
    {
        "date",
        "datetime",
        "yes_no",
        "checkbox",
        "civility",
        "drop_down",
        "country",
        "region",
        "department",
        "commune",
    }
)
"""Answers the agents' tables compare as ``answers ->> 'key'`` text (choices, ISO dates,
booleans), as ``app/services/tables.py`` writes them; numbers are cast to numeric."""


def _statistics(seed: BenchSeed, dossiers: int) -> list[sql.Composed]:
    """``CREATE STATISTICS`` on the expressions the agents' tables filter large procedures
    by: without them the planner guesses 0.5 % for a range on a date or number and picks a
    slow plan, and misjudges equality on a choice (performance-notes.md)."""
    statements = []
    for position, (proc, count) in enumerate(zip(seed.procs, seed.quotas, strict=True)):
        if position and count < dossiers * STATISTICS_SHARE:
            continue
        revision_id = proc.revision_id
        form = seed.forms[revision_id]
        public = [(sid, t) for sid, t in [*form.seed_fields, *form.extra_fields]]
        for document, fields in (("answers", public), ("annotations", form.private_fields)):
            for stable_id, template in fields:
                if template.type in NUMBER_TYPES:
                    expression = "((({} ->> {}))::numeric)"
                elif template.type in TEXT_COMPARED_TYPES:
                    expression = "(({} ->> {}))"
                elif template.type == "linked_drop_down":
                    expression = "((({} -> {}) ->> 'primary'))"
                else:
                    continue
                name = f"{STATISTICS_PREFIX}{revision_id}_{stable_id}"
                statements.append(
                    sql.SQL("CREATE STATISTICS {} ON " + expression + " FROM dossier").format(
                        sql.Identifier(name), sql.Identifier(document), sql.Literal(stable_id)
                    )
                )
    return statements


def _reset_sequences(connection: psycopg.Connection) -> None:
    """Every ``id`` sequence of a Guichet table just past its largest id (FAB's tables use
    named sequences that ``TRUNCATE … RESTART IDENTITY`` does not own)."""
    rows = connection.execute(
        "SELECT table_name, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = 'id' "
        "AND column_default LIKE 'nextval(%%'"
    ).fetchall()
    for table, default in rows:
        if table in KEPT_TABLES:
            continue
        match = re.match(r"nextval\('(.+)'::regclass\)", default)
        if match is None:
            continue
        connection.execute(
            sql.SQL(
                "SELECT setval(%s::regclass, coalesce((SELECT max(id) FROM {}), 0) + 1, false)"
            ).format(sql.Identifier(table)),
            (match.group(1),),
        )


def _measure(connection: psycopg.Connection, report: Report) -> None:
    for table in LOADED_TABLES:
        identifier = sql.Identifier(table)
        report.counts[table] = connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(identifier)
        ).fetchone()[0]
        report.sizes[table] = connection.execute(
            "SELECT pg_total_relation_size(%s::regclass)", (table,)
        ).fetchone()[0]
    report.database_size = connection.execute(
        "SELECT pg_database_size(current_database())"
    ).fetchone()[0]
    report.states = dict(
        connection.execute("SELECT state, count(*) FROM dossier GROUP BY state ORDER BY 2 DESC")
    )
    largest = connection.execute(
        "SELECT procedure_id, count(*) FROM dossier GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    report.largest = tuple(largest) if largest else (0, 0)


# ---------------------------------------------------------------------------------------
# Command line


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--procedures", type=int, default=350)
    parser.add_argument("--agents", type=int, default=5_000)
    parser.add_argument("--applicants", type=int, help="default: 60 %% of the dossiers")
    parser.add_argument("--administrations", type=int, default=567)
    parser.add_argument("--seed", type=int, default=base.RANDOM_SEED, help="random seed")
    parser.add_argument(
        "--force", action="store_true", help="empty the Guichet tables first if they hold data"
    )
    parser.add_argument(
        "--search-text",
        choices=tuple(SEARCH_TEXT_MODES),
        default="stream",
        help="; ".join(f"{name}: {what}" for name, what in SEARCH_TEXT_MODES.items()),
    )
    parser.add_argument(
        "--indexes",
        choices=tuple(INDEX_STRATEGIES),
        default="keep",
        help="; ".join(f"{name}: {what}" for name, what in INDEX_STRATEGIES.items()),
    )
    parser.add_argument("--workers", type=int, default=2, help="connections after the load")
    parser.add_argument(
        "--check-every",
        type=int,
        default=1_000,
        help="compare one search text in N with document_text (0: never)",
    )
    parser.add_argument("--now", type=datetime.fromisoformat, help="pin 'now' (ISO, with zone)")
    args = parser.parse_args(argv)
    now = args.now
    if now is not None and now.tzinfo is None:
        parser.error("--now needs a time zone, e.g. 2026-03-01T12:00:00+00:00")
    return Options(
        dossiers=args.dossiers,
        procedures=args.procedures,
        agents=args.agents,
        applicants=args.applicants,
        administrations=args.administrations,
        seed=args.seed,
        force=args.force,
        search_text=args.search_text,
        indexes=args.indexes,
        workers=args.workers,
        check_every=args.check_every,
        now=now,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    from app import create_app

    if not os.environ.get("DATABASE_URL"):
        print("Set DATABASE_URL to the PostgreSQL database to fill.", file=sys.stderr)
        return 2
    app = create_app()
    with app.app_context():
        try:
            report = run(app.config["SQLALCHEMY_DATABASE_URI"], options, out=_say)
        except SeedError as error:
            print(f"bench.seed: {error}", file=sys.stderr)
            return 2
    print()
    print(report.table())
    return 0


def _say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
