"""Exports of the agent tables: each format holds the table as shown, and nothing else."""

import csv
import io
import json
import shutil
import subprocess
import zipfile
from datetime import timedelta
from types import SimpleNamespace
from xml.etree import ElementTree

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import gettext
from workspace_data import FORM, S, agent, dossier, group, procedure_with_form

import factories as make
from app.extensions import db
from app.models import Attachment, AuditEvent, ExportJob, FieldDefinition, JobState, utcnow
from app.services import exports, search, tables
from app.services.exports import ExportError
from app.services.tables import Filter, Sort, TableQuery
from plugins.attachments.storage import get_storage

COLUMNS = ("number", "applicant", "state", "field:title", "field:amount", "field:kind")
NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def _add_repetition(procedure) -> None:
    block = FieldDefinition(
        revision_id=procedure.published_revision_id,
        position=len(FORM),
        stable_id="guests",
        type="repetition",
        label="Invités",
        options={},
    )
    db.session.add(block)
    db.session.flush()
    for position, (sid, kind, label) in enumerate(
        [("guest_name", "text", "Nom"), ("guest_age", "integer", "Âge")]
    ):
        db.session.add(
            FieldDefinition(
                revision_id=procedure.published_revision_id,
                position=position,
                stable_id=sid,
                type=kind,
                label=label,
                options={},
                parent_id=block.id,
            )
        )
    db.session.commit()


@pytest.fixture
def world(app):
    search.init_app(app)
    with app.app_context(), app.test_request_context():
        me, outsider = agent(), agent()
        applicant = make.user()
        procedure = procedure_with_form(me)
        _add_repetition(procedure)
        group_b = group(procedure, "Groupe B")
        group_b.members.append(outsider)
        other = procedure_with_form(outsider)
        d = SimpleNamespace()
        d.first = dossier(
            procedure,
            applicant,
            S.submitted,
            answers={
                "title": "Médiathèque",
                "amount": 1500,
                "kind": "Renouvellement",
                "guests": [{"guest_name": "Léa", "guest_age": 7}, {"guest_name": "Tom"}],
            },
        )
        d.second = dossier(
            procedure,
            applicant,
            S.in_review,
            answers={"title": '=HYPERLINK("http://evil")', "amount": 90},
        )
        d.third = dossier(
            procedure, applicant, S.in_review, answers={"title": "Brocante", "amount": 400}
        )
        d.draft = dossier(procedure, applicant, S.draft, answers={"title": "Brouillon"})
        d.group_b = dossier(
            procedure, applicant, S.submitted, group_=group_b, answers={"title": "Secret B"}
        )
        d.elsewhere = dossier(other, applicant, S.submitted, answers={"title": "Ailleurs"})
        yield SimpleNamespace(
            me=me, outsider=outsider, procedure=procedure, other=other, group_b=group_b, d=d
        )


def query_of(world, **changes) -> TableQuery:
    values = {"tab": "all", "columns": COLUMNS, "sort": Sort("number", "asc")}
    values.update(changes)
    return TableQuery(world.procedure.id, **values)


def export(world, fmt, user=None, **changes) -> ExportJob:
    """Ask for an export and run it as the worker would; the job, refreshed."""
    user = user or world.me
    job = exports.start_export(user, world.procedure.id, query_of(world, **changes), fmt)
    db.session.commit()
    job_id = job.id
    exports.run(job_id)
    db.session.expire_all()
    return db.session.get(ExportJob, job_id)


def content(job: ExportJob) -> bytes:
    assert job.state == JobState.done, job.error
    attachment = db.session.get(Attachment, job.attachment_id)
    with get_storage().open(attachment.storage_key) as stream:
        return stream.read()


