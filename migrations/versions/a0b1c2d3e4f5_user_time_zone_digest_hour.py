"""user.time_zone and user.digest_hour: each user's own zone and daily digest hour

Revision ID: a0b1c2d3e4f5
Revises: f7a1b2c3d4e5
Create Date: 2026-12-04 19:00:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a0b1c2d3e4f5"
down_revision = "f7a1b2c3d4e5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("digest_hour", sa.Integer(), nullable=False, server_default="8")
        )
        batch_op.create_check_constraint(
            op.f("ck_user_digest_hour_range"), "digest_hour BETWEEN 0 AND 23"
        )


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_user_digest_hour_range"), type_="check")
        batch_op.drop_column("digest_hour")
        batch_op.drop_column("time_zone")
