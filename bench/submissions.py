"""Applicants filing at the same time, through HTTP against gunicorn.

Each of ``applicants`` threads signs in (a seeded applicant, through the portal's login
form), then all start together and each goes through what the portal's pages and script
send: create a draft, say who files, open the form, three autosaves (a third of the answers
more each time), optionally upload an attachment to the form's attachment field, and
submit. The answers are those of seeded dossiers of the same procedure, turned into form
inputs by the portal's own ``answers_to_form``: the form is the largest procedure's, which
holds one field of each of the 25 types that take an answer.

A submission counts as confirmed when the submit request lands on the confirmation page.
Afterwards the database is asked how many dossiers these applicants submitted during the
run (and how many attachments they hold): "zero submission lost" means as many found as
confirmed, and no request failed.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import sqlalchemy as sa

from . import harness
from .harness import BenchError, Figure, percentile, verdict

_VERSION = re.compile(r'name="version" value="(\d+)"')
_NUMBER = re.compile(r"/dossiers/(\d+)/")
ATTACHMENT_BYTES = 200 * 1024


@dataclass
class Plan:
    """What the applicants file: the procedure, their accounts, each one's inputs."""

    procedure_id: int
    slug: str
    title: str
    fields: int
    attachment_field: str | None
    emails: list[str]
    identities: list[dict[str, str]]
    inputs: list[list[tuple[str, str]]]  # per applicant, per top-level field's inputs
    present: list[list[str]]
    dossier_before: int
    outbox_before: int


@dataclass
class Outcome:
    confirmed: bool = False
    number: int | None = None
    error: str = ""
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def prepare(app: Any, applicants: int, offset: int = 0) -> Plan:
    """Pick the procedure (the largest one taking dossiers), ``applicants`` seeded
    applicants (from ``offset``), and their answers (from submitted seeded dossiers)."""
    from flask_babel import force_locale

    from app.extensions import db
    from app.fields import field_specs
    from app.fields import get as get_type
    from app.models import Dossier, DossierState, OutboxEvent, Procedure, Role, User
    from app.security import Roles
    from app.services import dossiers
    from app.services.procedures import form_order
    from plugins.public_forms.form_data import answers_to_form, input_name

    with app.app_context(), app.test_request_context(), force_locale("fr"):
        procedure = None
        for procedure_id, _count in db.session.execute(
            sa.select(Dossier.procedure_id, sa.func.count())
            .group_by(Dossier.procedure_id)
            .order_by(sa.func.count().desc())
            .limit(50)
        ):
            candidate = db.session.get(Procedure, procedure_id)
            if (
                candidate.published_revision_id is not None
                and dossiers.opening_problem(candidate) is None
            ):
                procedure = candidate
                break
        if procedure is None:
            raise BenchError("no procedure of the seed takes dossiers now")
        revision = procedure.published_revision
        specs = field_specs(form_order(revision, private=False))
        valued = [s for s in specs if s.parent is None and get_type(s.type).has_value]
        attachment = next((s.stable_id for s in valued if s.type == "attachment"), None)
        links = [s for s in valued if s.type == "dossier_link"]
        sources = db.session.execute(
            sa.select(Dossier.id, Dossier.answers, Dossier.identity)
            .where(
                Dossier.procedure_id == procedure.id,
                Dossier.revision_id == revision.id,
                Dossier.state == DossierState.submitted,
            )
            .order_by(Dossier.id)
            .limit(applicants)
        ).all()
        if not sources:
            raise BenchError(f"procedure #{procedure.id} has no submitted dossier to copy")
        emails = list(
            db.session.scalars(
                sa.select(User.email)
                .join(User.roles)
                .where(Role.name == Roles.APPLICANT, User.active.is_(True))
                .where(User.email.like("%@%"))
                .order_by(User.id)
                .offset(offset)
                .limit(applicants)
            )
        )
        if len(emails) < applicants:
            raise BenchError(f"only {len(emails)} applicants in the database")
        inputs, present, identities = [], [], []
        for index in range(applicants):
            source, answers, identity = sources[index % len(sources)]
            answers = dict(answers or {})
            for spec in links:
                # the seed links any earlier number, drafts included, which the form refuses
                # (drafts are private): name the source dossier, a filed one, instead
                if answers.get(spec.stable_id) is not None:
                    answers[spec.stable_id] = source
            values = answers_to_form(specs, answers)
            per_field = []
            for spec in valued:
                name = input_name(spec.stable_id)
                per_field.append(
                    [
                        (key, value)
                        for key, value in values.items(multi=True)
                        if key == name or key.startswith((name + ".", name + "["))
                    ]
                )
            inputs.append(per_field)
            present.append([spec.stable_id for spec in valued])
            identity = identity or {}
            identities.append(
                {
                    key: str(identity.get(key) or "")
                    for key in ("civility", "first_name", "last_name", "siret", "name")
                }
            )
        return Plan(
            procedure_id=procedure.id,
            slug=procedure.slug,
            title=procedure.title,
            fields=len(valued),
            attachment_field=attachment,
            emails=emails,
            identities=identities,
            inputs=[[pair for group in groups for pair in group] for groups in inputs],
            present=present,
            dossier_before=db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.max(Dossier.id), 0))
            ),
            outbox_before=db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.max(OutboxEvent.id), 0))
            ),
        )


