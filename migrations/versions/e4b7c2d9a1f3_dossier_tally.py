"""dossier tally: the tab counters' tallies, kept by triggers

Reading 112,000 index entries to count an agent's tabs costs 60 to 90 ms whatever the
index; the tallies let the counters sum a few rows. Triggers on ``dossier`` insert a +1 /
-1 row whenever a non-draft dossier appears, disappears or changes procedure, group,
state, archived, deleted or followed; ``tables.compact_tallies`` sums them. The "expiring"
counter gets an index of a procedure's dossiers by end of retention.

Revision ID: e4b7c2d9a1f3
Revises: c3e8f1a9d4b2
Create Date: 2026-11-29 05:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4b7c2d9a1f3'
down_revision = "c3e8f1a9d4b2"
branch_labels = None
depends_on = None

COLUMNS = "procedure_id, group_id, state, archived, hidden, followed, n"
KEY = (
    "{row}.procedure_id, {row}.group_id, {row}.state, {row}.archived, "
    "{row}.hidden_by_administration_at IS NOT NULL, {row}.follower_count > 0"
)
OLD, NEW = KEY.format(row="OLD"), KEY.format(row="NEW")

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION dossier_tally() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.state <> 'draft' THEN
            INSERT INTO dossier_tally ({COLUMNS}) VALUES ({OLD}, -1);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.state <> 'draft' THEN
            INSERT INTO dossier_tally ({COLUMNS}) VALUES ({NEW}, 1);
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER dossier_tally_insert_delete AFTER INSERT OR DELETE ON dossier "
    "FOR EACH ROW EXECUTE FUNCTION dossier_tally()",
    f"CREATE TRIGGER dossier_tally_update AFTER UPDATE ON dossier FOR EACH ROW "
    f"WHEN (({OLD}) IS DISTINCT FROM ({NEW})) EXECUTE FUNCTION dossier_tally()",
)
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER dossier_tally_insert AFTER INSERT ON dossier "
    f"WHEN NEW.state <> 'draft' BEGIN "
    f"INSERT INTO dossier_tally ({COLUMNS}) VALUES ({NEW}, 1); END",
    f"CREATE TRIGGER dossier_tally_delete AFTER DELETE ON dossier "
    f"WHEN OLD.state <> 'draft' BEGIN "
    f"INSERT INTO dossier_tally ({COLUMNS}) VALUES ({OLD}, -1); END",
    f"CREATE TRIGGER dossier_tally_update AFTER UPDATE ON dossier "
    f"WHEN ({OLD}) IS NOT ({NEW}) BEGIN "
    f"INSERT INTO dossier_tally ({COLUMNS}) SELECT {OLD}, -1 WHERE OLD.state <> 'draft'; "
    f"INSERT INTO dossier_tally ({COLUMNS}) SELECT {NEW}, 1 WHERE NEW.state <> 'draft'; END",
)


def upgrade():
    op.create_table(
        'dossier_tally',
        sa.Column(
            'id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        ),
        sa.Column('procedure_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.Enum(
            'draft', 'submitted', 'in_review', 'accepted', 'refused', 'closed_without_action',
            name='dossierstate', native_enum=False, create_constraint=False, length=32,
        ), nullable=False),
        sa.Column('archived', sa.Boolean(), nullable=False),
        sa.Column('hidden', sa.Boolean(), nullable=False),
        sa.Column('followed', sa.Boolean(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['procedure_id'], ['procedure.id'],
            name=op.f('fk_dossier_tally_procedure_id_procedure'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_tally')),
    )
    op.create_index(
        'ix_dossier_tally_procedure', 'dossier_tally', ['procedure_id', 'group_id'], unique=False
    )
    op.execute(
        f"INSERT INTO dossier_tally ({COLUMNS}) "
        "SELECT procedure_id, group_id, state, archived, "
        "hidden_by_administration_at IS NOT NULL, follower_count > 0, count(*) "
        "FROM dossier WHERE state <> 'draft' GROUP BY 1, 2, 3, 4, 5, 6"
    )
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    # The "expiring" counter reads a procedure's dossiers near their end only.
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index(
            'ix_dossier_procedure_expiry',
            ['procedure_id', 'expires_at'],
            unique=False,
            postgresql_include=['group_id', 'state', 'hidden_by_administration_at'],
            postgresql_where=sa.text('expires_at IS NOT NULL'),
            sqlite_where=sa.text('expires_at IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_dossier_procedure_expiry',
            postgresql_where=sa.text('expires_at IS NOT NULL'),
            sqlite_where=sa.text('expires_at IS NOT NULL'),
        )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS dossier_tally_update ON dossier")
        op.execute("DROP TRIGGER IF EXISTS dossier_tally_insert_delete ON dossier")
        op.execute("DROP FUNCTION IF EXISTS dossier_tally()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS dossier_tally_{name}")
    op.drop_index('ix_dossier_tally_procedure', table_name='dossier_tally')
    op.drop_table('dossier_tally')
