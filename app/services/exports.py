"""Exports of an agent's table: CSV, XLSX, ODS, JSON, or a ZIP of PDFs and files.

An export is exactly what the agent's table shows when they ask for it — tab, filters,
search, sort and chosen columns (a ``TableQuery`` stored in ``ExportJob.query``), seen
through their own scope: a dossier outside their groups is never read, counted or written.

``start_export`` checks the request, records the job and announces it through the outbox
in the same transaction (a broker outage delays the export, never loses it); the outbox
handler hands the job to the Celery task ``guichet.exports.run`` (``run``), which:

- counts the rows (``total``) and streams ``tables.rows_statement`` with a server-side
  cursor, ``CHUNK_SIZE`` rows at a time, plus one query per chunk for the followers,
  labels and nameless applicants (never a query per dossier);
- formats each value once through its column (``Column.text``, memoised for repeated values)
  and writes it straight to a file in a temporary directory: the worker's memory stays flat
  whatever the number of dossiers;
- updates ``done`` after each chunk on a connection of its own (the progress bar), stores
  the file through the attachments plugin as the requester's file, kept ``LIFETIME``.

Formats (README "Exports (agents)", docs/decisions/0014):

- CSV: UTF-8 with a byte-order mark and ``;`` between values, what a French Excel opens
  with accents and columns right; dates ``YYYY-MM-DD HH:MM`` in local time. A cell that
  starts like a formula (``= + - @``) gets a leading ``'`` (no formula injection).
  With repeated blocks among the columns, the download is a ZIP: ``dossiers.csv`` plus
  one CSV per block (one row per entry, with the dossier number);
- XLSX: xlsxwriter in ``constant_memory`` mode; numbers and dates typed; one sheet per
  repeated block;
- ODS: our own streaming writer (odfpy builds the whole document in memory): the
  ``mimetype`` entry first and stored, ``content.xml`` written row by row, then the
  manifest; one table per repeated block (its rows wait in a temporary file);
- JSON: ``{"procedure", "columns", "dossiers": [...]}`` streamed, a repeated block as a
  list of objects keyed by its fields' stable ids;
- ZIP: per dossier, a folder with the PDF of its answers and its files (infected files and
  files still being scanned left out, as in the single-dossier ZIP), and ``dossiers.csv``.
  PDFs are slow to make: at most ``EXPORT_ZIP_MAX_DOSSIERS`` (default 1,000) dossiers.

A worker killed mid-export gives its message back (``task_acks_late`` and
``task_reject_on_worker_lost``); the redelivered job, found "running", is marked failed
with a message asking to start it again, rather than run twice. ``cleanup`` (Celery beat,
hourly) deletes expired export files and jobs and fails jobs running or pending too long.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..extensions import app_task, db
from ..fields import registry
from ..models import (
    Attachment,
    Dossier,
    DossierState,
    ExportFormat,
    ExportJob,
    JobState,
    Procedure,
    User,
    utcnow,
)
from ..workflow import state_label
from . import audit, outbox, tables
from .tables import Catalogue, Column, TableQuery, TableQueryError

log = logging.getLogger(__name__)

EXPORT_TOPIC = "export.requested"
RUN_TASK = "guichet.exports.run"
CLEANUP_TASK = "guichet.exports.cleanup"

LIFETIME = timedelta(days=1)
"""How long an export file can be downloaded."""
CHUNK_SIZE = 2000
"""Rows read per round trip of the server-side cursor (and per progress update)."""
ZIP_CHUNK_SIZE = 50
MAX_RUNNING = timedelta(hours=2)
"""A job "running" for longer lost its worker (200,000 rows take about a minute)."""
MAX_PENDING = timedelta(hours=12)
"""A job still pending after this was never picked up (the outbox gave up)."""
MAX_ACTIVE_PER_USER = 3
"""Exports one person may have waiting or running at once."""
DEFAULT_ZIP_LIMIT = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

REQUESTED = "export.requested"
COMPLETED = "export.completed"
FAILED = "export.failed"
DOWNLOADED = "export.downloaded"

FORMAT_LABELS: dict[str, Any] = {
    ExportFormat.xlsx: _l("Excel (XLSX)"),
    ExportFormat.ods: _l("OpenDocument spreadsheet (ODS)"),
    ExportFormat.csv: _l("CSV"),
    ExportFormat.json: _l("JSON"),
    ExportFormat.zip: _l("ZIP: a PDF and the files of each dossier"),
}
"""The formats offered, in menu order."""

_MEDIA = {
    ExportFormat.csv: (".csv", "text/csv", "spreadsheet"),
    ExportFormat.xlsx: (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "spreadsheet",
    ),
    ExportFormat.ods: (".ods", "application/vnd.oasis.opendocument.spreadsheet", "spreadsheet"),
    ExportFormat.json: (".json", "application/json", "document"),
    ExportFormat.zip: (".zip", "application/zip", "archive"),
}
_ZIP_MEDIA = (".zip", "application/zip", "archive")


class ExportError(Exception):
    """An export that cannot be made; ``message`` says why, translated; ``status`` is the
    HTTP answer a view gives (404 when the person may not see what they asked about)."""

    def __init__(self, message: Any, status: int = 400) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status


# ---------------------------------------------------------------------------------------
# Asking for an export, and finding one's own


def _attachments_loaded() -> bool:
    return "plugins.attachments" in current_app.extensions.get("guichet_plugins", [])


def zip_limit() -> int:
    return int(current_app.config.get("EXPORT_ZIP_MAX_DOSSIERS", DEFAULT_ZIP_LIMIT))


def start_export(user, procedure_id: int, query: TableQuery, export_format: str) -> ExportJob:
    """Record an export of ``query`` for ``user`` and announce it (the caller commits).

    ExportError when the person does not see the procedure (404), the format or the query
    is not valid, files cannot be stored here, too many of their exports are under way, or
    a ZIP would hold too many dossiers.
    """
    procedure = tables.workspace_procedure(user, procedure_id)
    if procedure is None:
        raise ExportError(_l("This procedure does not exist."), status=404)
    try:
        chosen = ExportFormat(export_format)
    except ValueError:
        raise ExportError(_l("Choose one of the export formats offered.")) from None
    if not _attachments_loaded():
        raise ExportError(_l("Exports need file storage, which is not set up here."))
    columns = tables.catalogue(procedure, user)
    try:
        query = tables.validate(query.replace(procedure_id=procedure.id, cursor=None), columns)
    except TableQueryError as error:
        raise ExportError(error.message) from None
    active = db.session.scalar(
        sa.select(sa.func.count(ExportJob.id)).where(
            ExportJob.requested_by_id == user.id,
            ExportJob.state.in_((JobState.pending, JobState.running)),
        )
    )
    if active >= MAX_ACTIVE_PER_USER:
        raise ExportError(
            _l(
                "You already have %(count)s exports under way: wait for one of them to finish.",
                count=active,
            )
        )
    if chosen == ExportFormat.zip:
        count = count_rows(query, user, columns)
        if count > zip_limit():
            raise ExportError(
                _l(
                    "A ZIP export holds at most %(limit)s dossiers, and this table has "
                    "%(count)s: add a filter, or choose another format.",
                    limit=zip_limit(),
                    count=count,
                )
            )
    job = ExportJob(
        procedure_id=procedure.id,
        requested_by_id=user.id,
        format=chosen,
        query=query.to_dict(),
        state=JobState.pending,
        done=0,
    )
    db.session.add(job)
    db.session.flush()
    outbox.enqueue(EXPORT_TOPIC, {"job": job.id}, key=f"export-{job.id}")
    audit.record(
        REQUESTED,
        "export_job",
        job.id,
        actor=user,
        procedure_id=procedure.id,
        data={
            "format": chosen.value,
            "tab": query.tab,
            "columns": list(query.columns),
            "filters": len(query.filters),
            "search": bool(query.search),
        },
    )
    return job


def user_jobs(user, limit: int = 50) -> list[ExportJob]:
    """The person's exports, newest first."""
    return list(
        db.session.scalars(
            sa.select(ExportJob)
            .where(ExportJob.requested_by_id == user.id)
            .order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
            .limit(limit)
        )
    )


