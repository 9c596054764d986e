"""user security: lockout, session generation, two-factor authentication

One row per person who has signed in, failed to, or enrolled a second factor
(``app/models/authentication.py``): when their account is locked until, the generation
that "log out everywhere" bumps, their encrypted TOTP secret, the last time step accepted
and the keyed hashes of their recovery codes.

Revision ID: a7f3c91e2b60
Revises: c5d8e2a41f07
Create Date: 2026-11-29 01:15:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a7f3c91e2b60'
down_revision = 'c5d8e2a41f07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_security',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False),
        sa.Column('totp_secret', sa.String(length=255), nullable=True),
        sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
        sa.Column(
            'recovery_codes',
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['ab_user.id'],
            name=op.f('fk_user_security_user_id_ab_user'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_security')),
    )


def downgrade():
    op.drop_table('user_security')
