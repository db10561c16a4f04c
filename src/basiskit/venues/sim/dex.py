"""Simulated on-chain swaps (``dex`` account): Uniswap v3 WETH/USDT and reward-token pools, and the
LST/ETH market (Curve / Uniswap) at the market rate from the peg data.

A ``SWAP`` order names the pool by its tokens: ``token`` = base, ``quote`` = quote, ``side`` BUY
(pay quote, receive base) or SELL, ``amount`` in base units. With ``p`` the pool price (quote per
base) at the step, fee tier ``f`` and slippage ``s = slippage_bps + impact_bps_per_million x notional
USD / 1e6`` (as fractions)::

    SELL q base -> receive q p (1 - f - s) quote        BUY q base -> pay q p (1 + f + s) quote

Both sides move through the wallet. Attribution (USD(T), at the valuation prices of
``onchain_prices``): ``fees`` = the fee tier on the notional, ``slippage`` = the slippage on it,
``price_basis`` = the rest of the equity change, i.e. the gap between the pool price and the
valuation price (an LST sold at a discount to its exchange rate loses that discount here).
"""

from __future__ import annotations

import math

import numpy as np

from basiskit.config.venues import DexParams, PoolParams
from basiskit.data.errors import DataError
from collections.abc import Sequence

from basiskit.data.market_state import MarketState
from basiskit.domain.events import MarketTick
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import ExecutionMode, Operation, Order, Side
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.domain.time import ns_to_iso
from basiskit.domain.portfolio import FEES, PRICE_BASIS, SLIPPAGE, Attribution, Ledger
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.onchain_prices import OnchainPrices


def pool_key(name: str) -> str:
    return f"pool.{name}"


class Dex:
    accrues = False

    def __init__(self, name: str, params: DexParams, state: MarketState, ledger: Ledger, attribution: Attribution,
                 gas: GasModel, prices: OnchainPrices, pools: list[str], wallet: str = "wallet") -> None:
        self.name = name
        self.params = params
        self.state = state
        self.ledger = ledger
        self.attr = attribution
        self.gas = gas
        self.prices = prices
        self.wallet = wallet
        self.pools: dict[tuple[str, str], tuple[str, PoolParams, str]] = {}
        for p in pools:
            pp = params.pools[p]
            self.pools[(pp.base, pp.quote)] = (p, pp, pool_key(p))
        attribution.bucket(name)

    def on_market(self, tick: MarketTick) -> list:
        return []

    def poll(self, now_ns: int) -> list:
        return []

    def pool_price(self, base: str, quote: str) -> float:
        """Quote per base now.

        Raises:
            DataError: no pool price now.
        """
        name, pp, key = self.pools[(base, quote)]
        p = self.state.px[key]
        if math.isnan(p):
            raise DataError(f"no {name} pool price at {ns_to_iso(self.state.t)} (dataset {pp.dataset})", key=pp.dataset)
        return p

    def cost_rate(self, base: str, quote: str, notional_usd: float) -> float:
        """Fee + slippage of a swap as a fraction of notional."""
        _, pp, _ = self.pools[(base, quote)]
        return (pp.fee_bps + pp.slippage_bps + pp.impact_bps_per_million * notional_usd / 1e6) * 1e-4

    def withdrawable(self, token: str) -> float:
        return 0.0

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._execute(o) for o in orders]

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        key = (order.token, order.quote)
        if order.operation is not Operation.SWAP or key not in self.pools:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} has no {order.token}/{order.quote} pool in this run")
        _, pp, _ = self.pools[key]
        base, quote, q = order.token, order.quote, order.amount
        p = self.pool_price(base, quote)
        notional_quote = q * p
        usd_quote = self.prices.usd(quote)
        notional_usd = notional_quote * usd_quote
        fee_r = pp.fee_bps * 1e-4
        slip_r = (pp.slippage_bps + pp.impact_bps_per_million * notional_usd / 1e6) * 1e-4
        w = self.wallet
        if order.side is Side.SELL:
            held = self.ledger.get(w, base)
            if not within(q, held):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {base} in {w}: sell {fmt_amounts(q, held)}")
            q = min(q, held)
            notional_quote = q * p
            d_base, d_quote = -q, notional_quote * (1 - fee_r - slip_r)
        else:
            pay = notional_quote * (1 + fee_r + slip_r)
            cash = self.ledger.get(w, quote)
            if not within(pay, cash):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {quote} in {w}: {fmt_amounts(pay, cash)}")
            if pay > cash:  # within tolerance: buy what the cash pays for
                q, pay = q * cash / pay, cash
                notional_quote = q * p
            d_base, d_quote = q, -pay
        change = d_base * self.prices.usd(base) + d_quote * usd_quote
        fee_usd = notional_quote * fee_r * usd_quote
        slip_usd = notional_quote * slip_r * usd_quote
        deltas = ((w, base, d_base), (w, quote, d_quote))
        pnl = ((FEES, self.name, -fee_usd), (SLIPPAGE, self.name, -slip_usd),
               (PRICE_BASIS, self.name, change + fee_usd + slip_usd))
        units = self.params.gas_units.get("swap", 0)
        gas_usd = 0.0
        if order.execution_mode is not ExecutionMode.ATOMIC:
            gas_usd, gas_deltas, gas_pnl = self.gas.charge(w, self.name, units)
            deltas, pnl = deltas + gas_deltas, pnl + gas_pnl
        fill = abs(d_quote) / q if q else p
        return Trade(order, t, TradeStatus.FILLED, executed_amount=q, price=fill, fee=notional_quote * fee_r,
                     fee_currency=quote, gas_usd=gas_usd, gas_units=units, deltas=deltas, pnl=pnl)

    def value_usd(self) -> float:
        return 0.0

    def quiet_now(self) -> bool:
        return True

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection:
        """Holds nothing between swaps: worth 0 over any stretch (``engine.quiet``)."""
        return Projection(np.zeros(hi - lo), lambda k: None, {}, blocked=hi - lo)

    def account(self) -> AccountSnapshot:
        return AccountSnapshot(self.name)

    def checkpoint(self):
        return None

    def restore(self, cp) -> None:
        return None

    def gas_units(self, operation: Operation) -> int:
        return self.params.gas_units.get("swap", 0) if operation is Operation.SWAP else 0

    def gas_cost(self, operation: Operation) -> float:
        return self.gas.cost_usd(self.params.gas_units["swap"])
