"""An applicant's dossiers: "my dossiers" (``/mes-dossiers``), one dossier's page
(``/dossiers/<number>``) and what its owner may do there — delete a draft, hide a decided
dossier and restore it, invite co-editors by email and revoke them.

Everything is scoped to the applicant's side of ``app.security.visible_dossiers``: the
dossiers a person owns and those they accepted an invitation to co-edit, whatever other
roles they hold (an agent logged in here sees their own dossiers, not those they
instruct). Any other number answers 404, like a number that does not exist.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import contains_eager

from app.extensions import db, limiter
from app.fields import registry
from app.models import (
    DECIDED_STATES,
    Attachment,
    AttachmentUse,
    Dossier,
    DossierState,
    Invitation,
    Procedure,
    StateTransition,
    User,
    utcnow,
)
from app.security import Roles, visible_dossiers
from app.services import accounts, mail
from app.services import dossiers as dossier_service
from app.services.procedures import form_order
from app.workflow import state_label
from plugins.attachments.services import can_download, describe

from .. import blueprint
from .accounts import login_required
from .catalogue import folded, page_number, paginate, portal_error, search_terms

INVITATION_MAX_AGE = timedelta(days=30)
MAX_OPEN_INVITATIONS = 10
"""Co-editors invited to one dossier and not revoked: a dossier is not a mailing list."""
IN_PROGRESS_STATES = (DossierState.submitted, DossierState.in_review)

TABS = ("drafts", "in_progress", "decided", "invited", "deleted")


# ---------------------------------------------------------------------------------------
# Scope


class _AsApplicant:
    """A person seen through the Applicant role only, whatever roles they hold, so that
    ``visible_dossiers`` gives their own dossiers and accepted invitations — never the
    dossiers they see as an agent, expert or administrator."""

    is_authenticated = True

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.roles = [SimpleNamespace(name=Roles.APPLICANT)]


def applicant_scope(user: User) -> sa.ColumnElement[bool]:
    """Where-clause on ``Dossier``: what ``user`` sees on the portal."""
    return visible_dossiers(_AsApplicant(user))


def _dossier_or_404(number: int) -> Dossier:
    dossier = db.session.scalar(
        sa.select(Dossier).where(Dossier.id == number, applicant_scope(current_user))
    )
    if dossier is None:
        abort(404)
    return dossier


def _owned_or_404(number: int) -> Dossier:
    """The dossier if the current person owns it (co-editors do not manage it)."""
    dossier = _dossier_or_404(number)
    if dossier.owner_id != current_user.id:
        abort(404)
    return dossier


def dossier_endpoint_url(endpoint: str, dossier: Dossier) -> str | None:
    """The address of another part's page about this dossier (the filing's edit page,
    the message thread), or None while that part does not exist. The dossier goes in
    whichever argument the route names it by."""
    if endpoint not in current_app.view_functions:
        return None
    rule = next(current_app.url_map.iter_rules(endpoint))
    for name in ("number", "dossier_id", "dossier", "id"):
        if name in rule.arguments:
            return url_for(endpoint, **{name: dossier.id})
    return None


# ---------------------------------------------------------------------------------------
# My dossiers


def _tab_clauses(user: User) -> dict[str, sa.ColumnElement[bool]]:
    mine = Dossier.owner_id == user.id
    shown = Dossier.hidden_by_applicant_at.is_(None)
    return {
        "drafts": sa.and_(mine, shown, Dossier.state == DossierState.draft),
        "in_progress": sa.and_(mine, shown, Dossier.state.in_(IN_PROGRESS_STATES)),
        "decided": sa.and_(mine, shown, Dossier.state.in_(DECIDED_STATES)),
        "invited": sa.or_(Dossier.owner_id.is_(None), Dossier.owner_id != user.id),
        "deleted": sa.and_(mine, Dossier.hidden_by_applicant_at.is_not(None)),
    }


def _search_clause(query: str) -> sa.ColumnElement[bool] | None:
    """A number finds that dossier (``123``, ``n° 123``, ``#123``); words find the
    procedures whose title holds them all, accents and case aside."""
    digits = query.lower().replace("n°", "").replace("#", "").replace("no", "", 1).strip()
    if digits.isdigit() and len(digits) < 19:
        return Dossier.id == int(digits)
    terms = search_terms(query)
    if not terms:
        return None
    return sa.and_(*(folded(Procedure.title).contains(term, autoescape=True) for term in terms))


@blueprint.route("/mes-dossiers")
@login_required
def my_dossiers():
    """The person's dossiers in five tabs, searchable, 20 a page."""
    clauses = _tab_clauses(current_user)
    scope = applicant_scope(current_user)
    counts_row = db.session.execute(
        sa.select(
            *(
                sa.func.count(Dossier.id).filter(clause).label(tab)
                for tab, clause in clauses.items()
            )
        ).where(scope)
    ).one()
    counts = dict(counts_row._mapping)
    tab = request.args.get("tab")
    if tab not in TABS:
        tab = next((name for name in TABS if counts[name]), "drafts")
    query = (request.args.get("q") or "").strip()[:200]
    statement = (
        sa.select(Dossier)
        .join(Dossier.procedure)
        .options(contains_eager(Dossier.procedure))
        .where(scope, clauses[tab])
        .order_by(Dossier.updated_at.desc(), Dossier.id.desc())
    )
    search = _search_clause(query) if query else None
    if search is not None:
        statement = statement.where(search)
    page = paginate(statement, page_number())
    owners = {}
    if tab == "invited":
        ids = {dossier.owner_id for dossier in page.items if dossier.owner_id}
        owners = {
            user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(ids)))
        }
    return render_template(
        "portal/dossiers/list.html",
        tabs=TABS,
        tab=tab,
        counts=counts,
        page=page,
        query=query,
        owners=owners,
        state_label=state_label,
    )


