"""Test data of the agent workspace: a procedure whose form has a field of each family,
private annotations, two instructor groups, and dossiers with answers."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import factories as make
from app.extensions import db
from app.models import (
    Dossier,
    DossierState,
    FieldDefinition,
    Follow,
    InstructorGroup,
    Label,
    Procedure,
    dossier_label,
    utcnow,
)
from app.security import Roles

S = DossierState

FORM = [
    {"stable_id": "sec", "type": "header_section", "label": "Le projet", "options": {"level": 1}},
    {"stable_id": "title", "type": "text", "label": "Intitulé du projet"},
    {"stable_id": "amount", "type": "decimal", "label": "Montant demandé"},
    {"stable_id": "people", "type": "integer", "label": "Participants"},
    {"stable_id": "start", "type": "date", "label": "Date de début"},
    {"stable_id": "meeting", "type": "datetime", "label": "Rendez-vous"},
    {
        "stable_id": "kind",
        "type": "drop_down",
        "label": "Type de demande",
        "options": {"choices": ["Première demande", "Renouvellement", "Modification"]},
    },
    {
        "stable_id": "days",
        "type": "multiple_drop_down",
        "label": "Jours",
        "options": {"choices": ["Lundi", "Mardi", "Mercredi"]},
    },
    {"stable_id": "aid", "type": "yes_no", "label": "Aide déjà reçue"},
    {
        "stable_id": "aid_detail",
        "type": "text",
        "label": "Quelle aide ?",
        "condition": {"field": "aid", "op": "eq", "value": True},
    },
    {"stable_id": "dept", "type": "department", "label": "Département"},
    {
        "stable_id": "place",
        "type": "linked_drop_down",
        "label": "Lieu",
        "options": {
            "choices": [
                {"primary": "Rhône", "secondary": ["Lyon", "Villeurbanne"]},
                {"primary": "Ain", "secondary": ["Bourg"]},
            ]
        },
    },
    {"stable_id": "address", "type": "address", "label": "Adresse"},
    {"stable_id": "file", "type": "attachment", "label": "Devis"},
    # Private annotations
    {"stable_id": "note", "type": "textarea", "label": "Avis du service", "private": True},
    {"stable_id": "score", "type": "integer", "label": "Note", "private": True},
    {
        "stable_id": "priority",
        "type": "drop_down",
        "label": "Priorité",
        "private": True,
        "options": {"choices": ["Haute", "Basse"]},
    },
    {"stable_id": "proof", "type": "attachment", "label": "Pièce interne", "private": True},
]

_numbers = itertools.count(1)


def procedure_with_form(*agents, administration=None, fields=FORM) -> Procedure:
    """A published procedure with ``fields`` on its revision and a default group holding
    ``agents``, plus an empty second group "Groupe B"."""
    procedure = make.procedure(administration or make.administration(), *agents)
    for position, spec in enumerate(fields):
        db.session.add(
            FieldDefinition(
                revision_id=procedure.published_revision_id,
                position=position,
                stable_id=spec["stable_id"],
                type=spec["type"],
                label=spec["label"],
                private=spec.get("private", False),
                options=spec.get("options", {}),
                condition=spec.get("condition"),
            )
        )
    procedure.groups.append(InstructorGroup(name="Groupe B", position=1))
    db.session.commit()
    return procedure


def group(procedure: Procedure, name: str) -> InstructorGroup:
    return next(item for item in procedure.groups if item.name == name)


def dossier(
    procedure: Procedure,
    owner=None,
    state: DossierState = S.submitted,
    *,
    group_: InstructorGroup | None = None,
    answers: dict[str, Any] | None = None,
    annotations: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
    minutes_ago: int | None = None,
    commit: bool = True,
    **extra: Any,
) -> Dossier:
    """A dossier as the workflow would leave it (timestamps of its state set)."""
    n = next(_numbers)
    at = utcnow() - timedelta(minutes=minutes_ago if minutes_ago is not None else n)
    item = Dossier(
        procedure=procedure,
        revision_id=procedure.published_revision_id,
        owner=owner,
        state=state,
        group=None if state == S.draft else group_ or procedure.groups[0],
        answers=answers or {},
        annotations=annotations or {},
        identity=identity or {"kind": "person", "first_name": "Anne", "last_name": f"Martin{n}"},
        created_at=at,
        updated_at=at,
        submitted_at=None if state == S.draft else at,
        review_started_at=at if state not in (S.draft, S.submitted) else None,
        decided_at=at if state in (S.accepted, S.refused, S.closed_without_action) else None,
        **extra,
    )
    db.session.add(item)
    if commit:
        db.session.commit()
    return item


def follow(dossier_: Dossier, person) -> None:
    db.session.add(Follow(dossier_id=dossier_.id, user_id=person.id))
    db.session.commit()


def label(procedure: Procedure, name: str, *dossiers: Dossier) -> Label:
    item = Label(procedure=procedure, name=name, color="blue")
    db.session.add(item)
    db.session.flush()
    for one in dossiers:
        db.session.execute(dossier_label.insert().values(dossier_id=one.id, label_id=item.id))
    db.session.commit()
    return item


def agent(**kwargs: Any):
    return make.user(Roles.AGENT, can_log_in=True, **kwargs)
