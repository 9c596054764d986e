"""The agent workspace (``/instruction/``) and the expert's page (``/avis/``).

- ``/instruction/`` — the procedures a person instructs (or administers), with the
  counters of every tab, all from one query;
- ``/instruction/procedures/<id>/`` — a procedure's dossier table: tabs, columns, filters,
  sort, search, pages of 100 (``services.tables``). Tab and sort are in the address (links
  work, the back button works); columns and filters change by posted forms. The agent's
  choice is saved (``SavedView``) and restored on their next visit;
- ``/instruction/dossiers/<number>`` — a dossier: answers, files, history, annotations,
  follow, labels, group, expert opinions, decisions (``services.instruction``), previous
  and next dossier of the same table, print view, PDF and ZIP;
- ``/avis/<opinion id>`` — an expert reads the dossier they are asked about and answers.

Permissions: ``AgentWorkspace`` read (tables, dossier pages, one's own columns and filters)
and write (acting on dossiers); ``ExpertOpinions`` for experts. On top of them, every route
checks the object: a dossier or procedure the person does not see answers 404, whether it
exists or not. Views only parse, authorise and render; services do the work.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..fields import registry
from ..fields.base import FILTER_OPERATORS, FieldSpec
from ..models import Dossier, Procedure, utcnow
from ..services import dossier_content, instruction, opinions, procedure_labels, tables
from ..services.instruction import Conflict, InstructionError, NotFound
from ..services.opinions import OpinionError
from ..services.tables import Filter, Sort, TableQuery, TableQueryError
from ..workflow import Event, state_label
from . import table_cells

WORKSPACE = "AgentWorkspace"
EXPERTS = "ExpertOpinions"
TEMPLATES = "guichet/workspace/"

TAB_PARAMETERS = ("tab", "sort", "dir", "q")
"""What a table's address carries, passed on to the dossier pages for previous/next."""


def _plugin_loaded(name: str) -> bool:
    return name in current_app.extensions.get("guichet_plugins", [])


def _endpoint_url(endpoint: str, dossier: Dossier) -> str | None:
    """The address of another part's page about this dossier (the message thread), or
    None while that part does not exist. The dossier goes in whichever argument the route
    names it by."""
    if endpoint not in current_app.view_functions:
        return None
    rule = next(current_app.url_map.iter_rules(endpoint))
    for name in ("number", "dossier_id", "dossier", "id"):
        if name in rule.arguments:
            return url_for(endpoint, **{name: dossier.id})
    return None


def _files(attachments: list) -> list[dict[str, Any]]:
    """Files as the pages show them: through the attachments plugin (scan status, an
    authorised download link), or their names alone when it is not loaded."""
    if _plugin_loaded("plugins.attachments"):
        from plugins.attachments import services as files

        return [files.describe(attachment) for attachment in attachments]
    return [
        {"name": attachment.original_name, "downloadable": False, "download_url": None}
        for attachment in attachments
    ]


# ---------------------------------------------------------------------------------------
# Tables


def _table_state(query: TableQuery) -> dict[str, str]:
    """The address parameters of a table's state (for links to dossier pages)."""
    state = {"tab": query.tab, "sort": query.sort.column, "dir": query.sort.direction}
    if query.search:
        state["q"] = query.search
    return state


def _requested(query: TableQuery, args: MultiDict) -> TableQuery:
    """The saved query with what the address asks for on top (tab, sort, search, page)."""
    changes: dict[str, Any] = {}
    if args.get("tab"):
        changes["tab"] = args["tab"]
    if args.get("sort"):
        direction = args.get("dir") or ("asc" if args["sort"] != "updated_at" else "desc")
        changes["sort"] = Sort(args["sort"], direction)
    changes["search"] = args.get("q", "")
    changes["cursor"] = args.get("cursor") or None
    return query.replace(**changes)