def _slices(
    plan: Plan, index: int, parts: int = 3
) -> list[tuple[list[tuple[str, str]], list[str]]]:
    """The inputs and ``present`` names of the first 1/3, 2/3, 3/3 of the fields."""
    from plugins.public_forms.form_data import input_name

    names = plan.present[index]
    inputs = plan.inputs[index]
    result = []
    for part in range(1, parts + 1):
        shown = names[: round(len(names) * part / parts)]
        prefixes = tuple(input_name(name) for name in shown)
        chosen = [
            (key, value)
            for key, value in inputs
            if key in prefixes or key.split(".", 1)[0].split("[", 1)[0] in prefixes
        ]
        result.append((chosen, shown))
    return result


def _file(folder_bytes: int = ATTACHMENT_BYTES) -> bytes:
    head = b"%PDF-1.4\n% Guichet bench\n"
    return head + b"0" * (folder_bytes - len(head))


def file_one(
    base_url: str,
    plan: Plan,
    index: int,
    start: threading.Barrier,
    *,
    with_attachment: bool,
    password: str,
) -> Outcome:
    """One applicant's whole filing; never raises (the outcome says what failed)."""
    outcome = Outcome()
    try:
        started = time.perf_counter()
        client, _token = harness.sign_in(base_url, plan.emails[index], password)
        outcome.timings["sign in"].append(time.perf_counter() - started)
    except Exception as error:  # noqa: BLE001 - reported, counted as a failure
        outcome.error = f"sign in: {error}"
        try:
            start.abort()
        finally:
            return outcome  # noqa: B012
    try:
        start.wait(timeout=600)
    except threading.BrokenBarrierError:
        outcome.error = "another applicant could not sign in"
        return outcome

    def request(kind: str, method: str, path: str, **kwargs: Any):
        began = time.perf_counter()
        answer = client.request(
            method, base_url + path, allow_redirects=False, timeout=300, **kwargs
        )
        outcome.timings[kind].append(time.perf_counter() - began)
        return answer

    try:
        answer = request("start page", "GET", f"/commencer/{plan.slug}/nouveau")
        if answer.status_code != 200:
            raise BenchError(f"start page: HTTP {answer.status_code}")
        token = harness.csrf_token(answer.text)
        answer = request(
            "new draft", "POST", f"/commencer/{plan.slug}/nouveau", data={"csrf_token": token}
        )
        found = _NUMBER.search(answer.headers.get("Location", ""))
        if answer.status_code != 302 or found is None:
            raise BenchError(f"new draft: HTTP {answer.status_code}")
        number = int(found.group(1))
        outcome.number = number
        answer = request(
            "identity",
            "POST",
            f"/dossiers/{number}/identite",
            data={"csrf_token": token, **plan.identities[index]},
        )
        if answer.status_code != 302:
            raise BenchError(f"identity: HTTP {answer.status_code}")
        answer = request("open form", "GET", f"/dossiers/{number}/formulaire")
        version = _VERSION.search(answer.text)
        if answer.status_code != 200 or version is None:
            raise BenchError(f"open form: HTTP {answer.status_code}")
        current = version.group(1)
        slices = _slices(plan, index)
        for chosen, shown in slices:
            data = [("csrf_token", token), ("version", current), *chosen]
            data += [("present", name) for name in shown]
            answer = request(
                "autosave", "POST", f"/dossiers/{number}/formulaire/brouillon", data=data
            )
            if answer.status_code != 200 or not answer.json().get("saved"):
                raise BenchError(f"autosave: HTTP {answer.status_code} {answer.text[:200]}")
            current = str(answer.json()["version"])
        if with_attachment and plan.attachment_field:
            answer = request(
                "upload",
                "POST",
                f"/attachments/upload?use=form_field&dossier={number}&field={plan.attachment_field}",
                data=_file(),
                headers={
                    "X-CSRFToken": token,
                    "Content-Type": "application/pdf",
                    "X-File-Name": f"justificatif-{index}.pdf",
                    "Accept": "application/json",
                },
            )
            if answer.status_code != 201:
                raise BenchError(f"upload: HTTP {answer.status_code} {answer.text[:200]}")
        chosen, shown = slices[-1]
        data = [("csrf_token", token), ("version", current), ("state", "draft"), *chosen]
        data += [("present", name) for name in shown]
        answer = request("submit", "POST", f"/dossiers/{number}/depot", data=data)
        location = answer.headers.get("Location", "")
        if answer.status_code != 302 or not location.endswith("/confirmation"):
            raise BenchError(f"submit: HTTP {answer.status_code} {_problems(answer.text)}")
        answer = request("confirmation", "GET", location)
        if answer.status_code != 200:
            raise BenchError(f"confirmation: HTTP {answer.status_code}")
        outcome.confirmed = True
    except Exception as error:  # noqa: BLE001 - reported, counted as a failure
        outcome.error = outcome.error or str(error)
    return outcome


