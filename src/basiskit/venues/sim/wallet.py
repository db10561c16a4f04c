"""The on-chain wallet account: where deposits land, where withdrawals leave, and the source of
funds for DeFi operations.

Holds USDT and, in modes with on-chain ETH, WETH, LSTs and reward tokens, valued by
``OnchainPrices``. At each step it revalues its token holdings (LST rate change -> ``staking``, ETH
price -> ``price_basis``). It must accrue before any other on-chain account: those may pay tokens
into the wallet during their own accrual (withdrawal-queue claims, reward credits), and such tokens
are booked by their payer at the step's prices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from basiskit.data.market_state import MarketState
from basiskit.domain.events import MarketTick
from basiskit.domain.orders import Order
from basiskit.domain.portfolio import Attribution, Ledger
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.onchain_prices import USDT, OnchainPrices
from basiskit.venues.sim.projection import Projection


class Wallet:
    def __init__(self, name: str, state: MarketState, ledger: Ledger, attribution: Attribution, quote: str = "USDT",
                 prices: OnchainPrices | None = None) -> None:
        self.name = name
        self.state = state
        self.ledger = ledger
        self.attr = attribution
        self.quote = quote
        self.prices = prices
        self.tokens = [t for t in (prices.tokens if prices else []) if t != USDT]
        self.accrues = bool(self.tokens)  # USDT only: nothing to settle, the kernel skips it
        self._started = False
        self._keys = [(tok, (name, tok)) for tok in self.tokens]  # (token, ledger key)
        self._read_at = (-1, -1)  # (step, ledger version) of the cached readings
        self._read = (0.0, 0.0)   # (value USD(T), ETH exposure in ETH units)
        self._bucket = attribution.bucket(name)

    def on_market(self, tick: MarketTick) -> list:
        if self._started:
            balances = self.ledger.balances
            for tok, key in self._keys:
                q = balances.get(key, 0.0)
                if q:
                    self.prices.revalue(self.attr, self.name, tok, q)
        self._started = True
        return []

    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps (always: a wallet only revalues what it holds)."""
        return True

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """The wallet over a quiet stretch (``engine.quiet``): value, ETH exposure and revaluation of
        its tokens as :meth:`on_market` and :meth:`_readings` give them, with the same arithmetic
        (``prices``: the stretch's ``PriceProjection``; a USDT-only wallet needs none)."""
        n = hi - lo
        balances = self.ledger.balances
        value = np.full(n, balances.get((self.name, USDT), 0.0))
        eth = np.zeros(n)
        bookings: list = []
        if self._keys:
            if prices is None:
                return None
            for tok, key in self._keys:
                q = balances.get(key, 0.0)
                if q:
                    value = value + q * prices.usd(tok)
                    eth = eth + q * prices.eth(tok)
                    bookings += prices.revalue(tok, q)

        def commit(k: int) -> None:
            self._read_at = (-1, -1)

        return Projection(value, commit, self._bucket, bookings=bookings, blocked=n,
                          eth_units=eth if self._keys else None)

    def withdrawable(self, token: str) -> float:
        return max(0.0, self.ledger.get(self.name, token))

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [Trade(o, self.state.t, TradeStatus.REJECTED, error_code="VENUE-003",
                      error=f"{self.name} accepts only transfers") for o in orders]

    def poll(self, now_ns: int) -> list:
        return []

    def _readings(self) -> tuple[float, float]:
        """(value USD(T), ETH units held: WETH + LSTs at their rate + reward tokens at their pool price),
        from one pass over the tokens; cached until the step or the ledger changes."""
        at = (self.state.step, self.ledger.version)
        if at == self._read_at:
            return self._read
        balances = self.ledger.balances
        v = balances.get((self.name, USDT), 0.0)
        x = 0.0
        if self._keys:
            prices = self.prices
            for tok, key in self._keys:
                q = balances.get(key, 0.0)
                if q:
                    v += q * prices.usd(tok)
                    x += q * prices.eth(tok)
        self._read_at, self._read = at, (v, x)
        return self._read

    def value_usd(self) -> float:
        if not self._keys:  # USDT only
            return self.ledger.balances.get((self.name, USDT), 0.0)
        return self._readings()[0]

    def eth_exposure(self) -> float:
        """ETH units held (WETH + LSTs at their rate + reward tokens at their pool price)."""
        return self._readings()[1]

    def account(self) -> AccountSnapshot:
        bal = {tok: self.ledger.get(self.name, tok) for tok in (USDT, *self.tokens)}
        return AccountSnapshot(self.name, {k: v for k, v in bal.items() if v}, {}, self.value_usd())

    def checkpoint(self) -> bool:
        return self._started

    def restore(self, cp: bool) -> None:
        self._started = cp
