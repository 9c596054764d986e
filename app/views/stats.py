"""Statistics pages: the public ``/stats``, each procedure's statistics for the people who
run it, and the platform admin's dashboard.

Every page reads one ``stats_snapshot`` row (``app.services.stats``): the public and
platform rows are refreshed by the Celery beat task ``guichet.stats.refresh`` every ten
minutes, a procedure's row when it is missing or stale.

- ``/stats`` (blueprint ``stats``, endpoint ``stats.public``): anyone, in the portal's look.
- ``/procedures/<id>/statistiques`` and ``…/statistiques.csv``
  (``ProcedureStatisticsView``): the procedure's administrators and the agents of its
  groups, i.e. whoever may see it in the back office (``security.can_see_procedure``);
  roles without the view's permission get 403 from FAB, anyone else signed in a 404.
- ``/admin/statistiques`` (``PlatformStatisticsView``): the platform admin only.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    render_template,
    request,
    url_for,
)
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import stats_tasks
from ..extensions import db
from ..models import Procedure
from ..security import can_administer_procedure, can_see_procedure, visible_procedures
from ..services import stats
from ..services import support as support_service
from . import stats_figures as figures
from . import support

blueprint = Blueprint("stats", __name__)

REFRESH_BEAT_ENTRY = "stats-refresh"
PROCEDURES_PER_PAGE = 50


def portal_helpers() -> dict[str, Any]:
    """What the portal's base template expects from a page's blueprint."""
    return {"has_endpoint": lambda name: name in current_app.view_functions}


blueprint.context_processor(portal_helpers)


@blueprint.route("/stats")
def public():
    """The platform's figures for everyone: counts, monthly series and their charts."""
    snapshot = stats.public_snapshot()
    data = snapshot.payload
    per_month = data["per_month"]
    return render_template(
        "guichet/stats/public.html",
        data=data,
        f=figures,
        figures_list=[
            figures.filed_and_decided("chart-filed-decided", per_month),
            figures.decisions("chart-decisions", data["decisions"]),
            figures.processing_per_month("chart-processing", per_month),
            figures.satisfaction_per_month("chart-satisfaction", per_month),
            figures.procedures_by_kind("chart-kinds", data["procedures_by_kind"]),
        ],
        computed_at=snapshot.computed_at,
    )


def register_stats(app: Flask) -> None:
    """Register the public statistics and contact pages and the beat task that refreshes
    the statistics. Called once by ``create_app`` (after the plugins: the pages extend the
    portal's base template)."""
    app.register_blueprint(blueprint)
    app.register_blueprint(support.blueprint)
    app.extensions["celery"].conf.beat_schedule[REFRESH_BEAT_ENTRY] = {
        "task": stats_tasks.REFRESH_TASK,
        "schedule": stats.REFRESH_EVERY.total_seconds(),
    }


# ---------------------------------------------------------------------------------------
# One procedure's statistics (back office)


def _procedure_or_404(procedure_id: int) -> Procedure:
    procedure = db.session.get(Procedure, procedure_id)
    if procedure is None or not can_see_procedure(g.user, procedure):
        abort(404)
    return procedure