def user_job(user, job_id: int) -> ExportJob:
    """One of the person's own exports; ExportError 404 for anyone else's or none."""
    job = db.session.get(ExportJob, job_id)
    if job is None or user is None or job.requested_by_id != getattr(user, "id", None):
        raise ExportError(_l("This export does not exist."), status=404)
    return job


def is_downloadable(job: ExportJob) -> bool:
    return (
        job.state == JobState.done
        and job.attachment_id is not None
        and job.expires_at is not None
        and job.expires_at > utcnow()
    )


def file_for_download(user, job_id: int) -> Attachment:
    """The file of one of the person's finished exports, while it lasts (ExportError 404
    otherwise), recorded in the audit log as read."""
    job = user_job(user, job_id)
    if not is_downloadable(job):
        raise ExportError(_l("This export is not available (not finished, or expired)."), 404)
    attachment = db.session.get(Attachment, job.attachment_id)
    if attachment is None:
        raise ExportError(_l("This export is not available (not finished, or expired)."), 404)
    audit.record_access(
        DOWNLOADED,
        "export_job",
        job.id,
        procedure_id=job.procedure_id,
        data={"format": job.format.value, "rows": job.total},
    )
    return attachment


def progress(job: ExportJob) -> dict[str, Any]:
    """What the exports page shows of a job (JSON-ready)."""
    total = job.total
    percent = 100 if job.state == JobState.done else 0
    if job.state != JobState.done and total:
        percent = min(99, int(job.done * 100 / total))
    return {
        "id": job.id,
        "state": job.state.value,
        "done": job.done,
        "total": total,
        "percent": percent,
        "downloadable": is_downloadable(job),
        "error": job.error,
    }


