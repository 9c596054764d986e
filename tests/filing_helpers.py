"""Builders shared by the tests of filing: procedures with a form, applicants, signing in.

Each builder commits what it makes (like ``factories``) and must run in an app context.
"""

from __future__ import annotations

import time
from typing import Any

import factories as make
from app.extensions import db
from app.models import (
    FieldDefinition,
    InstructorGroup,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
)
from app.security import Roles
from app.services import authentication


def field(stable_id: str, type_: str, label: str | None = None, **extra: Any) -> dict[str, Any]:
    """A field definition as a mapping (``parent`` names the block of a child field)."""
    return {"stable_id": stable_id, "type": type_, "label": label or stable_id, **extra}


def add_fields(revision: ProcedureRevision, fields: list[dict[str, Any]]) -> None:
    rows: dict[str, FieldDefinition] = {}
    for position, spec in enumerate(fields):
        spec = dict(spec)
        parent = rows.get(spec.pop("parent", None))
        row = FieldDefinition(
            revision=revision,
            position=position,
            options=spec.pop("options", {}),
            **spec,
        )
        if parent is not None:
            row.parent = parent
        db.session.add(row)
        rows[row.stable_id] = row
    db.session.flush()


def form_procedure(
    fields: list[dict[str, Any]],
    *,
    state: ProcedureState = ProcedureState.published,
    groups: list[tuple[str, Any]] | None = None,
    eligibility: list[dict[str, Any]] | None = None,
    administration=None,
    **settings: Any,
) -> Procedure:
    """A procedure whose form holds ``fields``: published (its published revision) or in
    test mode (``state=draft``: its draft revision, with a test token). ``groups`` adds
    instructor groups (name, routing rule) after the default one."""
    procedure = make.procedure(administration or make.administration(), state=state)
    for name, value in settings.items():
        setattr(procedure, name, value)
    revision = procedure.published_revision
    if state == ProcedureState.draft:
        revision.state = RevisionState.draft
        procedure.published_revision = None
        procedure.draft_revision = revision
        procedure.test_token = f"test-token-{procedure.id}"
    revision.eligibility_rules = eligibility or []
    add_fields(revision, fields)
    for position, (name, rule) in enumerate(groups or [], start=1):
        procedure.groups.append(InstructorGroup(name=name, routing_rule=rule, position=position))
    db.session.commit()
    return procedure


def applicant(email: str | None = None):
    return make.user(Roles.APPLICANT, email=email)


def person(dossier) -> None:
    """Give a dossier a filer, as the identity step does."""
    dossier.identity = {
        "kind": "person",
        "civility": "Mme",
        "first_name": "Camille",
        "last_name": "Martin",
    }
    db.session.commit()


def sign_in(client, user_id: int) -> None:
    """Sign ``client`` in as the user ``user_id`` (Flask-Login's session keys, and the
    marks of a session just started: see ``authentication.on_signed_in``)."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session[authentication.SESSION_GENERATION] = 0
        session[authentication.SESSION_SIGNED_IN_AT] = int(time.time())


ALL_TYPES: list[dict[str, Any]] = [
    field("sec", "header_section", "Première partie", options={"level": 1}),
    field("info", "explication", "À savoir", help="Un texte d'aide", options={"detail": "Plus"}),
    field("nom", "text", "Nom", required=True, help="Votre nom de naissance"),
    field("texte", "textarea", "Description"),
    field("ine", "formatted", "INE", options={"pattern": "[0-9]{3}", "example": "123"}),
    field("courriel", "email", "Courriel"),
    field("tel", "phone", "Téléphone"),
    field("nombre", "integer", "Nombre d'enfants", options={"min": 0, "max": 20}),
    field("montant", "decimal", "Montant"),
    field("jour", "date", "Date de naissance"),
    field("rdv", "datetime", "Rendez-vous"),
    field("accord", "checkbox", "J'accepte les conditions"),
    field("allergie", "yes_no", "Allergie ?"),
    field("civ", "civility", "Civilité"),
    field("ecole", "drop_down", "École", options={"choices": ["Jean Macé", "Gerland"]}),
    field(
        "metier",
        "drop_down",
        "Métier",
        options={"choices": ["Boulanger", "Boucher", "Couvreur", "Maçon", "Peintre", "Plombier"]},
    ),
    field(
        "autre",
        "drop_down",
        "Statut",
        options={"choices": ["Salarié", "Retraité"], "allow_other": True},
    ),
    field("langues", "multiple_drop_down", "Langues", options={"choices": ["FR", "EN", "DE"]}),
    field(
        "vehicule",
        "linked_drop_down",
        "Véhicule",
        options={
            "choices": [
                {"primary": "Voiture", "secondary": ["Essence", "Électrique"]},
                {"primary": "Vélo", "secondary": []},
            ]
        },
    ),
    field("adresse", "address", "Adresse"),
    field("pays", "country", "Pays de naissance"),
    field("region", "region", "Région"),
    field("dept", "department", "Département"),
    field("commune", "commune", "Commune"),
    field("siret", "siret", "SIRET"),
    field("iban", "iban", "IBAN"),
    field("lien", "dossier_link", "Dossier lié"),
    field("piece", "attachment", "Justificatif", options={"max_files": 2}),
    field("enfants", "repetition", "Enfants"),
    field("prenom", "text", "Prénom de l'enfant", parent="enfants", required=True),
    field("naissance", "date", "Naissance de l'enfant", parent="enfants"),
]
"""One field of every type of the registry (two drop-down lists: radios and a list)."""
