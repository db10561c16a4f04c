"""The ``Venue`` protocol: what the kernel needs from any venue account, simulated or live.

A venue is one account (``binance.perp``, ``bybit.spot``, ``aave_v3``, the on-chain ``wallet``...).
It is keyed by time, never by a step index: it reads the market through the run's ``MarketState``
(current values only) and the balances through the portfolio's ledger (read only), and it reports
everything that happens to the account as **account events** that the portfolio applies
(``domain.events``, ``domain.trades.Trade``). A venue never writes a balance -- its own or another
account's; transfers and gas are events too. Revaluation of its own positions at the current marks
is the one thing it writes itself: into its own attribution bucket, every step.

    on_market(tick)   the market state advanced to tick.timestamp (with the discrete market events of
                      the interval: funding settlements, ...): accrue interest, settle funding, check
                      liquidation, mark positions; returns the account events
    submit(orders)    one order (or the legs the execution manager runs one by one in an atomic
                      group); returns one Trade per order (filled, rejected, deferred)
    poll(now_ns)      fills and confirmations that arrive later (resting orders, transfers); live
                      adapters ask the exchange here
    account()         a snapshot of the account for reconciliation: balances, positions, value
    value_usd()       the account's value in USD(T) now (its part of the equity)
    withdrawable(tok) token units a transfer may take out now
    checkpoint() / restore(cp)   the venue's own state, for rolling back an atomic group
    resting           optional: a ``venues.sim.bar_orders.BarOrders`` for a venue that takes resting
                      orders (limit, stop, take-profit, brackets); the execution manager places,
                      attaches brackets and cancels through it; the venue shows it the market in
                      ``on_market`` and reports its fills and status changes among its account events.
                      Resting orders are refused in atomic groups, so ``checkpoint`` need not hold it
    quiet_now() / project(lo, hi, feed, prices)
                      optional, simulators only: the account over a stretch of steps where only prices
                      (and funding) move, as arrays (``venues.sim.projection.Projection``); the backtest
                      driver passes such stretches in one go (``engine.quiet``) when every account of
                      the run can project

The contract every venue must satisfy is tested once for all of them (``tests/contract``): fills
conserve value, fees are booked, a refused order changes nothing, an atomic group is all or nothing,
the snapshot equals the fold of the venue's events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from basiskit.domain.events import MarketTick
from basiskit.domain.orders import Order


@dataclass(frozen=True)
class AccountSnapshot:
    """An account at one time: token balances (token units), open positions (token -> (signed size in
    base units, entry price in quote units)) and its value in USD(T)."""

    account: str
    balances: dict[str, float] = field(default_factory=dict)
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    value_usd: float = 0.0


class Venue(Protocol):
    name: str

    def on_market(self, tick: MarketTick) -> list: ...

    def submit(self, orders: Sequence[Order]) -> list: ...

    def poll(self, now_ns: int) -> list: ...

    def account(self) -> AccountSnapshot: ...

    def value_usd(self) -> float: ...

    def withdrawable(self, token: str) -> float: ...

    def checkpoint(self) -> Any: ...

    def restore(self, cp: Any) -> None: ...