# ---------------------------------------------------------------------------------------
# Running an export (the Celery task)


@outbox.handler(EXPORT_TOPIC)
def _hand_over(payload: dict[str, Any], _event) -> None:
    """The export is announced: give it to a worker (a broker error retries the event)."""
    app_task(RUN_TASK).delay(int(payload["job"]))


def run(job_id: int) -> None:
    """Write the export ``job_id`` and store its file, committing as it goes. Never raises
    for a failed export: the job says it failed, with a message for the agent."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.state in (JobState.done, JobState.failed):
        db.session.rollback()
        return
    if job.state == JobState.running:  # a worker died with it and the broker gave it back
        _fail(job_id, gettext("The export was interrupted. Please start it again."))
        return
    user = db.session.get(User, job.requested_by_id) if job.requested_by_id else None
    procedure = tables.workspace_procedure(user, job.procedure_id) if user else None
    if procedure is None:
        _fail(job_id, gettext("You no longer see this procedure."))
        return
    export_format = job.format
    table = ExportJob.__table__
    claimed = db.session.execute(  # one worker only, even if the task came twice
        sa.update(table)
        .where(table.c.id == job_id, table.c.state == JobState.pending)
        .values(state=JobState.running, started_at=utcnow(), done=0)
    ).rowcount
    db.session.commit()
    if not claimed:
        return
    try:
        columns = tables.catalogue(procedure, user)
        query = tables.validate(TableQuery.from_dict(job.query), columns, lenient=True)
        job = db.session.get(ExportJob, job_id)
        job.total = count_rows(query, user, columns)
        db.session.commit()
        with tempfile.TemporaryDirectory(prefix="guichet-export-") as directory:
            path, media = write_export(
                Path(directory), export_format, procedure, query, user, columns, job_id
            )
            db.session.rollback()  # end the read: the streaming cursor, its snapshot
            _store(job_id, path, media, procedure, user)
    except Exception:
        db.session.rollback()
        log.exception("Export %s failed", job_id)
        _fail(job_id, gettext("The export failed. Please try again, or ask for help."))


def _store(job_id: int, path: Path, media: tuple[str, str, str], procedure, user) -> None:
    from plugins.attachments import services as files

    extension, mime, family = media
    job = db.session.get(ExportJob, job_id)
    stamp = utcnow().astimezone(_zone()).strftime("%Y-%m-%d-%H%M")
    name = f"{gettext('export')}-{procedure.id}-{stamp}{extension}"
    target = files.target_for("export")
    with path.open("rb") as stream:
        attachment = files.store_generated(stream, name, mime, family, target, user)
    job.attachment_id = attachment.id
    job.state = JobState.done
    job.done = job.total or 0
    job.finished_at = utcnow()
    job.expires_at = job.finished_at + LIFETIME
    job.error = None
    audit.record(
        COMPLETED,
        "export_job",
        job.id,
        actor=job.requested_by_id,
        procedure_id=job.procedure_id,
        data={"format": job.format.value, "rows": job.total, "size": attachment.size},
    )
    db.session.commit()


def _fail(job_id: int, message: str) -> None:
    db.session.rollback()
    job = db.session.get(ExportJob, job_id)
    if job is None:
        return
    job.state = JobState.failed
    job.error = message
    job.finished_at = utcnow()
    job.expires_at = job.finished_at + LIFETIME  # listed for a day, then cleaned up
    audit.record(
        FAILED,
        "export_job",
        job.id,
        actor=audit.SYSTEM,
        procedure_id=job.procedure_id,
        data={"format": job.format.value},
    )
    db.session.commit()


def _report_progress(job_id: int, done: int) -> None:
    """``done`` for the progress bar, on a connection of its own: the export's session
    keeps its transaction (and its server-side cursor) open."""
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(ExportJob.__table__)
            .where(ExportJob.__table__.c.id == job_id)
            .values(done=done)
        )


def cleanup(now: datetime | None = None) -> dict[str, int]:
    """Delete expired exports (job and file), fail jobs left running or pending too long.
    Commits; returns how many of each."""
    now = now or utcnow()
    expired = db.session.scalars(
        sa.select(ExportJob).where(ExportJob.expires_at.is_not(None), ExportJob.expires_at < now)
    ).all()
    for job in expired:
        attachment = db.session.get(Attachment, job.attachment_id) if job.attachment_id else None
        db.session.delete(job)
        if attachment is not None:
            db.session.flush()  # the job no longer references it
            db.session.delete(attachment)  # its bytes go after commit, if nothing else has them
    db.session.commit()
    stale = db.session.scalars(
        sa.select(ExportJob.id).where(
            sa.or_(
                sa.and_(
                    ExportJob.state == JobState.running, ExportJob.started_at < now - MAX_RUNNING
                ),
                sa.and_(
                    ExportJob.state == JobState.pending, ExportJob.created_at < now - MAX_PENDING
                ),
            )
        )
    ).all()
    for job_id in stale:
        _fail(job_id, gettext("The export was interrupted. Please start it again."))
    return {"expired": len(expired), "failed": len(stale)}


# ---------------------------------------------------------------------------------------
# Reading the rows


def count_rows(query: TableQuery, user, columns: Catalogue) -> int:
    """How many dossiers the export of ``query`` holds (one COUNT over the same WHERE)."""
    statement = tables.rows_statement(query, user, columns).order_by(None)
    return db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Paris"))


NUMBER, MOMENT, TEXT = "number", "moment", "text"


@dataclass(frozen=True)
class Block:
    """A repeated block among the chosen columns: its own sheet, one row per entry."""

    column: Column
    title: str
    children: tuple[Any, ...]

    @property
    def headers(self) -> list[str]:
        return [
            gettext("Number"),
            gettext("Entry"),
            *[child.label or child.stable_id for child in self.children],
        ]

    def rows(self, number: int, value: Any) -> Iterator[list[Any]]:
        if not isinstance(value, list):
            return
        for index, entry in enumerate(value, start=1):
            if not isinstance(entry, dict):
                continue
            yield [
                number,
                index,
                *[_child_text(child, entry.get(child.stable_id)) for child in self.children],
            ]

    def entries(self, value: Any) -> list[dict[str, str]]:
        """The block's entries for JSON: child stable id → text."""
        if not isinstance(value, list):
            return []
        return [
            {
                child.stable_id: _child_text(child, entry.get(child.stable_id))
                for child in self.children
            }
            for entry in value
            if isinstance(entry, dict)
        ]


