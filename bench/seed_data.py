"""What ``bench/seed.py`` writes: the seed's own generators, extended to every field type.

``app/services/seed.py`` already knows how to make French administrations, procedures,
accounts and dossiers whose histories go through the real workflow. This module reuses it by
subclassing its builder (``_Seed``) rather than copying it, and changes only what a
benchmark of a million dossiers needs:

- ids are counted here (the database is empty) instead of read with ``max(id)``;
- rows are handed to a ``sink`` (PostgreSQL ``COPY``) instead of Core ``INSERT``s;
- forms hold 10 to 40 fields drawn from every field type (the seed's templates plus the
  types it leaves out), and private annotations; the first (largest) procedure holds one
  field of each of the 25 types that take an answer;
- procedure sizes are exact quotas (the largest gets exactly ``LARGEST_SHARE``) instead of
  draws, so that the skew the benchmarks rely on is the same at every scale;
- labels, annotations and the search text of each dossier are added around the seed's own
  ``dossier()``.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from app.data.geo import reference
from app.fields import registry
from app.models import (
    Administration,
    AdministrationMember,
    DossierState,
    FieldDefinition,
    InstructorGroup,
    Label,
    Procedure,
    ProcedureRevision,
    instructor_group_member,
)
from app.security import Roles
from app.services import seed as base
from app.services.procedure_labels import PALETTE
from app.services.seed import (
    ATTACHMENT_FIELDS,
    CITIES,
    DEPARTMENT_FIELD,
    FEMALE_FIRST_NAMES,
    MALE_FIRST_NAMES,
    MOBILE_PREFIXES,
    PERSONAL_FIELDS,
    REQUEST_FIELDS,
    SWORN_STATEMENT,
    FieldTemplate,
)

LARGEST_SHARE = 0.2
"""Share of all dossiers held by the largest procedure (performance-notes.md: 200,000 of
1,000,000)."""

SECOND_SHARE_CAP = 0.75
"""No other procedure holds more than this fraction of the largest one's dossiers."""

FIELDS_PER_FORM = (10, 40)
"""Top-level fields of a form, section titles included (the largest form excepted)."""

LAYOUT_TYPES = frozenset({"header_section", "explication"})

SEED_GENERATED = frozenset(
    {
        "text",
        "textarea",
        "email",
        "integer",
        "decimal",
        "date",
        "checkbox",
        "yes_no",
        "civility",
        "drop_down",
        "multiple_drop_down",
        "address",
        "department",
        "siret",
    }
)
"""Types whose answers ``_Seed.answers`` makes. ``phone`` is left out on purpose: the seed
draws any ``+336``/``+337`` number, and about one in five of those (07 0…, 07 1…, 07 2…,
06 9…) is not a valid French number, which the phone field would refuse."""


S = DossierState
REVIEWED = frozenset({S.in_review, S.accepted, S.refused, S.closed_without_action})


@dataclass(frozen=True)
class BenchTemplate(FieldTemplate):
    """A seed ``FieldTemplate`` with what the types the seed leaves out need.

    ``opts`` are the field's options as an administrator would set them, ``gen`` names the
    answer generator of a ``formatted`` field, ``children`` are a repetition's fields.
    """

    opts: tuple[tuple[str, Any], ...] = ()
    gen: str = ""
    children: tuple[FieldTemplate, ...] = ()

    def options(self) -> dict[str, Any]:
        return dict(self.opts) if self.opts else super().options()


T = BenchTemplate

FIRST_NAMES = tuple(FEMALE_FIRST_NAMES + MALE_FIRST_NAMES)

PERSONAL_EXTRA = [
    T("country", "Pays de naissance"),
    T("country", "Nationalité"),
    T("commune", "Commune de résidence"),
    T("phone", "Téléphone portable"),
    T("iban", "IBAN du compte à créditer"),
]

