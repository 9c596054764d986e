"""A small, readable demo data set: what ``make run`` shows a newcomer.

Three administrations, four published procedures (and one in test mode), their
instructor groups, administrators, agents, an expert, applicants, and dossiers in every
state, each moved there through ``app.workflow`` so that their history is real.
Loading is one transaction and idempotent: when the demo is there, nothing changes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import workflow
from ..extensions import db
from ..models import (
    Administration,
    AdministrationKind,
    AdministrationMember,
    AuthorKind,
    DeclarativeMode,
    Dossier,
    FieldDefinition,
    FilerKind,
    Follow,
    InstructorGroup,
    Label,
    Message,
    Opinion,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
    SatisfactionAnswer,
    SatisfactionLevel,
)
from ..security import Roles
from ..workflow import Event

DEMO_PASSWORD = "guichet-demo-2026"
"""Password of every demo account. The demo is refused in production."""

MARKER_SLUG = "demo-prefecture-rhone"


@dataclass(frozen=True)
class DemoUser:
    role: str
    email: str
    first_name: str
    last_name: str


USERS = [
    DemoUser(Roles.ADMIN, "admin@demo.guichet.localhost", "Camille", "Operateur"),
    DemoUser(Roles.ADMINISTRATOR, "administrateur@demo.guichet.localhost", "Nadia", "Benali"),
    DemoUser(Roles.ADMINISTRATOR, "mairie@demo.guichet.localhost", "Hugo", "Lefebvre"),
    DemoUser(Roles.AGENT, "instructeur@demo.guichet.localhost", "Julien", "Moreau"),
    DemoUser(Roles.AGENT, "instructrice@demo.guichet.localhost", "Sophie", "Garnier"),
    DemoUser(Roles.AGENT, "agent.mairie@demo.guichet.localhost", "Karim", "Haddad"),
    DemoUser(Roles.EXPERT, "expert@demo.guichet.localhost", "Élise", "Fontaine"),
    DemoUser(Roles.APPLICANT, "usager@demo.guichet.localhost", "Marie", "Dupont"),
    DemoUser(Roles.APPLICANT, "usager2@demo.guichet.localhost", "Thomas", "Martin"),
]

ADMINISTRATIONS = [
    (MARKER_SLUG, "Préfecture du Rhône", AdministrationKind.deconcentrated_service),
    ("demo-ville-lyon", "Ville de Lyon", AdministrationKind.local_authority),
    ("demo-universite-bordeaux", "Université de Bordeaux", AdministrationKind.public_establishment),
]


def _field(stable_id: str, type_: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"stable_id": stable_id, "type": type_, "label": label, **extra}


DEPARTMENTS = {"69": "Rhône", "01": "Ain", "42": "Loire", "38": "Isère"}

PROCEDURES: list[dict[str, Any]] = [
    {
        "slug": "accessibilite-erp",
        "administration": MARKER_SLUG,
        "title": "Attestation d'accessibilité d'un établissement recevant du public",
        "description": "Déposez l'attestation d'accessibilité de votre établissement "
        "recevant du public (ERP) de 5e catégorie.",
        "documents_to_prepare": "Plan de l'établissement; attestation signée.",
        "filer_kind": FilerKind.company,
        "groups": [
            ("Rhône nord", {"field": "dept", "op": "eq", "value": "69"}),
            ("Autres départements", None),
        ],
        "fields": [
            _field("sec1", "header_section", "L'établissement", options={"level": 1}),
            _field("nom", "text", "Nom de l'établissement", required=True),
            _field("dept", "department", "Département", required=True),
            _field(
                "cat",
                "drop_down",
                "Type d'établissement",
                required=True,
                options={"choices": ["Commerce", "Restaurant", "Cabinet médical", "Autre"]},
            ),
            _field("surface", "integer", "Surface (m²)", options={"min": 1}),
            _field("plan", "attachment", "Plan de l'établissement", required=True),
        ],
        "answers": lambda rng: {
            "nom": rng.choice(["Boulangerie du Parc", "Café des Arts", "Pharmacie Centrale"]),
            "dept": rng.choice(list(DEPARTMENTS)),
            "cat": rng.choice(["Commerce", "Restaurant", "Cabinet médical"]),
            "surface": rng.randint(40, 400),
        },
    },
    {
        "slug": "inscription-cantine",
        "administration": "demo-ville-lyon",
        "title": "Inscription à la cantine scolaire",
        "description": "Inscrivez votre enfant à la restauration scolaire pour l'année.",
        "documents_to_prepare": "Justificatif de domicile; quotient familial.",
        "declarative_mode": DeclarativeMode.in_review,
        "groups": [("Service scolaire", None)],
        "fields": [
            _field(
                "ecole",
                "drop_down",
                "École",
                required=True,
                options={"choices": ["École Jean Macé", "École Gerland", "École Croix-Rousse"]},
            ),
            _field(
                "allergie",
                "yes_no",
                "Votre enfant a-t-il une allergie alimentaire ?",
                required=True,
            ),
            _field(
                "allergie_detail",
                "textarea",
                "Précisez l'allergie",
                condition={"field": "allergie", "op": "eq", "value": True},
            ),
            _field("enfants", "repetition", "Enfants à inscrire"),
            _field("enfant_prenom", "text", "Prénom", parent="enfants", required=True),
            _field("enfant_naissance", "date", "Date de naissance", parent="enfants"),
        ],
        "answers": lambda rng: {
            "ecole": rng.choice(["École Jean Macé", "École Gerland"]),
            "allergie": rng.random() < 0.3,
            "enfants": [
                {
                    "enfant_prenom": rng.choice(["Léa", "Noah", "Jade"]),
                    "enfant_naissance": "2018-04-12",
                }
            ],
        },
    },
    {
        "slug": "subvention-association",
        "administration": "demo-ville-lyon",
        "title": "Demande de subvention pour une association",
        "description": "Les associations lyonnaises peuvent demander une subvention "
        "de fonctionnement ou de projet.",
        "filer_kind": FilerKind.company,
        "groups": [("Vie associative", None)],
        "fields": [
            _field("siret", "siret", "SIRET de l'association", required=True),
            _field("montant", "decimal", "Montant demandé (€)", required=True, options={"min": 0}),
            _field("projet", "textarea", "Description du projet", required=True),
            _field("iban", "iban", "IBAN"),
        ],
        "answers": lambda rng: {
            "siret": "73282932000074",
            "montant": rng.choice([500, 1500, 4000]),
            "projet": "Ateliers de lecture pour les enfants du quartier.",
        },
    },
    {
        "slug": "inscription-universite",
        "administration": "demo-universite-bordeaux",
        "title": "Inscription administrative en licence",
        "description": "Finalisez votre inscription administrative après admission.",
        "groups": [("Scolarité", None)],
        "fields": [
            _field(
                "ine",
                "formatted",
                "Numéro INE",
                required=True,
                options={"pattern": "^[0-9A-Z]{11}$"},
            ),
            _field(
                "licence",
                "drop_down",
                "Licence",
                required=True,
                options={"choices": ["Droit", "Histoire", "Informatique"]},
            ),
            _field("email", "email", "Courriel de contact", required=True),
            _field("naissance", "date", "Date de naissance", required=True),
        ],
        "answers": lambda rng: {
            "ine": "0A1B2C3D4E5",
            "licence": rng.choice(["Droit", "Histoire", "Informatique"]),
            "email": "etudiant@example.org",
            "naissance": "2006-09-01",
        },
    },
]

# The path of events that brings a draft to each demo state.
PATHS: dict[str, list[Event]] = {
    "draft": [],
    "submitted": [Event.submit],
    "in_review": [Event.submit, Event.start_review],
    "accepted": [Event.submit, Event.start_review, Event.accept],
    "refused": [Event.submit, Event.start_review, Event.refuse],
    "closed_without_action": [Event.submit, Event.start_review, Event.close_without_action],
    "archived": [Event.submit, Event.start_review, Event.accept, Event.archive],
}

MOTIVATIONS = {
    Event.accept: "Dossier complet et conforme.",
    Event.refuse: "Les pièces fournies ne permettent pas d'établir l'éligibilité.",
    Event.close_without_action: "Demande sans objet après échange avec le demandeur.",
}


def is_loaded() -> bool:
    return (
        db.session.scalar(sa.select(Administration.id).where(Administration.slug == MARKER_SLUG))
        is not None
    )


def load_demo() -> list[tuple[str, str]]:
    """Load the demo data set unless it is there already; return the (role, email) logins."""
    logins = [(user.role, user.email) for user in USERS]
    if is_loaded():
        return logins
    rng = random.Random(2026)
    users = {user.email: _user(user) for user in USERS}
    administrations = {
        slug: Administration(
            slug=slug, name=name, kind=kind, contact_email=f"contact@{slug}.example.org"
        )
        for slug, name, kind in ADMINISTRATIONS
    }
    db.session.add_all(administrations.values())
    _membership(administrations[MARKER_SLUG], users["administrateur@demo.guichet.localhost"])
    for slug in ("demo-ville-lyon", "demo-universite-bordeaux"):
        _membership(administrations[slug], users["mairie@demo.guichet.localhost"])

    agents = {
        MARKER_SLUG: [
            users["instructeur@demo.guichet.localhost"],
            users["instructrice@demo.guichet.localhost"],
        ],
        "demo-ville-lyon": [users["agent.mairie@demo.guichet.localhost"]],
        "demo-universite-bordeaux": [
            users["agent.mairie@demo.guichet.localhost"],
            users["instructrice@demo.guichet.localhost"],
        ],
    }
    applicants = [users["usager@demo.guichet.localhost"], users["usager2@demo.guichet.localhost"]]
    expert = users["expert@demo.guichet.localhost"]
    start = datetime.now(UTC) - timedelta(days=60)
    for spec in PROCEDURES:
        procedure = _procedure(spec, administrations[spec["administration"]], start)
        for group in procedure.groups:
            group.members = list(agents[spec["administration"]])
        db.session.flush()
        for index, (state, path) in enumerate(PATHS.items()):
            owner = applicants[index % len(applicants)]
            at = start + timedelta(days=index * 3, hours=rng.randint(8, 17))
            dossier = _dossier(procedure, owner, spec["answers"](rng), at)
            _walk(dossier, path, agents[spec["administration"]][0], at)
            if state != "draft":
                _converse(dossier, owner, agents[spec["administration"]][0], at)
            if state == "in_review" and spec["administration"] == MARKER_SLUG:
                db.session.add(
                    Opinion(
                        dossier_id=dossier.id,
                        expert_id=expert.id,
                        requested_by_id=agents[MARKER_SLUG][0].id,
                        question="Le plan respecte-t-il les normes ?",
                        asks_yes_no=True,
                    )
                )
            if state == "accepted":
                db.session.add(
                    SatisfactionAnswer(
                        dossier_id=dossier.id,
                        procedure_id=procedure.id,
                        level=rng.choice(list(SatisfactionLevel)),
                        created_at=at,
                    )
                )
    _test_mode_procedure(administrations["demo-ville-lyon"], start)
    db.session.commit()
    return logins


def _user(spec: DemoUser):
    sm = current_app.appbuilder.sm
    user = sm.find_user(email=spec.email)
    if user:
        return user
    user = sm.add_user(
        username=spec.email,
        first_name=spec.first_name,
        last_name=spec.last_name,
        email=spec.email,
        role=sm.find_role(spec.role),
        password=DEMO_PASSWORD,
        commit=False,
    )
    if not user:
        raise RuntimeError(f"Could not create demo user {spec.email}")
    return user


def _membership(administration: Administration, user) -> None:
    db.session.add(AdministrationMember(administration=administration, user_id=user.id))


def _procedure(spec: dict[str, Any], administration: Administration, at: datetime) -> Procedure:
    procedure = Procedure(
        administration=administration,
        slug=spec["slug"],
        title=spec["title"],
        description=spec["description"],
        documents_to_prepare=spec.get("documents_to_prepare"),
        service_name=f"Service instructeur — {administration.name}",
        service_email=administration.contact_email,
        filer_kind=spec.get("filer_kind", FilerKind.person),
        declarative_mode=spec.get("declarative_mode", DeclarativeMode.none),
        state=ProcedureState.published,
        test_token=f"demo-test-{spec['slug']}",
        published_at=at,
        deadline_at=datetime.now(UTC) + timedelta(days=180),
    )
    revision = ProcedureRevision(
        procedure=procedure, number=1, state=RevisionState.published, published_at=at
    )
    _fields(revision, spec["fields"])
    procedure.published_revision = revision
    for position, (name, rule) in enumerate(spec["groups"]):
        procedure.groups.append(
            InstructorGroup(
                name=name, routing_rule=rule, position=position, is_default=rule is None
            )
        )
    procedure.labels = [
        Label(name="Urgent", color="red"),
        Label(name="À compléter", color="orange"),
    ]
    db.session.add(procedure)
    return procedure


def _fields(revision: ProcedureRevision, specs: list[dict[str, Any]]) -> None:
    parents: dict[str, FieldDefinition] = {}
    for position, spec in enumerate(specs):
        spec = dict(spec)
        parent = parents.get(spec.pop("parent", None))
        field = FieldDefinition(position=position, options=spec.pop("options", {}), **spec)
        if parent is not None:
            parent.children.append(field)
        revision.fields.append(field)
        parents[field.stable_id] = field


def _dossier(procedure: Procedure, owner, answers: dict[str, Any], at: datetime) -> Dossier:
    identity = {
        "kind": "person",
        "civility": "Mme",
        "first_name": owner.first_name,
        "last_name": owner.last_name,
    }
    dossier = Dossier(
        procedure=procedure,
        revision=procedure.published_revision,
        owner=owner,
        identity=identity,
        answers=answers,
        created_at=at,
        updated_at=at,
        expires_at=at + timedelta(days=procedure.draft_retention_days or 180),
    )
    db.session.add(dossier)
    db.session.flush()
    return dossier


def _walk(dossier: Dossier, path: list[Event], agent, at: datetime) -> None:
    """Move a dossier along ``path`` through the workflow, a day between steps."""
    for step, event in enumerate(path, start=1):
        actor = dossier.owner if event == Event.submit else agent
        if event == Event.submit:
            dossier.group = _route(dossier)
        workflow.apply(
            dossier, event, actor, motivation=MOTIVATIONS.get(event), at=at + timedelta(days=step)
        )
        if event == Event.submit:
            dossier.expires_at = None
        if event == Event.start_review:
            db.session.add(Follow(dossier_id=dossier.id, user_id=agent.id))


def _route(dossier: Dossier) -> InstructorGroup:
    """The demo's own tiny routing (equality rules only); the real one lives in services."""
    for group in dossier.procedure.groups:
        rule = group.routing_rule
        if rule and dossier.answers.get(rule["field"]) == rule["value"]:
            return group
    return dossier.procedure.default_group


