"""Expert opinions (avis): an agent asks someone, by email, a question about one dossier.

The expert gets an account with the Expert role if they have none (an unusable password
and a link to choose one, as invited agents do), sees that dossier only (``security``
scopes experts to the dossiers they were asked about, until the request is revoked) and
answers once. A confidential opinion's answer is read only by the agent who asked.

Functions leave the commit to the caller; mails go through the outbox in that transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Dossier, DossierState, Opinion, User, utcnow
from ..security import Roles
from . import accounts, mail

QUESTION_MAX_LENGTH = 5_000
ANSWER_MAX_LENGTH = 20_000


class OpinionError(Exception):
    """A request or answer that cannot be accepted; ``field`` names the form input."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ShownOpinion:
    """An opinion as a reader of the dossier page sees it: a confidential answer is
    hidden from everyone but the agent who asked."""

    opinion: Opinion
    expert_name: str
    requester_name: str
    answer_hidden: bool


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return " ".join(part for part in (user.first_name, user.last_name) if part) or user.email


# ---------------------------------------------------------------------------------------
# Asking


def ask(
    dossier: Dossier,
    requester,
    email: str,
    question: str,
    *,
    asks_yes_no: bool = False,
    confidential: bool = False,
) -> Opinion:
    """Ask an expert's opinion and mail them the link (and a link to choose a password
    when their account is new). Raises OpinionError. Nothing is committed."""
    question = (question or "").strip()
    if not question:
        raise OpinionError(_l("Write the question for the expert."), "question")
    if len(question) > QUESTION_MAX_LENGTH:
        raise OpinionError(
            _l("The question has at most %(num)d characters.", num=QUESTION_MAX_LENGTH),
            "question",
        )
    if dossier.state == DossierState.draft or dossier.archived:
        raise OpinionError(_l("No opinion can be asked about this dossier now."))
    try:
        address = accounts.normalise_email(email)
    except accounts.AccountError:
        raise OpinionError(
            _l("Enter the expert's email address, like name@example.org."), "email"
        ) from None
    if requester is not None and (requester.email or "").lower() == address:
        raise OpinionError(_l("Ask someone else than yourself."), "email")
    expert = _ensure_expert(address)
    opinion = Opinion(
        dossier_id=dossier.id,
        expert_id=expert.id,
        requested_by_id=getattr(requester, "id", None),
        question=question,
        asks_yes_no=asks_yes_no,
        confidential=confidential,
    )
    db.session.add(opinion)
    db.session.flush()
    _mail_request(opinion, expert, dossier, reminder=False)
    return opinion


def _ensure_expert(email: str) -> User:
    """The account of this address with the Expert role, created if there is none.

    Like ``accounts.ensure_agent``, for another role: a new account has ``username =
    email`` and an unusable password until its owner chooses one.
    """
    sm = current_app.appbuilder.sm
    role = sm.find_role(Roles.EXPERT)
    user = accounts.find_user_by_email(email)
    if user is not None:
        if role not in user.roles:
            user.roles.append(role)
        return user
    user = sm.add_user(
        username=email,
        first_name="",
        last_name="",
        email=email,
        role=role,
        hashed_password=accounts.unusable_password_hash(),
        commit=False,
    )
    if not user:  # FAB logs the cause and rolls the session back
        raise RuntimeError(f"could not create the account of {email}")
    return user


def _mail_request(opinion: Opinion, expert: User, dossier: Dossier, *, reminder: bool) -> None:
    values = {
        "number": dossier.id,
        "procedure": dossier.procedure.title,
        "link": accounts.absolute_url("ExpertOpinionView.show", opinion_id=opinion.id),
    }
    if reminder:
        subject = gettext("Reminder: your opinion on dossier no. %(number)s", **values)
    else:
        subject = gettext("Your opinion is asked on dossier no. %(number)s", **values)
    body = gettext(
        "Hello,\n\n"
        "Your opinion is asked on dossier no. %(number)s of the procedure “%(procedure)s”.\n\n"
        "Read the dossier and answer here: %(link)s\n",
        **values,
    )
    if not accounts.has_usable_password(expert):
        body += "\n" + gettext(
            "Your account is %(email)s. Choose your password first by following this link, "
            "valid for %(days)d days:\n%(link)s\n",
            email=expert.email,
            days=accounts.PASSWORD_TOKEN_MAX_AGE.days,
            link=accounts.set_password_url(expert),
        )
    signature = current_app.config.get("APP_NAME", "Guichet")
    mail.send(expert.email, subject, f"{body}\n-- \n{signature}\n")