def _problems(html: str) -> str:
    """The error summary of a refused form page (what the applicant would read)."""
    summary = html.split('id="error-summary"', 1)[-1].split("</div>", 2)
    text = re.sub(r"<[^>]+>", " ", "".join(summary[:2]))
    return " ".join(unescape(text).split())[:500]


def run(
    app: Any,
    base_url: str,
    applicants: int,
    *,
    with_attachment: bool,
    section: str,
    offset: int = 0,
    outbox_wait: float = 60,
    say: Callable[[str], None] = print,
) -> list[Figure]:
    """File ``applicants`` dossiers at once; the figures and PASS / MISS (nothing lost)."""
    from app.extensions import db
    from app.models import Attachment, Dossier, DossierState, OutboxEvent
    from app.services.seed import SEED_PASSWORD

    plan = prepare(app, applicants, offset)
    say(
        f"  {applicants} applicants filing procedure #{plan.procedure_id} “{plan.title}” "
        f"({plan.fields} fields{', with an attachment' if with_attachment else ''})"
    )
    start = threading.Barrier(applicants + 1)
    with ThreadPoolExecutor(max_workers=applicants) as pool:
        futures = [
            pool.submit(
                file_one,
                base_url,
                plan,
                index,
                start,
                with_attachment=with_attachment,
                password=SEED_PASSWORD,
            )
            for index in range(applicants)
        ]
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=600)
        began = time.perf_counter()
        outcomes = [future.result() for future in futures]
        wall = time.perf_counter() - began
    confirmed = [o for o in outcomes if o.confirmed]
    failed = [o for o in outcomes if not o.confirmed]
    numbers = [o.number for o in outcomes if o.number is not None]
    timings: dict[str, list[float]] = defaultdict(list)
    for outcome in outcomes:
        for kind, values in outcome.timings.items():
            timings[kind].extend(values)
    flow = [value for kind, values in timings.items() if kind != "sign in" for value in values]
    with app.app_context():
        found = db.session.scalar(
            sa.select(sa.func.count()).where(
                Dossier.id.in_(numbers) if numbers else sa.false(),
                Dossier.id > plan.dossier_before,
                Dossier.state == DossierState.submitted,
                Dossier.submitted_at.is_not(None),
            )
        )
        files = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Attachment.dossier_id))).where(
                Attachment.dossier_id.in_(numbers) if numbers else sa.false()
            )
        )
        deadline = time.monotonic() + outbox_wait
        while True:
            events = db.session.execute(
                sa.select(sa.func.count(), sa.func.count(OutboxEvent.processed_at)).where(
                    OutboxEvent.id > plan.outbox_before
                )
            ).one()
            db.session.rollback()
            if events[0] == events[1] or time.monotonic() > deadline:
                break
            time.sleep(1)
    for outcome in failed[:5]:
        say(f"  failed: {outcome.error}")
    lost = len(confirmed) - found
    values = {
        "applicants": applicants,
        "confirmed": len(confirmed),
        "found_in_database": found,
        "failed_requests_or_flows": len(failed),
        "submitted_per_s": round(len(confirmed) / wall, 2) if wall else None,
        "wall_s": round(wall, 2),
        "p95_ms_all_requests": round(percentile(flow, 95) * 1000, 1),
        "p95_ms_submit": round(percentile(timings.get("submit", []), 95) * 1000, 1),
        "p50_ms_submit": round(percentile(timings.get("submit", []), 50) * 1000, 1),
        "outbox_events": events[0],
        "outbox_processed": events[1],
    }
    if with_attachment:
        values["dossiers_with_attachment"] = files
    for kind, durations in sorted(timings.items()):
        values[f"p95_ms_{kind.replace(' ', '_')}"] = round(percentile(durations, 95) * 1000, 1)
    ok = not failed and lost == 0 and found == applicants
    if with_attachment:
        ok = ok and files == applicants
    return [
        Figure(
            section,
            f"{applicants} concurrent applicants: draft, 3 autosaves, "
            + ("upload, " if with_attachment else "")
            + "submit",
            values,
            "zero submission lost, zero error",
            verdict(ok),
            note=f"{len(confirmed)} confirmed, {found} found in the database",
        )
    ]