def _converse(dossier: Dossier, owner, agent, at: datetime) -> None:
    db.session.add_all(
        [
            Message(
                dossier_id=dossier.id,
                author_id=owner.id,
                author_kind=AuthorKind.applicant,
                body="Bonjour, je reste disponible pour toute précision.",
                created_at=at + timedelta(hours=2),
            ),
            Message(
                dossier_id=dossier.id,
                author_id=agent.id,
                author_kind=AuthorKind.agent,
                body="Bien reçu, votre dossier est en cours de traitement.",
                created_at=at + timedelta(days=1, hours=3),
            ),
        ]
    )


def _test_mode_procedure(administration: Administration, at: datetime) -> None:
    procedure = Procedure(
        administration=administration,
        slug="carte-stationnement-resident",
        title="Carte de stationnement résident",
        description="Procédure en cours de construction (mode test).",
        state=ProcedureState.draft,
        test_token="demo-test-stationnement",
    )
    revision = ProcedureRevision(procedure=procedure, number=1)
    _fields(
        revision,
        [
            _field(
                "immat",
                "formatted",
                "Immatriculation",
                required=True,
                options={"pattern": "^[A-Z]{2}-[0-9]{3}-[A-Z]{2}$"},
            ),
            _field("adresse", "address", "Adresse du domicile", required=True),
        ],
    )
    procedure.draft_revision = revision
    procedure.groups.append(InstructorGroup(name="Stationnement", is_default=True))
    db.session.add(procedure)
