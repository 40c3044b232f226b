"""exchange rates kept per year; index on project end dates (dashboard periods)

Revision ID: d5a1e2b3c4f5
Revises: 5e4c1a9b7d20
Create Date: 2026-11-28 10:00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d5a1e2b3c4f5"
down_revision = "7e1f2a3b4c51"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exchange_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.Column("archived_by_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rate_rate_positive")),
        sa.CheckConstraint(
            "currency <> quote", name=op.f("ck_exchange_rate_different_currencies")
        ),
        sa.CheckConstraint(
            "year >= 1900 AND year <= 2200", name=op.f("ck_exchange_rate_year_plausible")
        ),
        sa.ForeignKeyConstraint(
            ["archived_by_id"], ["user.id"], name=op.f("fk_exchange_rate_archived_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_exchange_rate_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user.id"], name=op.f("fk_exchange_rate_owner_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_exchange_rate_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rate")),
        sa.UniqueConstraint(
            "year", "currency", "quote", name=op.f("uq_exchange_rate_year_currency_quote")
        ),
    )
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_rate_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exchange_rate_quote"), ["quote"], unique=False)
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.create_index("ix_project_end_date", ["end_date"], unique=False)


def downgrade():
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_index("ix_project_end_date")
    with op.batch_alter_table("exchange_rate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_rate_quote"))
        batch_op.drop_index(batch_op.f("ix_exchange_rate_owner_id"))
    op.drop_table("exchange_rate")