REQUEST_EXTRA = [
    T("formatted", "Numéro d'immatriculation du véhicule", gen="plate",
      opts=(("pattern", "[A-Z]{2}-[0-9]{3}-[A-Z]{2}"),
            ("message", "Saisissez l'immatriculation au format AB-123-CD."),
            ("example", "AB-123-CD"))),
    T("formatted", "Numéro RNA de l'association", gen="rna",
      opts=(("pattern", "W[0-9]{9}"), ("example", "W751234567"))),
    T("formatted", "Numéro fiscal de référence", gen="tax",
      opts=(("letters", False), ("digits", True), ("min_length", 13), ("max_length", 13))),
    T("datetime", "Date et heure souhaitées du rendez-vous", low=3, high=60),
    T("datetime", "Début de la manifestation", low=15, high=180),
    T("linked_drop_down", "Domaine d'activité",
      opts=(("choices", [
          {"primary": "Culture", "secondary": ["Musique", "Théâtre", "Arts plastiques",
                                               "Patrimoine"]},
          {"primary": "Sport", "secondary": ["Football", "Natation", "Randonnée"]},
          {"primary": "Social", "secondary": ["Aide alimentaire", "Insertion", "Logement"]},
          {"primary": "Environnement", "secondary": []},
      ]),)),
    T("linked_drop_down", "Type de véhicule",
      opts=(("choices", [
          {"primary": "Vélo", "secondary": ["Mécanique", "À assistance électrique", "Cargo"]},
          {"primary": "Voiture", "secondary": ["Électrique", "Hybride rechargeable"]},
          {"primary": "Deux-roues motorisé", "secondary": []},
      ]),)),
    T("region", "Région d'implantation du projet"),
    T("commune", "Commune où se déroule le projet"),
    T("dossier_link", "Numéro d'un dossier déposé précédemment", required=False),
    T("repetition", "Membres du foyer", opts=(("min_rows", 0), ("max_rows", 8)), children=(
        T("text", "Prénom", samples=FIRST_NAMES),
        T("date", "Date de naissance", low=-30_000, high=-200),
        T("drop_down", "Lien de parenté",
          choices=("Conjoint ou conjointe", "Enfant", "Parent", "Autre")),
    )),
    T("repetition", "Dépenses prévues", opts=(("min_rows", 1), ("max_rows", 20)), children=(
        T("text", "Poste de dépense",
          samples=("Location de matériel", "Communication", "Transport", "Restauration",
                   "Rémunération des intervenants", "Assurance")),
        T("decimal", "Montant (€)", low=100, high=20_000),
    )),
]  # fmt: skip

EXPLANATIONS = [
    T(
        "explication",
        "Les informations recueillies servent uniquement à l'instruction de votre demande.",
        required=False,
    ),
    T(
        "explication",
        "Préparez vos justificatifs avant de commencer : vous pourrez "
        "enregistrer un brouillon à tout moment.",
        required=False,
    ),
]

PRIVATE_FIELDS = [
    T("textarea", "Avis de l'instructeur",
      samples=("Dossier complet, avis favorable.", "À présenter en commission.",
               "Vérifier le justificatif de domicile.", "Montant à revoir à la baisse.")),
    T("decimal", "Montant accordé (€)", low=100, high=30_000),
    T("drop_down", "Priorité", choices=("Haute", "Normale", "Basse")),
    T("date", "Date de passage en commission", low=10, high=120),
    T("checkbox", "Pièces vérifiées", required=False),
    T("yes_no", "Visite sur place nécessaire"),
    T("text", "Référence interne",
      samples=("Dossier suivi par le pôle instruction", "Relance envoyée", "Cas particulier")),
]  # fmt: skip

LABEL_NAMES = [
    "Urgent", "À relancer", "Pièce manquante", "Commission du mois", "Prioritaire",
    "Contrôle sur place", "En attente d'avis", "Complet", "Recours", "Signalé",
]  # fmt: skip

HEADERS = (
    T("header_section", "Informations sur le demandeur", required=False),
    T("header_section", "Votre demande", required=False),
    T("header_section", "Pièces justificatives", required=False),
)

COUNTRIES = ("ES", "PT", "IT", "DE", "BE", "MA", "DZ", "TN", "SN", "RO", "GB", "TR")


