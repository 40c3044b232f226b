"""partial indexes for a partner's children, an agreement's amendments (in page order) and
what a contact signed, replacing the plain foreign-key indexes whose NULL-heavy statistics
sent the planner down the name / signing-date indexes after ANALYZE

Revision ID: f1a2b3c4d5e6
Revises: e6c3a4d5f6b7
Create Date: 2026-12-04 16:45:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f1a2b3c4d5e6"
down_revision = "e6c3a4d5f6b7"
branch_labels = None
depends_on = None

# (table, new index, columns, partial on, old index, its column)
CHANGES = [
    (
        "partner",
        "ix_partner_parent_sort",
        ["parent_id", "sort_name", "id", "archived_at"],
        "parent_id IS NOT NULL",
        "ix_partner_parent_id",
        "parent_id",
    ),
    (
        "agreement",
        "ix_agreement_amends_signed",
        ["amends_id", "signed_sort", "id", "archived_at"],
        "amends_id IS NOT NULL",
        "ix_agreement_amends_id",
        "amends_id",
    ),
    (
        "agreement_party",
        "ix_agreement_party_signatory",
        ["signatory_id", "agreement_id"],
        "signatory_id IS NOT NULL",
        "ix_agreement_party_signatory_id",
        "signatory_id",
    ),
]


def upgrade():
    for table, name, columns, where, old, _column in CHANGES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                name,
                columns,
                unique=False,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )
            batch_op.drop_index(old)


def downgrade():
    for table, name, _columns, _where, old, column in CHANGES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(old, [column], unique=False)
            batch_op.drop_index(name)
