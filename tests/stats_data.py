"""A small platform whose every statistic is known, for tests/services/test_stats.py and
tests/views/test_stats.py.

"Now" is 2025-04-15 12:00 UTC, so the monthly series run from May 2024 to April 2025 (the
oldest dossier, of June 2023, is older than twelve months) and the weekly ones from the
week of 21 October 2024 to that of 14 April 2025.

Administrations (kind, procedures):

- ``ministry`` A1: P1 published 2023-05-20 (agents u1, u2)
- ``prefecture`` A2 (deconcentrated service): P2 published (agent u2)
- ``town`` A3 (local authority): P3 published (agents u3 and an inactive account),
  P5 in test mode (test dossiers only)
- ``university`` A4 (public establishment): P4 closed, P7 published (no agent)
- ``disabled`` A5 (other, disabled): P6 published (agent u6) — counts nowhere in public
- ``newcomer`` A6 (local authority): no procedure

Dossiers, as (procedure: submitted → decided (state), seconds between):

- P1 d1: 2025-01-10 10:00 → 2025-01-12 10:00 accepted, 172 800
- P1 d2: 2025-01-20 08:00:00.9 → 2025-02-03 08:00:00.1 refused, 1 209 600 (each timestamp is
  truncated to its second first, so it is exactly 14 days)
- P1 d3: 2025-01-31 23:30 → 2025-02-01 00:30 closed without action, 3 600 (filed in
  January, decided in February: months are UTC)
- P1 d4: filed 2025-02-10, in review; d5: a draft; d6: a test dossier, decided
- P1 d15: 2023-06-01 → 2023-06-11 accepted, 864 000 (older than the window)
- P1 tombstone t1: 2025-02-02 → 2025-02-12 accepted, 864 000; tombstone t3: a draft made
  before the first publication (a test draft: not counted)
- P2 d7: 2025-02-15 → 2025-03-17 accepted, 2 592 000
- P2 d8: 2025-03-01 12:00 → 2025-03-02 00:00 accepted, 43 200
- P2 d9: filed 2025-03-10; d14: filed 2025-01-05, decided then reopened (in review)
- P3 d10: 2025-03-20 → 2025-04-10 refused, 1 814 400; d11: a draft
- P4 d12: 2025-04-01 00:00 → 06:00 accepted, 21 600
- P5 d13: a test dossier; tombstone t2 of a test draft

Satisfaction answers: d1 satisfied (January), d2 dissatisfied (January), d7 satisfied
(February), d8 neutral (March), an orphan of P1 satisfied (March), d10 satisfied (March),
d15 satisfied (June 2023, before the window); not counted: d6's (test dossier) and an
orphan of P5 (never published).

Support requests: answered after 10 800 s (January) and 172 800 s (February); one not
answered; one of 2023 (before the window).
"""

from __future__ import annotations

from datetime import UTC, datetime

import factories as make
from app.extensions import db
from app.models import (
    Administration,
    AdministrationKind,
    Dossier,
    DossierState,
    DossierTombstone,
    InstructorGroup,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
    SatisfactionAnswer,
    SatisfactionLevel,
    SupportRequest,
    User,
)
from app.security import Roles

NOW = datetime(2025, 4, 15, 12, 0, tzinfo=UTC)
S = DossierState
K = AdministrationKind


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _administration(key: str, kind: AdministrationKind, created: str, **extra) -> Administration:
    item = Administration(
        name=f"Administration {key}",
        slug=f"stats-{key}",
        kind=kind,
        created_at=at(created),
        **extra,
    )
    db.session.add(item)
    return item


def _procedure(
    administration: Administration,
    key: str,
    state: ProcedureState,
    published: str | None,
    agents=(),
) -> Procedure:
    item = Procedure(
        administration=administration,
        slug=f"stats-{key}",
        title=f"Procédure {key}",
        state=state,
        published_at=at(published) if published else None,
    )
    revision = ProcedureRevision(procedure=item, number=1, state=RevisionState.published)
    item.published_revision = revision
    item.groups.append(InstructorGroup(name="Groupe", is_default=True, members=list(agents)))
    db.session.add(item)
    return item


def _dossier(
    procedure: Procedure,
    owner: User,
    state: DossierState,
    created: str,
    submitted: str | None = None,
    decided: str | None = None,
    is_test: bool = False,
) -> Dossier:
    item = Dossier(
        procedure=procedure,
        revision=procedure.published_revision,
        owner=owner,
        state=state,
        group=None if state == S.draft else procedure.groups[0],
        is_test=is_test,
        created_at=at(created),
        updated_at=at(created),
        submitted_at=at(submitted) if submitted else None,
        decided_at=at(decided) if decided else None,
    )
    db.session.add(item)
    return item


def _tombstone(procedure: Procedure, number: int, state, created, submitted=None, decided=None):
    db.session.add(
        DossierTombstone(
            number=number,
            procedure_id=procedure.id,
            state=state,
            reason="deleted",
            created_at=at(created),
            submitted_at=at(submitted) if submitted else None,
            decided_at=at(decided) if decided else None,
        )
    )


def _answer(procedure: Procedure, dossier: Dossier | None, level: str, created: str) -> None:
    db.session.add(
        SatisfactionAnswer(
            dossier_id=dossier.id if dossier else None,
            procedure_id=procedure.id,
            level=SatisfactionLevel(level),
            created_at=at(created),
        )
    )