def _filter_from_form(form: MultiDict) -> Filter:
    """The filter a row of the filter form describes (``validate`` checks it)."""
    operator = form.get("operator", "")
    if operator in ("empty", "not_empty"):
        value: Any = None
    elif operator == "between":
        value = [form.get("low", ""), form.get("high", "")]
    elif operator in ("in", "not_in"):
        value = form.getlist("values")
        typed = form.get("values_text", "")
        value += [part.strip() for part in typed.replace(";", ",").split(",") if part.strip()]
    else:
        value = form.get("value", "")
    return Filter(form.get("column", ""), operator, value)


class WorkspaceView(BaseView):
    """The procedures home and the dossier tables."""

    route_base = "/instruction"
    class_permission_name = WORKSPACE
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {
        "index": "read",
        "table": "read",
        "columns": "read",
        "add_filter": "read",
        "remove_filter": "read",
    }
    default_view = "index"

    def _procedure(self, procedure_id: int) -> Procedure:
        procedure = tables.workspace_procedure(current_user, procedure_id)
        if procedure is None:
            abort(404)
        return procedure

    @expose("/")
    @has_access
    def index(self):
        procedures = tables.workspace_procedures(current_user)
        counts = tables.tab_counts(current_user, [procedure.id for procedure in procedures])
        return self.render_template(
            TEMPLATES + "home.html",
            procedures=procedures,
            counts=counts,
            tabs=tables.TABS,
        )

    @expose("/procedures/<int:procedure_id>/")
    @has_access
    def table(self, procedure_id: int):
        procedure = self._procedure(procedure_id)
        columns = tables.catalogue(procedure, current_user)
        saved = tables.restore(current_user, procedure.id, columns)
        try:
            query = tables.validate(_requested(saved, request.args), columns)
        except TableQueryError as error:
            flash(str(error.message), "danger")
            return redirect(url_for(".table", procedure_id=procedure.id))
        if query.search:
            number = tables.find_number(current_user, query.search)
            if number is not None:
                return redirect(
                    url_for("DossierInstructionView.show", number=number, **_table_state(query))
                )
        if (query.tab, query.sort) != (saved.tab, saved.sort):
            tables.remember(current_user, query)
            db.session.commit()
        try:
            page = tables.fetch_page(query, current_user, columns)
        except TableQueryError as error:
            flash(str(error.message), "warning")
            query = query.replace(cursor=None)
            page = tables.fetch_page(query, current_user, columns)
        adding = columns.columns.get(request.args.get("add", ""))
        return self.render_template(
            TEMPLATES + "table.html",
            procedure=procedure,
            query=query,
            columns=columns,
            shown=[columns.get(key) for key in query.columns],
            page=page,
            counts=tables.tab_counts(current_user, [procedure.id])[procedure.id],
            tabs=tables.TABS,
            filters=[
                (index, tables.describe_filter(item, columns))
                for index, item in enumerate(query.filters)
            ],
            adding=adding,
            operators=FILTER_OPERATORS,
            state=_table_state(query),
            cells=table_cells.Cells(_table_state(query), procedure_labels.colour),
        )

    def _save(self, procedure: Procedure, change) -> Any:
        """Apply a change to the saved query, check it, save it, back to the table."""
        columns = tables.catalogue(procedure, current_user)
        saved = tables.restore(current_user, procedure.id, columns)
        try:
            query = tables.validate(change(saved), columns)
        except TableQueryError as error:
            flash(str(error.message), "danger")
            return redirect(
                url_for(".table", procedure_id=procedure.id, add=request.form.get("column"))
            )
        tables.remember(current_user, query)
        db.session.commit()
        return redirect(url_for(".table", procedure_id=procedure.id))

    @expose("/procedures/<int:procedure_id>/columns", methods=["POST"])
    @has_access
    def columns(self, procedure_id: int):
        procedure = self._procedure(procedure_id)
        chosen = tuple(request.form.getlist("columns"))
        if not chosen:
            flash(gettext("Choose at least one column."), "danger")
            return redirect(url_for(".table", procedure_id=procedure.id))
        return self._save(procedure, lambda query: query.replace(columns=chosen))

    @expose("/procedures/<int:procedure_id>/filters", methods=["POST"])
    @has_access
    def add_filter(self, procedure_id: int):
        procedure = self._procedure(procedure_id)
        added = _filter_from_form(request.form)
        return self._save(
            procedure, lambda query: query.replace(filters=(*query.filters, added), cursor=None)
        )

    @expose("/procedures/<int:procedure_id>/filters/remove", methods=["POST"])
    @has_access
    def remove_filter(self, procedure_id: int):
        procedure = self._procedure(procedure_id)
        which = request.form.get("index", "")

        def change(query: TableQuery) -> TableQuery:
            if which == "all":
                return query.replace(filters=())
            kept = tuple(item for n, item in enumerate(query.filters) if str(n) != which)
            return query.replace(filters=kept)

        return self._save(procedure, change)


