"""Tables of live and paper sessions (migration ``0003_live_runner``); same conventions as
``models.py`` (clock times int ns UTC, wall times UTC-aware datetimes, amounts in token units).

    live_orders    every order and transfer a session sent, by client order id, as its state changes
                   (intent written before it is handed to the venue: the write-ahead journal recovery
                   reads after a crash)
    market_events  every market event a session received (venue time and receipt time), so a session
                   can be replayed and backtested afterwards (``BASIS_DATA_MODE=db`` reads them)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from basiskit.persistence.models import Base


class LiveOrderRow(Base):
    __tablename__ = "live_orders"
    strategy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(80), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    venue: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    amount: Mapped[float] = mapped_column(Float)
    to_venue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    filled: Mapped[float] = mapped_column(Float, default=0.0)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class MarketEventRow(Base):
    __tablename__ = "market_events"
    run_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    receipt_ns: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column()
    __table_args__ = (Index("ix_market_events_key_time", "key", "timestamp"),)
