"""Every route of the app, called by every kind of actor, on objects of their own world and
of another's, answers as the declared policy (``policy.py``) says.

The routes come from ``app.url_map``: a new route is in the matrix as soon as it exists,
and fails until ``policy.py`` says who may call it. Reading routes (GET) are called by every
actor; writing routes (POST, DELETE…) by the actors who must be refused, with the world's
ids in the URL and the form, and such a call must write nothing to the database. Allowed
writes are not sent: they would change the shared world under the next calls.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

import factories as make
from app import create_app
from app.extensions import db
from conftest import _empty_tables, _overrides

from . import world as w
from .policy import OBJECT_ARGUMENTS, OTHER_ARGUMENTS, Access, access_for

LOGIN_PATHS = ("/login/", "/connexion")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WRITES = ("INSERT", "UPDATE", "DELETE")


def _rules() -> list:
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(_overrides("sqlite://", Path(instance)))
        return sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))


@dataclass(frozen=True)
class Case:
    endpoint: str
    rule: str
    arguments: frozenset[str]
    method: str
    actor: str

    def sides(self) -> tuple[str, ...]:
        """Routes naming objects are called on the actor's world's and on another's."""
        return ("own", "theirs") if self.arguments & OBJECT_ARGUMENTS.keys() else ("own",)


def _allowed(access: Access, actor: str, side: str) -> bool:
    if actor not in access.allowed:
        return False
    return side == "own" or actor == w.PLATFORM_ADMIN or access.public_objects


def _cases() -> Iterator:
    for rule in _rules():
        access = access_for(rule.endpoint)
        for method in [m for m in ("GET", *WRITE_METHODS) if m in rule.methods]:
            for actor in w.ACTORS:
                case = Case(rule.endpoint, rule.rule, frozenset(rule.arguments), method, actor)
                if (
                    access is not None
                    and method != "GET"
                    and all(_allowed(access, actor, side) for side in case.sides())
                ):
                    continue  # an allowed write is not sent (see the module's docstring)
                yield pytest.param(case, id=f"{rule.endpoint} {method} {rule.rule} as {actor}")


@dataclass
class Matrix:
    app: Flask
    world: w.World = None
    writes: list[str] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)
    """Actor -> the session cookie of their sign-in through the login form."""

    def build(self) -> None:
        with self.app.app_context():
            db.session.remove()
            _empty_tables()
            self.world = w.build(Path(self.app.config["MAIL_OUTBOX_DIR"]))
        name = self.app.config["SESSION_COOKIE_NAME"]
        for actor, username in self.world.people.items():
            client = self.app.test_client()
            make.login(client, username)
            self.cookies[actor] = client.get_cookie(name).value
        del self.writes[:]


@pytest.fixture(scope="module")
def matrix(database_url, tmp_path_factory) -> Iterator[Matrix]:
    app = create_app(
        _overrides(database_url, tmp_path_factory.mktemp("matrix"), RATELIMIT_ENABLED=False)
    )
    matrix = Matrix(app)
    with app.app_context():

        @sa.event.listens_for(db.engine, "before_cursor_execute")
        def _record(conn, cursor, statement, parameters, context, executemany) -> None:
            if statement.lstrip()[:6].upper() in WRITES:
                matrix.writes.append(statement)

    matrix.build()
    try:
        yield matrix
    finally:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def _value(name: str, access: Access, side: dict, endpoint: str, app: Flask) -> str:
    if name == "filename" and endpoint.endswith("static"):
        return _a_static_file(app, endpoint)
    key = access.objects.get(name) or OBJECT_ARGUMENTS.get(name)
    if key in side:
        return str(side[key])
    return key or OTHER_ARGUMENTS.get(name, "1")


def _a_static_file(app: Flask, endpoint: str) -> str:
    blueprint = endpoint.rpartition(".")[0]
    folder = Path(app.blueprints[blueprint].static_folder if blueprint else app.static_folder)
    return next(str(p.relative_to(folder)) for p in sorted(folder.rglob("*")) if p.is_file())


def call(matrix: Matrix, case: Case, access: Access, side_name: str):
    """Send the case's request; return its URL, its response (None when it raised) and the
    SQL writes it made."""
    app = matrix.app
    side = matrix.world.own if side_name == "own" else matrix.world.theirs
    rule = next(
        r for r in app.url_map.iter_rules() if (r.rule, r.endpoint) == (case.rule, case.endpoint)
    )
    values = {name: _value(name, access, side, case.endpoint, app) for name in rule.arguments}
    url = rule.build(values, append_unknown=False)[1]
    client = app.test_client()
    if case.actor != w.ANONYMOUS:
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], matrix.cookies[case.actor])
    data = {name: str(side.get(key, key)) for name, key in access.form.items()}
    del matrix.writes[:]
    try:
        response = client.open(url, method=case.method, data=data)
    except Exception:
        if not access.dead:
            raise
        response = None
    return url, response, list(matrix.writes)


def _login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.location).path in LOGIN_PATHS


def _refused_as_expected(response, case: Case, access: Access, guessed: bool) -> bool:
    status = response.status_code
    if case.actor == w.ANONYMOUS:
        if access.anonymous == "login":
            return _login_redirect(response)
        return status == int(access.anonymous)
    if access.refused_with is not None:
        return status == access.refused_with
    if guessed:
        return status == 404  # someone else's object answers as a missing one
    return status in (403, 404)


@pytest.mark.parametrize("case", list(_cases()))
def test_each_route_answers_each_actor_as_the_policy_says(matrix: Matrix, case: Case) -> None:
    access = access_for(case.endpoint)
    assert access is not None, (
        f"route {case.rule} (endpoint {case.endpoint}) is missing from "
        "tests/security_matrix/policy.py: declare who may call it"
    )
    for side in case.sides():
        allowed = _allowed(access, case.actor, side)
        if allowed and case.method != "GET":
            continue
        url, response, writes = call(matrix, case, access, side)
        where = f"{case.method} {url} as {case.actor} on {side} objects"
        if writes and not allowed:
            matrix.build()  # the next cases need the world as it was
        if access.dead:
            assert response is None or response.status_code >= 300, f"{where}: answered"
            assert not writes, f"{where}: wrote to the database: {writes}"
        elif allowed:
            assert response.status_code < 400 and not _login_redirect(response), (
                f"{where}: refused ({response.status_code} {response.location or ''}) "
                "but the policy allows it"
            )
        else:
            guessed = side == "theirs" and _allowed(access, case.actor, "own")
            assert _refused_as_expected(response, case, access, guessed), (
                f"{where}: answered {response.status_code} {response.location or ''} "
                "but must be refused"
            )
            assert not writes, f"{where}: refused but wrote to the database: {writes}"