# ---------------------------------------------------------------------------------------
# The dossier page


def _annotation_inputs(
    dossier: Dossier,
    submitted: MultiDict | None,
    errors: dict[str, list[str]],
    files: dict[str, list],
) -> list[dict[str, Any]]:
    """What the annotations form shows for each private field: its widget (from how the
    field type reads values), current or just-typed value, choices and errors."""
    stored = dossier.annotations or {}
    result = []
    for spec in instruction.annotation_fields(dossier):
        field_type = registry.get(spec.type)
        item: dict[str, Any] = {
            "spec": spec,
            "error": " ".join(
                message
                for key, messages in errors.items()
                if key == spec.stable_id or key.startswith(spec.stable_id + ".")
                for message in messages
            ),
        }
        if not field_type.has_value:
            item["widget"] = "section" if spec.type == "header_section" else "explanation"
        elif not instruction.is_inline(spec):
            item["widget"] = "readonly"
            item["text"] = _text(spec, stored.get(spec.stable_id))
            item["files"] = files.get(spec.stable_id, [])
        else:
            item["widget"] = _widget(spec)
            item["value"] = (
                _decoded(spec, submitted)
                if submitted is not None
                else _shown_value(stored.get(spec.stable_id))
            )
            item["choices"], _open = tables.field_choices(spec)
            if item["widget"] == "linked":
                item["linked"] = spec.option("choices", [])
        result.append(item)
    return result


def _widget(spec: FieldSpec) -> str:
    field_type = registry.get(spec.type)
    kind = field_type.condition_kind or ""
    if kind in ("number", "date", "datetime", "boolean", "checkbox", "address", "linked"):
        return kind
    if kind == "choices":
        return "checkboxes"
    if tables.field_choices(spec)[0] is not None:
        return "select"
    return "textarea" if getattr(field_type, "multiline", False) else "text"


