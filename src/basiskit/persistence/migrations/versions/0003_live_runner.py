"""live sessions: ``live_orders`` (the write-ahead order journal) and ``market_events`` (recording)

Revision ID: live_runner_1
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "live_runner_1"
down_revision = "0002"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "live_orders",
        sa.Column("strategy_id", sa.String(80), nullable=False),
        sa.Column("client_order_id", sa.String(80), nullable=False),
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=True),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("to_venue", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filled", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("data", _json(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "client_order_id"),
    )
    op.create_index("ix_live_orders_run_id", "live_orders", ["run_id"])
    op.create_table(
        "market_events",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("receipt_ns", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    op.create_index("ix_market_events_key_time", "market_events", ["key", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_market_events_key_time", table_name="market_events")
    op.drop_table("market_events")
    op.drop_index("ix_live_orders_run_id", table_name="live_orders")
    op.drop_table("live_orders")
