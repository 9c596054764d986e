"""search index by procedure and words

On PostgreSQL, one GIN index on (procedure_id, document) (extension btree_gin) replaces
the words index and the procedure index: a search in a procedure reads its matching
documents only, instead of ANDing the words' list with the procedure's whole list. SQLite
keeps its procedure index.

Revision ID: f6a9d3b8c2e1
Revises: e4b7c2d9a1f3
Create Date: 2026-11-29 05:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f6a9d3b8c2e1'
down_revision = "e4b7c2d9a1f3"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_index(
        'ix_dossier_search_procedure_document',
        'dossier_search',
        ['procedure_id', 'document'],
        unique=False,
        postgresql_using='gin',
    )
    op.drop_index('ix_dossier_search_document', table_name='dossier_search')
    op.drop_index('ix_dossier_search_procedure', table_name='dossier_search')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_index(
        'ix_dossier_search_procedure', 'dossier_search', ['procedure_id'], unique=False
    )
    op.create_index(
        'ix_dossier_search_document',
        'dossier_search',
        ['document'],
        unique=False,
        postgresql_using='gin',
    )
    op.drop_index('ix_dossier_search_procedure_document', table_name='dossier_search')
