"""covering indexes for the dashboard's figures (partners, agreements, parties, links,
projects, actuals), read from the index alone at 100k partners / 200k agreements; the
dashboard_version row that invalidates every worker's cached figures

Revision ID: d5b2f3c4e5a6
Revises: d5a1e2b3c4f5
Create Date: 2026-11-25 16:00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d5b2f3c4e5a6"
down_revision = "6d0b1e2f3a41"
branch_labels = None
depends_on = None

# (table, index, columns): created on upgrade, dropped on downgrade.
NEW = [
    (
        "partner",
        "ix_partner_figures",
        ["status", "kind", "country", "archived_at", "owner_id", "created_at"],
    ),
    ("partner", "ix_partner_countries", ["country", "kind", "archived_at", "status", "owner_id"]),
    (
        "agreement",
        "ix_agreement_signed_figures",
        ["signed_on", "archived_at", "owner_id", "type", "value_currency", "value_amount"],
    ),
    (
        "agreement",
        "ix_agreement_stage_expiry",
        [
            "stage",
            "auto_renew",
            "expires_on",
            "effective_from",
            "notice_days",
            "archived_at",
            "owner_id",
        ],
    ),
    ("agreement_party", "ix_agreement_party_agreement_partner", ["agreement_id", "partner_id"]),
    ("agreement_party", "ix_agreement_party_partner_agreement", ["partner_id", "agreement_id"]),
    ("activity_partner", "ix_activity_partner_occurred", ["occurred_at", "partner_id", "activity_id"]),
    ("indicator_actual", "ix_indicator_actual_figures", ["indicator_id", "period_end", "value"]),
    (
        "project",
        "ix_project_figures",
        ["status", "archived_at", "start_date", "end_date", "owner_id"],
    ),
]
# Indexes the new ones lead with the same columns as (so they are no longer needed).
REPLACED = [
    ("agreement", "ix_agreement_signed_on", ["signed_on"]),
    ("agreement_party", "ix_agreement_party_agreement_id", ["agreement_id"]),
    ("agreement_party", "ix_agreement_party_partner_id", ["partner_id"]),
    ("indicator_actual", "ix_indicator_actual_indicator_id", ["indicator_id"]),
]


def upgrade():
    op.create_table(
        "dashboard_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_version")),
    )
    for table, name, columns in NEW:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)


def downgrade():
    for table, name, columns in REPLACED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    for table, name, _columns in reversed(NEW):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    op.drop_table("dashboard_version")
