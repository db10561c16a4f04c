"""Simulated liquid staking protocol account (``lido``: ETH -> wstETH, ``etherfi``: ETH -> weETH).

* ``STAKE`` WETH ``a``: the wallet receives ``a (1 - stake fee) / rate`` LST, ``rate`` = ETH per LST
  from the LST/ETH exchange-rate oracle at the step. Staking yield then shows up only through that
  rate (``onchain_prices``).
* ``UNSTAKE`` LST ``q``: the protocol's withdrawal queue. ``q x rate x (1 - unstake fee)`` ETH is
  fixed at the request and claimable ``withdrawal_delay_hours`` later; it is credited to the wallet at
  the first step at or after that time. While queued it earns nothing and is valued as ETH.
  (Swapping an LST on a DEX at the market rate is the ``dex`` account's job.)

Attribution: ``fees`` (stake/unstake fees), ``price_basis`` (ETH price on queued ETH), ``gas``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from basiskit.config.venues import StakingParams
from basiskit.data.market_state import MarketState
from basiskit.domain.events import AccountChange, MarketTick
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.portfolio import FEES, Attribution, Ledger
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.protocol import AccountSnapshot
from basiskit.venues.sim.projection import Projection
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.onchain_prices import ETH, OnchainPrices


class Staking:
    def __init__(self, name: str, params: StakingParams, state: MarketState, ledger: Ledger, attribution: Attribution,
                 gas: GasModel, prices: OnchainPrices, wallet: str = "wallet") -> None:
        self.name = name
        self.params = params
        self.lst = params.lst
        self.state = state
        self.ledger = ledger
        self.attr = attribution
        self.gas = gas
        self.prices = prices
        self.wallet = wallet
        self.delay_ns = int(params.withdrawal_delay_hours * 3600 * 10**9)
        self.queue: list[tuple[int, float]] = []  # (claimable at ns, ETH)
        self._started = False
        attribution.bucket(name)

    def rate(self) -> float:
        """ETH per LST now (exchange-rate oracle)."""
        return self.prices.eth(self.lst)

    def queued_eth(self) -> float:
        return sum(e for _, e in self.queue)

    def on_market(self, tick: MarketTick) -> list:
        started, self._started = self._started, True
        if not self.queue:
            return []
        if started:
            self.prices.revalue(self.attr, self.name, ETH, self.queued_eth())
        t = self.state.t
        due = [(ts, e) for ts, e in self.queue if ts <= t]
        if not due:
            return []
        self.queue = [(ts, e) for ts, e in self.queue if ts > t]
        eth = sum(e for _, e in due)
        return [AccountChange(t, self.name, "withdrawal_claimed", deltas=((self.wallet, ETH, eth),),
                              data={"eth": eth, "requests": len(due)})]

    def withdrawable(self, token: str) -> float:
        return 0.0

    def submit(self, orders: Sequence[Order]) -> list[Trade]:
        return [self._execute(o) for o in orders]

    def poll(self, now_ns: int) -> list:
        return []

    def _execute(self, order: Order) -> Trade:
        t = self.state.t
        op, a = order.operation, order.amount
        r = self.rate()
        w = self.wallet
        if op is Operation.STAKE and order.token == ETH:
            cash = self.ledger.get(w, ETH)
            if not within(a, cash):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient WETH in {w}: stake {fmt_amounts(a, cash)}")
            a = min(a, cash)
            fee_eth = a * self.params.stake_fee_bps * 1e-4
            out = (a - fee_eth) / r
            deltas = ((w, ETH, -a), (w, self.lst, out))
            price = r
        elif op is Operation.UNSTAKE and order.token == self.lst:
            held = self.ledger.get(w, self.lst)
            if not within(a, held):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {self.lst} in {w}: unstake {fmt_amounts(a, held)}")
            a = min(a, held)
            gross = a * r
            fee_eth = gross * self.params.unstake_fee_bps * 1e-4
            self.queue.append((t + self.delay_ns, gross - fee_eth))
            deltas = ((w, self.lst, -a),)
            price = r
        else:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-003",
                         error=f"{self.name} cannot {op.value} {order.token} (stakes WETH into {self.lst})")
        pnl: tuple = ((FEES, self.name, -fee_eth * self.prices.usd(ETH)),) if fee_eth else ()
        units = self.params.gas_units.get(op.value, 0)
        gas_usd = 0.0
        if order.execution_mode is not ExecutionMode.ATOMIC:
            gas_usd, gas_deltas, gas_pnl = self.gas.charge(w, self.name, units)
            deltas, pnl = deltas + gas_deltas, pnl + gas_pnl
        return Trade(order, t, TradeStatus.FILLED, executed_amount=a, price=price, fee=fee_eth, fee_currency=ETH,
                     gas_usd=gas_usd, gas_units=units, deltas=deltas, pnl=pnl)

    def gas_units(self, operation: Operation) -> int:
        return self.params.gas_units.get(operation.value, 0)

    def gas_cost(self, operation: Operation) -> float:
        return self.gas.cost_usd(self.params.gas_units[operation.value])

    def value_usd(self) -> float:
        return self.queued_eth() * self.prices.usd(ETH) if self.queue else 0.0

    def quiet_now(self) -> bool:
        """Whether :meth:`project` can pass steps now (no withdrawal queued)."""
        return not self.queue

    def project(self, lo: int, hi: int, feed, prices=None) -> Projection | None:
        """Over a quiet stretch (``engine.quiet``) with nothing queued: worth 0, no ETH exposure."""
        if self.queue:
            return None
        zeros = np.zeros(hi - lo)
        return Projection(zeros, lambda k: None, {}, blocked=hi - lo, eth_units=zeros)

    def eth_exposure(self) -> float:
        return self.queued_eth() if self.queue else 0

    def account(self) -> AccountSnapshot:
        return AccountSnapshot(self.name, {"queued_ETH": self.queued_eth()} if self.queue else {}, {}, self.value_usd())

    def checkpoint(self):
        return list(self.queue), self._started

    def restore(self, cp) -> None:
        self.queue, self._started = list(cp[0]), cp[1]
