"""The seed data set (at a reduced size): consistent, in every state, loaded only once."""

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app.extensions import db
from app.fields.answers import validate_answers
from app.models import (
    DECIDED_STATES,
    Administration,
    AdministrationKind,
    Dossier,
    DossierState,
    FieldDefinition,
    InstructorGroup,
    Message,
    Procedure,
    StateTransition,
    User,
)
from app.services import seed

SIZES = {"administrations": 5, "procedures": 4, "agents": 20, "applicants": 50, "dossiers": 300}

TABLES = [Administration, Procedure, FieldDefinition, InstructorGroup, User, Dossier,
          StateTransition, Message]  # fmt: skip


def counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in TABLES
    }


def test_the_seed_fills_every_state_consistently_and_loads_only_once(app):
    with app.app_context():
        report = seed.load_seed(**SIZES)
        db.session.expire_all()

        assert "300 dossiers" in report and seed.SEED_PASSWORD in report
        loaded = counts()
        assert loaded["administration"] == 5
        assert loaded["procedure"] == 4
        assert loaded["dossier"] == 300
        assert loaded["ab_user"] >= 20 + 50 + 5  # agents, applicants, one administrator each

        dossiers = db.session.scalars(sa.select(Dossier)).all()
        assert {dossier.state for dossier in dossiers} == set(DossierState)
        for dossier in dossiers:
            history = [t.to_state for t in dossier.transitions]
            if dossier.state == DossierState.draft:
                assert not history and dossier.group_id is None
                continue
            assert dossier.submitted_at is not None
            assert history[-1] == dossier.state
            assert dossier.group.procedure_id == dossier.procedure_id
            ats = [t.at for t in dossier.transitions]
            assert ats == sorted(ats) and ats[0] >= dossier.created_at
            if dossier.state in DECIDED_STATES:
                assert dossier.decided_at is not None
            if dossier.state == DossierState.refused:
                assert dossier.motivation
            assert set(dossier.answers) <= {field.stable_id for field in dossier.revision.fields}
            # what the seed made is what the form would have accepted (phones included)
            assert validate_answers(dossier.revision.fields, dossier.answers)[1] == {}

        # Absent JSON documents are SQL NULL (not the JSON text "null"), so IS NULL finds them.
        no_beneficiary = sa.select(sa.func.count()).where(Dossier.on_behalf_of.is_(None))
        assert db.session.scalar(no_beneficiary) == 300

        procedure = db.session.scalars(sa.select(Procedure)).first()
        assert procedure.published_revision is not None
        assert 10 <= len(procedure.published_revision.fields) <= 25
        assert sum(group.is_default for group in procedure.groups) == 1
        assert all(group.members for group in procedure.groups)

        agent = db.session.scalar(sa.select(User).where(User.email.like("%@agents.seed.example")))
        assert [role.name for role in agent.roles] == ["Agent"]
        assert check_password_hash(agent.password, seed.SEED_PASSWORD)

        again = seed.load_seed(**SIZES)
        assert "already loaded" in again
        assert counts() == loaded

        # Ids were handed out by the seed: the ORM must still be able to add rows after it.
        db.session.add(
            Administration(name="Après le seed", slug="apres-seed", kind=AdministrationKind.other)
        )
        db.session.commit()
