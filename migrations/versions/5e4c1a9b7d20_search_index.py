"""search index: FTS5 trigram tables and triggers (SQLite), pg_trgm GIN indexes (PostgreSQL)

Revision ID: 5e4c1a9b7d20
Revises: 0f458849fd32
Create Date: 2026-11-26 10:00:00

Hand-written: the DDL lives in crm.search.index, shared with the tests' schema setup.
"""

from alembic import op

from crm.search.index import create_trigram_index, drop_trigram_index

# revision identifiers, used by Alembic.
revision = "5e4c1a9b7d20"
down_revision = "0f458849fd32"
branch_labels = None
depends_on = None


def upgrade():
    # Dialect-aware inside: FTS5 + triggers on SQLite, pg_trgm GIN on PostgreSQL.
    create_trigram_index(op.get_bind())


def downgrade():
    drop_trigram_index(op.get_bind())
