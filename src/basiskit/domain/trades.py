"""Trades: what a venue did with an order.

Units: ``executed_amount`` in base-token units, ``price`` in quote units per base unit, ``fee`` in
``fee_currency`` units, ``gas_usd`` in USD(T), ``position_deltas`` maps ``(account, token)`` to the
signed change in token units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from basiskit.domain.orders import Order


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
    position_deltas: dict[tuple[str, str], float] = field(default_factory=dict)
    error_code: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is TradeStatus.FILLED
