"""Small builders of test data, each committing what it makes."""

from __future__ import annotations

import itertools

from flask import current_app

from app.extensions import db
from app.models import (
    Administration,
    AdministrationKind,
    AdministrationMember,
    Dossier,
    DossierState,
    InstructorGroup,
    Invitation,
    Opinion,
    Procedure,
    ProcedureRevision,
    ProcedureState,
    RevisionState,
    utcnow,
)
from app.security import Roles

_counter = itertools.count(1)

PASSWORD = "a-long-test-password"
"""The password of every user made with ``user(..., can_log_in=True)``."""


def login(client, username: str, totp_secret: str | None = None) -> None:
    """Sign in through FAB's login form (CSRF is off in tests unless asked for); a person
    with a second factor (``two_factor``) gives the code of its secret."""
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"
    if "/login/two-factor" in response.headers["Location"]:
        assert totp_secret, "this person has a second factor: pass login(..., totp_secret)"
        import pyotp

        code = pyotp.TOTP(totp_secret).now()
        response = client.post("/login/two-factor", data={"code": code})
        assert response.status_code == 302, "the second factor was refused"


def two_factor(person) -> str:
    """Give ``person`` a second factor as if they had enrolled long ago; its secret."""
    from app.services import authentication

    secret = authentication.start_enrolment(person)
    authentication.state_of(person).totp_enabled_at = utcnow()
    db.session.commit()
    return secret


def user(*roles: str, email: str | None = None, can_log_in: bool = False):
    sm = current_app.appbuilder.sm
    n = next(_counter)
    email = email or f"user{n}@example.org"
    created = sm.add_user(
        username=email,
        first_name="Prénom",
        last_name=f"Nom{n}",
        email=email,
        role=[sm.find_role(role) for role in roles or (Roles.APPLICANT,)],
        hashed_password=_password_hash() if can_log_in else "not-a-usable-hash",
        commit=False,
    )
    db.session.commit()
    return created


def administration(*administrators) -> Administration:
    n = next(_counter)
    item = Administration(
        name=f"Administration {n}",
        slug=f"administration-{n}",
        kind=AdministrationKind.local_authority,
    )
    db.session.add(item)
    for person in administrators:
        db.session.add(AdministrationMember(administration=item, user_id=person.id))
    db.session.commit()
    return item


def procedure(
    administration_: Administration, *agents, state: ProcedureState = ProcedureState.published
) -> Procedure:
    n = next(_counter)
    item = Procedure(
        administration=administration_, slug=f"procedure-{n}", title=f"Procédure {n}", state=state
    )
    revision = ProcedureRevision(procedure=item, number=1, state=RevisionState.published)
    item.published_revision = revision
    item.groups.append(
        InstructorGroup(name="Groupe par défaut", is_default=True, members=list(agents))
    )
    db.session.add(item)
    db.session.commit()
    return item


def dossier(
    procedure_: Procedure,
    owner,
    state: DossierState = DossierState.submitted,
    group: InstructorGroup | None = None,
) -> Dossier:
    item = Dossier(
        procedure=procedure_,
        revision=procedure_.published_revision,
        owner=owner,
        state=state,
        group=None if state == DossierState.draft else group or procedure_.groups[0],
    )
    db.session.add(item)
    db.session.commit()
    return item


def invitation(dossier_: Dossier, person, accepted: bool = True) -> Invitation:
    item = Invitation(
        dossier=dossier_,
        email=person.email,
        user=person,
        token_hash=f"{next(_counter):064d}",
        accepted_at=utcnow() if accepted else None,
    )
    db.session.add(item)
    db.session.commit()
    return item


def opinion(dossier_: Dossier, expert, revoked: bool = False) -> Opinion:
    item = Opinion(
        dossier=dossier_,
        expert=expert,
        question="Votre avis ?",
        revoked_at=utcnow() if revoked else None,
    )
    db.session.add(item)
    db.session.commit()
    return item


_hash_cache: list[str] = []


def _password_hash() -> str:
    """Hashed once: scrypt is deliberately slow."""
    if not _hash_cache:
        from werkzeug.security import generate_password_hash

        _hash_cache.append(generate_password_hash(PASSWORD))
    return _hash_cache[0]