def _child_text(child, value: Any) -> str:
    if value is None:
        return ""
    try:
        return registry.get(child.type).as_text(value, child)
    except Exception:  # an unknown or failing type must not break an export
        return str(value)


class Layout:
    """The chosen columns of an export: headers, cell kinds, how each cell is read."""

    def __init__(self, query: TableQuery, columns: Catalogue) -> None:
        self.query = query
        self.columns = [columns.get(key) for key in query.columns]
        self.headers = [column.label for column in self.columns]
        self.kinds = [
            NUMBER if c.kind in ("id", "unread") else MOMENT if c.kind == "timestamp" else TEXT
            for c in self.columns
        ]
        self.cells = [_cell_reader(column) for column in self.columns]
        titles: set[str] = set()
        self.blocks = [
            Block(column, _sheet_title(column.label, titles), column.spec.children)
            for column in self.columns
            if column.spec is not None and column.spec.type == "repetition" and column.spec.children
        ]

    def values(self, row: tables.Row) -> list[Any]:
        """A row's cells: ``int`` for the number, aware ``datetime`` (or None) for system
        dates, text for everything else."""
        return [cell(row) for cell in self.cells]


def _cell_reader(column: Column) -> Callable[[tables.Row], Any]:
    key = column.key
    kind = column.kind
    if kind == "id":
        return lambda row: row.id
    if kind == "applicant":
        return lambda row: row.applicant
    if kind == "state":
        texts = {state: str(state_label(state)) for state in DossierState}
        return lambda row: texts.get(row.state, str(row.state))
    if kind == "group":
        return lambda row: row.group or ""
    if kind == "followers":
        return lambda row: ", ".join(row.followers)
    if kind == "labels":
        return lambda row: ", ".join(name for _id, name, _colour in row.labels)
    if kind == "unread":
        return lambda row: getattr(row, "unread", 0) or 0
    if kind == "correction":
        yes = gettext("Yes")
        return lambda row: yes if getattr(row, "pending_correction", False) else ""
    if kind == "timestamp":
        return lambda row: row.values.get(key)
    text = _memoised_text(column)
    return lambda row: text(row.values.get(key))


_CACHED_PER_COLUMN = 4096


def _memoised_text(column: Column) -> Callable[[Any], str]:
    """``column.text`` with the text of repeated plain values (choices, dates, yes/no)
    remembered: formatting is most of an export's time. Bounded per column."""
    cache: dict[tuple[type, Any], str] = {}
    plain = column.plain  # free text: its text is itself

    def text(value: Any) -> str:
        if value is None:
            return ""
        if plain and isinstance(value, str):
            return value if value.strip() else ""
        if isinstance(value, str | int | float | bool):
            key = (value.__class__, value)
            known = cache.get(key)
            if known is None:
                known = column.text(value)
                if len(cache) < _CACHED_PER_COLUMN:
                    cache[key] = known
            return known
        return column.text(value)

    return text