def label(world, key: str) -> str:
    return tables.catalogue(world.procedure, world.me).get(key).label


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_csv_holds_the_filtered_sorted_chosen_columns_only(world):
    d = world.d
    job = export(
        world,
        "csv",
        columns=("number", "field:title", "field:amount"),
        filters=(Filter("field:amount", "ge", "100"),),
        sort=Sort("field:amount", "desc"),
    )
    rows = csv_rows(content(job))
    assert rows[0] == [label(world, "number"), "Intitulé du projet", "Montant demandé"]
    assert [row[0] for row in rows[1:]] == [str(d.first.id), str(d.third.id)]
    assert rows[1][1] == "Médiathèque"
    assert job.total == 2 and job.done == 2


def test_csv_neutralises_cells_that_would_run_as_formulas(world):
    rows = csv_rows(content(export(world, "csv", columns=("number", "field:title"))))
    titles = {row[0]: row[1] for row in rows[1:]}
    assert titles[str(world.d.second.id)] == '\'=HYPERLINK("http://evil")'


def test_an_agent_never_exports_a_dossier_outside_their_groups(world):
    d = world.d
    mine = csv_rows(content(export(world, "csv", columns=("number", "field:title"))))
    assert {row[0] for row in mine[1:]} == {str(x.id) for x in (d.first, d.second, d.third)}
    theirs = csv_rows(
        content(export(world, "csv", user=world.outsider, columns=("number", "field:title")))
    )
    assert [row[1] for row in theirs[1:]] == ["Secret B"]


def test_an_agent_cannot_export_a_procedure_they_do_not_see(world):
    with pytest.raises(ExportError) as refused:
        exports.start_export(world.me, world.other.id, query_of(world), "csv")
    assert refused.value.status == 404


def test_unknown_format_column_or_too_many_exports_are_refused_with_a_message(world):
    with pytest.raises(ExportError):
        exports.start_export(world.me, world.procedure.id, query_of(world), "pdf")
    with pytest.raises(ExportError, match="nope"):
        exports.start_export(
            world.me, world.procedure.id, query_of(world, columns=("number", "nope")), "csv"
        )
    for _ in range(exports.MAX_ACTIVE_PER_USER):
        exports.start_export(world.me, world.procedure.id, query_of(world), "csv")
    with pytest.raises(ExportError, match=str(exports.MAX_ACTIVE_PER_USER)):
        exports.start_export(world.me, world.procedure.id, query_of(world), "csv")


def test_csv_with_a_repeated_block_is_a_zip_with_one_csv_per_block(world):
    job = export(world, "csv", columns=("number", "field:title", "field:guests"))
    with zipfile.ZipFile(io.BytesIO(content(job))) as archive:
        names = archive.namelist()
        assert names[0] == gettext("dossiers") + ".csv"
        block = csv_rows(archive.read("Invités.csv"))
    assert block[0] == [gettext("Number"), gettext("Entry"), "Nom", "Âge"]
    assert block[1:] == [
        [str(world.d.first.id), "1", "Léa", "7"],
        [str(world.d.first.id), "2", "Tom", ""],
    ]


def test_xlsx_types_numbers_and_dates_and_puts_repetitions_in_their_own_sheet(world):
    job = export(world, "xlsx", columns=(*COLUMNS, "submitted_at", "field:guests"))
    book = openpyxl.load_workbook(io.BytesIO(content(job)), read_only=True)
    assert book.sheetnames == [gettext("Dossiers"), "Invités"]
    rows = list(book["Dossiers"].iter_rows(values_only=True))
    assert rows[0][:4] == tuple(label(world, key) for key in COLUMNS[:4])
    first = rows[1]
    assert first[0] == world.d.first.id  # a number, not text
    assert first[3] == "Médiathèque"
    assert first[6].year == world.d.first.submitted_at.year  # a real date
    assert len(rows) == 4
    guests = list(book["Invités"].iter_rows(values_only=True))
    assert guests[1] == (world.d.first.id, 1, "Léa", "7")


