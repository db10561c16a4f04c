"""runs: status ``cancelled``, ``cancel_requested_at``, and a CHECK on the status values

A DELETE of a running backtest records ``cancel_requested_at``; the run stops at its next progress
tick and ends ``cancelled``. The CHECK constraint makes the database refuse a status the code does
not know (a new status needs a migration that widens it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = ("queued", "running", "finished", "failed", "interrupted", "cancelled")


def _check(statuses: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(s) for s in statuses)})"


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:  # SQLite: rebuilds the table (render_as_batch)
        batch.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("ck_runs_status", _check(STATUSES))


def downgrade() -> None:
    # the older code knows no "cancelled": such runs become "interrupted" (they did stop before the end)
    op.execute(sa.text("UPDATE runs SET status = 'interrupted' WHERE status = 'cancelled'"))
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("ck_runs_status", type_="check")
        batch.drop_column("cancel_requested_at")
