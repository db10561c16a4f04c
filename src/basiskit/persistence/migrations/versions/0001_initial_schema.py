"""initial schema: runs, orders, trades, equity points, events and the strategy tables

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _run_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("request", _json(), nullable=False),
        sa.Column("config", _json(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("summary", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("out_dir", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_table(
        "orders",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=True),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("to_venue", sa.String(64), nullable=True),
        sa.Column("atomic_group_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    op.create_table(
        "trades",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("instrument", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=True),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("fee", sa.Float(), nullable=True),
        sa.Column("fee_currency", sa.String(16), nullable=False),
        sa.Column("gas", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("to_venue", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    op.create_table(
        "equity_points",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("equity", sa.Float(), nullable=True),
        sa.Column("net_deposits", sa.Float(), nullable=True),
        sa.Column("net_delta", sa.Float(), nullable=True),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id", "step"),
    )
    op.create_table(
        "events",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("data", _json(), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    op.create_index("ix_events_run_component", "events", ["run_id", "component"])
    op.create_table(
        "strategy_positions",
        sa.Column("strategy_id", sa.String(80), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(32), nullable=False),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(80), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "venue", "instrument"),
    )
    op.create_table(
        "fund_transfers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("strategy_id", sa.String(80), nullable=False),
        sa.Column("run_id", sa.String(80), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_venue", sa.String(64), nullable=True),
        sa.Column("to_venue", sa.String(64), nullable=True),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fund_transfers_strategy_id", "fund_transfers", ["strategy_id"])
    op.create_index("ix_fund_transfers_run_id", "fund_transfers", ["run_id"])
    op.create_table(
        "strategy_state",
        sa.Column("strategy_id", sa.String(80), nullable=False),
        sa.Column("state", _json(), nullable=False),
        sa.Column("run_id", sa.String(80), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id"),
    )


def downgrade() -> None:
    for table in ("strategy_state", "fund_transfers", "strategy_positions", "events", "equity_points", "trades",
                  "orders", "runs"):
        op.drop_table(table)
