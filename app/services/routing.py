"""Routing: which instructor group receives a dossier when it is submitted.

Groups are tried in their display order (``position``, then creation); the first open group
whose routing rule holds for the dossier's answers gets the dossier, else the procedure's
default group. A group without a rule is never chosen by a rule: it only receives dossiers
as the default group, or when an agent moves them there. Closed groups are skipped, so
closing a group stops new dossiers from reaching it without touching the ones it holds.

Rules are conditions (``app/conditions.py``) over the fields of the dossier's own revision,
evaluated on the stored answers, which never hold hidden fields: a rule testing a hidden
field sees it unanswered, exactly as the applicant's browser did.
"""

from __future__ import annotations

import logging

from .. import conditions
from ..models import Dossier, InstructorGroup
from .instructor_groups import ordered_groups

log = logging.getLogger(__name__)


def has_rule(group: InstructorGroup) -> bool:
    """Whether the group claims dossiers by a rule (an empty rule claims nothing)."""
    return bool(group.routing_rule)


def route(dossier: Dossier) -> InstructorGroup | None:
    """The group that receives ``dossier`` now: the first open group (in order) whose rule
    holds, else the default group.

    When the default group is missing (it cannot be closed nor deleted, so only damaged data
    gets here) the first open group is used, so that a submission is never refused for a
    configuration problem the applicant cannot fix; None only when no group is open.
    """
    groups = ordered_groups(dossier.procedure)
    fields = dossier.revision.fields
    answers = dossier.answers or {}
    for group in groups:
        if group.closed or not has_rule(group):
            continue
        if conditions.evaluate(group.routing_rule, answers, fields):
            return group
    default = next((group for group in groups if group.is_default and not group.closed), None)
    if default is not None:
        return default
    fallback = next((group for group in groups if not group.closed), None)
    log.warning(
        "Procedure %s has no open default group; dossier %s routed to %s",
        dossier.procedure_id,
        dossier.id,
        fallback.id if fallback is not None else None,
    )
    return fallback