def _sheet_title(label: str, used: set[str]) -> str:
    """A sheet name spreadsheets accept (31 characters, none of ``[]:*?/\\``), unique."""
    base = re.sub(r"[\[\]:*?/\\']", " ", label).strip()[:28] or gettext("Block")
    title, number = base, 1
    while title.lower() in used or title.lower() == gettext("Dossiers").lower():
        number += 1
        title = f"{base[:25]} ({number})"
    used.add(title.lower())
    return title


def _chunks(
    query: TableQuery, user, columns: Catalogue, size: int = CHUNK_SIZE
) -> Iterator[list[tables.Row]]:
    """The export's rows, ``size`` at a time, read with a server-side cursor, each chunk
    completed with its followers, labels and applicants' addresses in one query each.

    ``tables.rows_statement`` decides the rows, their scope and order; answers are read as
    whole documents (one JSON value per row to decode, not one per chosen field: decoding
    was a third of an export's time with 25 fields) and picked in Python."""
    chosen = [columns.get(key) for key in query.columns]
    documents = sorted({column.document for column in chosen if column.document})
    picked = [(c.key, c.document, c.spec.stable_id) for c in chosen if c.document]
    system = query.replace(columns=tuple(c.key for c in chosen if not c.document))
    statement = tables.rows_statement(system, user, columns).add_columns(
        *(getattr(Dossier, name).label(f"document_{name}") for name in documents)
    )
    group_names = columns.group_names
    result = db.session.execute(statement.execution_options(yield_per=size))
    for partition in result.partitions(size):
        rows = []
        keys = tables._value_keys(system, partition)
        for item in partition:
            row = tables._row(item, keys, group_names)
            mapping = item._mapping
            found = {name: mapping[f"document_{name}"] or {} for name in documents}
            for key, document, stable_id in picked:
                row.values[key] = found[document].get(stable_id)
            rows.append(row)
        tables._add_people_and_labels(rows, query, user)
        yield rows


# ---------------------------------------------------------------------------------------
# Writers: each writes rows as they come to a file of its own


