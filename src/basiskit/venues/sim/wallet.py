"""The on-chain wallet account: where deposits land, where withdrawals leave, and the source of
funds for DeFi operations.

Holds USDT and, in modes with on-chain ETH, WETH, LSTs and reward tokens, valued by
``OnchainPrices``. At each step it revalues its token holdings (LST rate change -> ``staking``, ETH
price -> ``price_basis``). It must accrue before any other on-chain account: those may pay tokens
into the wallet during their own accrual (withdrawal-queue claims, reward credits), and such tokens
are booked by their payer at the step's prices.
"""

from __future__ import annotations

from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import Attribution, Ledger
from basiskit.venues.sim.onchain_prices import USDT, OnchainPrices


class Wallet:
    def __init__(self, name: str, frame: MarketFrame, ledger: Ledger, attribution: Attribution, quote: str = "USDT",
                 prices: OnchainPrices | None = None) -> None:
        self.name = name
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.prices = prices
        self.grid_list = frame.grid.tolist()
        self.tokens = [t for t in (prices.tokens if prices else []) if t != USDT]
        self.accrues = bool(self.tokens)  # USDT only: nothing to settle, the engine skips it
        self._last_i = -1
        attribution.bucket(name)

    def accrue(self, i: int) -> list[Event]:
        a, self._last_i = self._last_i, i
        if a >= 0 and a != i:
            for tok in self.tokens:
                q = self.ledger.balances.get((self.name, tok), 0.0)
                if q:
                    self.prices.revalue(self.attr, self.name, tok, q, a, i)
        return []

    def withdrawable(self, token: str, i: int) -> float:
        return max(0.0, self.ledger.get(self.name, token))

    def execute(self, order: Order, i: int) -> Trade:
        return Trade(order, self.grid_list[i], TradeStatus.REJECTED, error_code="VENUE-001",
                     error=f"{self.name} accepts only transfers")

    def value_usd(self, i: int) -> float:
        v = self.ledger.get(self.name, USDT)
        for tok in self.tokens:
            q = self.ledger.balances.get((self.name, tok), 0.0)
            if q:
                v += q * self.prices.usd(tok, i)
        return v

    def eth_exposure(self, i: int) -> float:
        """ETH units held (WETH + LSTs at their rate + reward tokens at their pool price)."""
        x = 0.0
        for tok in self.tokens:
            q = self.ledger.balances.get((self.name, tok), 0.0)
            if q:
                x += q * self.prices.eth(tok, i)
        return x

    def state(self) -> int:
        return self._last_i

    def restore(self, state: int) -> None:
        self._last_i = state
