"""SQLAlchemy 2 models (typed, declarative). The schema itself is created by the Alembic migrations
in ``migrations/versions``; these models must match them (a test compares the two).

Units: clock times (``timestamp``) are int ns since the epoch, UTC (the engine's clock); wall times
(``created_at`` ...) are timezone-aware datetimes, UTC; money in the run's share-class currency
(USDT); amounts in token units.

Tables:
    runs               one row per run (backtest or live): request, resolved config, status, progress,
                       timings, summary, error
    orders, trades     what the strategy asked for and what the venues did (one row per order/fill)
    equity_points      one row per clock step: equity, net deposits, net delta
    events             the run's event log (component, kind, JSON data)
    strategy_positions current position per strategy, venue account and instrument
    fund_transfers     deposits, withdrawals and transfers between venue accounts
    strategy_state     JSON state per strategy (what a live strategy needs to resume)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        TypeDecorator)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a UTC-aware datetime")
        return None if value is None else value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, datetime: UtcDateTime}


RUN_STATUSES = ("queued", "running", "finished", "failed", "interrupted", "cancelled")  # = records.RunStatus


def _run_fk() -> Any:
    return ForeignKey("runs.id", ondelete="CASCADE")


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))          # backtest | live
    mode: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # RUN_STATUSES (checked by the database)
    origin: Mapped[str] = mapped_column(String(16))        # cli | api
    request: Mapped[dict[str, Any]] = mapped_column()
    config: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    out_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)  # "<host>:<pid>:<start>" running it
    cancel_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)  # DELETE while it ran
    __table_args__ = (CheckConstraint(f"status IN ({', '.join(repr(s) for s in RUN_STATUSES)})", name="ck_runs_status"),)


class OrderRow(Base):
    __tablename__ = "orders"
    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    venue: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    amount: Mapped[float] = mapped_column(Float)
    to_venue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    atomic_group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class TradeRow(Base):
    __tablename__ = "trades"
    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # = the order's seq
    timestamp: Mapped[int] = mapped_column(BigInteger)
    venue: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    instrument: Mapped[str] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    amount: Mapped[float] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    fee: Mapped[float | None] = mapped_column(Float, nullable=True)
    fee_currency: Mapped[str] = mapped_column(String(16))
    gas: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_venue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")


class EquityRow(Base):
    __tablename__ = "equity_points"
    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    equity: Mapped[float | None] = mapped_column(Float, nullable=True)
    net_deposits: Mapped[float | None] = mapped_column(Float, nullable=True)
    net_delta: Mapped[float | None] = mapped_column(Float, nullable=True)


class EventRow(Base):
    __tablename__ = "events"
    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    component: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column()
    __table_args__ = (Index("ix_events_run_component", "run_id", "component"),)


class StrategyPositionRow(Base):
    __tablename__ = "strategy_positions"
    strategy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    venue: Mapped[str] = mapped_column(String(64), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime] = mapped_column()


class FundTransferRow(Base):
    __tablename__ = "fund_transfers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy_id: Mapped[str] = mapped_column(String(80), index=True)
    run_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # deposit | withdrawal | transfer
    from_venue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_venue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token: Mapped[str] = mapped_column(String(32))
    amount: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))


class StrategyStateRow(Base):
    __tablename__ = "strategy_state"
    strategy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column()
    run_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime] = mapped_column()


from basiskit.persistence import live_models as _live_models  # noqa: E402,F401  (live_orders, market_events)
