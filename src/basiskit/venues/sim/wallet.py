"""The on-chain wallet account: where deposits land, where withdrawals leave, and the source of
funds for DeFi operations. Holds share-class cash (USDT) only in this version."""

from __future__ import annotations

from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import Attribution, Ledger


class Wallet:
    def __init__(self, name: str, frame: MarketFrame, ledger: Ledger, attribution: Attribution, quote: str = "USDT") -> None:
        self.name = name
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.grid_list = frame.grid.tolist()

    accrues = False  # nothing to settle: the engine skips it in the accrual phase

    def accrue(self, i: int) -> list[Event]:
        return []

    def withdrawable(self, token: str, i: int) -> float:
        return max(0.0, self.ledger.get(self.name, token))

    def execute(self, order: Order, i: int) -> Trade:
        return Trade(order, self.grid_list[i], TradeStatus.REJECTED, error_code="VENUE-001",
                     error=f"{self.name} accepts only transfers")

    def value_usd(self, i: int) -> float:
        return self.ledger.get(self.name, self.quote)

    def state(self) -> None:
        return None

    def restore(self, state: None) -> None:
        return None
