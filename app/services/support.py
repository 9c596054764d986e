"""Support requests: the contact form's questions and the platform team's answers.

A request is open until a platform admin closes it; its first answer stamps
``first_answered_at``, from which ``/stats`` shows the median time to a first answer.
Answers are mailed to the address the person typed, through the outbox, in the language
they wrote in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale, format_date, gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import SupportAnswer, SupportRequest, utcnow
from . import accounts, mail

NAME_MAX_LENGTH = 200
SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 5_000
ANSWER_MAX_LENGTH = 10_000


class SupportError(ValueError):
    """A request or an answer that cannot be recorded; ``field`` is the form field at fault
    and ``message`` says why, in the reader's language."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Draft:
    """What the contact form sent, before it is checked."""

    name: str
    email: str
    subject: str
    body: str


def check(draft: Draft) -> dict[str, str]:
    """The problems of a draft request, by field (empty when it can be recorded)."""
    problems: dict[str, str] = {}
    if not draft.name.strip():
        problems["name"] = gettext("Enter your name.")
    elif len(draft.name.strip()) > NAME_MAX_LENGTH:
        problems["name"] = gettext("A name has at most %(num)d characters.", num=NAME_MAX_LENGTH)
    if not draft.email.strip():
        problems["email"] = gettext("Enter your email address.")
    else:
        try:
            accounts.normalise_email(draft.email)
        except accounts.AccountError as error:
            problems["email"] = str(error.message)
    if not draft.subject.strip():
        problems["subject"] = gettext("Enter the subject of your request.")
    elif len(draft.subject.strip()) > SUBJECT_MAX_LENGTH:
        problems["subject"] = gettext(
            "A subject has at most %(num)d characters.", num=SUBJECT_MAX_LENGTH
        )
    if not draft.body.strip():
        problems["body"] = gettext("Write your request.")
    elif len(draft.body.strip()) > BODY_MAX_LENGTH:
        problems["body"] = gettext("A request has at most %(num)d characters.", num=BODY_MAX_LENGTH)
    return problems


def create(
    draft: Draft, author: Any = None, locale: str = "fr", now: datetime | None = None
) -> SupportRequest:
    """Record a request (the caller commits); ``author`` is the person signed in, if any
    (an anonymous ``current_user`` counts as nobody). Raises ``SupportError`` on the first
    problem found by ``check``."""
    problems = check(draft)
    if problems:
        field, message = next(iter(problems.items()))
        raise SupportError(message, field)
    request = SupportRequest(
        author_id=author.id if author is not None and author.is_authenticated else None,
        name=draft.name.strip(),
        email=accounts.normalise_email(draft.email),
        subject=" ".join(draft.subject.split()),
        body=draft.body.strip(),
        locale=locale,
        created_at=now or utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    return request


def answer(
    request: SupportRequest, author: Any, body: str, now: datetime | None = None
) -> SupportAnswer:
    """Record an answer and mail it (the caller commits: the mail leaves with the commit).
    The first answer stamps ``first_answered_at``; answering a closed request reopens it."""
    text = body.strip()
    if not text:
        raise SupportError(gettext("Write your answer."), "body")
    if len(text) > ANSWER_MAX_LENGTH:
        raise SupportError(
            gettext("An answer has at most %(num)d characters.", num=ANSWER_MAX_LENGTH), "body"
        )
    now = now or utcnow()
    item = SupportAnswer(request=request, author_id=author.id, body=text, created_at=now)
    db.session.add(item)
    if request.first_answered_at is None:
        request.first_answered_at = now
    request.closed_at = None
    db.session.flush()
    with force_locale(request.locale or "fr"):
        subject = gettext("Answer to your request: %(subject)s", subject=request.subject)
        mail_body = answer_mail(request, item)
    mail.send(request.email, subject, mail_body, key=f"support-answer-{item.id}")
    return item


def answer_mail(request: SupportRequest, item: SupportAnswer) -> str:
    """The answer's mail, in the current language: the team's text, then what it answers
    and how to write again. Written here (not in a text template) so that its sentences
    are gathered into the catalogues with the code's."""
    reminder = gettext(
        "This answers your request no. %(number)d of %(date)s: “%(subject)s”.",
        number=request.id,
        date=format_date(request.created_at, "long"),
        subject=request.subject,
    )
    again = gettext(
        "To write to us again, use the contact form: %(url)s",
        url=accounts.absolute_url("support.contact"),
    )
    greeting = gettext("Hello %(name)s,", name=request.name)
    return f"{greeting}\n\n{item.body}\n\n-- \n{reminder}\n{again}\n"


def close(request: SupportRequest, now: datetime | None = None) -> None:
    if request.closed_at is None:
        request.closed_at = now or utcnow()


def reopen(request: SupportRequest) -> None:
    request.closed_at = None


FILTERS = {
    "open": _l("Open requests"),
    "unanswered": _l("Not answered yet"),
    "closed": _l("Closed requests"),
    "all": _l("All requests"),
}


def listing(filter_name: str) -> sa.Select:
    """Requests of one tab of the admin list, oldest unanswered first where it matters."""
    statement = sa.select(SupportRequest)
    if filter_name == "open":
        statement = statement.where(SupportRequest.closed_at.is_(None))
    elif filter_name == "unanswered":
        statement = statement.where(
            SupportRequest.closed_at.is_(None), SupportRequest.first_answered_at.is_(None)
        )
    elif filter_name == "closed":
        statement = statement.where(SupportRequest.closed_at.is_not(None))
    if filter_name in ("open", "unanswered"):
        return statement.order_by(SupportRequest.created_at, SupportRequest.id)
    return statement.order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())


def counts() -> dict[str, int]:
    """How many requests each tab holds, in one query."""
    open_ = SupportRequest.closed_at.is_(None)
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(open_),
            sa.func.count().filter(open_, SupportRequest.first_answered_at.is_(None)),
            sa.func.count().filter(SupportRequest.closed_at.is_not(None)),
            sa.func.count(),
        )
    ).one()
    return dict(zip(FILTERS, (int(value) for value in row), strict=True))
