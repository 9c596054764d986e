"""batch jobs and daily digest

A batch job's request key (a double click makes one job), heartbeat, runs and error; when
the daily digest last covered an agent's procedure.

Revision ID: b7a4c91e2d30
Revises: a7f3c91e2b60
Create Date: 2026-11-29 01:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7a4c91e2d30'
down_revision = "a7f3c91e2b60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('batch_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_batch_job_request_key'), ['request_key'])

    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.drop_column('digest_sent_at')

    with op.batch_alter_table('batch_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_batch_job_request_key'), type_='unique')
        batch_op.drop_column('error')
        batch_op.drop_column('attempts')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('request_key')
