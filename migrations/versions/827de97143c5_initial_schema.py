"""initial schema

Revision ID: 827de97143c5
Revises: 
Create Date: 2026-11-28 21:59:20.673933

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '827de97143c5'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ab_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=150), nullable=True),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_permission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_register_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=64), nullable=False),
    sa.Column('last_name', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('password', sa.String(length=256), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('registration_date', sa.DateTime(), nullable=True),
    sa.Column('registration_hash', sa.String(length=256), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    sa.UniqueConstraint('username')
    )
    op.create_table('ab_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('ab_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=64), nullable=False),
    sa.Column('last_name', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('password', sa.String(length=256), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('last_login', sa.DateTime(), nullable=True),
    sa.Column('login_count', sa.Integer(), nullable=True),
    sa.Column('fail_login_count', sa.Integer(), nullable=True),
    sa.Column('created_on', sa.DateTime(), nullable=True),
    sa.Column('changed_on', sa.DateTime(), nullable=True),
    sa.Column('created_by_fk', sa.Integer(), nullable=True),
    sa.Column('changed_by_fk', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_fk'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_fk'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email'),
    sa.UniqueConstraint('username')
    )
    op.create_table('ab_view_menu',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('administration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('ministry', 'deconcentrated_service', 'local_authority', 'public_establishment', 'other', name='administrationkind', native_enum=False, length=32), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('contact_email', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['administration.id'], name=op.f('fk_administration_parent_id_administration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_administration')),
    sa.UniqueConstraint('slug', name=op.f('uq_administration_slug'))
    )
    op.create_table('outbox_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_event')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_event_key'))
    )
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_event_pending', ['available_at'], unique=False, postgresql_where=sa.text('dispatched_at IS NULL'), sqlite_where=sa.text('dispatched_at IS NULL'))

    op.create_table('ab_api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('key_hash', sa.String(length=256), nullable=False),
    sa.Column('lookup_hash', sa.String(length=256), nullable=True),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_on', sa.DateTime(), nullable=True),
    sa.Column('expires_on', sa.DateTime(), nullable=True),
    sa.Column('revoked_on', sa.DateTime(), nullable=True),
    sa.Column('last_used_on', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lookup_hash'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('ab_api_key', schema=None) as batch_op:
        batch_op.create_index('idx_api_key_lookup_hash', ['lookup_hash'], unique=True)
        batch_op.create_index('idx_api_key_prefix', ['key_prefix'], unique=False)
        batch_op.create_index('idx_api_key_user_id', ['user_id'], unique=False)

    op.create_table('ab_group_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['ab_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'role_id')
    )
    with op.batch_alter_table('ab_group_role', schema=None) as batch_op:
        batch_op.create_index('idx_group_id', ['group_id'], unique=False)
        batch_op.create_index('idx_group_role_id', ['role_id'], unique=False)

    op.create_table('ab_permission_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('permission_id', sa.Integer(), nullable=False),
    sa.Column('view_menu_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['permission_id'], ['ab_permission.id'], ),
    sa.ForeignKeyConstraint(['view_menu_id'], ['ab_view_menu.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('permission_id', 'view_menu_id')
    )
    with op.batch_alter_table('ab_permission_view', schema=None) as batch_op:
        batch_op.create_index('idx_permission_id', ['permission_id'], unique=False)
        batch_op.create_index('idx_view_menu_id', ['view_menu_id'], unique=False)

    op.create_table('ab_user_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['ab_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'group_id')
    )
    with op.batch_alter_table('ab_user_group', schema=None) as batch_op:
        batch_op.create_index('idx_user_group_id', ['group_id'], unique=False)
        batch_op.create_index('idx_user_id', ['user_id'], unique=False)

    op.create_table('ab_user_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'role_id')
    )
    op.create_table('administration_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('administration_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['administration_id'], ['administration.id'], name=op.f('fk_administration_member_administration_id_administration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_administration_member_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_administration_member')),
    sa.UniqueConstraint('administration_id', 'user_id', name=op.f('uq_administration_member_administration_id_user_id'))
    )
    with op.batch_alter_table('administration_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_administration_member_user_id'), ['user_id'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('administration_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('ip_allowlist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expiry_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_ip', sa.String(length=45), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['administration_id'], ['administration.id'], name=op.f('fk_api_token_administration_id_administration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['ab_user.id'], name=op.f('fk_api_token_owner_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_owner_id'), ['owner_id'], unique=False)

    op.create_table('procedure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('administration_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('audience', sa.Text(), nullable=True),
    sa.Column('documents_to_prepare', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('service_name', sa.String(length=255), nullable=True),
    sa.Column('service_email', sa.String(length=255), nullable=True),
    sa.Column('service_phone', sa.String(length=40), nullable=True),
    sa.Column('service_address', sa.Text(), nullable=True),
    sa.Column('service_hours', sa.String(length=255), nullable=True),
    sa.Column('logo_id', sa.Integer(), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'published', 'closed', 'unpublished', name='procedurestate', native_enum=False, length=32), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.Text(), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('test_token', sa.String(length=64), nullable=True),
    sa.Column('retention_months', sa.Integer(), nullable=False),
    sa.Column('draft_retention_days', sa.Integer(), nullable=False),
    sa.Column('declarative_mode', sa.Enum('none', 'in_review', 'accepted', name='declarativemode', native_enum=False, length=32), nullable=False),
    sa.Column('filer_kind', sa.Enum('person', 'company', name='filerkind', native_enum=False, length=32), nullable=False),
    sa.Column('allow_on_behalf', sa.Boolean(), nullable=False),
    sa.Column('hide_agent_identity', sa.Boolean(), nullable=False),
    sa.Column('experts_can_message', sa.Boolean(), nullable=False),
    sa.Column('sections_as_steps', sa.Boolean(), nullable=False),
    sa.Column('published_revision_id', sa.Integer(), nullable=True),
    sa.Column('draft_revision_id', sa.Integer(), nullable=True),
    sa.Column('cloned_from_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('retention_months BETWEEN 1 AND 60', name=op.f('ck_procedure_retention_months')),
    sa.ForeignKeyConstraint(['administration_id'], ['administration.id'], name=op.f('fk_procedure_administration_id_administration')),
    sa.ForeignKeyConstraint(['cloned_from_id'], ['procedure.id'], name=op.f('fk_procedure_cloned_from_id_procedure')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['procedure.id'], name=op.f('fk_procedure_replaced_by_id_procedure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure')),
    sa.UniqueConstraint('slug', name=op.f('uq_procedure_slug')),
    sa.UniqueConstraint('test_token', name=op.f('uq_procedure_test_token'))
    )
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_administration_id'), ['administration_id'], unique=False)
        batch_op.create_index('ix_procedure_state_deadline', ['state', 'deadline_at'], unique=False)

    op.create_table('ab_permission_view_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('permission_view_id', sa.Integer(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['permission_view_id'], ['ab_permission_view.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['ab_role.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('permission_view_id', 'role_id')
    )
    with op.batch_alter_table('ab_permission_view_role', schema=None) as batch_op:
        batch_op.create_index('idx_permission_view_id', ['permission_view_id'], unique=False)
        batch_op.create_index('idx_role_id', ['role_id'], unique=False)

    op.create_table('api_token_procedure',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_api_token_procedure_procedure_id_procedure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_api_token_procedure_token_id_api_token'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', 'procedure_id', name=op.f('pk_api_token_procedure'))
    )
    op.create_table('attestation_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('footer', sa.Text(), nullable=True),
    sa.Column('signature_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_attestation_template_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestation_template')),
    sa.UniqueConstraint('procedure_id', name=op.f('uq_attestation_template_procedure_id'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_ip', sa.String(length=45), nullable=True),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.String(length=40), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['ab_user.id'], name=op.f('fk_audit_event_actor_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_audit_event_procedure_id_procedure'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_event_hash'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index('ix_audit_event_procedure', ['procedure_id', 'at'], unique=False)

    op.create_table('batch_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('dossier_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.Enum('pending', 'running', 'done', 'failed', name='jobstate', native_enum=False, length=32), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_batch_job_procedure_id_procedure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['ab_user.id'], name=op.f('fk_batch_job_requested_by_id_ab_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_job'))
    )
    with op.batch_alter_table('batch_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_job_requested_by_id'), ['requested_by_id'], unique=False)

    op.create_table('dossier_tombstone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'submitted', 'in_review', 'accepted', 'refused', 'closed_without_action', name='dossierstate', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_dossier_tombstone_procedure_id_procedure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_tombstone')),
    sa.UniqueConstraint('number', name=op.f('uq_dossier_tombstone_number'))
    )
    with op.batch_alter_table('dossier_tombstone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_tombstone_procedure_id'), ['procedure_id'], unique=False)

    op.create_table('instructor_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('routing_rule', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_instructor_group_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instructor_group')),
    sa.UniqueConstraint('procedure_id', 'name', name=op.f('uq_instructor_group_procedure_id_name'))
    )
    with op.batch_alter_table('instructor_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instructor_group_procedure_id'), ['procedure_id'], unique=False)

    op.create_table('label',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('color', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_label_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label')),
    sa.UniqueConstraint('procedure_id', 'name', name=op.f('uq_label_procedure_id_name'))
    )
    op.create_table('mail_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.Enum('submitted', 'review_started', 'accepted', 'refused', 'closed_without_action', 'reopened', 'new_message', 'correction_requested', 'expiry_warning', name='mailevent', native_enum=False, length=32), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_mail_template_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_template')),
    sa.UniqueConstraint('procedure_id', 'event', name=op.f('uq_mail_template_procedure_id_event'))
    )
    op.create_table('notification_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('daily_digest', sa.Boolean(), nullable=False),
    sa.Column('on_new_dossier', sa.Boolean(), nullable=False),
    sa.Column('on_new_message', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_notification_preference_procedure_id_procedure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_notification_preference_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preference')),
    sa.UniqueConstraint('user_id', 'procedure_id', name=op.f('uq_notification_preference_user_id_procedure_id'))
    )
    op.create_table('procedure_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'published', 'superseded', name='revisionstate', native_enum=False, length=32), nullable=False),
    sa.Column('eligibility_rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_procedure_revision_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_revision')),
    sa.UniqueConstraint('procedure_id', 'number', name=op.f('uq_procedure_revision_procedure_id_number'))
    )
    op.create_table('saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('filters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sort', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tab', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_saved_view_procedure_id_procedure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_saved_view_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_view')),
    sa.UniqueConstraint('user_id', 'procedure_id', name=op.f('uq_saved_view_user_id_procedure_id'))
    )
    op.create_table('webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], name=op.f('fk_webhook_created_by_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_webhook_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook'))
    )
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_procedure_id'), ['procedure_id'], unique=False)

    op.create_table('dossier',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'submitted', 'in_review', 'accepted', 'refused', 'closed_without_action', name='dossierstate', native_enum=False, length=32), nullable=False),
    sa.Column('identity', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('on_behalf_of', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('annotations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('applicant_modified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('motivation', sa.Text(), nullable=True),
    sa.Column('justification_id', sa.Integer(), nullable=True),
    sa.Column('attestation_id', sa.Integer(), nullable=True),
    sa.Column('hidden_by_applicant_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_administration_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expiry_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retention_extensions', sa.Integer(), nullable=False),
    sa.Column('prefill_token_hash', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['instructor_group.id'], name=op.f('fk_dossier_group_id_instructor_group')),
    sa.ForeignKeyConstraint(['owner_id'], ['ab_user.id'], name=op.f('fk_dossier_owner_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_dossier_procedure_id_procedure')),
    sa.ForeignKeyConstraint(['revision_id'], ['procedure_revision.id'], name=op.f('fk_dossier_revision_id_procedure_revision')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier')),
    sa.UniqueConstraint('prefill_token_hash', name=op.f('uq_dossier_prefill_token_hash'))
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_expires_at', ['expires_at'], unique=False, postgresql_where=sa.text('expires_at IS NOT NULL'), sqlite_where=sa.text('expires_at IS NOT NULL'))
        batch_op.create_index('ix_dossier_group_table', ['group_id', 'archived', sa.literal_column('updated_at DESC'), sa.literal_column('id DESC')], unique=False)
        batch_op.create_index('ix_dossier_owner', ['owner_id', sa.literal_column('updated_at DESC')], unique=False)
        batch_op.create_index('ix_dossier_procedure_counters', ['procedure_id', 'group_id', 'state', 'archived'], unique=False)
        batch_op.create_index('ix_dossier_procedure_submitted', ['procedure_id', 'submitted_at'], unique=False)
        batch_op.create_index('ix_dossier_procedure_table', ['procedure_id', 'archived', sa.literal_column('updated_at DESC'), sa.literal_column('id DESC')], unique=False)

    op.create_table('field_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('stable_id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('help', sa.Text(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('condition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['field_definition.id'], name=op.f('fk_field_definition_parent_id_field_definition'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revision_id'], ['procedure_revision.id'], name=op.f('fk_field_definition_revision_id_procedure_revision'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_definition')),
    sa.UniqueConstraint('revision_id', 'stable_id', name=op.f('uq_field_definition_revision_id_stable_id'))
    )
    with op.batch_alter_table('field_definition', schema=None) as batch_op:
        batch_op.create_index('ix_field_definition_revision_position', ['revision_id', 'private', 'position'], unique=False)

    op.create_table('instructor_group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['instructor_group.id'], name=op.f('fk_instructor_group_member_group_id_instructor_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_instructor_group_member_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_instructor_group_member'))
    )
    with op.batch_alter_table('instructor_group_member', schema=None) as batch_op:
        batch_op.create_index('ix_instructor_group_member_user', ['user_id', 'group_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], name=op.f('fk_webhook_delivery_webhook_id_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('webhook_id', 'event_id', name=op.f('uq_webhook_delivery_webhook_id_event_id'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_webhook', ['webhook_id', 'created_at'], unique=False)

    op.create_table('dossier_label',
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_label_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['label_id'], ['label.id'], name=op.f('fk_dossier_label_label_id_label'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_id', 'label_id', name=op.f('pk_dossier_label'))
    )
    with op.batch_alter_table('dossier_label', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_label_label', ['label_id', 'dossier_id'], unique=False)

    op.create_table('dossier_search',
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_search_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_dossier_search_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_id', name=op.f('pk_dossier_search'))
    )
    with op.batch_alter_table('dossier_search', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_search_procedure', ['procedure_id'], unique=False)

    op.create_table('follow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('messages_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_follow_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_follow_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow')),
    sa.UniqueConstraint('dossier_id', 'user_id', name=op.f('uq_follow_dossier_id_user_id'))
    )
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.create_index('ix_follow_user_dossier', ['user_id', 'dossier_id'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_invitation_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['ab_user.id'], name=op.f('fk_invitation_invited_by_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name=op.f('fk_invitation_user_id_ab_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('dossier_id', 'email', name=op.f('uq_invitation_dossier_id_email')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_user_id'), ['user_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_kind', sa.Enum('applicant', 'agent', 'expert', 'system', name='authorkind', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correction_reason', sa.Enum('incorrect', 'incomplete', 'outdated', name='correctionreason', native_enum=False, length=32), nullable=True),
    sa.Column('correction_resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['ab_user.id'], name=op.f('fk_message_author_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_message_dossier_id_dossier'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_dossier_created', ['dossier_id', 'created_at'], unique=False)
        batch_op.create_index('ix_message_pending_correction', ['dossier_id'], unique=False, postgresql_where=sa.text('correction_reason IS NOT NULL AND correction_resolved_at IS NULL'), sqlite_where=sa.text('correction_reason IS NOT NULL AND correction_resolved_at IS NULL'))

    op.create_table('opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('question_attachment_id', sa.Integer(), nullable=True),
    sa.Column('asks_yes_no', sa.Boolean(), nullable=False),
    sa.Column('confidential', sa.Boolean(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answer_yes_no', sa.Boolean(), nullable=True),
    sa.Column('answer_attachment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_opinion_dossier_id_dossier'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expert_id'], ['ab_user.id'], name=op.f('fk_opinion_expert_id_ab_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['ab_user.id'], name=op.f('fk_opinion_requested_by_id_ab_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opinion'))
    )
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opinion_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index('ix_opinion_expert', ['expert_id', 'dossier_id'], unique=False)

    op.create_table('satisfaction_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('satisfied', 'neutral', 'dissatisfied', name='satisfactionlevel', native_enum=False, length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_satisfaction_answer_dossier_id_dossier'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_satisfaction_answer_procedure_id_procedure'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_answer')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_satisfaction_answer_dossier_id'))
    )
    with op.batch_alter_table('satisfaction_answer', schema=None) as batch_op:
        batch_op.create_index('ix_satisfaction_answer_procedure', ['procedure_id', 'created_at'], unique=False)

    op.create_table('state_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_state', sa.Enum('draft', 'submitted', 'in_review', 'accepted', 'refused', 'closed_without_action', name='dossierstate', native_enum=False, length=32), nullable=True),
    sa.Column('to_state', sa.Enum('draft', 'submitted', 'in_review', 'accepted', 'refused', 'closed_without_action', name='dossierstate', native_enum=False, length=32), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('motivation', sa.Text(), nullable=True),
    sa.Column('justification_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['ab_user.id'], name=op.f('fk_state_transition_actor_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_state_transition_dossier_id_dossier'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_transition'))
    )
    with op.batch_alter_table('state_transition', schema=None) as batch_op:
        batch_op.create_index('ix_state_transition_dossier', ['dossier_id', 'at'], unique=False)
        batch_op.create_index('ix_state_transition_to_state_at', ['to_state', 'at'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('use', sa.Enum('form_field', 'message', 'justification', 'attestation', 'opinion', 'logo', 'notice', 'export', name='attachmentuse', native_enum=False, length=32), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('declared_type', sa.String(length=255), nullable=True),
    sa.Column('sniffed_type', sa.String(length=255), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=True),
    sa.Column('scan_status', sa.Enum('pending', 'clean', 'infected', 'error', 'not_scanned', name='scanstatus', native_enum=False, length=32), nullable=False),
    sa.Column('scan_detail', sa.String(length=255), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('field_stable_id', sa.String(length=40), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_attachment_dossier_id_dossier'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_attachment_message_id_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_attachment_procedure_id_procedure'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['ab_user.id'], name=op.f('fk_attachment_uploaded_by_id_ab_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_dossier_field', ['dossier_id', 'field_stable_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_attachment_orphans', ['created_at', 'dossier_id'], unique=False)
        batch_op.create_index('ix_attachment_storage_key', ['storage_key'], unique=False)

    op.create_table('export_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.Enum('csv', 'xlsx', 'ods', 'json', 'zip', name='exportformat', native_enum=False, length=32), nullable=False),
    sa.Column('query', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.Enum('pending', 'running', 'done', 'failed', name='jobstate', native_enum=False, length=32), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], name=op.f('fk_export_job_attachment_id_attachment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], name=op.f('fk_export_job_procedure_id_procedure'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['ab_user.id'], name=op.f('fk_export_job_requested_by_id_ab_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job'))
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.create_index('ix_export_job_user', ['requested_by_id', 'created_at'], unique=False)

    # Foreign keys that close a cycle between tables are added once both tables exist.
    with op.batch_alter_table('attestation_template', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_attestation_template_signature_id_attachment'), 'attachment', ['signature_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_dossier_attestation_id_attachment'), 'attachment', ['attestation_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_dossier_justification_id_attachment'), 'attachment', ['justification_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_opinion_answer_attachment_id_attachment'), 'attachment', ['answer_attachment_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_opinion_question_attachment_id_attachment'), 'attachment', ['question_attachment_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_procedure_draft_revision_id_procedure_revision'), 'procedure_revision', ['draft_revision_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_procedure_logo_id_attachment'), 'attachment', ['logo_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_procedure_notice_id_attachment'), 'attachment', ['notice_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_procedure_published_revision_id_procedure_revision'), 'procedure_revision', ['published_revision_id'], ['id'])
    with op.batch_alter_table('state_transition', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_state_transition_justification_id_attachment'), 'attachment', ['justification_id'], ['id'], ondelete='SET NULL')

    if op.get_bind().dialect.name == 'postgresql':
        _create_postgresql_search_objects()


def _create_postgresql_search_objects():
    """Accent-insensitive French full-text search and the JSONB containment index."""
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'guichet_fr') THEN "
        "CREATE TEXT SEARCH CONFIGURATION guichet_fr (COPY = french); "
        "ALTER TEXT SEARCH CONFIGURATION guichet_fr ALTER MAPPING "
        "FOR hword, hword_part, word WITH unaccent, french_stem; "
        "END IF; END $$"
    )
    op.create_index(
        "ix_dossier_answers_gin",
        "dossier",
        ["answers"],
        postgresql_using="gin",
        postgresql_ops={"answers": "jsonb_path_ops"},
    )
    op.create_index(
        "ix_dossier_search_document", "dossier_search", ["document"], postgresql_using="gin"
    )


def downgrade():
    # Foreign keys that close a cycle go first.
    with op.batch_alter_table('attestation_template', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attestation_template_signature_id_attachment'), type_='foreignkey')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dossier_attestation_id_attachment'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_dossier_justification_id_attachment'), type_='foreignkey')
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_opinion_answer_attachment_id_attachment'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_opinion_question_attachment_id_attachment'), type_='foreignkey')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_procedure_draft_revision_id_procedure_revision'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_procedure_logo_id_attachment'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_procedure_notice_id_attachment'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_procedure_published_revision_id_procedure_revision'), type_='foreignkey')
    with op.batch_alter_table('state_transition', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_state_transition_justification_id_attachment'), type_='foreignkey')
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index('ix_export_job_user')

    op.drop_table('export_job')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_storage_key')
        batch_op.drop_index('ix_attachment_orphans')
        batch_op.drop_index(batch_op.f('ix_attachment_message_id'))
        batch_op.drop_index('ix_attachment_dossier_field')

    op.drop_table('attachment')
    with op.batch_alter_table('state_transition', schema=None) as batch_op:
        batch_op.drop_index('ix_state_transition_to_state_at')
        batch_op.drop_index('ix_state_transition_dossier')

    op.drop_table('state_transition')
    with op.batch_alter_table('satisfaction_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_satisfaction_answer_procedure')

    op.drop_table('satisfaction_answer')
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.drop_index('ix_opinion_expert')
        batch_op.drop_index(batch_op.f('ix_opinion_dossier_id'))

    op.drop_table('opinion')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_pending_correction', postgresql_where=sa.text('correction_reason IS NOT NULL AND correction_resolved_at IS NULL'), sqlite_where=sa.text('correction_reason IS NOT NULL AND correction_resolved_at IS NULL'))
        batch_op.drop_index('ix_message_dossier_created')

    op.drop_table('message')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_user_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_user_dossier')

    op.drop_table('follow')
    with op.batch_alter_table('dossier_search', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_search_procedure')

    op.drop_table('dossier_search')
    with op.batch_alter_table('dossier_label', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_label_label')

    op.drop_table('dossier_label')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_webhook')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('instructor_group_member', schema=None) as batch_op:
        batch_op.drop_index('ix_instructor_group_member_user')

    op.drop_table('instructor_group_member')
    with op.batch_alter_table('field_definition', schema=None) as batch_op:
        batch_op.drop_index('ix_field_definition_revision_position')

    op.drop_table('field_definition')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_procedure_table')
        batch_op.drop_index('ix_dossier_procedure_submitted')
        batch_op.drop_index('ix_dossier_procedure_counters')
        batch_op.drop_index('ix_dossier_owner')
        batch_op.drop_index('ix_dossier_group_table')
        batch_op.drop_index('ix_dossier_expires_at', postgresql_where=sa.text('expires_at IS NOT NULL'), sqlite_where=sa.text('expires_at IS NOT NULL'))

    op.drop_table('dossier')
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_procedure_id'))

    op.drop_table('webhook')
    op.drop_table('saved_view')
    op.drop_table('procedure_revision')
    op.drop_table('notification_preference')
    op.drop_table('mail_template')
    op.drop_table('label')
    with op.batch_alter_table('instructor_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instructor_group_procedure_id'))

    op.drop_table('instructor_group')
    with op.batch_alter_table('dossier_tombstone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_tombstone_procedure_id'))

    op.drop_table('dossier_tombstone')
    with op.batch_alter_table('batch_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_job_requested_by_id'))

    op.drop_table('batch_job')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_procedure')
        batch_op.drop_index('ix_audit_event_object')

    op.drop_table('audit_event')
    op.drop_table('attestation_template')
    op.drop_table('api_token_procedure')
    with op.batch_alter_table('ab_permission_view_role', schema=None) as batch_op:
        batch_op.drop_index('idx_role_id')
        batch_op.drop_index('idx_permission_view_id')

    op.drop_table('ab_permission_view_role')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_index('ix_procedure_state_deadline')
        batch_op.drop_index(batch_op.f('ix_procedure_administration_id'))

    op.drop_table('procedure')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_owner_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('administration_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_administration_member_user_id'))

    op.drop_table('administration_member')
    op.drop_table('ab_user_role')
    with op.batch_alter_table('ab_user_group', schema=None) as batch_op:
        batch_op.drop_index('idx_user_id')
        batch_op.drop_index('idx_user_group_id')

    op.drop_table('ab_user_group')
    with op.batch_alter_table('ab_permission_view', schema=None) as batch_op:
        batch_op.drop_index('idx_view_menu_id')
        batch_op.drop_index('idx_permission_id')

    op.drop_table('ab_permission_view')
    with op.batch_alter_table('ab_group_role', schema=None) as batch_op:
        batch_op.drop_index('idx_group_role_id')
        batch_op.drop_index('idx_group_id')

    op.drop_table('ab_group_role')
    with op.batch_alter_table('ab_api_key', schema=None) as batch_op:
        batch_op.drop_index('idx_api_key_user_id')
        batch_op.drop_index('idx_api_key_prefix')
        batch_op.drop_index('idx_api_key_lookup_hash')

    op.drop_table('ab_api_key')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_event_pending', postgresql_where=sa.text('dispatched_at IS NULL'), sqlite_where=sa.text('dispatched_at IS NULL'))

    op.drop_table('outbox_event')
    op.drop_table('administration')
    op.drop_table('ab_view_menu')
    op.drop_table('ab_user')
    op.drop_table('ab_role')
    op.drop_table('ab_register_user')
    op.drop_table('ab_permission')
    op.drop_table('ab_group')