class ProcedureStatisticsView(BaseView):
    """``/procedures/<id>/statistiques``: funnel, decisions, processing times, decisions per
    week and satisfaction of one procedure, and the same as CSV."""

    route_base = "/procedures"
    class_permission_name = "ProcedureStatistics"
    method_permission_name = {"index": "read", "show": "read", "download": "read"}
    base_permissions = ["can_read"]
    default_view = "index"

    @expose("/statistiques")
    @has_access
    def index(self):
        """The procedures whose statistics one may read, to choose one."""
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        statement = sa.select(Procedure).where(visible_procedures(g.user))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
        procedures = db.session.scalars(
            statement.order_by(Procedure.title, Procedure.id)
            .limit(PROCEDURES_PER_PAGE)
            .offset((page - 1) * PROCEDURES_PER_PAGE)
        ).all()
        pages = max(1, -(-int(total or 0) // PROCEDURES_PER_PAGE))
        return self.render_template(
            "guichet/stats/procedures.html",
            procedures=procedures,
            page=min(page, pages),
            pages=pages,
            total=total,
        )

    @expose("/<int:procedure_id>/statistiques")
    @has_access
    def show(self, procedure_id: int):
        procedure = _procedure_or_404(procedure_id)
        snapshot = stats.procedure_snapshot(procedure.id)
        data = snapshot.payload
        return self.render_template(
            "guichet/stats/procedure.html",
            procedure=procedure,
            data=data,
            f=figures,
            figures_list=[
                figures.funnel("chart-funnel", data["funnel"]),
                figures.decisions("chart-decisions", data["decisions"]),
                figures.durations("chart-durations", data["durations"]),
                figures.decided_per_week("chart-weeks", data["weeks"]),
                figures.satisfaction_levels("chart-satisfaction", data["satisfaction"]),
            ],
            hub_url=_hub_url(procedure),
            computed_at=snapshot.computed_at,
        )

    @expose("/<int:procedure_id>/statistiques.csv")
    @has_access
    def download(self, procedure_id: int):
        procedure = _procedure_or_404(procedure_id)
        snapshot = stats.procedure_snapshot(procedure.id)
        name = f"statistiques-{procedure.slug}-{snapshot.computed_at:%Y-%m-%d}.csv"
        return Response(
            procedure_csv(snapshot.payload, snapshot.computed_at),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "private, no-store",
            },
        )


def _hub_url(procedure: Procedure) -> str | None:
    """The procedure's hub, for those who administer it (agents have no hub)."""
    if "ProcedureHubView.index" not in current_app.view_functions:
        return None
    if not can_administer_procedure(g.user, procedure):
        return None
    return url_for("ProcedureHubView.index", procedure_id=procedure.id)


CSV_HEADER = ("indicator", "item", "label", "value", "unit")


def procedure_csv(data: dict[str, Any], computed_at: datetime) -> str:
    """One procedure's figures as CSV in long form: one line per value, with stable
    English identifiers (``indicator``, ``item``, ``unit``), a label in the reader's
    language, and plain numbers (a dot before decimals, durations in days)."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerow(("computed_at", "", _("Figures computed at"), computed_at.isoformat(), ""))
    funnel = figures.funnel("csv", data["funnel"])
    for key, row in zip(("started", "submitted", "decided"), funnel.rows, strict=True):
        writer.writerow(("funnel", key, row[0], data["funnel"][key], "dossiers"))
    for key, label in figures.decision_labels().items():
        writer.writerow(("decisions", key, label, data["decisions"][key], "dossiers"))
    processing = data["processing"]
    writer.writerow(
        ("processing_time", "count", _("Dossiers decided"), processing["count"], "dossiers")
    )
    for key, label in (("median", _("Median")), ("p90", _("90th percentile"))):
        seconds = processing[f"{key}_seconds"]
        value = "" if seconds is None else f"{seconds / stats.DAY:.4f}"
        writer.writerow(("processing_time", key, label, value, "days"))
    labels = figures.duration_labels()
    for bucket in data["durations"]:
        writer.writerow(
            (
                "processing_time_distribution",
                bucket["bucket"],
                labels[bucket["bucket"]],
                bucket["count"],
                "dossiers",
            )
        )
    for week in data["weeks"]:
        writer.writerow(
            ("decided_per_week", week["week"], _("Week starting on"), week["decided"], "dossiers")
        )
    satisfaction = data["satisfaction"]
    for key, label in figures.satisfaction_labels().items():
        writer.writerow(("satisfaction", key, label, satisfaction["levels"][key], "answers"))
    rate = satisfaction["rate"]
    writer.writerow(
        (
            "satisfaction",
            "rate",
            _("Satisfaction rate"),
            "" if rate is None else f"{rate:.4f}",
            "ratio",
        )
    )
    return output.getvalue()


# ---------------------------------------------------------------------------------------
# The platform admin's dashboard


class PlatformStatisticsView(BaseView):
    """``/admin/statistiques``: the public figures, then the same per administration, the
    most active procedures and the growth of the platform."""

    route_base = "/admin/statistiques"
    class_permission_name = "PlatformStatistics"
    method_permission_name = {"index": "read"}
    base_permissions = ["can_read"]
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        public = stats.public_snapshot()
        platform = stats.platform_snapshot()
        data = platform.payload
        return self.render_template(
            "guichet/stats/platform.html",
            public=public.payload,
            data=data,
            f=figures,
            kinds=figures.kind_labels(),
            administrations_chart=figures.administrations_chart(
                "chart-administrations", data["administrations"]
            ),
            figures_list=[
                figures.top_procedures(
                    "chart-top-procedures", data["top_procedures"], data["recent_days"]
                ),
                figures.growth("chart-growth", data["growth"]),
            ],
            support_counts=support_service.counts(),
            computed_at=min(public.computed_at, platform.computed_at),
        )


def register_stats_views(appbuilder: AppBuilder) -> None:
    """Register the back-office statistics and support screens on one app's AppBuilder."""
    appbuilder.add_view(
        ProcedureStatisticsView,
        "Procedure statistics",
        label=_l("Statistics"),
        icon="fa-bar-chart",
        category="Instruction",
        category_label=_l("Instruction"),
    )
    appbuilder.add_view(
        PlatformStatisticsView,
        "Platform statistics",
        label=_l("Statistics"),
        icon="fa-bar-chart",
        category="Platform",
        category_label=_l("Platform"),
    )
    appbuilder.add_view(
        support.SupportRequestView,
        "Support requests",
        label=_l("Support requests"),
        icon="fa-life-ring",
        category="Platform",
        category_label=_l("Platform"),
    )