def _support(created: str, answered: str | None, number: int) -> None:
    db.session.add(
        SupportRequest(
            name=f"Personne {number}",
            email=f"personne{number}@example.org",
            subject=f"Question {number}",
            body="Bonjour, une question.",
            created_at=at(created),
            first_answered_at=at(answered) if answered else None,
        )
    )


def build() -> dict[str, int]:
    """Write the platform described above (in the current app context) and return the ids
    tests need: procedures ``P1``…``P7``, administrations ``A1``…``A6``, users."""
    u1, u2, u3, u6 = (make.user(Roles.AGENT) for _ in range(4))
    inactive = make.user(Roles.AGENT)
    inactive.active = False
    applicant = make.user(Roles.APPLICANT)

    a1 = _administration("ministry", K.ministry, "2023-05-10")
    a2 = _administration("prefecture", K.deconcentrated_service, "2024-06-01")
    a3 = _administration("town", K.local_authority, "2024-12-01")
    a4 = _administration("university", K.public_establishment, "2025-01-15")
    a5 = _administration("disabled", K.other, "2025-02-01", disabled_at=at("2025-03-01"))
    a6 = _administration("newcomer", K.local_authority, "2025-04-01")

    published = ProcedureState.published
    p1 = _procedure(a1, "p1", published, "2023-05-20", [u1, u2])
    p2 = _procedure(a2, "p2", published, "2025-01-01", [u2])
    p3 = _procedure(a3, "p3", published, "2025-01-01", [u3, inactive])
    p4 = _procedure(a4, "p4", ProcedureState.closed, "2024-06-01")
    p5 = _procedure(a3, "p5", ProcedureState.draft, None)
    p6 = _procedure(a5, "p6", published, "2024-12-15", [u6])
    p7 = _procedure(a4, "p7", published, "2025-03-01")
    db.session.flush()

    who = applicant
    d1 = _dossier(p1, who, S.accepted, "2025-01-09", "2025-01-10 10:00", "2025-01-12 10:00")
    d2 = _dossier(
        p1, who, S.refused, "2025-01-19", "2025-01-20 08:00:00.900", "2025-02-03 08:00:00.100"
    )
    _dossier(p1, who, S.closed_without_action, "2025-01-30", "2025-01-31 23:30", "2025-02-01 00:30")
    _dossier(p1, who, S.in_review, "2025-02-09", "2025-02-10 09:00")
    _dossier(p1, who, S.draft, "2025-03-01")
    d6 = _dossier(p1, who, S.accepted, "2025-02-04", "2025-02-05", "2025-02-06", is_test=True)
    d15 = _dossier(p1, who, S.accepted, "2023-05-30", "2023-06-01", "2023-06-11")
    d7 = _dossier(p2, who, S.accepted, "2025-02-14", "2025-02-15", "2025-03-17")
    d8 = _dossier(p2, who, S.accepted, "2025-03-01", "2025-03-01 12:00", "2025-03-02 00:00")
    _dossier(p2, who, S.submitted, "2025-03-09", "2025-03-10")
    _dossier(p2, who, S.in_review, "2025-01-04", "2025-01-05")  # d14: reopened
    d10 = _dossier(p3, who, S.refused, "2025-03-19", "2025-03-20", "2025-04-10")
    _dossier(p3, who, S.draft, "2025-04-01")
    _dossier(p4, who, S.accepted, "2025-03-31", "2025-04-01 00:00", "2025-04-01 06:00")
    _dossier(p5, who, S.accepted, "2025-03-04", "2025-03-05", "2025-03-06", is_test=True)
    db.session.flush()

    _tombstone(p1, 900_001, S.accepted, "2025-02-01", "2025-02-02", "2025-02-12")
    _tombstone(p5, 900_002, S.draft, "2025-03-01")
    _tombstone(p1, 900_003, S.draft, "2023-05-01")

    _answer(p1, d1, "satisfied", "2025-01-12")
    _answer(p1, d2, "dissatisfied", "2025-01-21")
    _answer(p2, d7, "satisfied", "2025-02-16")
    _answer(p2, d8, "neutral", "2025-03-02")
    _answer(p1, None, "satisfied", "2025-03-05")
    _answer(p3, d10, "satisfied", "2025-03-21")
    _answer(p1, d15, "satisfied", "2023-06-12")
    _answer(p1, d6, "satisfied", "2025-02-06")
    _answer(p5, None, "satisfied", "2025-03-06")

    _support("2025-01-10 09:00", "2025-01-10 12:00", 1)
    _support("2025-02-01 00:00", "2025-02-03 00:00", 2)
    _support("2025-03-01 00:00", None, 3)
    _support("2023-01-01 00:00", "2023-01-02 00:00", 4)
    db.session.commit()
    ids = {f"P{n}": p.id for n, p in enumerate((p1, p2, p3, p4, p5, p6, p7), start=1)}
    ids |= {f"A{n}": a.id for n, a in enumerate((a1, a2, a3, a4, a5, a6), start=1)}
    ids |= {"u1": u1.id, "u2": u2.id, "u3": u3.id, "u6": u6.id, "applicant": applicant.id}
    return ids
