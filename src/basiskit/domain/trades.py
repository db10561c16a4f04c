"""Trades: what a venue did with an order (an account event), and the one definition of a trade row.

A ``Trade`` is the outcome of one order (or one leg of an atomic group): filled, rejected, failed
(the group rolled back) or deferred (no traded price at the step). Units: ``executed_amount`` in
base-token units, ``price`` in quote units per base unit, ``fee`` in ``fee_currency`` units,
``gas_usd`` in USD(T). The portfolio applies ``deltas`` (``(account, token, token units)``: what the
order moved) and books ``pnl`` (``(source, venue, USD(T))``: fees, slippage, gas, ...); a venue never
writes balances itself.

``TRADE_COLUMNS`` / ``trade_row`` define a trade's row once: ``trades.csv``, the run store's trades
table and the event log's ``trade`` lines all come from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from basiskit.domain.orders import Order
from basiskit.domain.time import ns_to_iso


class TradeStatus(str, Enum):
    FILLED = "filled"
    FAILED = "failed"      # a leg of an atomic group that was rolled back
    REJECTED = "rejected"  # the venue refused the order (balance, margin, limits)
    DEFERRED = "deferred"  # not filled: the venue had no traded price at the step (data gap); nothing changed


@dataclass(frozen=True, slots=True)
class Trade:
    order: Order
    timestamp: int  # ns since epoch, UTC
    status: TradeStatus
    executed_amount: float = 0.0
    price: float = 0.0
    fee: float = 0.0
    fee_currency: str = "USDT"
    gas_usd: float = 0.0
    gas_units: int = 0  # gas of this leg; inside an atomic group the transaction pays once (execution manager)
    deltas: tuple[tuple[str, str, float], ...] = ()
    pnl: tuple[tuple[str, str, float], ...] = ()
    error_code: str | None = None
    error: str | None = None
    kind: ClassVar[str] = "trade"

    @property
    def ok(self) -> bool:
        return self.status is TradeStatus.FILLED

    @property
    def component(self) -> str:
        return self.order.venue

    @property
    def data(self) -> dict[str, Any]:
        row = trade_row(self)
        return {k: row[k] for k in ("client_order_id", "operation", "instrument", "side", "amount", "price", "fee",
                                    "fee_currency", "gas", "status", "error_code", "to_venue", "reason")}


TRADE_COLUMNS = ("timestamp", "venue", "operation", "instrument", "side", "amount", "price", "fee", "fee_currency",
                 "gas", "status", "error_code", "to_venue", "reason", "client_order_id")
"""Columns of a trade row: ``amount`` is what was executed (filled) or asked for (not filled), ``gas``
in USD(T); ``timestamp`` is ISO-8601 UTC in files and int ns in ``trade_row``'s ``timestamp_ns``."""


def instrument(order: Order) -> str:
    """``BTCUSDT`` for a trade or swap, the token for anything else."""
    return f"{order.token}{order.quote}" if order.side is not None else order.token


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def trade_row(tr: Trade) -> dict[str, Any]:
    """The row of ``tr`` under ``TRADE_COLUMNS`` (plus ``timestamp_ns``); None where a value is missing
    or not finite."""
    o = tr.order
    return {"timestamp": ns_to_iso(tr.timestamp), "timestamp_ns": tr.timestamp, "venue": o.venue,
            "operation": o.operation.value, "instrument": instrument(o), "side": o.side.value if o.side else None,
            "amount": float(tr.executed_amount if tr.ok else o.amount), "price": _finite(tr.price),
            "fee": _finite(tr.fee), "fee_currency": tr.fee_currency, "gas": _finite(tr.gas_usd),
            "status": tr.status.value, "error_code": tr.error_code, "to_venue": o.to_venue, "reason": o.reason,
            "client_order_id": o.client_order_id}
