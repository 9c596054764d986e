"""stats snapshot and support requests

``stats_snapshot`` holds the materialised statistics (one JSON payload per key: ``public``,
``platform``, ``procedure:<id>``), refreshed by the beat task ``guichet.stats.refresh``
(docs/decisions/0009-statistics-snapshot.md). ``support_request`` and ``support_answer``
are the contact form's requests and the platform team's answers; ``first_answered_at``
gives the median time to a first answer shown on ``/stats``.

``ix_dossier_stats`` is the narrow partial index on ``dossier`` through which the
statistics read dossiers (index-only scans). On PostgreSQL it is built CONCURRENTLY, in its
own transaction, so that an existing dossier table keeps taking writes meanwhile.

Revision ID: 94035f57e83e
Revises: dfda8e0ad3d1
Create Date: 2026-11-28 22:56:49.937599

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '94035f57e83e'
down_revision = 'dfda8e0ad3d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_snapshot',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_stats_snapshot'))
    )
    op.create_table('support_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['ab_user.id'], name=op.f('fk_support_request_author_id_ab_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_request'))
    )
    with op.batch_alter_table('support_request', schema=None) as batch_op:
        batch_op.create_index('ix_support_request_author', ['author_id'], unique=False)
        batch_op.create_index('ix_support_request_closed_created', ['closed_at', 'created_at'], unique=False)

    op.create_table('support_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['ab_user.id'], name=op.f('fk_support_answer_author_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['support_request.id'], name=op.f('fk_support_answer_request_id_support_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_answer'))
    )
    with op.batch_alter_table('support_answer', schema=None) as batch_op:
        batch_op.create_index('ix_support_answer_request', ['request_id', 'created_at'], unique=False)

    columns = ['procedure_id', 'submitted_at', 'decided_at', 'state', 'created_at']
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.create_index(
                'ix_dossier_stats', 'dossier', columns, unique=False,
                postgresql_where=sa.text('is_test = false'), postgresql_concurrently=True,
            )
    else:
        op.create_index(
            'ix_dossier_stats', 'dossier', columns, unique=False,
            sqlite_where=sa.text('is_test = 0'),
        )


def downgrade():
    op.drop_index('ix_dossier_stats', table_name='dossier')
    with op.batch_alter_table('support_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_support_answer_request')

    op.drop_table('support_answer')
    with op.batch_alter_table('support_request', schema=None) as batch_op:
        batch_op.drop_index('ix_support_request_closed_created')
        batch_op.drop_index('ix_support_request_author')

    op.drop_table('support_request')
    op.drop_table('stats_snapshot')
