"""data_import.status may be "discarded": a pending import thrown away before its run

Revision ID: f7a1b2c3d4e5
Revises: f1a2b3c4d5e6
Create Date: 2026-12-04 17:00:00
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "f7a1b2c3d4e5"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None

BEFORE = "'mapping', 'checking', 'checked', 'running', 'done', 'undoing', 'undone'"
AFTER = BEFORE + ", 'discarded'"


def _status_check(codes: str) -> None:
    # Batch mode: SQLite rebuilds the table to change a CHECK constraint.
    with op.batch_alter_table("data_import", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_data_import_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_data_import_status_known"), f"status IN ({codes})"
        )


def upgrade():
    _status_check(AFTER)


def downgrade():
    op.execute("UPDATE data_import SET status = 'undone' WHERE status = 'discarded'")
    _status_check(BEFORE)