# ---------------------------------------------------------------------------------------
# One dossier


STEPS = (
    (DossierState.draft,),
    (DossierState.submitted,),
    (DossierState.in_review,),
    tuple(DECIDED_STATES),
)


def _steps(dossier: Dossier) -> list[dict[str, Any]]:
    """The four steps of the step indicator: draft, submitted, in review, decision."""
    current = next(index for index, states in enumerate(STEPS) if dossier.state in states)
    labels = [
        state_label(DossierState.draft),
        state_label(DossierState.submitted),
        state_label(DossierState.in_review),
        state_label(dossier.state) if dossier.is_decided else gettext("Decision"),
    ]
    return [
        {
            "label": label,
            "status": "complete"
            if index < current
            else ("current" if index == current else "upcoming"),
        }
        for index, label in enumerate(labels)
    ]


def _history(dossier: Dossier) -> list[dict[str, Any]]:
    """Dated changes of state, oldest first (archiving is the agents' business)."""
    entries = [{"at": dossier.created_at, "label": gettext("Dossier started")}]
    transitions = db.session.scalars(
        sa.select(StateTransition)
        .where(StateTransition.dossier_id == dossier.id)
        .order_by(StateTransition.at, StateTransition.id)
    )
    for transition in transitions:
        if transition.from_state == transition.to_state:
            continue
        entries.append({"at": transition.at, "label": state_label(transition.to_state)})
    return entries


def _files_by_field(dossier: Dossier, stable_ids: set[str]) -> dict[str, list[dict]]:
    """The form files of the dossier's public fields, described for the page."""
    if not stable_ids:
        return {}
    rows = db.session.scalars(
        sa.select(Attachment)
        .where(
            Attachment.dossier_id == dossier.id,
            Attachment.use == AttachmentUse.form_field,
            Attachment.field_stable_id.in_(stable_ids),
        )
        .order_by(Attachment.id)
    )
    files: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        files[row.field_stable_id].append(describe(row))
    return files


def _answers(dossier: Dossier) -> list[dict[str, Any]]:
    """The applicant's answers as text, in form order, grouped under their section
    titles; unanswered questions and private annotations are left out."""
    fields = form_order(dossier.revision, private=False)
    answers = dossier.answers or {}
    attachment_ids = {field.stable_id for field in fields if field.type == "attachment"}
    files = _files_by_field(dossier, attachment_ids)
    sections: list[dict[str, Any]] = [{"title": None, "items": []}]
    for field in fields:
        if field.parent_id is not None:
            continue  # shown within its repeated block
        if field.type == "header_section":
            sections.append({"title": field.label, "items": []})
            continue
        try:
            kind = registry.get(field.type)
        except registry.UnknownFieldType:
            kind = None
        if kind is not None and not kind.has_value:
            continue
        value = answers.get(field.stable_id)
        if field.type == "attachment":
            text = ""
        elif kind is None:
            text = "" if value is None else str(value)
        else:
            text = kind.as_text(value, field)
        field_files = list(files.get(field.stable_id, []))
        for child in field.children or []:
            if not child.private:
                field_files.extend(files.get(child.stable_id, []))
        if text or field_files:
            sections[-1]["items"].append({"label": field.label, "text": text, "files": field_files})
    return [section for section in sections if section["items"]]


