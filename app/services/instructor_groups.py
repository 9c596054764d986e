"""A procedure's instructor groups: naming, order, the default group, closing, deleting,
and their members.

Rules kept here rather than in the screens:

- a procedure has exactly one default group at all times (it receives the dossiers that no
  routing rule claims): the default can be changed but not closed or deleted, and a new
  group is the default only when the procedure had none;
- a group that still holds dossiers is deleted only together with moving them to another
  open group of the same procedure, in the same transaction;
- adding an agent by email creates their account if needed and mails them (through the
  outbox, so no mail leaves for a change that is rolled back).

Functions change the session and leave the commit to the caller.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Dossier, InstructorGroup, Procedure, User
from . import accounts, mail

NAME_MAX_LENGTH = 255


class GroupError(Exception):
    """An action on groups that the rules refuse; ``field`` names the form input it is
    about (None for the action as a whole)."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


def ordered_groups(procedure: Procedure) -> list[InstructorGroup]:
    """The groups in display (and routing) order; ties broken by creation."""
    return sorted(procedure.groups, key=lambda group: (group.position, group.id or 0))


def dossier_counts(procedure: Procedure) -> dict[int, int]:
    """Number of dossiers held by each group of the procedure, in one query."""
    rows = db.session.execute(
        sa.select(Dossier.group_id, sa.func.count())
        .where(Dossier.procedure_id == procedure.id, Dossier.group_id.is_not(None))
        .group_by(Dossier.group_id)
    )
    return {group_id: count for group_id, count in rows}


