"""message read and notification: unread markers and grouped notification mails

Two tables of the messaging plugin (docs/decisions/0008-message-notifications.md):
``message_read`` keeps when a person last opened a dossier's thread; a
``message_notification`` row marks a message whose recipients are not emailed yet.

Revision ID: dfda8e0ad3d1
Revises: 827de97143c5
Create Date: 2026-11-28 22:51:41.721018

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dfda8e0ad3d1'
down_revision = '827de97143c5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_read',
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_message_read_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_message_read_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_id', 'user_id', name=op.f('pk_message_read'))
    )
    with op.batch_alter_table('message_read', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_read_user_id'), ['user_id'], unique=False)

    op.create_table('message_notification',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_message_notification_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_notification_message_id_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_message_notification'))
    )
    with op.batch_alter_table('message_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_notification_dossier_id'), ['dossier_id'], unique=False)


def downgrade():
    with op.batch_alter_table('message_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_notification_dossier_id'))

    op.drop_table('message_notification')
    with op.batch_alter_table('message_read', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_read_user_id'))

    op.drop_table('message_read')
