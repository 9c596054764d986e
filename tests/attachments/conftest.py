"""Fixtures of the attachments tests: a small world of people and dossiers, a real clamd
with a signature database made here, and a local S3-compatible server (moto)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import factories as make
from app.extensions import db
from app.models import DossierState, FieldDefinition, Message, ProcedureState, User
from app.models.message import AuthorKind
from app.security import Roles
from plugins.attachments import services

PASSWORD = "a-long-test-password"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
EXECUTABLE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + b"\x80\x00\x00\x00"
    + b"\x00" * 64
    + b"PE\x00\x00L\x01\x03\x00"
    + b"\x00" * 200
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def pdf_of(size: int, seed: str = "") -> bytes:
    """A content libmagic reads as PDF, of exactly ``size`` bytes (unique per seed)."""
    head = PDF + f"% {seed}\n".encode()
    return head + b"0" * (size - len(head))


def login(client, user) -> None:
    """Sign in as ``user`` (anything with a ``username``)."""
    response = client.post("/login/", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def logout(client) -> None:
    client.get("/logout/")


@dataclass
class World:
    """People around one procedure, and the dossiers they see or do not see."""

    app: Any
    people: dict[str, Any]
    procedure_id: int
    draft_procedure_id: int
    submitted_id: int  # owner's dossier under instruction by "agent"
    draft_id: int  # owner's draft
    foreign_id: int  # another applicant's dossier of another procedure

    def user(self, name: str):
        """The person called ``name``, loaded in the current app context."""
        return db.session.get(User, self.people[name].id)

    def login(self, client, name: str) -> None:
        """Sign ``client`` in as the person called ``name`` (passwords are set on demand:
        hashing one costs time)."""
        with self.app.app_context():
            self.app.appbuilder.sm.reset_password(self.people[name].id, PASSWORD)
        login(client, self.people[name])

    def store(self, content: bytes, name: str = "piece.pdf", **kwargs) -> int:
        """Store a file through the service, as ``uploader`` into ``use`` (a form field by
        default), and return its id. Call inside an app context."""
        uploader = self.user(kwargs.pop("uploader", "owner"))
        use = kwargs.pop("use", "form_field")
        dossier_id = kwargs.pop("dossier", self.draft_id)
        from app.models import Dossier, Procedure

        dossier = db.session.get(Dossier, dossier_id) if dossier_id else None
        if use == "form_field":
            field = services.attachment_field(dossier, kwargs.pop("field", "pj"))
            target = services.target_for(use, dossier=dossier, field=field)
        elif use in ("logo", "notice"):
            procedure = db.session.get(Procedure, kwargs.pop("procedure", self.procedure_id))
            target = services.target_for(use, procedure=procedure)
        elif dossier is None:
            target = services.target_for(use)
        else:
            target = services.target_for(use, dossier=dossier)
        attachment = services.store_upload(
            io.BytesIO(content), name, kwargs.pop("declared", "application/pdf"), target, uploader
        )
        db.session.commit()
        return attachment.id


def _fields(revision_id: int) -> None:
    db.session.add_all(
        [
            FieldDefinition(
                revision_id=revision_id,
                stable_id="pj",
                type="attachment",
                label="Pièce justificative",
                options={"families": ["document", "image"], "max_files": 2},
                position=1,
            ),
            FieldDefinition(
                revision_id=revision_id,
                stable_id="plan",
                type="attachment",
                label="Plan",
                options={"families": ["image"], "max_size_mb": 1, "max_files": 1},
                position=2,
            ),
            FieldDefinition(
                revision_id=revision_id,
                stable_id="nom",
                type="text",
                label="Nom de l'établissement",
                position=3,
            ),
            FieldDefinition(
                revision_id=revision_id,
                stable_id="note",
                type="attachment",
                label="Note interne",
                private=True,
                position=4,
            ),
        ]
    )
    db.session.commit()


@pytest.fixture
def world(make_app) -> World:
    return build_world(make_app())


def build_world(app) -> World:
    with app.app_context():
        people = {
            "owner": make.user(Roles.APPLICANT),
            "coeditor": make.user(Roles.APPLICANT),
            "invited": make.user(Roles.APPLICANT),
            "stranger": make.user(Roles.APPLICANT),
            "agent": make.user(Roles.AGENT),
            "other_agent": make.user(Roles.AGENT),
            "expert": make.user(Roles.EXPERT),
            "revoked_expert": make.user(Roles.EXPERT),
            "administrator": make.user(Roles.ADMINISTRATOR),
            "other_administrator": make.user(Roles.ADMINISTRATOR),
            "admin": make.user(Roles.ADMIN),
        }
        administration = make.administration(people["administrator"])
        procedure = make.procedure(administration, people["agent"])
        draft_procedure = make.procedure(administration, state=ProcedureState.draft)
        other = make.procedure(
            make.administration(people["other_administrator"]), people["other_agent"]
        )
        _fields(procedure.published_revision_id)
        submitted = make.dossier(procedure, people["owner"], DossierState.in_review)
        draft = make.dossier(procedure, people["owner"], DossierState.draft)
        foreign = make.dossier(other, people["stranger"])
        for dossier in (submitted, draft):
            make.invitation(dossier, people["coeditor"])
            make.invitation(dossier, people["invited"], accepted=False)
        make.opinion(submitted, people["expert"])
        make.opinion(submitted, people["revoked_expert"], revoked=True)
        return World(
            app=app,
            people={
                name: SimpleNamespace(id=person.id, username=person.username)
                for name, person in people.items()
            },
            procedure_id=procedure.id,
            draft_procedure_id=draft_procedure.id,
            submitted_id=submitted.id,
            draft_id=draft.id,
            foreign_id=foreign.id,
        )


def message(dossier_id: int, author, kind: AuthorKind = AuthorKind.applicant) -> int:
    item = Message(dossier_id=dossier_id, author_id=author.id, author_kind=kind, body="Bonjour")
    db.session.add(item)
    db.session.commit()
    return item.id


# ---------------------------------------------------------------------------------------
# clamd


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clamd_binary() -> str | None:
    return shutil.which("clamd") or next(
        (path for path in ("/usr/sbin/clamd", "/usr/bin/clamd") if os.access(path, os.X_OK)), None
    )


@pytest.fixture(scope="session")
def clamd(tmp_path_factory) -> dict[str, str]:
    """A clamd of our own, knowing one signature (EICAR's MD5), on TCP and a unix socket.

    Skipped when clamd is not installed, except on CI (``CI`` set), where it fails: the
    scan path must not go untested silently there.
    """
    from plugins.attachments.scanning import ClamdClient

    binary = _clamd_binary()
    if binary is None:
        reason = "clamd is not installed (apt-get install clamav-daemon): scan path not tested"
        if os.environ.get("CI"):
            pytest.fail("CI must test the scan path: " + reason)
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("clamd")
    database = home / "db"
    database.mkdir()
    signature = f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Signature\n"
    (database / "eicar.hdb").write_text(signature)
    port = free_port()
    socket_path = home / "clamd.sock"
    config = home / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"DatabaseDirectory {database}",
                "TCPAddr 127.0.0.1",
                f"TCPSocket {port}",
                f"LocalSocket {socket_path}",
                f"TemporaryDirectory {home}",
                f"LogFile {home / 'clamd.log'}",
                "StreamMaxLength 300M",
                "MaxFileSize 300M",
                "MaxScanSize 300M",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    urls = {"tcp": f"tcp://127.0.0.1:{port}", "unix": f"unix://{socket_path}"}
    try:
        deadline = time.monotonic() + 60
        while not ClamdClient(urls["tcp"], timeout=2).ping():
            log = Path(home / "clamd.log")
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("clamd did not start: " + (log.read_text() if log.exists() else ""))
            time.sleep(0.1)
        yield urls
    finally:
        process.terminate()
        process.wait(timeout=30)


# ---------------------------------------------------------------------------------------
# S3


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """A local S3-compatible server (moto in server mode) for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_config(s3_endpoint) -> dict[str, str]:
    """Settings of a fresh bucket on the local S3 server."""
    import boto3

    config = {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_BUCKET": f"guichet-{uuid.uuid4().hex[:12]}",
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        "S3_REGION": "us-east-1",
    }
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket=config["S3_BUCKET"])
    return config