def _download(attachment_id: int | None) -> dict[str, Any] | None:
    """A decision's file (justification, attestation) if the person may download it."""
    attachment = db.session.get(Attachment, attachment_id) if attachment_id else None
    if attachment is None or not can_download(current_user, attachment):
        return None
    return describe(attachment)


def _invitations(dossier: Dossier) -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.dossier_id == dossier.id, Invitation.revoked_at.is_(None))
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def _dossier_page(
    dossier: Dossier, *, errors: dict | None = None, values: dict | None = None, status=200
):
    is_owner = dossier.owner_id == current_user.id
    editable = dossier_service.is_editable(dossier)
    html = render_template(
        "portal/dossiers/show.html",
        dossier=dossier,
        procedure=dossier.procedure,
        is_owner=is_owner,
        state_label=state_label,
        steps=_steps(dossier),
        history=_history(dossier),
        sections=_answers(dossier),
        justification=_download(dossier.justification_id) if dossier.is_decided else None,
        attestation=_download(dossier.attestation_id)
        if dossier.state == DossierState.accepted
        else None,
        edit_url=dossier_endpoint_url("public_forms.edit_dossier", dossier) if editable else None,
        thread_url=dossier_endpoint_url("messaging.thread", dossier),
        invitations=_invitations(dossier) if is_owner else [],
        can_invite=is_owner and not dossier.is_decided,
        errors=errors or {},
        values=values or {},
    )
    return html, status


@blueprint.route("/dossiers/<int:number>")
@login_required
def dossier(number: int):
    """One dossier: its progress, answers, files, decision and attestation."""
    return _dossier_page(_dossier_or_404(number))


# ---------------------------------------------------------------------------------------
# Owner's actions


@blueprint.route("/dossiers/<int:number>/supprimer", methods=["GET", "POST"])
@login_required
def delete_draft(number: int):
    """Delete a draft, after a confirmation page (it cannot be undone)."""
    dossier = _owned_or_404(number)
    if dossier.state != DossierState.draft:
        flash(gettext("Only a draft can be deleted."), "error")
        return redirect(url_for("public_forms.dossier", number=number))
    if request.method == "GET":
        return render_template("portal/dossiers/delete.html", dossier=dossier)
    title = dossier.procedure.title
    dossier_service.delete_draft(dossier, current_user)
    db.session.commit()
    flash(
        gettext("Your draft n° %(number)d (%(title)s) is deleted.", number=number, title=title),
        "success",
    )
    return redirect(url_for("public_forms.my_dossiers", tab="drafts"))


@blueprint.route("/dossiers/<int:number>/masquer", methods=["POST"])
@login_required
def hide_dossier(number: int):
    """Hide a decided dossier from the lists; it stays in the "deleted" tab until the
    administration's retention period ends, and can be restored until then."""
    dossier = _owned_or_404(number)
    if not dossier.is_decided:
        flash(gettext("Only a decided dossier can be removed from your list."), "error")
        return redirect(url_for("public_forms.dossier", number=number))
    if dossier.hidden_by_applicant_at is None:
        dossier.hidden_by_applicant_at = utcnow()
        db.session.commit()
    flash(
        gettext(
            "Dossier n° %(number)d is removed from your list. You will find it in the "
            "“Deleted” tab, where you can restore it.",
            number=number,
        ),
        "success",
    )
    return redirect(url_for("public_forms.my_dossiers", tab="decided"))


@blueprint.route("/dossiers/<int:number>/restaurer", methods=["POST"])
@login_required
def restore_dossier(number: int):
    """Bring back a hidden dossier into the lists."""
    dossier = _owned_or_404(number)
    if dossier.hidden_by_applicant_at is not None:
        dossier.hidden_by_applicant_at = None
        db.session.commit()
    flash(gettext("Dossier n° %(number)d is back in your list.", number=number), "success")
    return redirect(url_for("public_forms.dossier", number=number))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@blueprint.route("/dossiers/<int:number>/invitations", methods=["POST"])