class Writer:
    """Writes one export file in ``directory``: ``write`` per chunk, ``close`` at the end."""

    media = _ZIP_MEDIA

    def __init__(self, directory: Path, layout: Layout, procedure: Procedure) -> None:
        self.directory = directory
        self.layout = layout
        self.procedure = procedure

    def write(self, rows: list[tables.Row]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> Path:  # pragma: no cover - abstract
        raise NotImplementedError


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


def _safe_csv(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


_FORMULA_CLASS = "".join(c for c in FORMULA_START if c != "-") + "-"  # "-" last: literal


def _safe_csv_sql(text: Any) -> Any:
    """``_safe_csv`` in SQL (one pass over the text: it may be a subquery's result)."""
    return sa.func.regexp_replace(text, f"^([{_FORMULA_CLASS}])", "'\\1")


def copy_command(statement: sa.Select, options: str = "") -> tuple[Any, str]:
    """The raw psycopg connection of the session and ``COPY (statement) TO STDOUT
    {options}`` with the statement's values inlined (COPY takes no parameters; psycopg
    quotes them)."""
    import psycopg

    connection = db.session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = connection.connection.driver_connection
    sql = psycopg.ClientCursor(raw).mogrify(compiled.string, compiled.params)
    return raw, f"COPY ({sql}) TO STDOUT {options}".rstrip()


class CsvWriter(Writer):
    def __init__(self, directory: Path, layout: Layout, procedure: Procedure) -> None:
        super().__init__(directory, layout, procedure)
        self.zone = _zone()
        self.path = directory / f"{gettext('dossiers')}.csv"
        self.file = self.path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.file, delimiter=";")
        self.writer.writerow(layout.headers)
        self.block_files = []
        for block in layout.blocks:
            path = directory / f"{block.title}.csv"
            handle = path.open("w", encoding="utf-8-sig", newline="")
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(block.headers)
            self.block_files.append((block, path, handle, writer))
        self.media = _MEDIA[ExportFormat.csv] if not layout.blocks else _ZIP_MEDIA

    def copy(self, statement: sa.Select, report: Callable[[int], None]) -> None:
        """Write the rows of ``tables.text_statement`` as PostgreSQL itself writes them:
        ``COPY (…) TO STDOUT`` in CSV (same separator and quoting rules; empty cells are
        NULL, so unquoted; lines end with LF). ``report`` gets the rows written so far
        every ``CHUNK_SIZE`` rows (the server sends, and psycopg gives, one row at a
        time)."""
        raw, command = copy_command(statement, "(FORMAT csv, DELIMITER ';')")
        self.file.flush()
        out = self.file.buffer
        with raw.cursor() as cursor, cursor.copy(command) as copy:
            for rows, data in enumerate(copy, start=1):
                out.write(data)
                if rows % CHUNK_SIZE == 0:
                    report(rows)

    def _cells(self, values: list[Any]) -> list[Any]:
        zone = self.zone
        out = []
        for kind, value in zip(self.layout.kinds, values, strict=True):
            if kind == TEXT:
                out.append(_safe_csv(value) if value else value)
            elif kind == MOMENT:
                out.append(
                    "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                )
            else:
                out.append(value)
        return out

    def write(self, rows: list[tables.Row]) -> None:
        layout = self.layout
        self.writer.writerows(self._cells(layout.values(row)) for row in rows)
        for block, _path, _handle, writer in self.block_files:
            key = block.column.key
            for row in rows:
                writer.writerows(
                    [_safe_csv(c) if isinstance(c, str) else c for c in line]
                    for line in block.rows(row.id, row.values.get(key))
                )

    def finish(self) -> list[Path]:
        """Close the files; the table's first, then one per repeated block."""
        self.file.close()
        for _block, _path, handle, _writer in self.block_files:
            handle.close()
        return [self.path, *(path for _block, path, _handle, _writer in self.block_files)]

    def close(self) -> Path:
        paths = self.finish()
        if len(paths) == 1:
            return self.path
        bundle = self.directory / "bundle.zip"
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
        return bundle


class XlsxWriter(Writer):
    media = _MEDIA[ExportFormat.xlsx]
    MAX_TEXT = 32767

    def __init__(self, directory: Path, layout: Layout, procedure: Procedure) -> None:
        import xlsxwriter

        super().__init__(directory, layout, procedure)
        self.zone = _zone()
        self.path = directory / "export.xlsx"
        self.book = xlsxwriter.Workbook(
            str(self.path),
            {"constant_memory": True, "tmpdir": str(directory), "in_memory": False},
        )
        self.moment = self.book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        bold = self.book.add_format({"bold": True})
        self.sheet = self.book.add_worksheet(gettext("Dossiers"))
        self.sheet.write_row(0, 0, [str(h) for h in layout.headers], bold)
        self.sheet.freeze_panes(1, 0)
        self.line = 1
        self.blocks = []
        for block in layout.blocks:
            sheet = self.book.add_worksheet(block.title)
            sheet.write_row(0, 0, block.headers, bold)
            self.blocks.append([block, sheet, 1])

    def write(self, rows: list[tables.Row]) -> None:
        layout = self.layout
        self.write_cells(
            [layout.values(row) for row in rows],
            [
                [
                    cells
                    for row in rows
                    for cells in block.rows(row.id, row.values.get(block.column.key))
                ]
                for block in layout.blocks
            ],
        )

    def write_cells(self, lines: list[list[Any]], entries: list[list[list[Any]]]) -> None:
        """Write rows already formatted (``Layout.values``) and, per repeated block, its
        entries (``Block.rows``): the part of an export that is xlsxwriter's own work."""
        sheet, zone, moment, kinds = self.sheet, self.zone, self.moment, self.layout.kinds
        write_string, write_number = sheet.write_string, sheet.write_number
        line = self.line
        for values in lines:
            for col, (kind, value) in enumerate(zip(kinds, values, strict=True)):
                if kind == TEXT:
                    if value:
                        write_string(line, col, value[: self.MAX_TEXT])
                elif kind == NUMBER:
                    write_number(line, col, value)
                elif value is not None:
                    sheet.write_datetime(line, col, _local(value, zone), moment)
            line += 1
        self.line = line
        for item, block_entries in zip(self.blocks, entries, strict=True):
            _block, block_sheet, block_line = item
            for cells in block_entries:
                block_sheet.write_number(block_line, 0, cells[0])
                block_sheet.write_number(block_line, 1, cells[1])
                for col, text in enumerate(cells[2:], start=2):
                    if text:
                        block_sheet.write_string(block_line, col, text[: self.MAX_TEXT])
                block_line += 1
            item[2] = block_line

    def close(self) -> Path:
        self.book.close()
        return self.path


# ODS: the OpenDocument spreadsheet, written as a stream (ODF 1.3, part 3: packages).

ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"'
)
_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<office:document-content {_NS} office:version="1.3">'
    "<office:automatic-styles>"
    '<number:date-style style:name="N1">'
    '<number:day number:style="long"/><number:text>/</number:text>'
    '<number:month number:style="long"/><number:text>/</number:text>'
    '<number:year number:style="long"/><number:text> </number:text>'
    '<number:hours number:style="long"/><number:text>:</number:text>'
    '<number:minutes number:style="long"/>'
    "</number:date-style>"
    '<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N1"/>'
    '<style:style style:name="ce2" style:family="table-cell">'
    '<style:text-properties fo:font-weight="bold"/></style:style>'
    "</office:automatic-styles>"
    "<office:body><office:spreadsheet>"
)
_ODS_TAIL = "</office:spreadsheet></office:body></office:document-content>"
_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.3">'
    f'<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
    f'manifest:media-type="{ODS_MIME}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"  +|\t")