def _clean_name(procedure: Procedure, name: str, renamed: InstructorGroup | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise GroupError(_l("Enter the name of the group."), "name")
    if len(name) > NAME_MAX_LENGTH:
        raise GroupError(
            _l("A group name has at most %(num)d characters.", num=NAME_MAX_LENGTH), "name"
        )
    for group in procedure.groups:
        if group is not renamed and group.name.casefold() == name.casefold():
            raise GroupError(
                _l("This procedure already has a group called “%(name)s”.", name=group.name),
                "name",
            )
    return name


def create(procedure: Procedure, name: str) -> InstructorGroup:
    """A new open group at the end of the list; the default one if there was none."""
    groups = ordered_groups(procedure)
    group = InstructorGroup(
        name=_clean_name(procedure, name),
        position=max((g.position for g in groups), default=-1) + 1,
        is_default=procedure.default_group is None,
    )
    procedure.groups.append(group)
    db.session.flush()
    return group


def rename(group: InstructorGroup, name: str) -> None:
    group.name = _clean_name(group.procedure, name, renamed=group)


def move(group: InstructorGroup, offset: int) -> bool:
    """Move a group one place up (-1) or down (+1); False when it is already at that end.

    Positions are renumbered 0, 1, 2… on the way, which also repairs duplicates.
    """
    groups = ordered_groups(group.procedure)
    index = groups.index(group)
    target = index + offset
    if offset not in (-1, 1) or not 0 <= target < len(groups):
        return False
    groups[index], groups[target] = groups[target], groups[index]
    for position, item in enumerate(groups):
        item.position = position
    return True


def set_default(group: InstructorGroup) -> None:
    """Make this group the procedure's only default group.

    One UPDATE over all the procedure's groups: two administrators doing this at once end
    with the last one's choice, never with two defaults or none.
    """
    if group.closed:
        raise GroupError(_l("A closed group cannot be the default group. Reopen it first."))
    db.session.execute(
        sa.update(InstructorGroup)
        .where(InstructorGroup.procedure_id == group.procedure_id)
        .values(is_default=InstructorGroup.id == group.id)
        .execution_options(synchronize_session=False)
    )
    for item in group.procedure.groups:
        item.is_default = item.id == group.id
    db.session.flush()


def close(group: InstructorGroup) -> None:
    """Close a group: it keeps its dossiers and members, and routing skips it."""
    if group.is_default:
        raise GroupError(
            _l("The default group cannot be closed: make another group the default group first.")
        )
    group.closed = True


def reopen(group: InstructorGroup) -> None:
    group.closed = False


def move_targets(group: InstructorGroup) -> list[InstructorGroup]:
    """The groups that may receive this group's dossiers: the procedure's other open ones."""
    return [
        item for item in ordered_groups(group.procedure) if item is not group and not item.closed
    ]


def delete(group: InstructorGroup, move_to: InstructorGroup | None = None) -> int:
    """Delete a group, first moving its dossiers to ``move_to``; returns how many moved.

    Refused for the default group, and for a group holding dossiers when no valid target
    is given. The move bumps each dossier's version, so that an agent's stale copy of a
    moved dossier cannot overwrite it.
    """
    if group.is_default:
        raise GroupError(
            _l("The default group cannot be deleted: make another group the default group first.")
        )
    count = dossier_counts(group.procedure).get(group.id, 0)
    if count and move_to is None:
        raise GroupError(
            ngettext(
                "This group still holds %(num)d dossier: choose the group that receives it.",
                "This group still holds %(num)d dossiers: choose the group that receives them.",
                count,
            ),
            "move_to",
        )
    if move_to is not None and move_to not in move_targets(group):
        raise GroupError(_l("Choose another open group of this procedure."), "move_to")
    moved = 0
    if count:
        moved = db.session.execute(
            sa.update(Dossier)
            .where(Dossier.group_id == group.id)
            .values(group_id=move_to.id, version=Dossier.version + 1)
            .execution_options(synchronize_session="fetch")
        ).rowcount
    group.procedure.groups.remove(group)
    db.session.delete(group)
    db.session.flush()
    return moved


def add_member(group: InstructorGroup, email: str) -> tuple[User, bool]:
    """Add an agent to a group by email; ``(user, created)``.

    Creates the account (Agent role, unusable password) when the address has none, gives
    an existing account the Agent role if it lacks it, and mails the person: a link to set
    their password when they have none yet, else a note that they were added.
    """
    try:
        user, created = accounts.ensure_agent(email)
    except accounts.AccountError as error:
        raise GroupError(error.message, "email") from None
    if user in group.members:
        raise GroupError(
            _l("%(email)s is already a member of this group.", email=user.email), "email"
        )
    group.members.append(user)
    db.session.flush()
    _send_invitation(group, user)
    return user, created


def remove_member(group: InstructorGroup, user_id: int) -> User | None:
    """Take an agent out of a group (their account and roles stay); None if not a member."""
    user = next((member for member in group.members if member.id == user_id), None)
    if user is not None:
        group.members.remove(user)
    return user


def _send_invitation(group: InstructorGroup, user: User) -> None:
    procedure = group.procedure
    values = {
        "procedure": procedure.title,
        "group": group.name,
        "administration": procedure.administration.name,
    }
    if accounts.has_usable_password(user):
        subject = gettext("You instruct the procedure “%(procedure)s”", **values)
        body = gettext(
            "Hello,\n\n"
            "You have been added to the instructor group “%(group)s” of the procedure "
            "“%(procedure)s” (%(administration)s).\n\n"
            "Sign in to see its dossiers: %(link)s\n",
            link=accounts.absolute_url(current_app.appbuilder.sm.auth_view.endpoint + ".login"),
            **values,
        )
    else:
        days = accounts.PASSWORD_TOKEN_MAX_AGE.days
        subject = gettext("Invitation to instruct the procedure “%(procedure)s”", **values)
        body = gettext(
            "Hello,\n\n"
            "You are invited to instruct the dossiers of the procedure “%(procedure)s” "
            "(%(administration)s), in the instructor group “%(group)s”.\n\n"
            "Your account is %(email)s. Choose your password by following this link, "
            "valid for %(days)d days:\n%(link)s\n\n"
            "If you did not expect this invitation, you can ignore this message.\n",
            email=user.email,
            days=days,
            link=accounts.set_password_url(user),
            **values,
        )
    signature = current_app.config.get("APP_NAME", "Guichet")
    mail.send(user.email, subject, f"{body}\n-- \n{signature}\n")