def remind(opinion: Opinion) -> None:
    """Mail the expert again (only while the opinion waits for its answer)."""
    if opinion.revoked_at is not None or opinion.answered_at is not None:
        raise OpinionError(_l("This opinion no longer waits for an answer."))
    opinion.reminded_at = utcnow()
    _mail_request(opinion, opinion.expert, opinion.dossier, reminder=True)


def revoke(opinion: Opinion) -> None:
    """Withdraw the request: the expert no longer sees the dossier."""
    if opinion.revoked_at is not None:
        raise OpinionError(_l("This request was already withdrawn."))
    opinion.revoked_at = utcnow()


def dossier_opinion(dossier: Dossier, opinion_id: int) -> Opinion:
    opinion = db.session.scalar(
        sa.select(Opinion).where(Opinion.id == opinion_id, Opinion.dossier_id == dossier.id)
    )
    if opinion is None:
        raise OpinionError(_l("This opinion does not exist."))
    return opinion


def shown_opinions(dossier: Dossier, reader) -> list[ShownOpinion]:
    """The dossier's opinions, newest first, as ``reader`` may read them."""
    opinions = db.session.scalars(
        sa.select(Opinion).where(Opinion.dossier_id == dossier.id).order_by(Opinion.id.desc())
    ).all()
    reader_id = getattr(reader, "id", None)
    return [
        ShownOpinion(
            opinion=opinion,
            expert_name=_name(opinion.expert),
            requester_name=_name(opinion.requested_by),
            answer_hidden=opinion.confidential
            and reader_id not in (opinion.requested_by_id, opinion.expert_id),
        )
        for opinion in opinions
    ]


# ---------------------------------------------------------------------------------------
# Answering (the expert)


def for_expert(user, opinion_id: int) -> Opinion | None:
    """The opinion if ``user`` is its expert and it was not withdrawn, else None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Opinion)
        .join(Dossier, Dossier.id == Opinion.dossier_id)
        .where(
            Opinion.id == opinion_id,
            Opinion.expert_id == user.id,
            Opinion.revoked_at.is_(None),
            Dossier.state != DossierState.draft,
        )
    )


def expert_opinions(user) -> list[Opinion]:
    """Every opinion asked of ``user`` and not withdrawn, those waiting first."""
    return list(
        db.session.scalars(
            sa.select(Opinion)
            .where(Opinion.expert_id == user.id, Opinion.revoked_at.is_(None))
            .order_by(Opinion.answered_at.is_not(None), Opinion.created_at.desc())
        )
    )


def answer(opinion: Opinion, text: str, yes_no: str | None) -> None:
    """Record the expert's answer, once, and tell the agent who asked. Raises
    OpinionError. Nothing is committed."""
    if opinion.answered_at is not None:
        raise OpinionError(_l("You have already answered: an opinion is given once."))
    text = (text or "").strip()
    if not text:
        raise OpinionError(_l("Write your opinion."), "answer")
    if len(text) > ANSWER_MAX_LENGTH:
        raise OpinionError(
            _l("The opinion has at most %(num)d characters.", num=ANSWER_MAX_LENGTH), "answer"
        )
    verdict = {"yes": True, "no": False}.get((yes_no or "").strip())
    if opinion.asks_yes_no and verdict is None:
        raise OpinionError(_l("Answer yes or no."), "yes_no")
    opinion.answer = text
    opinion.answer_yes_no = verdict if opinion.asks_yes_no else None
    opinion.answered_at = utcnow()
    requester = opinion.requested_by
    if requester is not None and requester.email:
        values = {"number": opinion.dossier_id, "expert": _name(opinion.expert)}
        subject = gettext("%(expert)s gave their opinion on dossier no. %(number)s", **values)
        link = accounts.absolute_url("DossierInstructionView.show", number=opinion.dossier_id)
        body = gettext(
            "Hello,\n\n%(expert)s answered your question about dossier no. %(number)s.\n\n"
            "Read the opinion on the dossier's page: %(link)s\n",
            link=link,
            **values,
        )
        mail.send(requester.email, subject, body)
