"""Fixtures of the REST API, token and webhook tests: an administration with two
procedures (one with a form of every family and annotations), another administration's
procedure, dossiers, tokens, and a local HTTP server that receives webhooks."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import workspace_data as data
from flask_appbuilder.security.sqla.models import User
from workspace_data import procedure_with_form

import factories as make
from app.extensions import db
from app.models import ApiToken, Dossier, DossierState, Procedure, utcnow
from app.security import Roles
from app.services import api_tokens


@dataclass
class World:
    app: Any
    administrator: str  # email (login)
    other_administrator: str
    administrator_id: int
    procedure: int  # with a form, of the administration
    second: int  # another procedure of the administration
    foreign: int  # another administration's procedure
    dossiers: dict[str, int]
    secrets: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)

    def headers(self, name: str = "rw", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[name]}", **extra}

    def client(self):
        return self.app.test_client()

    def token(self, name: str) -> ApiToken:
        return db.session.get(ApiToken, self.tokens[name])

    def make_token(self, name: str, procedures: list[int], **options: Any) -> str:
        with self.app.app_context():
            owner = db.session.get(User, self.administrator_id)
            made = api_tokens.create(
                owner,
                _administration_of(procedures[0]),
                name,
                procedures,
                **options,
            )
            db.session.commit()
            self.secrets[name] = made.secret
            self.tokens[name] = made.token.id
            return made.secret


def _administration_of(procedure_id: int) -> int:
    return db.session.get(Procedure, procedure_id).administration_id


def build_world(app) -> World:
    with app.app_context():
        administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        other_administrator = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        agent = data.agent()
        applicant = make.user(Roles.APPLICANT, can_log_in=True)
        administration = make.administration(administrator)
        procedure = procedure_with_form(agent, administration=administration)
        second = make.procedure(administration, agent)
        foreign = make.procedure(make.administration(other_administrator))
        dossiers = {
            "submitted": data.dossier(procedure, applicant, DossierState.submitted).id,
            "in_review": data.dossier(
                procedure, applicant, DossierState.in_review, answers={"title": "Un projet"}
            ).id,
            "draft": data.dossier(procedure, applicant, DossierState.draft).id,
            "second": data.dossier(second, applicant, DossierState.submitted).id,
            "foreign": data.dossier(foreign, applicant, DossierState.submitted).id,
        }
        world = World(
            app=app,
            administrator=administrator.email,
            other_administrator=other_administrator.email,
            administrator_id=administrator.id,
            procedure=procedure.id,
            second=second.id,
            foreign=foreign.id,
            dossiers=dossiers,
        )
    world.make_token("rw", [world.procedure, world.second], read_only=False)
    world.make_token("ro", [world.procedure], read_only=True)
    return world


@pytest.fixture
def world(make_app) -> World:
    return build_world(
        make_app(
            WEBHOOK_ALLOW_PRIVATE_TARGETS=True, API_RATE_LIMIT="1000/minute", CELERY_BROKER_URL=None
        )
    )


def dossier(world: World, name: str) -> Dossier:
    return db.session.get(Dossier, world.dossiers[name])


def expire(world: World, name: str) -> None:
    with world.app.app_context():
        world.token(name).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def mails(app) -> list[str]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    return [path.read_text(errors="replace") for path in sorted(folder.glob("*.eml"))]


# ---------------------------------------------------------------------------------------
# A real HTTP server that receives webhooks


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records the POSTs it gets and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"nope")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()
