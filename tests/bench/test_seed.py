"""``bench/seed.py`` at a tiny size (2,000 dossiers, 10 procedures) on the test database.

The benchmark data set is only worth something if it looks like what the application
writes: these tests load it into the suite's PostgreSQL database (through the ``app``
fixture, which empties the tables afterwards) and check its shape — counts, the 20 % skew,
every state and field type, consistent timestamps and histories, answers the field types
accept unchanged, search documents identical to the application's own — and that the load
leaves the schema exactly as it found it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from app.extensions import db
from app.fields import registry
from app.fields.base import CleanContext, field_specs
from app.models import DossierState
from app.services import search
from bench.seed import STATISTICS_PREFIX, Options, SeedError, run
from bench.seed_data import LARGEST_SHARE, value_types

pytestmark = pytest.mark.skipif(
    not os.environ.get("GUICHET_TEST_DATABASE_URL"),
    reason="bench.seed loads PostgreSQL only (COPY, tsvector): set GUICHET_TEST_DATABASE_URL",
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OPTIONS = Options(
    dossiers=2_000,
    procedures=10,
    agents=40,
    administrations=15,
    check_every=1,  # every search text compared with document_text during the load
    now=NOW,
)


def _load(app, **changes) -> object:
    options = Options(**{**OPTIONS.__dict__, **changes})
    return run(app.config["SQLALCHEMY_DATABASE_URI"], options, out=lambda line: None)


def _rows(statement: str, **params) -> list:
    return db.session.execute(sa.text(statement), params).all()


def _scalar(statement: str, **params):
    return db.session.execute(sa.text(statement), params).scalar()


def _schema() -> set[tuple[str, ...]]:
    """Every index and constraint of the public schema, with its definition."""
    indexes = _rows(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    constraints = _rows(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid WHERE c.connamespace = 'public'::regnamespace"
    )
    return {tuple(row) for row in [*indexes, *constraints]}


@pytest.fixture
def database(app):
    """The app's context; the seed's statistics objects are dropped afterwards (the
    ``app`` fixture empties the tables)."""
    with app.app_context():
        try:
            yield app
        finally:
            db.session.rollback()
            for (name,) in _rows(
                "SELECT stxname FROM pg_statistic_ext WHERE stxname LIKE :prefix",
                prefix=STATISTICS_PREFIX.replace("_", r"\_") + "%",
            ):
                db.session.execute(sa.text(f'DROP STATISTICS "{name}"'))
            db.session.commit()


def test_seed_loads_a_realistic_data_set_and_restores_the_schema(database):
    schema_before = _schema()

    report = _load(database)

    db.session.commit()  # a fresh snapshot after the seed's own connections
    assert _schema() == schema_before
    assert _scalar("SELECT to_regclass('bench_seed_ddl')") is None
    assert _scalar("SELECT to_regclass('bench_seed_search_text')") is None

    counts = dict(_rows("SELECT 'dossier', count(*) FROM dossier"))
    assert counts["dossier"] == OPTIONS.dossiers == report.counts["dossier"]
    assert report.counts["procedure"] == OPTIONS.procedures
    for table in ("state_transition", "message", "follow", "dossier_label", "label"):
        assert report.counts[table] > 0, table
    assert report.database_size > 0
    # The follower counts the load wrote are those the triggers, enabled again, keep.
    assert (
        _scalar(
            "SELECT count(*) FROM dossier d WHERE d.follower_count <> "
            "(SELECT count(*) FROM follow f WHERE f.dossier_id = d.id)"
        )
        == 0
    )
    assert _scalar("SELECT count(*) FROM dossier WHERE follower_count > 0") > 0
    # The tab counters' tallies are the dossiers' own counts, and their triggers are on.
    tallied = _rows(
        "SELECT procedure_id, group_id, state, archived, hidden, followed, sum(n) "
        "FROM dossier_tally GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
    )
    assert [tuple(row) for row in tallied] == [
        tuple(row)
        for row in _rows(
            "SELECT procedure_id, group_id, state, archived, "
            "hidden_by_administration_at IS NOT NULL, follower_count > 0, count(*) "
            "FROM dossier WHERE state <> 'draft' GROUP BY 1, 2, 3, 4, 5, 6 "
            "ORDER BY 1, 2, 3, 4, 5, 6"
        )
    ]
    assert (
        _scalar(
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'dossier_tally%' AND tgenabled = 'O'"
        )
        == 2
    )
    assert _scalar("SELECT tgenabled FROM pg_trigger WHERE tgname = 'follow_counts_dossier'") == "O"

    # The skew: the largest procedure holds exactly 20 % and one field of each type.
    per_procedure = _rows(
        "SELECT procedure_id, count(*) FROM dossier GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    largest, size = per_procedure[0]
    assert size == OPTIONS.dossiers * LARGEST_SHARE
    assert per_procedure[1][1] < size
    largest_types = [
        row.type
        for row in _rows(
            "SELECT f.type FROM field_definition f JOIN procedure p "
            "ON p.published_revision_id = f.revision_id WHERE p.id = :id "
            "AND f.parent_id IS NULL AND NOT f.private",
            id=largest,
        )
        if registry.get(row.type).has_value
    ]
    assert sorted(largest_types) == sorted(value_types())
    assert len(largest_types) == 25

    # Every field type, every state.
    assert {row.type for row in _rows("SELECT DISTINCT type FROM field_definition")} == (
        registry.names()
    )
    states = dict(_rows("SELECT state, count(*) FROM dossier GROUP BY state"))
    assert set(states) == {state.value for state in DossierState}
    assert _scalar("SELECT count(*) FROM dossier WHERE archived") > 0
    assert _scalar("SELECT count(*) FROM dossier WHERE annotations <> '{}'") > 0

    _check_timestamps()
    _check_answers()
    _check_search_documents(report)

    # Sequences continue after the loaded ids; statistics exist and were analysed;
    # COPY FREEZE left the dossier pages all-visible (index-only scans work at once).
    assert _scalar("SELECT nextval('dossier_id_seq')") == OPTIONS.dossiers + 1
    assert _scalar("SELECT nextval('state_transition_id_seq')") == (
        report.counts["state_transition"] + 1
    )
    assert report.statistics > 0
    assert _scalar("SELECT count(*) FROM pg_stats_ext_exprs WHERE tablename = 'dossier'") > 0
    pages, visible = _rows(
        "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'dossier'"
    )[0]
    assert pages > 0 and visible == pages


def _check_timestamps() -> None:
    """Dates in the order the workflow writes them; histories that end in the state."""
    problems = _scalar(
        """
        SELECT count(*) FROM dossier d WHERE NOT (
            d.created_at <= d.updated_at AND d.updated_at <= :now
            AND (d.state = 'draft') = (d.submitted_at IS NULL)
            AND (d.state = 'draft') = (d.expires_at IS NOT NULL)
            AND (d.submitted_at IS NULL OR d.submitted_at BETWEEN d.created_at AND d.updated_at)
            AND (d.review_started_at IS NULL OR d.review_started_at >= d.submitted_at)
            AND (d.state IN ('accepted', 'refused', 'closed_without_action'))
                = (d.decided_at IS NOT NULL)
            AND (d.decided_at IS NULL OR d.decided_at BETWEEN d.review_started_at AND d.updated_at)
            AND (NOT d.archived OR d.decided_at IS NOT NULL)
            AND (d.state = 'refused') <= (d.motivation IS NOT NULL)
        )
        """,
        now=NOW,
    )
    assert problems == 0
    histories = _scalar(
        """
        SELECT count(*) FROM dossier d
        LEFT JOIN LATERAL (
            SELECT count(*) AS steps, max(t.at) AS last_at, min(t.at) AS first_at,
                   (array_agg(t.to_state ORDER BY t.at DESC, t.id DESC))[1] AS last_state
            FROM state_transition t WHERE t.dossier_id = d.id
        ) h ON true
        WHERE d.version <> h.steps + 1
           OR (h.steps > 0 AND (h.last_state <> d.state OR h.first_at <> d.submitted_at
                                OR h.last_at > d.updated_at))
        """
    )
    assert histories == 0
    messages = _scalar(
        "SELECT count(*) FROM message m JOIN dossier d ON d.id = m.dossier_id "
        "WHERE m.created_at < d.submitted_at OR m.created_at > :now OR d.state = 'draft'",
        now=NOW,
    )
    assert messages == 0


def _check_answers() -> None:
    """Every answer and annotation is what its field type stores: ``clean`` keeps it."""
    definitions: dict[int, list[dict]] = {}
    rows = _rows(
        "SELECT id, revision_id, stable_id, type, label, private, options, parent_id, "
        "position FROM field_definition ORDER BY revision_id, private, position, id"
    )
    stable_ids = {row.id: row.stable_id for row in rows}
    for row in rows:
        definition = {**row._mapping, "parent": stable_ids.get(row.parent_id)}
        definitions.setdefault(row.revision_id, []).append(definition)
        assert registry.get(row.type).validate_options(row.options) == row.options
    specs = {
        revision: {spec.stable_id: spec for spec in field_specs(found)}
        for revision, found in definitions.items()
    }
    context = CleanContext(dossier_exists=lambda number: number <= OPTIONS.dossiers)
    checked = 0
    with force_locale("fr"):
        for dossier in _rows("SELECT revision_id, answers, annotations FROM dossier"):
            for values in (dossier.answers, dossier.annotations):
                for stable_id, value in values.items():
                    spec = specs[dossier.revision_id][stable_id]
                    assert registry.get(spec.type).clean(value, spec, context) == value, (
                        spec.type,
                        value,
                    )
                    checked += 1
    assert checked > OPTIONS.dossiers * 10


def _check_search_documents(report) -> None:
    """One document per submitted dossier, the very one the application would write:
    re-indexing everything with ``search.rebuild`` changes nothing."""
    submitted = _scalar("SELECT count(*) FROM dossier WHERE state <> 'draft'")
    assert _scalar("SELECT count(*) FROM dossier_search") == submitted
    assert report.texts_checked == submitted and not report.texts_exact
    query = "SELECT dossier_id, procedure_id, document::text FROM dossier_search ORDER BY 1"
    loaded = _rows(query)
    db.session.commit()
    assert search.rebuild() == submitted
    assert _rows(query) == loaded
    found = _scalar(
        "SELECT count(*) FROM dossier_search "
        "WHERE document @@ websearch_to_tsquery('guichet_fr', 'Dupont OR Martin OR Bernard')"
    )
    assert found > 0


def test_seed_refuses_a_filled_database_and_reloads_the_same_data_with_force(database):
    _load(database, dossiers=300, procedures=6)
    fingerprint = "SELECT md5(string_agg(answers::text || state, ',' ORDER BY id)) FROM dossier"
    first = _scalar(fingerprint)
    db.session.commit()

    with pytest.raises(SeedError, match="--force"):
        _load(database, dossiers=300, procedures=6)

    report = _load(database, dossiers=300, procedures=6, force=True)
    db.session.commit()
    assert report.counts["dossier"] == 300
    assert _scalar(fingerprint) == first  # same seed, same "now": the same data