def _shown_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _text(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    return registry.get(spec.type).as_text(value, spec)


def _decoded(spec: FieldSpec, form: MultiDict) -> Any:
    """One annotation's raw value from the posted form, in the shape its type cleans."""
    sid = spec.stable_id
    widget = _widget(spec)
    if widget == "checkboxes":
        return form.getlist(sid)
    if widget == "checkbox":
        return "true" if form.get(sid) else "false"
    if widget == "address":
        return {part: form.get(f"{sid}.{part}", "") for part in ("street", "postcode", "city")}
    if widget == "linked":
        return {
            "primary": form.get(f"{sid}.primary", ""),
            "secondary": form.get(f"{sid}.secondary"),
        }
    return form.get(sid, "")


def _version() -> int | None:
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else None


class DossierInstructionView(BaseView):
    """One dossier, for the agents who instruct it."""

    route_base = "/instruction/dossiers"
    class_permission_name = WORKSPACE
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {
        "show": "read",
        "print_view": "read",
        "answers_pdf": "read",
        "transition": "write",
        "annotations": "write",
        "follow": "write",
        "unfollow": "write",
        "label": "write",
        "reassign": "write",
        "ask_opinion": "write",
        "remind_opinion": "write",
        "revoke_opinion": "write",
    }

    def _readable(self, number: int) -> Dossier:
        try:
            return instruction.readable_dossier(current_user, number)
        except NotFound:
            abort(404)

    def _acting(self, number: int) -> Dossier:
        try:
            return instruction.acting_dossier(current_user, number)
        except NotFound:
            abort(404)

    def _back(self, dossier_id: int, anchor: str | None = None):
        state = {key: request.args[key] for key in TAB_PARAMETERS if request.args.get(key)}
        return redirect(url_for(".show", number=dossier_id, _anchor=anchor, **state))

    def _neighbours(self, dossier: Dossier) -> tuple[int | None, int | None]:
        procedure = dossier.procedure
        columns = tables.catalogue(procedure, current_user)
        saved = tables.restore(current_user, procedure.id, columns)
        try:
            query = tables.validate(_requested(saved, request.args), columns)
        except TableQueryError:
            return None, None
        return tables.neighbours(query.replace(cursor=None), current_user, columns, dossier.id)

    def _page(
        self,
        dossier: Dossier,
        status: int = 200,
        submitted: MultiDict | None = None,
        errors: dict[str, list[str]] | None = None,
        **context: Any,
    ):
        definitions = dossier_content.revision_fields(dossier)
        files = dossier_content.files_by_field(dossier)
        can_act = instruction.can_act(current_user, dossier)
        previous_id, next_id = self._neighbours(dossier)
        label_ids = instruction.dossier_label_ids(dossier)
        html = self.render_template(
            TEMPLATES + "dossier.html",
            dossier=dossier,
            procedure=dossier.procedure,
            state_label=state_label(dossier.state),
            answers=dossier_content.content_rows(
                dossier, private=False, definitions=definitions, files=files
            ),
            annotation_rows=dossier_content.content_rows(
                dossier, private=True, definitions=definitions, files=files
            ),
            annotations=_annotation_inputs(dossier, submitted, errors or {}, files),
            describe_files=_files,
            decision_files=_files(instruction.decision_files(dossier)),
            history=instruction.history(dossier),
            event_labels=instruction.EVENT_PAST,
            can_act=can_act,
            events=instruction.available_events(dossier) if can_act else [],
            event_buttons=instruction.EVENT_LABELS,
            motivated=instruction.DECISIONS_WITH_MOTIVATION,
            following=instruction.is_following(dossier, current_user),
            labels=[
                (label, procedure_labels.colour(label.color), label.id in label_ids)
                for label in instruction.procedure_labels(dossier)
            ],
            groups=instruction.reassignment_groups(dossier) if can_act else [],
            opinions=opinions.shown_opinions(dossier, current_user),
            previous_id=previous_id,
            next_id=next_id,
            table_state={k: request.args[k] for k in TAB_PARAMETERS if request.args.get(k)},
            zip_url=url_for("attachments.dossier_zip", dossier_id=dossier.id)
            if "attachments.dossier_zip" in current_app.view_functions
            else None,
            pdf_available=_plugin_loaded("plugins.attachments"),
            messages_url=_endpoint_url("messaging.thread", dossier),
            applicant=tables.applicant_name(dossier.identity),
            beneficiary=tables.applicant_name(dossier.on_behalf_of),
            **context,
        )
        return html, status

    @expose("/<int:number>")
    @has_access
    def show(self, number: int):
        return self._page(self._readable(number))

    @expose("/<int:number>/print")
    @has_access
    def print_view(self, number: int):
        dossier = self._readable(number)
        definitions = dossier_content.revision_fields(dossier)
        files = dossier_content.files_by_field(dossier)
        return self.render_template(
            TEMPLATES + "print.html",
            dossier=dossier,
            procedure=dossier.procedure,
            state_label=state_label(dossier.state),
            applicant=tables.applicant_name(dossier.identity),
            answers=dossier_content.content_rows(
                dossier, private=False, definitions=definitions, files=files
            ),
            annotation_rows=dossier_content.content_rows(
                dossier, private=True, definitions=definitions, files=files
            ),
            history=instruction.history(dossier),
            event_labels=instruction.EVENT_PAST,
            print_files=_files,
            now=utcnow(),
            lang=get_locale().language if get_locale() else "fr",
        )

    @expose("/<int:number>/answers.pdf")
    @has_access
    def answers_pdf(self, number: int):
        dossier = self._readable(number)
        if not _plugin_loaded("plugins.attachments"):
            abort(404)
        from plugins.attachments import names, zipping

        response = current_app.response_class(
            zipping.answers_pdf(dossier), mimetype="application/pdf"
        )
        response.headers["Content-Disposition"] = names.content_disposition(
            f"{gettext('dossier')}-{dossier.id}.pdf"
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/<int:number>/transition", methods=["POST"])
    @has_access
    def transition(self, number: int):
        dossier = self._acting(number)
        try:
            event = Event(request.form.get("event", ""))
        except ValueError:
            abort(400)
        upload = request.files.get("justification")
        justification = (
            instruction.Upload(upload.stream, upload.filename, upload.mimetype)
            if upload is not None and upload.filename
            else None
        )
        try:
            outcome = instruction.decide(
                dossier,
                event,
                current_user,
                expected_version=_version(),
                motivation=request.form.get("motivation"),
                justification=justification,
            )
            db.session.commit()
        except Conflict as conflict:
            db.session.rollback()
            flash(str(conflict.message), "warning")
            return self._back(number)
        except InstructionError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return self._back(number, "decision")
        if event == Event.archive:
            message = gettext("The dossier is archived.")
        elif event == Event.unarchive:
            message = gettext("The dossier is no longer archived.")
        else:
            message = gettext(
                "Done: the dossier is now “%(state)s”.",
                state=state_label(outcome.transition.to_state),
            )
        flash(message, "success")
        for note in outcome.notes:
            flash(note, "warning")
        return self._back(number)

    @expose("/<int:number>/annotations", methods=["POST"])
    @has_access
    def annotations(self, number: int):
        dossier = self._acting(number)
        submitted = {
            spec.stable_id: _decoded(spec, request.form)
            for spec in instruction.annotation_fields(dossier)
            if instruction.is_inline(spec)
        }
        try:
            errors = instruction.save_annotations(
                dossier, submitted, current_user, expected_version=_version()
            )
        except Conflict as conflict:
            db.session.rollback()
            dossier = self._readable(number)
            return self._page(dossier, 409, submitted=request.form, conflict=str(conflict.message))
        if errors:
            db.session.rollback()
            return self._page(dossier, 422, submitted=request.form, errors=errors)
        db.session.commit()
        flash(gettext("The annotations are saved."), "success")
        return self._back(number, "annotations")

    @expose("/<int:number>/follow", methods=["POST"])
    @has_access
    def follow(self, number: int):
        dossier = self._acting(number)
        instruction.follow(dossier, current_user)
        db.session.commit()
        flash(gettext("You follow this dossier."), "success")
        return self._back(number)

    @expose("/<int:number>/unfollow", methods=["POST"])
    @has_access
    def unfollow(self, number: int):
        dossier = self._acting(number)
        instruction.unfollow(dossier, current_user)
        db.session.commit()
        flash(gettext("You no longer follow this dossier."), "success")
        return self._back(number)

    @expose("/<int:number>/labels", methods=["POST"])
    @has_access
    def label(self, number: int):
        dossier = self._acting(number)
        label_id = request.form.get("label", "")
        try:
            label = instruction.set_label(
                dossier,
                int(label_id) if label_id.isdigit() else 0,
                request.form.get("action") == "add",
            )
        except InstructionError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return self._back(number, "labels")
        db.session.commit()
        message = (
            gettext("The label “%(name)s” was added.", name=label.name)
            if request.form.get("action") == "add"
            else gettext("The label “%(name)s” was removed.", name=label.name)
        )
        flash(message, "success")
        return self._back(number, "labels")

    @expose("/<int:number>/group", methods=["POST"])
    @has_access
    def reassign(self, number: int):
        dossier = self._acting(number)
        group_id = request.form.get("group", "")
        try:
            group = instruction.reassign(
                dossier,
                int(group_id) if group_id.isdigit() else 0,
                current_user,
                expected_version=_version(),
            )
        except InstructionError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return self._back(number, "group")
        db.session.commit()
        flash(gettext("The dossier was moved to the group “%(name)s”.", name=group.name), "success")
        if instruction.can_act(current_user, dossier):
            return self._back(number)
        return redirect(url_for("WorkspaceView.table", procedure_id=dossier.procedure_id))

    @expose("/<int:number>/opinions", methods=["POST"])
    @has_access
    def ask_opinion(self, number: int):
        dossier = self._acting(number)
        try:
            opinions.ask(
                dossier,
                current_user,
                request.form.get("email", ""),
                request.form.get("question", ""),
                asks_yes_no=bool(request.form.get("yes_no")),
                confidential=bool(request.form.get("confidential")),
            )
        except OpinionError as error:
            db.session.rollback()
            return self._page(
                dossier,
                422,
                opinion_form=request.form,
                opinion_error=(error.field, str(error.message)),
            )
        db.session.commit()
        flash(gettext("The expert was asked by email."), "success")
        return self._back(number, "opinions")

    def _opinion_action(self, number: int, opinion_id: int, action, message: str):
        dossier = self._acting(number)
        try:
            action(opinions.dossier_opinion(dossier, opinion_id))
        except OpinionError as error:
            db.session.rollback()
            flash(str(error.message), "danger")
            return self._back(number, "opinions")
        db.session.commit()
        flash(message, "success")
        return self._back(number, "opinions")

    @expose("/<int:number>/opinions/<int:opinion_id>/remind", methods=["POST"])
    @has_access
    def remind_opinion(self, number: int, opinion_id: int):
        return self._opinion_action(
            number, opinion_id, opinions.remind, gettext("The expert was reminded by email.")
        )

    @expose("/<int:number>/opinions/<int:opinion_id>/revoke", methods=["POST"])
    @has_access
    def revoke_opinion(self, number: int, opinion_id: int):
        return self._opinion_action(
            number,
            opinion_id,
            opinions.revoke,
            gettext("The request was withdrawn: the expert no longer sees the dossier."),
        )


# ---------------------------------------------------------------------------------------
# Experts


class ExpertOpinionView(BaseView):
    """The opinions asked of an expert, each on its own page with that dossier only."""

    route_base = "/avis"
    class_permission_name = EXPERTS
    base_permissions = ["can_read", "can_write"]
    method_permission_name = {"index": "read", "show": "read", "answer": "write"}
    default_view = "index"

    def _opinion(self, opinion_id: int):
        opinion = opinions.for_expert(current_user, opinion_id)
        if opinion is None:
            abort(404)
        return opinion

    def _page(self, opinion, status: int = 200, **context: Any):
        dossier = opinion.dossier
        html = self.render_template(
            TEMPLATES + "expert_opinion.html",
            opinion=opinion,
            dossier=dossier,
            procedure=dossier.procedure,
            state_label=state_label(dossier.state),
            answers=dossier_content.content_rows(dossier, private=False),
            describe_files=_files,
            **context,
        )
        return html, status

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            TEMPLATES + "expert_list.html", opinions=opinions.expert_opinions(current_user)
        )

    @expose("/<int:opinion_id>")
    @has_access
    def show(self, opinion_id: int):
        return self._page(self._opinion(opinion_id))

    @expose("/<int:opinion_id>", methods=["POST"])
    @has_access
    def answer(self, opinion_id: int):
        opinion = self._opinion(opinion_id)
        try:
            opinions.answer(opinion, request.form.get("answer", ""), request.form.get("yes_no"))
        except OpinionError as error:
            db.session.rollback()
            return self._page(
                opinion, 422, form=request.form, error=(error.field, str(error.message))
            )
        db.session.commit()
        flash(gettext("Thank you: your opinion was sent to the agents."), "success")
        return redirect(url_for(".show", opinion_id=opinion.id))


def register(appbuilder: AppBuilder) -> None:
    """Register the workspace and the expert's pages, each with its menu entry, and the
    state badges' colours for the templates (``state_classes``)."""
    current_app.jinja_env.globals["state_classes"] = table_cells.STATE_CLASSES
    appbuilder.add_view(
        WorkspaceView,
        "Agent workspace",
        label=_l("Dossiers to instruct"),
        icon="fa-inbox",
        category="Instruction",
        category_label=_l("Instruction"),
    )
    appbuilder.add_view_no_menu(DossierInstructionView)
    appbuilder.add_view(
        ExpertOpinionView,
        "Expert opinions",
        label=_l("My opinions to give"),
        icon="fa-comments",
    )