def test_ods_is_a_valid_package_with_a_table_per_sheet(world):
    job = export(world, "ods", columns=("number", "field:title", "field:guests"))
    with zipfile.ZipFile(io.BytesIO(content(job))) as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        manifest = ElementTree.fromstring(archive.read("META-INF/manifest.xml"))
        paths = [
            entry.get(next(k for k in entry.attrib if k.endswith("full-path")))
            for entry in manifest
        ]
        assert paths == ["/", "content.xml"]
        root = ElementTree.fromstring(archive.read("content.xml"))
    sheets = root.findall(".//table:table", NS)
    assert [s.get(f"{{{NS['table']}}}name") for s in sheets] == [gettext("Dossiers"), "Invités"]

    def cells(row):
        return ["\n".join(p.text or "" for p in c.findall("text:p", NS)) for c in row]

    columns = sheets[0].find("table:table-column", NS)  # ODF requires columns declared
    assert columns.get(f"{{{NS['table']}}}number-columns-repeated") == "3"
    rows = [cells(row) for row in sheets[0].findall("table:table-row", NS)]
    assert rows[0][:2] == [label(world, "number"), "Intitulé du projet"]
    assert [row[0] for row in rows[1:]] == [
        str(world.d.first.id),
        str(world.d.second.id),
        str(world.d.third.id),
    ]
    number_cell = sheets[0].findall("table:table-row", NS)[1][0]
    assert number_cell.get(f"{{{NS['office']}}}value-type") == "float"
    guests = [cells(row) for row in sheets[1].findall("table:table-row", NS)]
    assert guests[1][:3] == [str(world.d.first.id), "1", "Léa"]


def test_ods_text_keeps_lines_spaces_and_drops_characters_xml_refuses():
    cell = exports._ods_string("a  b\nc<d>\x01")
    assert cell.count("<text:p>") == 2
    assert '<text:s text:c="1"/>' in cell and "&lt;d&gt;" in cell and "\x01" not in cell
    spaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    ElementTree.fromstring(f"<r {spaces}>{cell}</r>")


def test_json_lists_the_columns_and_nests_repetitions(world):
    job = export(world, "json", columns=("number", "field:title", "submitted_at", "field:guests"))
    data = json.loads(content(job))
    assert data["procedure"]["id"] == world.procedure.id
    assert [c["key"] for c in data["columns"]] == [
        "number",
        "field:title",
        "submitted_at",
        "field:guests",
    ]
    first = data["dossiers"][0]
    assert first["number"] == world.d.first.id
    assert first["field:guests"] == [
        {"guest_name": "Léa", "guest_age": "7"},
        {"guest_name": "Tom", "guest_age": ""},
    ]
    assert first["submitted_at"].startswith(str(world.d.first.submitted_at.year))
    assert len(data["dossiers"]) == 3


def test_an_empty_table_still_exports_its_headers(world):
    job = export(world, "json", filters=(Filter("field:title", "eq", "nothing"),))
    assert json.loads(content(job))["dossiers"] == []
    job = export(world, "xlsx", filters=(Filter("field:title", "eq", "nothing"),))
    assert len(list(openpyxl.load_workbook(io.BytesIO(content(job))).active.iter_rows())) == 1


def test_zip_holds_a_pdf_per_dossier_and_the_table(world):
    job = export(
        world,
        "zip",
        columns=("number", "field:title"),
        filters=(Filter("field:amount", "ge", "1000"),),
    )
    with zipfile.ZipFile(io.BytesIO(content(job))) as archive:
        names = archive.namelist()
        number = world.d.first.id
        stem = f"{gettext('dossier')}-{number}"
        assert f"{stem}/{stem}.pdf" in names
        assert archive.read(f"{stem}/{stem}.pdf").startswith(b"%PDF")
        assert gettext("dossiers") + ".csv" in names
        assert not any(str(world.d.third.id) in name for name in names)