@login_required
@limiter.limit("20/hour", methods=["POST"])
def invite(number: int):
    """Invite someone by email to co-edit the dossier. The link in the mail is a signed
    token valid 30 days; only its SHA-256 is stored, so the database cannot give it away."""
    dossier = _owned_or_404(number)
    raw = request.form.get("email", "")
    values = {"email": raw.strip()}
    if dossier.is_decided:
        return _dossier_page(
            dossier,
            errors={"email": gettext("A decided dossier can no longer be shared.")},
            values=values,
            status=422,
        )
    if not raw.strip():
        problem = gettext("Enter the email address of the person to invite.")
    else:
        try:
            email = accounts.normalise_email(raw)
            problem = None
        except accounts.AccountError as error:
            problem = error.message
    if problem is None:
        invitation = db.session.scalar(
            sa.select(Invitation).where(
                Invitation.dossier_id == dossier.id, Invitation.email == email
            )
        )
        active = invitation is not None and invitation.revoked_at is None
        if email == (current_user.email or "").lower():
            problem = gettext("This is your own address: you already have this dossier.")
        elif active and invitation.accepted_at is not None:
            problem = gettext("This person already co-edits this dossier.")
        elif not active and len(_invitations(dossier)) >= MAX_OPEN_INVITATIONS:
            problem = gettext(
                "A dossier can be shared with %(num)d people at most. Revoke an invitation first.",
                num=MAX_OPEN_INVITATIONS,
            )
    if problem is not None:
        return _dossier_page(dossier, errors={"email": problem}, values=values, status=422)
    token = accounts.make_link_token(
        "invitation", {"dossier": dossier.id, "email": email, "nonce": secrets.token_hex(8)}
    )
    if invitation is None:
        invitation = Invitation(dossier_id=dossier.id, email=email)
        db.session.add(invitation)
    invitation.token_hash = _token_hash(token)
    invitation.invited_by_id = current_user.id
    invitation.user_id = None
    invitation.accepted_at = None
    invitation.revoked_at = None
    invitation.created_at = utcnow()
    body = render_template(
        "portal/mails/invitation.txt",
        dossier=dossier,
        inviter=current_user,
        link=accounts.absolute_url("public_forms.accept_invitation", token=token),
        signup=accounts.absolute_url("public_forms.signup"),
        days=INVITATION_MAX_AGE.days,
    )
    mail.send(
        email,
        gettext("An invitation to co-edit a dossier on Guichet"),
        body,
    )
    db.session.commit()
    flash(gettext("An invitation was sent to %(email)s.", email=email), "success")
    return redirect(url_for("public_forms.dossier", number=number, _anchor="co-editors"))


@blueprint.route("/dossiers/<int:number>/invitations/<int:invitation_id>/retirer", methods=["POST"])
@login_required
def revoke_invitation(number: int, invitation_id: int):
    """Withdraw an invitation, accepted or not: the person loses access at once."""
    dossier = _owned_or_404(number)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.dossier_id != dossier.id:
        abort(404)
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        db.session.commit()
    flash(
        gettext("%(email)s can no longer access this dossier.", email=invitation.email),
        "success",
    )
    return redirect(url_for("public_forms.dossier", number=number, _anchor="co-editors"))


@blueprint.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def accept_invitation(token: str):
    """Accept an invitation: logged in with the address it was sent to, then a button."""
    try:
        accounts.read_link_token("invitation", token, INVITATION_MAX_AGE)
    except accounts.ExpiredLink:
        return portal_error(
            410,
            gettext("This invitation has expired"),
            gettext(
                "An invitation is valid for 30 days. Ask the person who invited you to send "
                "a new one."
            ),
        )
    except accounts.InvalidLink:
        abort(404)
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None or invitation.revoked_at is not None:
        return portal_error(
            404,
            gettext("This invitation is no longer valid"),
            gettext(
                "It was withdrawn, or replaced by a newer invitation. Ask the person who "
                "invited you to send a new one."
            ),
        )
    if not current_user.is_authenticated:
        flash(
            gettext(
                "Log in with the address that received the invitation to accept it. No "
                "account yet? Create one with that address, then open the invitation again."
            ),
            "info",
        )
        return redirect(url_for("public_forms.login", next=request.path))
    if (current_user.email or "").lower() != invitation.email.lower():
        return portal_error(
            403,
            gettext("This invitation was sent to another address"),
            gettext(
                "You are logged in with another address than the one that received the "
                "invitation. Log out, then log in with that address."
            ),
        )
    if invitation.accepted_at is not None and invitation.user_id == current_user.id:
        return redirect(url_for("public_forms.dossier", number=invitation.dossier_id))
    if request.method == "GET":
        return render_template(
            "portal/dossiers/invitation.html",
            invitation=invitation,
            dossier=invitation.dossier,
            token=token,
        )
    invitation.user_id = current_user.id
    invitation.accepted_at = utcnow()
    db.session.commit()
    flash(gettext("You can now co-edit this dossier."), "success")
    return redirect(url_for("public_forms.dossier", number=invitation.dossier_id))