def _pools() -> tuple[list[FieldTemplate], list[FieldTemplate], list[FieldTemplate]]:
    """Templates by section: the seed's, plus those of the types it leaves out."""
    personal = [*PERSONAL_FIELDS, *PERSONAL_EXTRA]
    request = [*REQUEST_FIELDS, DEPARTMENT_FIELD, *REQUEST_EXTRA]
    return personal, request, list(ATTACHMENT_FIELDS)


@cache
def value_types() -> tuple[str, ...]:
    """Every registered type that holds an answer, sorted (25 today)."""
    return tuple(sorted(t.name for t in registry.all_types() if t.has_value))


_OPTIONS: dict[int, dict[str, Any]] = {}


def stored_options(template: FieldTemplate) -> dict[str, Any]:
    """The options as the form editor stores them: checked and normalised by the type.

    Cached per template object (templates holding lists of choices are not hashable).
    """
    options = _OPTIONS.get(id(template))
    if options is None:
        if template.type == "header_section":
            options = {"level": 1}
        else:
            options = registry.get(template.type).validate_options(template.options())
        _OPTIONS[id(template)] = options
    return options


@dataclass
class Form:
    """One revision's form as the generators need it."""

    seed_fields: list[tuple[str, FieldTemplate]] = field(default_factory=list)
    extra_fields: list[tuple[str, FieldTemplate]] = field(default_factory=list)
    private_fields: list[tuple[str, FieldTemplate]] = field(default_factory=list)
    children: dict[str, list[tuple[str, FieldTemplate]]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # answerable stable ids, form order
    decimals: list[str] = field(default_factory=list)  # stable ids of decimal fields
    definitions: list[dict[str, Any]] = field(default_factory=list)  # for the search text
    value_fields: int = 0  # top-level fields that take an answer


@dataclass
class Sizes:
    """How many of everything; ``applicants`` None means 60 % of the dossiers, as in the
    seed (30,000 applicants for 50,000 dossiers)."""

    dossiers: int
    procedures: int
    agents: int
    administrations: int
    applicants: int | None = None

    @property
    def applicant_count(self) -> int:
        if self.applicants is not None:
            return self.applicants
        return max(1, self.dossiers * 3 // 5)


Sink = Callable[[sa.Table, Sequence[dict[str, Any]]], None]


class BenchSeed(base._Seed):
    """The seed's builder, writing through ``sink`` and generating every field type.

    Everything random goes through ``self.rng`` (``random.Random(seed)``), in a fixed
    order, so the same seed and sizes give the same data; only "now" moves the dates.
    """

    def __init__(self, role_ids: dict[str, int], *, seed: int, now: datetime, sink: Sink) -> None:
        super().__init__(role_ids)
        self.rng = random.Random(seed)
        self.now = now
        self.start = now - base.SPAN
        self.sink = sink
        self.forms: dict[int, Form] = {}
        self.procs: list[base._Procedure] = []
        self.quotas: list[int] = []  # dossiers of each procedure, in ``procs`` order
        self.labels_of: dict[int, list[int]] = {}  # procedure id -> label ids
        self.label_rows: list[dict[str, Any]] = []
        self.emails: dict[int, str] = {}  # applicant id -> email (search text)
        personal, request, attachments = _pools()
        self.pools = personal, request, attachments
        self.by_type: dict[str, list[FieldTemplate]] = {}
        for template in [*personal, *request, *attachments, SWORN_STATEMENT]:
            self.by_type.setdefault(template.type, []).append(template)
        self.regions = sorted(code for code in reference().regions if len(code) == 2)

    # -- plumbing ------------------------------------------------------------------------

    def new_id(self, table: sa.Table) -> int:
        """Ids count from 1: the load starts on empty tables (checked before)."""
        if table.name not in self.next_ids:
            self.next_ids[table.name] = 1
            self.tables[table.name] = table
        self.next_ids[table.name] += 1
        return self.next_ids[table.name] - 1

    def insert(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        if table is User.__table__:
            for row in rows:
                self.emails[row["id"]] = row["email"]
        self.sink(table, rows)
        self.counts[table.name] += len(rows)

    # -- the reference data ----------------------------------------------------------------

    def reference_data(self, sizes: Sizes) -> tuple[list[base._Procedure], list[Any]]:
        """Everything but the dossiers, written through the sink, in the seed's order.

        Returns the procedures and the dossier skeletons (procedure index, owner, created
        at) in creation order, so that dossier numbers grow with time as in real life.
        """
        self.agent_ids = [self.new_id(User.__table__) for _ in range(sizes.agents)]
        self.applicant_ids = [self.new_id(User.__table__) for _ in range(sizes.applicant_count)]
        admin_rows = self.administrations(sizes.administrations)
        procs = self.procedures(sizes.procedures, admin_rows)
        quotas = procedure_quotas(sizes.dossiers, len(procs))
        self.procs, self.quotas = procs, quotas
        shares = [count / max(1, sizes.dossiers) for count in quotas]
        groups, memberships = self.groups(procs, shares)
        skeletons = self.skeletons(procs, quotas)

        self.users(Roles.AGENT, self.agent_ids, self.agents_first_actions(memberships, groups))
        signed_up: dict[int, datetime] = {}
        for _, owner_id, created in skeletons:
            if owner_id not in signed_up:
                signed_up[owner_id] = created - timedelta(minutes=self.rng.uniform(2, 60))
        self.users(Roles.APPLICANT, self.applicant_ids, signed_up)
        members = self.administration_members(admin_rows, None)

        self.insert(Administration.__table__, admin_rows)
        self.insert(AdministrationMember.__table__, members)
        self.write_procedures(procs)
        self.insert(InstructorGroup.__table__, groups)
        self.insert(instructor_group_member, memberships)
        self.labels(procs)
        return procs, skeletons

    def write_procedures(self, procs: list[base._Procedure]) -> None:
        """Procedures point at their published revision from the start: foreign keys are
        checked once the load is over, so the seed's insert-then-update is not needed."""
        revision_of = {proc.id: proc.revision_id for proc in procs}
        for row in self.procedure_rows:
            row["published_revision_id"] = revision_of[row["id"]]
        self.insert(Procedure.__table__, self.procedure_rows)
        self.insert(ProcedureRevision.__table__, self.revision_rows)
        self.insert(FieldDefinition.__table__, self.field_rows)

    def labels(self, procs: list[base._Procedure]) -> None:
        """Three to six coloured labels per procedure, as agents make them."""
        colours = [colour.key for colour in PALETTE]
        for proc in procs:
            names = self.rng.sample(LABEL_NAMES, self.rng.randint(3, 6))
            ids = []
            for name in names:
                label_id = self.new_id(Label.__table__)
                ids.append(label_id)
                self.label_rows.append(
                    {
                        "id": label_id,
                        "procedure_id": proc.id,
                        "name": name,
                        "color": self.rng.choice(colours),
                    }
                )
            self.labels_of[proc.id] = ids
        self.insert(Label.__table__, self.label_rows)

    def skeletons(
        self, procs: list[base._Procedure], quotas: list[int]
    ) -> list[tuple[int, int, datetime]]:
        """(procedure index, owner id, created at) of every dossier, in creation order.

        The seed draws each dossier's procedure; here each procedure gets its exact quota.
        Dates follow the seed: more recent than old, none before the publication.
        """
        rng, now = self.rng, self.now
        applicants = self.applicant_ids
        skeletons = []
        for index, count in enumerate(quotas):
            published = procs[index].published_at
            span = now - published
            for _ in range(count):
                created = published + span * rng.random() ** 0.6
                skeletons.append((index, applicants[rng.randrange(len(applicants))], created))
        skeletons.sort(key=lambda item: item[2])
        return skeletons

    # -- forms -----------------------------------------------------------------------------

    def form(self, revision_id: int) -> list[tuple[str, FieldTemplate]]:
        """One revision's field rows; returns the fields whose answers the seed generates.

        The seed's ``procedures()`` calls this once per procedure, oldest first, and the
        oldest procedure is the one that receives ``LARGEST_SHARE`` of the dossiers: the
        first form is the big one, with one field of each answered type (25 fields).
        """
        rng = self.rng
        personal_pool, request_pool, attachment_pool = self.pools
        explanation = rng.choice(EXPLANATIONS) if rng.random() < 0.5 else None
        if not self.forms:
            personal, request, attachments = self._one_of_each_type()
            explanation = EXPLANATIONS[0]
        else:
            total = rng.randint(*FIELDS_PER_FORM)
            attachments = rng.sample(attachment_pool, rng.randint(1, 3))
            fixed = len(HEADERS) + len(attachments) + 1 + (explanation is not None)
            total = max(total, fixed + 4)  # at least two personal and two request fields
            personal = rng.sample(personal_pool, rng.randint(2, min(6, total - fixed - 2)))
            request_count = total - fixed - len(personal)
            blocks = [t for t in request_pool if t.type == "repetition"]
            plain = [t for t in request_pool if t.type != "repetition"]
            request = rng.sample(plain, min(request_count, len(plain)))
            if rng.random() < 0.3:
                request[rng.randrange(len(request))] = rng.choice(blocks)
            if rng.random() < 0.6 and DEPARTMENT_FIELD not in request:
                request[rng.randrange(len(request))] = DEPARTMENT_FIELD
        sections: list[FieldTemplate] = [HEADERS[0]]
        if explanation is not None:
            sections.append(explanation)
        sections += [*personal, HEADERS[1], *request, HEADERS[2], *attachments, SWORN_STATEMENT]
        private = rng.sample(PRIVATE_FIELDS, rng.randint(0, 4) if self.forms else 4)
        form = Form()
        used: set[str] = set()
        for position, template in enumerate(sections):
            self._definition(form, revision_id, template, position, used, private=False)
        for position, template in enumerate(private):
            self._definition(form, revision_id, template, position, used, private=True)
        self.forms[revision_id] = form
        return form.seed_fields

    def _one_of_each_type(
        self,
    ) -> tuple[list[FieldTemplate], list[FieldTemplate], list[FieldTemplate]]:
        """One template of each answered type, placed in the section it belongs to."""
        personal_pool, request_pool, attachment_pool = self.pools
        chosen = {
            name: self.rng.choice(self.by_type[name])
            for name in value_types()
            if name != SWORN_STATEMENT.type
        }
        missing = set(value_types()) - set(chosen) - {SWORN_STATEMENT.type}
        if missing:
            raise AssertionError(f"no bench template for field types {sorted(missing)}")
        personal = [t for t in chosen.values() if t in personal_pool]
        attachments = [t for t in chosen.values() if t in attachment_pool]
        request = [t for t in chosen.values() if t not in personal and t not in attachments]
        return personal, request, attachments

    def _stable_id(self, used: set[str]) -> str:
        stable_id = f"f{self.rng.getrandbits(32):08x}"
        while stable_id in used:
            stable_id = f"f{self.rng.getrandbits(32):08x}"
        used.add(stable_id)
        return stable_id

    def _definition(
        self,
        form: Form,
        revision_id: int,
        template: FieldTemplate,
        position: int,
        used: set[str],
        *,
        private: bool,
        parent: tuple[int, str] | None = None,
    ) -> None:
        """Add the field row of ``template`` (and its children) and file it in ``form``."""
        stable_id = self._stable_id(used)
        row_id = self.new_id(FieldDefinition.__table__)
        options = stored_options(template)
        self.field_rows.append(
            {
                "id": row_id,
                "revision_id": revision_id,
                "stable_id": stable_id,
                "type": template.type,
                "label": template.label,
                "help": None,
                "required": template.required,
                "private": private,
                "options": options,
                "condition": base.SQL_NULL,
                "parent_id": parent[0] if parent else None,
                "position": position,
            }
        )
        form.definitions.append(
            {
                "id": row_id,
                "stable_id": stable_id,
                "type": template.type,
                "label": template.label,
                "private": private,
                "options": options,
                "parent": parent[1] if parent else None,
                "position": position,
            }
        )
        if template.type in LAYOUT_TYPES:
            return
        if parent is not None:
            form.children[parent[1]].append((stable_id, template))
            return
        if private:
            form.private_fields.append((stable_id, template))
            return
        form.value_fields += 1
        form.order.append(stable_id)
        if template.type == "decimal":
            form.decimals.append(stable_id)
        if template.type in SEED_GENERATED:
            form.seed_fields.append((stable_id, template))
        elif template.type != "attachment":  # no files are seeded: left unanswered
            form.extra_fields.append((stable_id, template))
        if template.type == "repetition":
            form.children[stable_id] = []
            for child_position, child in enumerate(getattr(template, "children", ())):
                self._definition(
                    form,
                    revision_id,
                    child,
                    child_position,
                    used,
                    private=private,
                    parent=(row_id, stable_id),
                )

    # -- answers ---------------------------------------------------------------------------

    def answers(self, proc: base._Procedure, owner: base._Person, created: datetime) -> dict:
        """The seed's answers for the types it knows, ours for the others, in form order."""
        form = self.forms[proc.revision_id]
        values = super().answers(proc, owner, created)
        rng = self.rng
        for stable_id, template in form.extra_fields:
            if not template.required and rng.random() < 0.4:
                continue
            value = self.extra_value(template, form, stable_id, owner, created)
            if value is not None:
                values[stable_id] = value
        for stable_id in form.decimals:  # the decimal type stores whole numbers as ints
            value = values.get(stable_id)
            if isinstance(value, float) and value.is_integer():
                values[stable_id] = int(value)
        return {stable_id: values[stable_id] for stable_id in form.order if stable_id in values}

    def annotations(self, proc: base._Procedure, owner: base._Person, created: datetime) -> dict:
        """Agents' private annotations, filled in on most dossiers they have reviewed."""
        form = self.forms[proc.revision_id]
        if not form.private_fields:
            return {}
        fields = SimpleNamespace(fields=form.private_fields, routing=None)
        values = super().answers(fields, owner, created)  # type: ignore[arg-type]
        return _whole_decimals(values, form.private_fields)

    def extra_value(
        self,
        template: FieldTemplate,
        form: Form,
        stable_id: str,
        owner: base._Person,
        created: datetime,
    ) -> Any:
        """An answer to a field of a type the seed does not generate, as the type stores it."""
        rng = self.rng
        kind = template.type
        if kind == "phone":
            return f"+33{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        if kind == "formatted":
            return _formatted(rng, template)
        if kind == "datetime":
            day = created + timedelta(days=rng.randint(template.low, template.high))
            return f"{day:%Y-%m-%d}T{rng.randint(8, 17):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        if kind == "linked_drop_down":
            choice = rng.choice(template.options()["choices"])
            secondary = rng.choice(choice["secondary"]) if choice["secondary"] else None
            return {"primary": choice["primary"], "secondary": secondary}
        if kind == "country":
            return "FR" if rng.random() < 0.85 else rng.choice(COUNTRIES)
        if kind == "region":
            return rng.choice(self.regions)
        if kind == "commune":
            return rng.choice(CITIES).insee
        if kind == "iban":
            return _french_iban(rng)
        if kind == "dossier_link":
            current = self.next_ids.get("dossier", 1) - 1
            return rng.randint(max(1, current - 50_000), current - 1) if current > 1 else None
        if kind == "repetition":
            children = SimpleNamespace(fields=form.children[stable_id], routing=None)
            low = template.options().get("min_rows") or 1
            rows = []
            for _ in range(rng.randint(low, min(4, template.options().get("max_rows") or 4))):
                row = super().answers(children, owner, created)  # type: ignore[arg-type]
                row = _whole_decimals(row, form.children[stable_id])
                # In the order JSONB gives the keys back: ``Repetition.format`` writes the
                # cells in the row's own order, so the search text made here must be the one
                # ``search.rebuild`` makes from the stored row.
                rows.append(dict(sorted(row.items(), key=_jsonb_key_order)))
            return rows
        raise AssertionError(f"no answer generator for {kind}")

    # -- dossiers --------------------------------------------------------------------------

    def dossier_rows(
        self, proc: base._Procedure, owner_id: int, created: datetime, batch: base._Batch
    ) -> tuple[dict[str, Any], list[int]]:
        """One dossier through the seed's ``dossier()`` (history, messages, follows), then
        its annotations; returns its row and the ids of the labels put on it."""
        self.dossier(batch, proc, owner_id, created)
        row = batch.dossiers[-1]
        state = row["state"]
        if state in REVIEWED and self.rng.random() < 0.7:
            row["annotations"] = self.annotations(proc, self.people[owner_id], created)
        labels: list[int] = []
        if state != S.draft and self.rng.random() < 0.3:
            choices = self.labels_of[proc.id]
            labels = self.rng.sample(choices, 1 if self.rng.random() < 0.75 else 2)
        return row, labels


def _whole_decimals(values: dict[str, Any], fields: Iterable[tuple[str, FieldTemplate]]) -> dict:
    for stable_id, template in fields:
        value = values.get(stable_id)
        if template.type == "decimal" and isinstance(value, float) and value.is_integer():
            values[stable_id] = int(value)
    return values


def _jsonb_key_order(item: tuple[str, Any]) -> tuple[int, bytes]:
    """JSONB stores an object's keys shortest first, then byte by byte."""
    key = item[0].encode()
    return len(key), key


PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # no I, O, U on French plates


def _formatted(rng: random.Random, template: FieldTemplate) -> str:
    kind = getattr(template, "gen", "")
    if kind == "plate":
        letters = [rng.choice(PLATE_LETTERS) for _ in range(4)]
        return f"{letters[0]}{letters[1]}-{rng.randint(1, 999):03d}-{letters[2]}{letters[3]}"
    if kind == "rna":
        return f"W{rng.randrange(10**9):09d}"
    if kind == "tax":
        return f"{rng.randint(0, 3)}{rng.randrange(10**12):012d}"
    raise AssertionError(f"no generator for formatted field {template.label!r}")


def _french_iban(rng: random.Random) -> str:
    """A French IBAN whose RIB key and ISO 13616 check digits are both right."""
    bank, branch, account = rng.randrange(10**5), rng.randrange(10**5), rng.randrange(10**11)
    key = 97 - (89 * bank + 15 * branch + 3 * account) % 97
    bban = f"{bank:05d}{branch:05d}{account:011d}{key:02d}"
    check = 98 - int(bban + "152700") % 97  # "FR00" as digits: F=15, R=27
    return f"FR{check:02d}{bban}"


def procedure_quotas(dossiers: int, procedures: int) -> list[int]:
    """Dossiers per procedure: exactly ``LARGEST_SHARE`` for the first, the rest shared
    along the seed's Zipf law (largest remainders, so the total is exact).

    With few procedures (tests) the Zipf head of the rest would outgrow the first: shares
    are then capped at ``SECOND_SHARE_CAP`` of the first's and the excess spread over the
    others, so the first stays the largest. At 350 procedures nothing is capped.
    """
    if procedures <= 0:
        return []
    if procedures == 1:
        return [dossiers]
    largest = round(dossiers * LARGEST_SHARE)
    rest = dossiers - largest
    weights = [1 / rank**base.ZIPF_EXPONENT for rank in range(2, procedures + 1)]
    cap = max(largest * SECOND_SHARE_CAP, rest / len(weights))
    exact = [0.0] * len(weights)
    free = list(range(len(weights)))
    remaining = float(rest)
    while free:
        total = sum(weights[i] for i in free)
        over = [i for i in free if remaining * weights[i] / total > cap]
        if not over:
            for i in free:
                exact[i] = remaining * weights[i] / total
            break
        for i in over:
            exact[i] = cap
            remaining -= cap
        free = [i for i in free if i not in over]
    quotas = [math.floor(value) for value in exact]
    leftover = rest - sum(quotas)
    by_remainder = sorted(range(len(exact)), key=lambda i: quotas[i] - exact[i])
    for index in itertools.islice(itertools.cycle(by_remainder), leftover):
        quotas[index] += 1
    return [largest, *quotas]
