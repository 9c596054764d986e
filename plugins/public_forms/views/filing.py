"""Filling and submitting a procedure's form: new draft, test link, identity, the form
(steps or one page, repeated blocks, live conditions, autosave), submission, confirmation
and satisfaction, and the administrators' preview.

Views stay thin: they read the inputs (``form_data``), ask ``app.services.dossiers`` to
change the dossier, commit, and render. Everything works without script; the portal's
script (``static/js/filing.js``) adds live conditions, autosave, file uploads with progress
and repeated blocks without reloading, posting the very same inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_time, gettext
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from app import conditions
from app.data.geo import reference
from app.extensions import db, limiter
from app.fields import FieldSpec, field_specs
from app.fields import get as get_type
from app.fields.contrib.geo import countries
from app.fields.contrib.identity import CIVILITIES
from app.fields.contrib.links import FILE_FAMILIES
from app.models import (
    Administration,
    Attachment,
    AttachmentUse,
    DeclarativeMode,
    Dossier,
    DossierState,
    FilerKind,
    Procedure,
    ProcedureState,
    SatisfactionAnswer,
    SatisfactionLevel,
)
from app.security import can_administer_procedure
from app.security_headers import framable_by_self
from app.services import dossiers
from app.services.procedures import form_order
from app.workflow import state_label

from .. import blueprint, form_data
from ..form_data import dom_id, error_key, input_name

FORM_MAX_BYTES = 2 * 1024 * 1024
"""Largest form post (autosave, save, submit) unless ``PORTAL_FORM_MAX_BYTES`` says
otherwise: the longest answers of a large form fit many times; files never come here."""
FORM_MAX_PARTS = 20_000
"""Most inputs a form post may hold (Werkzeug's default, 1,000, is too few for a form with
repeated blocks of many rows)."""
AUTOSAVE_LIMIT = "90 per minute"
SAVE_LIMIT = "60 per minute"
SUBMIT_LIMIT = "10 per minute;60 per hour"
NEW_DOSSIER_LIMIT = "20 per hour"
SATISFACTION_LIMIT = "10 per minute"

SATISFACTION_LABELS = {
    SatisfactionLevel.satisfied: _l("Satisfied"),
    SatisfactionLevel.neutral: _l("Neutral"),
    SatisfactionLevel.dissatisfied: _l("Dissatisfied"),
}


def per_user() -> str:
    """Rate limits count per signed-in person (several people may share one address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"ip:{get_remote_address()}"


def attachments_enabled() -> bool:
    return "plugins.attachments" in current_app.config.get("PLUGINS", ())


@blueprint.record_once
def _register_hooks(state) -> None:
    """Plug the attachments plugin's checks into the dossier rules when it is loaded: the
    core only knows the hooks (``dossiers.hooks``), never the plugin."""
    app = state.app
    if "plugins.attachments" not in app.config.get("PLUGINS", ()):
        return
    from plugins.attachments import services as attachments

    dossiers.set_attachments_checker(app, attachments.field_attachments_checker)
    dossiers.add_submission_check(app, _scans_done)


def _scans_done(dossier: Dossier) -> list[str]:
    from plugins.attachments import services as attachments

    return attachments.submission_blockers(dossier.id)


# ---------------------------------------------------------------------------------------
# Helpers


def _login_redirect(back: str | None = None) -> Response:
    """To the login page, then ``back`` (by default this page when it was a GET: a POST
    cannot be replayed by following a link)."""
    if back is None and request.method == "GET":
        back = request.full_path.rstrip("?")
    return redirect(url_for("public_forms.login", next=back))


def _limit_body() -> None:
    """Bound the size of a form post before anything reads it (413 otherwise)."""
    limit = int(current_app.config.get("PORTAL_FORM_MAX_BYTES", FORM_MAX_BYTES))
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    request.max_content_length = limit
    request.max_form_memory_size = limit
    request.max_form_parts = FORM_MAX_PARTS


def _too_large_message() -> str:
    return gettext("Your answers are too long to be saved at once. Shorten the longest ones.")


def _editable_dossier(number: int) -> Dossier:
    """The dossier ``number`` if the signed-in person may fill it, else 404 (whatever the
    reason, so that nobody learns which numbers exist)."""
    dossier = db.session.get(Dossier, number)
    if dossier is None or not dossiers.is_editor(dossier, current_user):
        abort(404)
    return dossier


def _dossier_page(dossier: Dossier) -> str:
    """Where the applicant follows their dossier (the portal's dossier page if present)."""
    if "public_forms.dossier" in current_app.view_functions:
        return url_for("public_forms.dossier", number=dossier.id)
    return url_for("public_forms.confirmation", number=dossier.id)


def _int(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 12:
        return int(value)
    return None


def _moment_text(moment: datetime | None) -> str:
    """A timestamp as people read it: ``12 mars 2026 à 14:05``."""
    if moment is None:
        return ""
    return gettext(
        "%(date)s at %(time)s",
        date=format_date(moment, "long"),
        time=format_time(moment, "short"),
    )


def _local_time(moment: datetime) -> str:
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Paris"))
    return moment.astimezone(zone).strftime("%H:%M")


# ---------------------------------------------------------------------------------------
# The form as pages: steps, rendering context


@dataclass
class Step:
    """A step of a form shown as steps: a level-1 section and the fields under it."""

    number: int
    title: str
    header: FieldSpec | None
    fields: list[FieldSpec]


def split_steps(specs: list[FieldSpec], title: str) -> list[Step]:
    """The form cut at its highest-level section titles (fields before the first title
    make a first step named after the procedure)."""
    levels = [conditions._section_level(spec) for spec in specs if spec.type == "header_section"]
    if not levels:
        return [Step(1, title, None, list(specs))]
    top = min(levels)
    steps: list[Step] = []
    current: Step | None = None
    for spec in specs:
        starts = spec.type == "header_section" and conditions._section_level(spec) == top
        if starts:
            current = Step(len(steps) + 1, spec.label, spec, [spec])
            steps.append(current)
        elif current is None:
            current = Step(1, title, None, [spec])
            steps.append(current)
        else:
            current.fields.append(spec)
    return steps


def visible_steps(steps: list[Step], visible: set[str]) -> list[Step]:
    return [step for step in steps if step.header is None or step.header.stable_id in visible]


@dataclass
class FormPage:
    """Everything one rendering of a form needs: fields, values, errors, visibility."""

    procedure: Procedure
    specs: list[FieldSpec]
    values: MultiDict
    visible: set[str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    dossier: Dossier | None = None
    preview: bool = False
    answers: dict[str, Any] = field(default_factory=dict)
    extra_rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[Attachment]] = field(default_factory=dict)
    extra_forms: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None
    """The version the page posts back (the one its author saw, after a stale save)."""
    return_url: str = ""
    """Where uploads and removals made without script come back to."""
    _placed: set[str] = field(default_factory=set)

    @property
    def by_id(self) -> dict[str, FieldSpec]:
        found = {}
        for spec in self.specs:
            found[spec.stable_id] = spec
            for child in spec.children:
                found[child.stable_id] = child
        return found

    # -- rendering ---------------------------------------------------------------------

    def field(self, spec: FieldSpec, block: FieldSpec | None = None, row: int | None = None):
        """One field's HTML (its type's template under ``portal/``)."""
        field_type = get_type(spec.type)
        name = input_name(spec.stable_id, block.stable_id if block else None, row)
        key = error_key(name)
        own = list(self.errors.get(key, []))
        parts = {
            error[len(key) + 1 :]: messages
            for error, messages in self.errors.items()
            if error.startswith(key + ".")
        }
        if spec.type == "repetition":
            own += [
                message
                for error, messages in self.errors.items()
                if error.startswith(key + "[") and error.endswith("]")
                for message in messages
            ]
        element_id = dom_id(name)
        hint_id = f"{element_id}-hint" if spec.help or self._has_own_hint(spec) else None
        error_id = f"{element_id}-error" if own or parts else None
        context = {
            "page": self,
            "field": spec,
            "field_type": field_type,
            "name": name,
            "id": element_id,
            "hint_id": hint_id,
            "error_id": error_id,
            "errors": own,
            "part_errors": parts,
            "all_errors": own + [m for messages in parts.values() for m in messages],
            "describedby": " ".join(item for item in (hint_id, error_id) if item),
            "value": self.values.get(name),
            "hidden": spec.stable_id not in self.visible,
            "block": block,
            "row": row,
            "disabled": self.preview,
        }
        if spec.type == "repetition":
            context["rows"] = self.row_indexes(spec)
        if spec.type == "attachment":
            context.update(self.attachment_context(spec, name, template=row == "__row__"))
        return Markup(render_template("portal/" + field_type.template, **context))

    @staticmethod
    def _has_own_hint(spec: FieldSpec) -> bool:
        return spec.type in ("attachment", "formatted", "date", "datetime", "siret", "commune")

    def row_indexes(self, spec: FieldSpec) -> list[int]:
        """The row numbers a block shows: its rows, then as many empty ones as asked (at
        least its minimum, and one when it has none)."""
        prefix = input_name(spec.stable_id) + "["
        existing = sorted(
            {
                int(key[len(prefix) :].split("]", 1)[0])
                for key in self.values
                if key.startswith(prefix) and key[len(prefix) :].split("]", 1)[0].isdigit()
            }
        )
        count = len(existing)
        wanted = max(count + self.extra_rows.get(spec.stable_id, 0), spec.option("min_rows", 0))
        if wanted == 0:
            wanted = 1
        start = (existing[-1] + 1) if existing else 0
        return existing + list(range(start, start + wanted - count))

    def value_list(self, name: str) -> list[str]:
        return self.values.getlist(name)

    # -- attachments -------------------------------------------------------------------

    def attachment_context(
        self, spec: FieldSpec, name: str, *, template: bool = False
    ) -> dict[str, Any]:
        families = spec.option("families") or list(FILE_FAMILIES)
        context: dict[str, Any] = {
            "files": [],
            "families_text": ", ".join(str(FILE_FAMILIES.get(f, f)) for f in families),
            "max_size_mb": spec.option("max_size_mb", 20),
            "max_files": spec.option("max_files", 1),
            "uploads": attachments_enabled() and self.dossier is not None and not self.preview,
            "accept": "",
            "upload_url": "",
            "upload_form": dom_id(name) + "-upload",
        }
        if not attachments_enabled():
            return context
        from plugins.attachments import services as attachments
        from plugins.attachments import sniffing

        context["accept"] = sniffing.accept_attribute(frozenset(families))
        if self.dossier is None:
            return context
        context["upload_url"] = url_for(
            "attachments.upload", use="form_field", dossier=self.dossier.id, field=spec.stable_id
        )
        if template:  # the empty entry the script copies: uploads there go through it
            return context
        ids = [_int(str(value)) for value in self.values.getlist(name)]
        rows = self.files.get(spec.stable_id, [])
        chosen = [row for row in rows if row.id in ids]
        if not chosen and spec.stable_id not in self._placed:
            referenced = self._referenced_ids(spec.stable_id)
            chosen = [row for row in rows if row.id not in referenced]
        self._placed.add(spec.stable_id)
        context["files"] = [attachments.describe(row) for row in chosen]
        self.extra_forms.append(
            {
                "id": context["upload_form"],
                "action": url_for("attachments.upload"),
                "fields": {
                    "use": "form_field",
                    "dossier": self.dossier.id,
                    "field": spec.stable_id,
                    "next": self.return_url + "#" + dom_id(name),
                },
            }
        )
        for item in context["files"]:
            self.extra_forms.append(
                {
                    "id": f"remove-file-{item['id']}",
                    "action": item["remove_url"],
                    "fields": {"next": self.return_url + "#" + dom_id(name)},
                }
            )
        return context

    def _referenced_ids(self, stable_id: str) -> set[int]:
        """Attachment ids the answers already place somewhere (for files uploaded without
        script, not placed yet)."""
        found: set[int] = set()
        for key in self.values:
            if key == input_name(stable_id) or key.endswith("." + stable_id):
                found.update(_int(value) for value in self.values.getlist(key))
        return found

    # -- errors ------------------------------------------------------------------------

    def error_summary(self, steps: list[Step] | None, current: Step | None) -> list[dict]:
        """The errors as (text, link) pairs, in form order, for the summary at the top."""
        order = {spec.stable_id: index for index, spec in enumerate(self.specs)}
        step_of: dict[str, int] = {}
        for step in steps or []:
            for spec in step.fields:
                step_of[spec.stable_id] = step.number
        items = []
        for key in sorted(
            self.errors, key=lambda k: (order.get(dossiers.top_level_key(k), 1_000_000), k)
        ):
            top = dossiers.top_level_key(key)
            spec = self.by_id.get(top)
            label = self.error_label(key)
            for message in self.errors[key]:
                anchor = "#" + dom_id(form_data.PREFIX + key)
                if spec is not None and spec.type in ("date", "datetime") and "." not in key:
                    anchor += "-day"
                href = anchor
                number = step_of.get(top)
                if current is not None and number and number != current.number:
                    href = self.step_url(number) + anchor
                items.append({"label": label, "message": message, "href": href})
        return items

    def error_label(self, key: str) -> str:
        top = dossiers.top_level_key(key)
        spec = self.by_id.get(top)
        if spec is None:
            return gettext("Form")
        rest = key[len(top) :]
        if spec.type == "repetition" and rest.startswith("["):
            row, _, child_key = rest[1:].partition("].")
            child = self.by_id.get(child_key.split(".", 1)[0]) if child_key else None
            entry = gettext("entry %(number)s", number=int(row) + 1 if row.isdigit() else row)
            if child is not None:
                return f"{spec.label} ({entry}) – {child.label}"
            return f"{spec.label} ({entry})"
        return spec.label

    def step_url(self, number: int) -> str:
        if self.preview:
            return url_for("public_forms.preview", procedure_id=self.procedure.id, etape=number)
        return url_for("public_forms.edit_dossier", number=self.dossier.id, etape=number)

    # -- script ------------------------------------------------------------------------

    def script_config(self, shown: Iterable[FieldSpec]) -> dict[str, Any]:
        """What the browser needs: the fields (for conditions), the answers of the fields
        not on this page, the place reference, and the addresses' INSEE codes."""
        on_page = {spec.stable_id for spec in shown}
        fields = []
        for spec in self.specs:
            for item in (spec, *spec.children):
                fields.append(
                    {
                        "stable_id": item.stable_id,
                        "type": item.type,
                        "label": item.label,
                        "options": dict(item.options or {}),
                        "condition": item.condition,
                        "parent": item.parent,
                        "private": False,
                    }
                )
        return {
            "fields": fields,
            "answers": {key: value for key, value in self.answers.items() if key not in on_page},
            "geo": conditions.client_geo(),
            "addresses": address_codes(self.specs, self.answers),
            "messages": script_messages(),
        }


def script_messages() -> dict[str, str]:
    """The portal script's sentences, in the reader's language."""
    return {
        "saving": gettext("Saving…"),
        "some_invalid": gettext("Some answers still need to be corrected."),
        "network": gettext("Not saved: the connection was lost. We will try again."),
        "stale": gettext("This dossier was changed elsewhere: your last changes were not saved."),
        "reload": gettext("Reload the page"),
        "later": gettext("Not saved yet: we will try again in a moment."),
        "expired": gettext("Your session has expired: nothing more can be saved."),
        "not_saved": gettext("Your draft could not be saved."),
        "entry_removed": gettext("The entry was removed."),
        "remove": gettext("Remove"),
        "uploading": gettext("Sending “%(name)s”…"),
        "uploaded": gettext("“%(name)s” was added."),
        "upload_failed": gettext("The file could not be sent. Try again."),
        "removed": gettext("“%(name)s” was removed."),
        "not_removed": gettext("The file could not be removed."),
        "choose_file": gettext("Choose a file"),
        "choose_lower": gettext("choose a file"),
        "drag_here": gettext("Drag a file here or"),
        "select": gettext("- Select -"),
    }


def address_codes(specs: list[FieldSpec], answers: dict[str, Any]) -> dict[str, Any]:
    """Each top-level address answer's postcode, city and INSEE code: the browser uses the
    code (found by the server) while the postcode and city stay the same."""
    found = {}
    for spec in specs:
        value = answers.get(spec.stable_id)
        if spec.type == "address" and isinstance(value, dict):
            found[spec.stable_id] = {
                "postcode": value.get("postcode") or "",
                "city": value.get("city") or "",
                "insee_code": value.get("insee_code") or "",
            }
    return found


def _specs(revision) -> list[FieldSpec]:
    return field_specs(form_order(revision, private=False))


def _dossier_files(dossier: Dossier) -> dict[str, list[Attachment]]:
    rows = db.session.scalars(
        sa.select(Attachment)
        .where(Attachment.dossier_id == dossier.id, Attachment.use == AttachmentUse.form_field)
        .order_by(Attachment.id)
    )
    files: dict[str, list[Attachment]] = {}
    for row in rows:
        files.setdefault(row.field_stable_id or "", []).append(row)
    return files


def _page_for(
    dossier: Dossier,
    answers: dict[str, Any],
    *,
    errors: dict[str, list[str]] | None = None,
    extra_rows: dict[str, int] | None = None,
) -> FormPage:
    specs = _specs(dossier.revision)
    return FormPage(
        procedure=dossier.procedure,
        specs=specs,
        values=form_data.answers_to_form(specs, answers),
        visible=conditions.visible_fields(specs, answers),
        errors=errors or {},
        dossier=dossier,
        answers=answers,
        extra_rows=extra_rows or {},
        files=_dossier_files(dossier),
    )


def _current_step(page: FormPage, number: int | None) -> tuple[list[Step] | None, Step | None]:
    if not page.procedure.sections_as_steps:
        return None, None
    steps = visible_steps(split_steps(page.specs, page.procedure.title), page.visible)
    if not steps:
        return None, None
    chosen = next((step for step in steps if step.number == number), steps[0])
    return steps, chosen


def _sections(specs: list[FieldSpec], visible: set[str]) -> list[dict[str, Any]]:
    """The table of contents of a one-page form: its section titles (levels 1 and 2)."""
    return [
        {
            "id": dom_id(input_name(spec.stable_id)),
            "label": spec.label,
            "field": spec.stable_id,
            "level": conditions._section_level(spec),
            "hidden": spec.stable_id not in visible,
        }
        for spec in specs
        if spec.type == "header_section" and conditions._section_level(spec) <= 2
    ]


def _procedure_files(procedure: Procedure) -> dict[str, Any] | None:
    """The procedure's logo and notice this person may see, when files are stored here."""
    if not attachments_enabled():
        return None
    from plugins.attachments.procedure_files import portal_files

    return portal_files(procedure, current_user)


def _render_form(
    page: FormPage,
    *,
    step_number: int | None = None,
    status: int = 200,
    stale: bool = False,
    reasons: list[str] | None = None,
):
    steps, current = _current_step(page, step_number)
    shown = current.fields if current is not None else page.specs
    dossier = page.dossier
    if dossier is not None:
        page.return_url = url_for(
            "public_forms.edit_dossier",
            number=dossier.id,
            etape=current.number if current is not None else None,
        )
    summary = page.error_summary(steps, current) if page.errors else []
    position = steps.index(current) if current is not None else 0
    context = {
        "page": page,
        "procedure": page.procedure,
        "dossier": dossier,
        "shown": shown,
        "steps": steps,
        "current": current,
        "previous_step": steps[position - 1] if steps and position > 0 else None,
        "next_step": steps[position + 1] if steps and position + 1 < len(steps) else None,
        "sections": [] if steps else _sections(page.specs, page.visible),
        "summary": summary,
        "reasons": reasons or [],
        "stale": stale,
        "config": page.script_config(shown),
        "closed_problem": None,
        "identity_lines": [],
        "files": _procedure_files(page.procedure),
    }
    if dossier is not None:
        from app.services import receipts

        context["closed_problem"] = (
            dossiers.opening_problem(page.procedure, test=dossier.is_test)
            if dossier.state == DossierState.draft
            else None
        )
        context["identity_lines"] = receipts.filer_lines(dossier)
        context["identity_needed"] = not dossiers.identity_complete(dossier)
        context["state_label"] = state_label(dossier.state)
    html = render_template("portal/filing/form.html", **context)
    return html, status


# ---------------------------------------------------------------------------------------
# Reading a posted form


def _posted_answers(
    dossier: Dossier, specs: list[FieldSpec], action: str = ""
) -> tuple[dict, dict]:
    """``(raw, merged)``: the answers posted for the fields of the page, and the dossier's
    answers with them laid over (the other steps' answers stay as stored). A
    ``remove:<block>:<row>`` action drops that row (numbered as posted) first."""
    top = {spec.stable_id for spec in specs}
    present = [item for item in request.form.getlist("present") if item in top]
    raw = form_data.form_to_answers(specs, request.form, only=set(present))
    kind, _, rest = action.partition(":")
    if kind == "remove":
        block, _, row = rest.rpartition(":")
        rows = raw.get(block)
        posted = _form_rows_before_pruning(specs).get(block, [])
        index = _int(row)
        if isinstance(rows, list) and index in posted and posted.index(index) < len(rows):
            del rows[posted.index(index)]
    merged = {**(dossier.answers or {}), **raw}
    visible = conditions.visible_fields(specs, merged)
    form_data.prune_blank_rows(specs, merged, visible)
    return raw, merged


def _extra_rows(action: str, specs: list[FieldSpec]) -> dict[str, int]:
    """``add:<block>`` asks for one more empty row in that block."""
    kind, _, block = action.partition(":")
    if kind == "add" and any(s.stable_id == block and s.type == "repetition" for s in specs):
        return {block: 1}
    return {}


def _form_rows_before_pruning(specs: list[FieldSpec]) -> dict[str, list[int]]:
    """The row numbers posted for each block (to map a "remove row n" button to the row)."""
    found: dict[str, list[int]] = {}
    for spec in specs:
        if spec.type != "repetition":
            continue
        prefix = input_name(spec.stable_id) + "["
        indexes = set()
        for key in request.form:
            if key.startswith(prefix):
                number = key[len(prefix) :].split("]", 1)[0]
                if number.isdigit():
                    indexes.add(int(number))
        found[spec.stable_id] = sorted(indexes)
    return found


def _version() -> int | None:
    return _int(request.form.get("version"))


# ---------------------------------------------------------------------------------------
# Starting


def _published_procedure(slug: str) -> Procedure:
    """A procedure the public may see (published or closed, of an active administration),
    else 404: drafts and unpublished procedures do not exist for applicants."""
    procedure = db.session.scalar(
        sa.select(Procedure)
        .join(Procedure.administration)
        .where(
            Procedure.slug == slug,
            Procedure.state.in_((ProcedureState.published, ProcedureState.closed)),
            Administration.disabled_at.is_(None),
        )
    )
    if procedure is None:
        abort(404)
    return procedure


def _prefill_from(args: MultiDict, procedure: Procedure) -> dict[str, Any]:
    """Raw answers from ``champ_<stable id>`` parameters (a link's prefill)."""
    revision = procedure.published_revision
    if revision is None or not any(key.startswith(form_data.PREFIX) for key in args):
        return {}
    specs = _specs(revision)
    names = {key.split(".", 1)[0].split("[", 1)[0][len(form_data.PREFIX) :] for key in args}
    return form_data.form_to_answers(specs, args, only=names)


@blueprint.route("/commencer/<slug>/nouveau", methods=["GET", "POST"])
@limiter.limit(NEW_DOSSIER_LIMIT, key_func=per_user, methods=["POST"])
def new_dossier(slug: str):
    """Start a new draft. A GET (a link, possibly prefilled by ``champ_<id>=value``
    parameters) asks for confirmation; the POST creates the draft."""
    procedure = _published_procedure(slug)
    if not current_user.is_authenticated:
        return _login_redirect(request.full_path.rstrip("?"))
    prefill_args = MultiDict(
        [
            (key, value)
            for params in (
                (request.args, request.form) if request.method == "POST" else (request.args,)
            )
            for key, value in params.items(multi=True)
            if key.startswith(form_data.PREFIX)
        ]
    )
    problem = dossiers.opening_problem(procedure)
    if request.method == "GET" or problem is not None:
        return render_template(
            "portal/filing/start.html",
            procedure=procedure,
            problem=problem,
            prefill=list(prefill_args.items(multi=True)),
            action=url_for("public_forms.new_dossier", slug=slug),
            test=False,
        ), (200 if problem is None else 403)
    _limit_body()
    try:
        dossier = dossiers.create_draft(
            procedure, current_user, prefill=_prefill_from(prefill_args, procedure)
        )
    except dossiers.ProcedureNotOpen as refusal:
        db.session.rollback()
        flash(str(refusal.message), "error")
        return redirect(url_for("public_forms.new_dossier", slug=slug))
    db.session.commit()
    return redirect(url_for("public_forms.identity", number=dossier.id))


@blueprint.route("/commencer/test/<token>", methods=["GET", "POST"])
@limiter.limit(NEW_DOSSIER_LIMIT, key_func=per_user, methods=["POST"])
def start_test(token: str):
    """The test link of a procedure in test mode: anyone holding it files test dossiers."""
    procedure = None
    if token and len(token) <= 64:
        procedure = db.session.scalar(sa.select(Procedure).where(Procedure.test_token == token))
    if procedure is None or dossiers.opening_problem(procedure, test=True) is not None:
        abort(404)
    if not current_user.is_authenticated:
        return _login_redirect(request.path)
    if request.method == "GET":
        return render_template(
            "portal/filing/start.html",
            procedure=procedure,
            problem=None,
            prefill=[],
            action=url_for("public_forms.start_test", token=token),
            test=True,
        )
    dossier = dossiers.create_draft(procedure, current_user, test=True)
    db.session.commit()
    return redirect(url_for("public_forms.identity", number=dossier.id))


# ---------------------------------------------------------------------------------------
# Identity


def _identity_input() -> dict[str, Any]:
    form = request.form
    return {
        "civility": form.get("civility"),
        "first_name": form.get("first_name"),
        "last_name": form.get("last_name"),
        "siret": form.get("siret"),
        "name": form.get("name"),
        "on_behalf": form.get("on_behalf"),
        "beneficiary": {
            "civility": form.get("beneficiary.civility"),
            "first_name": form.get("beneficiary.first_name"),
            "last_name": form.get("beneficiary.last_name"),
        },
    }


def _identity_values(dossier: Dossier) -> dict[str, Any]:
    identity = dossier.identity or {}
    beneficiary = dossier.on_behalf_of or {}
    values = {
        "civility": identity.get("civility") or "",
        "first_name": identity.get("first_name") or current_user.first_name or "",
        "last_name": identity.get("last_name") or current_user.last_name or "",
        "siret": identity.get("siret") or "",
        "name": identity.get("name") or "",
        "on_behalf": bool(beneficiary),
    }
    for key in ("civility", "first_name", "last_name"):
        values["beneficiary." + key] = beneficiary.get(key) or ""
    return values


@blueprint.route("/dossiers/<int:number>/identite", methods=["GET", "POST"])
@limiter.limit(SAVE_LIMIT, key_func=per_user, methods=["POST"])
def identity(number: int):
    """Who files: a person or a company, possibly on behalf of someone else."""
    if not current_user.is_authenticated:
        return _login_redirect(request.path)
    dossier = _editable_dossier(number)
    if not dossiers.is_editable(dossier):
        flash(gettext("This dossier is being reviewed and can no longer be changed."), "error")
        return redirect(_dossier_page(dossier))
    errors: dict[str, list[str]] = {}
    values = _identity_values(dossier)
    if request.method == "POST":
        _limit_body()
        given = _identity_input()
        try:
            errors = dossiers.set_identity(dossier, given, user=current_user)
        except dossiers.StaleDossier as stale:
            flash(str(stale.message), "error")
            return redirect(url_for("public_forms.identity", number=number))
        if not errors:
            db.session.commit()
            return redirect(url_for("public_forms.edit_dossier", number=number))
        db.session.rollback()
        values = {
            "civility": given["civility"] or "",
            "first_name": given["first_name"] or "",
            "last_name": given["last_name"] or "",
            "siret": given["siret"] or "",
            "name": given["name"] or "",
            "on_behalf": bool(given["on_behalf"]),
            **{"beneficiary." + k: v or "" for k, v in given["beneficiary"].items()},
        }
    summary = [
        {"href": "#identity-" + key.replace(".", "-"), "message": message}
        for key, messages in errors.items()
        for message in messages
    ]
    return render_template(
        "portal/filing/identity.html",
        dossier=dossier,
        procedure=dossier.procedure,
        company=dossier.procedure.filer_kind == FilerKind.company,
        values=values,
        errors=errors,
        summary=summary,
        civilities=[(code, str(label)) for code, label in CIVILITIES.items()],
    ), (200 if not errors else 422)


# ---------------------------------------------------------------------------------------
# The form


@blueprint.route("/dossiers/<int:number>/formulaire", methods=["GET", "POST"])
@limiter.limit(SAVE_LIMIT, key_func=per_user, methods=["POST"])
def edit_dossier(number: int):
    """The form of a draft (or of a submitted dossier, before review). Its buttons work
    without script: save, previous / next step, add / remove an entry of a block."""
    if not current_user.is_authenticated:
        return _login_redirect(request.path)
    dossier = _editable_dossier(number)
    if not dossiers.is_editable(dossier):
        flash(gettext("This dossier is being reviewed and can no longer be changed."), "error")
        return redirect(_dossier_page(dossier))
    step = _int(request.args.get("etape")) or _int(request.form.get("step"))
    if request.method == "GET":
        extra = {}
        if request.args.get("ajout"):
            extra[request.args["ajout"]] = 1
        page = _page_for(dossier, dict(dossier.answers or {}), extra_rows=extra)
        return _render_form(page, step_number=step)

    try:
        _limit_body()
        specs = _specs(dossier.revision)
        action = request.form.get("action", "save")
        raw, merged = _posted_answers(dossier, specs, action)
    except RequestEntityTooLarge:
        flash(_too_large_message(), "error")
        return redirect(url_for("public_forms.edit_dossier", number=number, etape=step))
    extra = _extra_rows(action, specs)
    version = _version()
    try:
        dossier, errors = dossiers.save_answers(
            dossier, current_user, merged, expected_version=version
        )
    except dossiers.StaleDossier:
        db.session.rollback()
        dossier = _editable_dossier(number)
        page = _page_for(dossier, merged)
        page.version = version
        return _render_form(page, step_number=step, status=409, stale=True)
    except dossiers.NotEditable as refusal:
        db.session.rollback()
        flash(str(refusal.message), "error")
        return redirect(_dossier_page(dossier))
    db.session.commit()
    page = _page_for(dossier, merged, errors=errors, extra_rows=extra)
    steps, current = _current_step(page, step)
    if errors and (action != "previous" or dossier.state != DossierState.draft):
        # A draft keeps its valid answers and moves on when the errors are elsewhere; a
        # submitted dossier saved nothing, so its page comes back with what was typed.
        on_page = {spec.stable_id for spec in (current.fields if current else specs)}
        if (
            dossier.state != DossierState.draft
            or action == "save"
            or any(dossiers.top_level_key(key) in on_page for key in errors)
        ):
            return _render_form(page, step_number=step, status=422)
    target: dict[str, Any] = {"number": number}
    if steps and current is not None:
        index = steps.index(current)
        if action == "next" and index + 1 < len(steps):
            target["etape"] = steps[index + 1].number
        elif action == "previous" and index > 0:
            target["etape"] = steps[index - 1].number
        else:
            target["etape"] = current.number
    anchor = ""
    if action.startswith(("add:", "remove:")):
        block = action.split(":")[1]
        anchor = "#" + dom_id(input_name(block))
        if action.startswith("add:"):
            target["ajout"] = block
    elif action == "save":
        flash(gettext("Your draft has been saved."), "success")
    return redirect(url_for("public_forms.edit_dossier", **target) + anchor)


@blueprint.post("/dossiers/<int:number>/formulaire/brouillon")
@limiter.limit(AUTOSAVE_LIMIT, key_func=per_user)
def autosave(number: int):
    """Save the posted inputs of the page (the portal's script, a few seconds after the
    last change): JSON with the new version and the time, or why nothing was saved."""
    if not current_user.is_authenticated:
        return jsonify({"error": gettext("Your session has expired: sign in again.")}), 401
    dossier = db.session.get(Dossier, number)
    if dossier is None or not dossiers.is_editor(dossier, current_user):
        return jsonify({"error": gettext("This dossier does not exist.")}), 404
    if dossier.state != DossierState.draft:
        return jsonify(
            {"error": gettext("Only drafts are saved automatically."), "saved": False}
        ), 409
    try:
        _limit_body()
        specs = _specs(dossier.revision)
        _raw, merged = _posted_answers(dossier, specs)
    except RequestEntityTooLarge:
        return jsonify({"error": _too_large_message()}), 413
    try:
        dossier, errors = dossiers.save_answers(
            dossier, current_user, merged, expected_version=_version()
        )
    except dossiers.StaleDossier as stale:
        db.session.rollback()
        return jsonify({"error": str(stale.message), "stale": True}), 409
    except dossiers.DossierError as refusal:
        db.session.rollback()
        return jsonify({"error": str(refusal.message)}), 409
    db.session.commit()
    saved_at = dossier.updated_at or datetime.now(UTC)
    return jsonify(
        {
            "saved": True,
            "version": dossier.version,
            "saved_at": _local_time(saved_at),
            "status": gettext("Draft saved at %(time)s", time=_local_time(saved_at)),
            "errors": errors,
            "addresses": address_codes(specs, dossier.answers or {}),
        }
    )


@blueprint.post("/dossiers/<int:number>/depot")
@limiter.limit(SUBMIT_LIMIT, key_func=per_user)
def submit(number: int):
    """Submit the dossier (or the changes of a submitted one) with the page's inputs.

    A second submission of the same draft (double click, second tab) finds it submitted
    since the version it knew: nothing happens twice, and it lands on the confirmation.
    """
    if not current_user.is_authenticated:
        return _login_redirect(url_for("public_forms.edit_dossier", number=number))
    dossier = _editable_dossier(number)
    seen_state = request.form.get("state")
    step = _int(request.args.get("etape")) or _int(request.form.get("step"))
    if not dossiers.is_editable(dossier):
        if seen_state == DossierState.draft.value:
            return redirect(url_for("public_forms.confirmation", number=number))
        flash(gettext("This dossier is being reviewed and can no longer be changed."), "error")
        return redirect(_dossier_page(dossier))
    try:
        _limit_body()
        specs = _specs(dossier.revision)
        _raw, merged = _posted_answers(dossier, specs)
    except RequestEntityTooLarge:
        flash(_too_large_message(), "error")
        return redirect(url_for("public_forms.edit_dossier", number=number))
    version = _version()
    first = dossier.state == DossierState.draft
    try:
        dossier, errors = dossiers.save_answers(
            dossier, current_user, merged, expected_version=version
        )
        if errors:
            # Show every problem at once: the invalid answers and the missing ones.
            db.session.commit()
            _cleaned, errors, reasons = dossiers.submission_problems(dossier, current_user, merged)
            page = _page_for(dossier, merged, errors=errors)
            return _render_form(page, step_number=step, status=422, reasons=reasons)
        dossiers.submit(dossier, current_user, expected_version=dossier.version)
    except dossiers.StaleDossier:
        db.session.rollback()
        dossier = _editable_dossier(number)
        if dossier.state != DossierState.draft and seen_state == DossierState.draft.value:
            flash(gettext("This dossier had already been submitted."), "info")
            return redirect(url_for("public_forms.confirmation", number=number))
        page = _page_for(dossier, merged)
        page.version = version
        return _render_form(page, step_number=step, status=409, stale=True)
    except dossiers.SubmissionRefused as refusal:
        db.session.commit()  # the answers saved above stay saved
        page = _page_for(dossier, merged, errors=refusal.errors)
        return _render_form(page, step_number=step, status=422, reasons=refusal.reasons)
    except (dossiers.ProcedureNotOpen, dossiers.NotEditable) as refusal:
        db.session.commit()
        flash(str(refusal.message), "error")
        return redirect(url_for("public_forms.edit_dossier", number=number))
    db.session.commit()
    if first:
        flash(gettext("Your dossier has been submitted."), "success")
    else:
        flash(gettext("Your dossier has been updated."), "success")
    return redirect(url_for("public_forms.confirmation", number=number))


# ---------------------------------------------------------------------------------------
# After submitting


@blueprint.get("/dossiers/<int:number>/confirmation")
def confirmation(number: int):
    """The dossier number, what happens next, and the satisfaction question."""
    if not current_user.is_authenticated:
        return _login_redirect()
    dossier = _editable_dossier(number)
    if dossier.state == DossierState.draft:
        return redirect(url_for("public_forms.edit_dossier", number=number))
    answered = db.session.scalar(
        sa.select(SatisfactionAnswer.level).where(SatisfactionAnswer.dossier_id == dossier.id)
    )
    return render_template(
        "portal/filing/confirmation.html",
        dossier=dossier,
        procedure=dossier.procedure,
        state_label=state_label(dossier.state),
        declarative=dossier.procedure.declarative_mode != DeclarativeMode.none,
        answered=answered is not None,
        levels=[(level.value, str(label)) for level, label in SATISFACTION_LABELS.items()],
        dossier_page=_dossier_page(dossier),
        editable=dossiers.is_editable(dossier),
        email=getattr(dossier.owner, "email", None),
        submitted_on=_moment_text(dossier.submitted_at),
    )


@blueprint.post("/dossiers/<int:number>/satisfaction")
@limiter.limit(SATISFACTION_LIMIT, key_func=per_user)
def satisfaction(number: int):
    """Record the answer to the satisfaction question (once per dossier)."""
    if not current_user.is_authenticated:
        return _login_redirect(url_for("public_forms.confirmation", number=number))
    _limit_body()
    dossier = _editable_dossier(number)
    try:
        dossiers.record_satisfaction(
            dossier, current_user, request.form.get("level", ""), request.form.get("comment")
        )
        db.session.commit()
        flash(gettext("Thank you for your answer!"), "success")
    except dossiers.AlreadyAnswered as already:
        db.session.rollback()
        flash(str(already.message), "info")
    except IntegrityError:
        db.session.rollback()
        flash(str(dossiers.AlreadyAnswered().message), "info")
    except dossiers.DossierError as refusal:
        db.session.rollback()
        flash(str(refusal.message), "error")
    return redirect(url_for("public_forms.confirmation", number=number) + "#satisfaction")


# ---------------------------------------------------------------------------------------
# Preview, and the communes the commune input suggests


@blueprint.get("/apercu/<int:procedure_id>")
def preview(procedure_id: int):
    """The form being built (or the published one) as applicants will see it, for the
    procedure's administrators; it cannot be submitted. Anyone else: 404."""
    procedure = db.session.get(Procedure, procedure_id)
    if (
        procedure is None
        or not current_user.is_authenticated
        or not can_administer_procedure(current_user, procedure)
    ):
        abort(404)
    revision = procedure.draft_revision or procedure.published_revision
    if revision is None:
        abort(404)
    specs = _specs(revision)
    page = FormPage(
        procedure=procedure,
        specs=specs,
        values=MultiDict(),
        visible=conditions.visible_fields(specs, {}),
        preview=True,
    )
    html, status = _render_form(page, step_number=_int(request.args.get("etape")))
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return framable_by_self(response)  # the form editor shows it beside the field list


@blueprint.get("/communes")
def communes():
    """Communes matching what was typed in a commune input (name, postcode or code)."""
    query = (request.args.get("q") or "")[:80]
    return jsonify({"communes": form_data.commune_suggestions(query)})


@blueprint.app_template_global("portal_region_choices")
def region_choices() -> list[tuple[str, str]]:
    return sorted(reference().regions.items(), key=lambda item: form_data.name_key(item[1]))


@blueprint.app_template_global("portal_department_choices")
def department_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} – {item.name}") for code, item in reference().departments.items()]


@blueprint.app_template_global("portal_country_choices")
def country_choices() -> list[tuple[str, str]]:
    return countries()


@blueprint.app_template_filter("portal_json")
def portal_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@blueprint.app_template_filter("portal_pairs")
def portal_pairs(values: Iterable[Any]) -> list[tuple[str, str]]:
    """Choices as (value, text) pairs, for templates that list plain choices."""
    return [(str(value), str(value)) for value in values]
