"""search keys: a btree table of names, words and CJK characters/pairs per live record,
kept by triggers, so every search tier reads an index with a LIMIT (bounded cost at 1M
records, exact one- and two-character Chinese queries); filled for the existing rows

Revision ID: e6c3a4d5f6b7
Revises: d5b2f3c4e5a6
Create Date: 2026-12-02 18:00:00

Hand-written: the DDL lives in crm.search.index, shared with the tests' schema setup.
"""

from alembic import op

from crm.search.index import create_key_index, drop_key_index

# revision identifiers, used by Alembic.
revision = "e6c3a4d5f6b7"
down_revision = "d5b2f3c4e5a6"
branch_labels = None
depends_on = None


def upgrade():
    # Dialect-aware inside: search_key (+ search_seq and triggers on SQLite; a plpgsql
    # trigger function on PostgreSQL), filled from the live rows.
    create_key_index(op.get_bind())


def downgrade():
    drop_key_index(op.get_bind())
