"""audit log append only

``audit_event`` becomes append-only on PostgreSQL: a trigger refuses every UPDATE and
DELETE (``app/services/audit.py`` writes the hash chain, ``guichet audit verify`` checks
it). Its foreign keys to ``ab_user`` and ``procedure`` go: their ``ON DELETE SET NULL``
would rewrite entries (and the trigger would then refuse to delete a user or a test
procedure); the log outlives what it mentions. The journals read newest first by id
within a procedure or an action: the procedure index moves from ``at`` to ``id`` and an
action index is added.

Revision ID: c5d8e2a41f07
Revises: 94035f57e83e
Create Date: 2026-11-28 23:09:41.167004

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c5d8e2a41f07'
down_revision = '94035f57e83e'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING HINT = 'The audit log is never changed; see docs/security.md.';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_event_append_only
BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
"""


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_procedure'))
        batch_op.create_index('ix_audit_event_procedure', ['procedure_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_event_action', ['action', 'id'], unique=False)
        batch_op.drop_constraint(batch_op.f('fk_audit_event_procedure_id_procedure'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_audit_event_actor_id_ab_user'), type_='foreignkey')

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_event_append_only ON audit_event')
        op.execute('DROP FUNCTION audit_event_append_only()')
    # The foreign keys come back only if every reference is valid: references to deleted
    # users and procedures are cleared first (as ON DELETE SET NULL would have done).
    op.execute(
        'UPDATE audit_event SET actor_id = NULL WHERE actor_id IS NOT NULL '
        'AND actor_id NOT IN (SELECT id FROM ab_user)'
    )
    op.execute(
        'UPDATE audit_event SET procedure_id = NULL WHERE procedure_id IS NOT NULL '
        'AND procedure_id NOT IN (SELECT id FROM procedure)'
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_audit_event_actor_id_ab_user'), 'ab_user', ['actor_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_audit_event_procedure_id_procedure'), 'procedure', ['procedure_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_index('ix_audit_event_action')
        batch_op.drop_index('ix_audit_event_procedure')
        batch_op.create_index(batch_op.f('ix_audit_event_procedure'), ['procedure_id', 'at'], unique=False)