def test_a_zip_of_too_many_dossiers_is_refused(world, app):
    app.config["EXPORT_ZIP_MAX_DOSSIERS"] = 2
    with pytest.raises(ExportError, match="2"):
        exports.start_export(world.me, world.procedure.id, query_of(world), "zip")


def test_progress_is_reported_after_each_chunk(world, monkeypatch):
    seen = []
    report = exports._report_progress
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    monkeypatch.setattr(
        exports, "_report_progress", lambda job_id, done: (seen.append(done), report(job_id, done))
    )
    job = export(world, "csv")
    assert seen == [2, 3]
    assert (job.total, job.done, exports.progress(job)["percent"]) == (3, 3, 100)


def test_a_failing_export_is_marked_failed_with_a_message(world, monkeypatch):
    def broken(self, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports.CsvWriter, "write", broken)
    job = export(world, "csv")
    assert job.state == JobState.failed
    assert job.attachment_id is None
    assert job.error == gettext("The export failed. Please try again, or ask for help.")
    assert not exports.is_downloadable(job)


def test_a_job_found_running_lost_its_worker_and_is_failed_not_run_twice(world):
    job = exports.start_export(world.me, world.procedure.id, query_of(world), "csv")
    job.state = JobState.running
    job.started_at = utcnow()
    db.session.commit()
    exports.run(job.id)
    db.session.expire_all()
    assert job.state == JobState.failed
    assert job.error == gettext("The export was interrupted. Please start it again.")


def test_cleanup_deletes_expired_exports_and_fails_stale_jobs(world):
    done = export(world, "csv")
    attachment_id = done.attachment_id
    stale = exports.start_export(world.me, world.procedure.id, query_of(world), "json")
    stale.state = JobState.running
    stale.started_at = utcnow() - exports.MAX_RUNNING - timedelta(minutes=1)
    db.session.commit()
    stale_id, done_id = stale.id, done.id
    assert exports.cleanup() == {"expired": 0, "failed": 1}
    assert db.session.get(ExportJob, stale_id).state == JobState.failed
    later = utcnow() + exports.LIFETIME + timedelta(minutes=1)
    assert exports.cleanup(now=later)["expired"] == 2  # the file, and the failure's notice
    assert db.session.get(ExportJob, done_id) is None
    assert db.session.get(ExportJob, stale_id) is None
    assert db.session.get(Attachment, attachment_id) is None


def test_exports_are_written_in_the_audit_log(world):
    job = export(world, "csv")
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "export_job", AuditEvent.object_id == str(job.id)
        )
    ).all()
    assert set(actions) == {exports.REQUESTED, exports.COMPLETED}


def test_the_export_reads_rows_in_chunks_without_a_query_per_dossier(world, monkeypatch):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    columns = tables.catalogue(world.procedure, world.me)
    query = tables.validate(query_of(world, columns=(*COLUMNS, "followers", "labels")), columns)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        rows = [row for chunk in exports._chunks(query, world.me, columns, size=2) for row in chunk]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(rows) == 3
    # one statement for the rows, then per chunk of 2: followers, labels (and group ids once)
    assert len(statements) <= 1 + 2 * 3 + 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_the_ods_and_the_xlsx_alike(world, tmp_path):
    converted = {}
    for fmt in ("ods", "xlsx"):
        job = export(world, fmt, columns=(*COLUMNS, "field:guests"))
        source = tmp_path / f"export.{fmt}"
        source.write_bytes(content(job))
        target = tmp_path / fmt
        subprocess.run(
            [
                "soffice",
                "--headless",
                "--norestore",
                f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):59,34,76,1,,0,false,true,false,false,false,-1",
                "--outdir",
                str(target),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        converted[fmt] = {path.name: path.read_text() for path in target.iterdir()}
    assert converted["ods"] == converted["xlsx"]
    assert len(converted["ods"]) == 2  # the dossiers and the repeated block
    sheet = converted["ods"]["export-Invités.csv"]
    assert "Léa" in sheet and "Tom" in sheet
