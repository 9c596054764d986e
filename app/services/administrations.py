"""The administrators of an administration, managed by the platform admin."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Administration, AdministrationMember
from ..security import Roles
from . import accounts, mail


class MembershipError(Exception):
    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def add_administrator(administration: Administration, email: str) -> AdministrationMember:
    """Make the person with this address an administrator of ``administration`` (creating
    their account if needed) and tell them by mail; nothing is committed."""
    if "@" not in (email or ""):
        raise MembershipError(_l("Enter an email address, for example nom@exemple.fr."))
    user, created = accounts.ensure_user_with_role(email, Roles.ADMINISTRATOR)
    db.session.flush()
    if any(member.user_id == user.id for member in administration.members):
        raise MembershipError(
            _l("%(email)s is already an administrator of this administration.", email=user.email)
        )
    member = AdministrationMember(administration=administration, user_id=user.id)
    db.session.add(member)
    values = {"administration": administration.name, "email": user.email}
    if created:
        subject = gettext("You are invited to administer %(administration)s on Guichet", **values)
        body = gettext(
            "Hello,\n\nYou are now an administrator of %(administration)s on Guichet: you can "
            "build its procedures and manage its agents.\n\nYour account is %(email)s. Choose "
            "your password by following this link, valid for %(days)d days:\n%(link)s\n",
            days=accounts.PASSWORD_TOKEN_MAX_AGE.days,
            link=accounts.set_password_url(user),
            **values,
        )
    else:
        subject = gettext("You now administer %(administration)s on Guichet", **values)
        body = gettext(
            "Hello,\n\nYou are now an administrator of %(administration)s on Guichet.\n"
            "Sign in to build its procedures: %(link)s\n",
            link=accounts.absolute_url(current_app.appbuilder.sm.auth_view.endpoint + ".login"),
            **values,
        )
    mail.send(user.email, subject, body)
    return member


def remove_administrator(administration: Administration, user_id: int) -> None:
    member = next((m for m in administration.members if m.user_id == user_id), None)
    if member is not None:
        administration.members.remove(member)