def _spaces(match: re.Match) -> str:
    found = match.group(0)
    if found == "\t":
        return "<text:tab/>"
    return f' <text:s text:c="{len(found) - 1}"/>'


def _ods_text(text: str) -> str:
    """A text cell's paragraphs: XML-escaped, one ``text:p`` per line, runs of spaces and
    tabs kept as ODF says (``text:s``, ``text:tab``)."""
    text = escape(_NOT_XML.sub("", text))
    if "  " in text or "\t" in text:
        text = _SPACES.sub(_spaces, text)
    if "\n" in text:
        return "".join(f"<text:p>{line}</text:p>" for line in text.split("\n"))
    return f"<text:p>{text}</text:p>"


def _ods_string(text: str, style: str = "") -> str:
    if not text:
        return "<table:table-cell/>"
    return (
        f'<table:table-cell{style} office:value-type="string">{_ods_text(text)}</table:table-cell>'
    )


def _ods_number(value: int) -> str:
    return (
        f'<table:table-cell office:value-type="float" office:value="{value}">'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def _ods_row(cells: Sequence[str]) -> str:
    return "<table:table-row>" + "".join(cells) + "</table:table-row>"


def _ods_table_start(name: str, columns: int) -> str:
    """A table's opening: its name and its columns (ODF wants at least one declared)."""
    quoted = escape(name, {'"': "&quot;"})
    return (
        f'<table:table table:name="{quoted}">'
        f'<table:table-column table:number-columns-repeated="{max(columns, 1)}"/>'
    )


class OdsWriter(Writer):
    media = _MEDIA[ExportFormat.ods]

    def __init__(self, directory: Path, layout: Layout, procedure: Procedure) -> None:
        super().__init__(directory, layout, procedure)
        self.zone = _zone()
        self.path = directory / "export.ods"
        self.archive = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED)
        mimetype = zipfile.ZipInfo("mimetype")
        mimetype.compress_type = zipfile.ZIP_STORED
        self.archive.writestr(mimetype, ODS_MIME)
        self.raw = self.archive.open("content.xml", "w", force_zip64=True)
        self.content = io.TextIOWrapper(self.raw, encoding="utf-8", newline="\n")
        self.content.write(_ODS_HEAD)
        self.content.write(_ods_table_start(gettext("Dossiers"), len(layout.headers)))
        self.content.write(
            _ods_row([_ods_string(str(h), ' table:style-name="ce2"') for h in layout.headers])
        )
        self.blocks = []
        for block in layout.blocks:
            path = directory / f"block-{len(self.blocks)}.xml"
            handle = path.open("w", encoding="utf-8", newline="\n")
            handle.write(
                _ods_row([_ods_string(h, ' table:style-name="ce2"') for h in block.headers])
            )
            self.blocks.append((block, path, handle))

    def _cell(self, kind: str, value: Any) -> str:
        if kind == TEXT:
            return _ods_string(value)
        if kind == NUMBER:
            return _ods_number(value)
        if value is None:
            return "<table:table-cell/>"
        local = _local(value, self.zone)
        return (
            f'<table:table-cell table:style-name="ce1" office:value-type="date" '
            f'office:date-value="{local.isoformat(timespec="seconds")}">'
            f"<text:p>{local.strftime('%d/%m/%Y %H:%M')}</text:p></table:table-cell>"
        )

    def write(self, rows: list[tables.Row]) -> None:
        kinds, layout, cell = self.layout.kinds, self.layout, self._cell
        self.content.write(
            "".join(
                _ods_row(
                    [
                        cell(kind, value)
                        for kind, value in zip(kinds, layout.values(row), strict=True)
                    ]
                )
                for row in rows
            )
        )
        for block, _path, handle in self.blocks:
            key = block.column.key
            for row in rows:
                for cells in block.rows(row.id, row.values.get(key)):
                    handle.write(
                        _ods_row(
                            [_ods_number(cells[0]), _ods_number(cells[1])]
                            + [_ods_string(text) for text in cells[2:]]
                        )
                    )

    def close(self) -> Path:
        self.content.write("</table:table>")
        for block, path, handle in self.blocks:
            handle.close()
            self.content.write(_ods_table_start(block.title, len(block.headers)))
            with path.open(encoding="utf-8") as source:
                while part := source.read(1 << 16):
                    self.content.write(part)
            self.content.write("</table:table>")
        self.content.write(_ODS_TAIL)
        self.content.close()  # closes the content.xml entry
        self.archive.writestr("META-INF/manifest.xml", _MANIFEST)
        self.archive.close()
        return self.path


