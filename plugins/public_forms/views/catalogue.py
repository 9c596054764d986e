"""The portal's front door: the catalogue of published procedures (``/``), a procedure's
page before starting (``/commencer/<slug>``), the choice of language and the accessibility
statement. Also the small helpers the other portal pages share: accent-insensitive search,
pagination, safe ``next`` addresses and the portal's error pages.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import (
    Administration,
    Dossier,
    DossierState,
    Procedure,
    ProcedureState,
    utcnow,
)
from plugins.attachments.procedure_files import portal_files

from .. import blueprint

PER_PAGE = 20
SEARCH_MAX_LENGTH = 200
"""Longer searches are cut: nobody types more, and it bounds the work of a query."""


# ---------------------------------------------------------------------------------------
# Helpers shared by the portal's pages


_FOLDED_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def fold(text: str | None) -> str:
    """Text lower-cased and without accents ("Établissement" → "etablissement"), the way
    ``folded`` compares it in SQL, so that searches ignore accents and case."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_FOLDED_LIGATURES)


def folded(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """A column compared without accents and case, on PostgreSQL and on SQLite alike.

    PostgreSQL has ``unaccent`` (the initial migration creates the extension); SQLite gets
    ``fold`` as a function of the connection this request uses (registering it again is
    cheap and keeps every pooled connection right).
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return sa.func.lower(sa.func.unaccent(column))
    connection.connection.driver_connection.create_function(
        "guichet_fold", 1, fold, deterministic=True
    )
    return sa.func.guichet_fold(column)


def search_terms(query: str | None) -> list[str]:
    """The folded words of a search; each must match for a row to be found."""
    return fold((query or "")[:SEARCH_MAX_LENGTH]).split()


def page_number() -> int:
    """The ``page`` asked for in the query string (1 when absent or nonsense)."""
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


@dataclass
class Page:
    """One page of results and what the pagination needs to link the others."""

    items: list[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: the first, the last and those around the current one;
        ``None`` stands for a gap."""
        shown = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        window: list[int | None] = []
        for n in numbers:
            if window and n - window[-1] > 1:
                window.append(None)
            window.append(n)
        return window


def paginate(statement: sa.Select, number: int, per_page: int = PER_PAGE) -> Page:
    """Run ``statement`` for one page. A page past the end shows the last one (a link
    kept from a longer list still leads somewhere)."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
    )
    pages = max(1, math.ceil(total / per_page))
    number = min(number, pages)
    items = db.session.scalars(statement.limit(per_page).offset((number - 1) * per_page))
    return Page(items=list(items.unique()), number=number, per_page=per_page, total=total)


def is_safe_next(target: str | None) -> bool:
    """Whether ``target`` is a path of this site: it starts with one slash and names no
    other host or scheme, so that redirecting to it is never an open redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(default: str) -> str:
    """The ``next`` of the form or query string when it is safe, else ``default``."""
    target = request.form.get("next") or request.args.get("next")
    return target if is_safe_next(target) else default


def portal_error(status: int, title: str, message: str, **context: Any) -> tuple[str, int]:
    """An error page of the portal, in its look and in the visitor's language."""
    html = render_template(
        "portal/error.html", status=status, title=title, message=message, **context
    )
    return html, status


@blueprint.context_processor
def portal_helpers() -> dict[str, Any]:
    """``has_endpoint(name)``: templates link to other parts only once they exist."""
    return {"has_endpoint": lambda name: name in current_app.view_functions}


@blueprint.errorhandler(404)
def not_found(_error: Exception) -> tuple[str, int]:
    return portal_error(
        404,
        gettext("Page not found"),
        gettext(
            "This page does not exist, or you are not allowed to see it. If you typed its "
            "address, check it; if you followed a link, it may be out of date."
        ),
    )


@blueprint.errorhandler(CSRFError)
def session_expired(_error: CSRFError) -> tuple[str, int]:
    """A form sent without a valid CSRF token: most often a page left open too long."""
    back = request.referrer if is_safe_next(_path_of(request.referrer)) else None
    return portal_error(
        400,
        gettext("Your session has expired"),
        gettext(
            "For your security, forms expire after a while. Go back to the page, reload it "
            "and send the form again."
        ),
        back=_path_of(back) if back else None,
    )


def _path_of(url: str | None) -> str | None:
    """The path and query of a URL of this site (the Referer header is absolute)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# ---------------------------------------------------------------------------------------
# Catalogue


@blueprint.route("/")
def home():
    """Published procedures, searchable by title and administration, 20 a page."""
    query = (request.args.get("q") or "").strip()[:SEARCH_MAX_LENGTH]
    statement = (
        sa.select(Procedure)
        .join(Procedure.administration)
        .options(contains_eager(Procedure.administration))
        .where(
            Procedure.state == ProcedureState.published,
            Administration.disabled_at.is_(None),
        )
        .order_by(Procedure.title, Procedure.id)
    )
    for term in search_terms(query):
        statement = statement.where(
            sa.or_(
                folded(Procedure.title).contains(term, autoescape=True),
                folded(Administration.name).contains(term, autoescape=True),
            )
        )
    page = paginate(statement, page_number())
    return render_template("portal/home.html", page=page, query=query)


def _public_procedure(slug: str) -> Procedure:
    """A procedure applicants may see (published or closed), else 404: drafts and
    unpublished procedures do not exist for the public."""
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


def start_action(procedure: Procedure) -> dict[str, str] | None:
    """How the "Start" button reaches the filing route; None while that route does not
    exist. A logged-in person posts to it straight away (this page is the explanation a
    link to the route would otherwise confirm); a visitor follows a link, which leads
    through the login page."""
    endpoint = "public_forms.new_dossier"
    if endpoint not in current_app.view_functions:
        return None
    methods = next(current_app.url_map.iter_rules(endpoint)).methods or set()
    post = "POST" in methods and (current_user.is_authenticated or "GET" not in methods)
    return {"url": url_for(endpoint, slug=procedure.slug), "method": "POST" if post else "GET"}


def _availability(procedure: Procedure) -> str:
    """``open``, ``closed``, ``not_yet_open`` or ``deadline_passed``."""
    now = utcnow()
    if procedure.state == ProcedureState.closed:
        return "closed"
    if procedure.opens_at is not None and procedure.opens_at > now:
        return "not_yet_open"
    if procedure.deadline_at is not None and procedure.deadline_at <= now:
        return "deadline_passed"
    return "open"


@blueprint.route("/commencer/<slug>")
def start(slug: str):
    """What a procedure is about and what to prepare, then the "Start" button. A closed
    procedure says why, and leads to the one that replaces it."""
    procedure = _public_procedure(slug)
    replacement = procedure.replaced_by
    if replacement is not None and replacement.state != ProcedureState.published:
        replacement = None
    drafts = []
    if current_user.is_authenticated:
        drafts = db.session.scalars(
            sa.select(Dossier)
            .where(
                Dossier.procedure_id == procedure.id,
                Dossier.owner_id == current_user.id,
                Dossier.state == DossierState.draft,
                Dossier.hidden_by_applicant_at.is_(None),
            )
            .order_by(Dossier.updated_at.desc())
            .limit(5)
        ).all()
    documents = [
        line.strip().lstrip("-•*").strip()
        for line in (procedure.documents_to_prepare or "").splitlines()
        if line.strip().lstrip("-•*").strip()
    ]
    return render_template(
        "portal/start.html",
        procedure=procedure,
        availability=_availability(procedure),
        replacement=replacement,
        action=start_action(procedure),
        documents=documents,
        drafts=drafts,
        files=portal_files(procedure, current_user),
    )


# ---------------------------------------------------------------------------------------
# Language and accessibility


@blueprint.route("/langue/<code>")
def language(code: str):
    """Switch the portal's language the way Flask-AppBuilder does (``session["locale"]``),
    then go back where the visitor was — only to a page of this site."""
    if code not in ("fr", "en") or code not in current_app.config.get("LANGUAGES", {}):
        abort(404)
    session["locale"] = code
    return redirect(safe_next(url_for("public_forms.home")))


@blueprint.route("/accessibilite")
def accessibility():
    """The accessibility statement: partial compliance, what is known not to work yet,
    how to report a problem and where to turn if the answer does not come."""
    return render_template(
        "portal/accessibility.html",
        contact=current_app.config.get("ACCESSIBILITY_CONTACT_EMAIL"),
    )