class JsonWriter(Writer):
    media = _MEDIA[ExportFormat.json]

    def __init__(self, directory: Path, layout: Layout, procedure: Procedure) -> None:
        super().__init__(directory, layout, procedure)
        self.path = directory / "export.json"
        self.file = self.path.open("w", encoding="utf-8")
        blocks = {block.column.key: block for block in layout.blocks}
        described = []
        for column in layout.columns:
            item: dict[str, Any] = {"key": column.key, "label": column.label}
            if column.key in blocks:
                item["children"] = [
                    {"key": child.stable_id, "label": child.label}
                    for child in blocks[column.key].children
                ]
            described.append(item)
        self.blocks = blocks
        head = {
            "procedure": {"id": procedure.id, "title": procedure.title},
            "exported_at": utcnow().isoformat(timespec="seconds"),
            "columns": described,
        }
        self.file.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "dossiers": [')
        self.first = True

    def write(self, rows: list[tables.Row]) -> None:
        keys = [column.key for column in self.layout.columns]
        kinds = self.layout.kinds
        parts = []
        for row in rows:
            item: dict[str, Any] = {}
            for key, kind, value in zip(keys, kinds, self.layout.values(row), strict=True):
                if key in self.blocks:
                    item[key] = self.blocks[key].entries(row.values.get(key))
                elif kind == MOMENT:
                    item[key] = None if value is None else value.isoformat(timespec="seconds")
                else:
                    item[key] = value
            parts.append(json.dumps(item, ensure_ascii=False))
        if parts:
            self.file.write(("\n" if self.first else ",\n") + ",\n".join(parts))
            self.first = False

    def close(self) -> Path:
        self.file.write("\n]}\n")
        self.file.close()
        return self.path


class ZipWriter(Writer):
    """Per dossier a folder with the PDF of its answers and its files, plus the table."""

    media = _MEDIA[ExportFormat.zip]
    chunk_size = ZIP_CHUNK_SIZE

    def __init__(self, directory: Path, layout: Layout, procedure: Procedure) -> None:
        super().__init__(directory, layout, procedure)
        tables_dir = directory / "table"
        tables_dir.mkdir()
        self.table = CsvWriter(tables_dir, layout, procedure)
        self.path = directory / "export.zip"
        self.archive = zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)

    def write(self, rows: list[tables.Row]) -> None:
        from plugins.attachments import zipping

        self.table.write(rows)
        ids = [row.id for row in rows]
        dossiers = {
            dossier.id: dossier
            for dossier in db.session.scalars(sa.select(Dossier).where(Dossier.id.in_(ids)))
        }
        for number in ids:
            dossier = dossiers[number]
            folder = f"{gettext('dossier')}-{number}"
            for path, content, size in zipping.dossier_entries(dossier):
                name = f"{folder}/{path}"
                if size is None:
                    self.archive.writestr(name, content)
                    continue
                info = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
                info.compress_type = zipfile.ZIP_STORED  # files are mostly compressed already
                info.file_size = size
                with self.archive.open(info, "w", force_zip64=True) as target:
                    for chunk in content:
                        target.write(chunk)
            db.session.expunge(dossier)

    def close(self) -> Path:
        for path in self.table.finish():
            self.archive.write(path, path.name)
        self.archive.close()
        return self.path


WRITERS: dict[ExportFormat, type[Writer]] = {
    ExportFormat.csv: CsvWriter,
    ExportFormat.xlsx: XlsxWriter,
    ExportFormat.ods: OdsWriter,
    ExportFormat.json: JsonWriter,
    ExportFormat.zip: ZipWriter,
}


def write_export(
    directory: Path,
    export_format: ExportFormat,
    procedure: Procedure,
    query: TableQuery,
    user,
    columns: Catalogue,
    job_id: int | None = None,
) -> tuple[Path, tuple[str, str, str]]:
    """Write the export of ``query`` in ``directory``; return its file and its
    (extension, media type, family). ``job_id``: the job whose ``done`` to update."""
    layout = Layout(query, columns)
    writer = WRITERS[ExportFormat(export_format)](directory, layout, procedure)

    def report(done: int) -> None:
        if job_id is not None:
            _report_progress(job_id, done)

    if isinstance(writer, CsvWriter) and not layout.blocks:
        statement = tables.text_statement(query, user, columns, _zone().key, _safe_csv_sql)
        if statement is not None:  # PostgreSQL can write every column: 5× faster
            writer.copy(statement, report)
            return writer.close(), writer.media
    size = ZIP_CHUNK_SIZE if export_format == ExportFormat.zip else CHUNK_SIZE
    done = 0
    for rows in _chunks(query, user, columns, size):
        writer.write(rows)
        done += len(rows)
        report(done)
    return writer.close(), writer.media
