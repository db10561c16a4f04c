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

from basiskit.config.venues import StakingParams
from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.money import fmt_amounts, within
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import FEES, Attribution, Ledger
from basiskit.venues.sim.gas import GasModel
from basiskit.venues.sim.onchain_prices import ETH, OnchainPrices


class Staking:
    def __init__(self, name: str, params: StakingParams, frame: MarketFrame, ledger: Ledger, attribution: Attribution,
                 gas: GasModel, prices: OnchainPrices, wallet: str = "wallet") -> None:
        self.name = name
        self.params = params
        self.lst = params.lst
        self.ledger = ledger
        self.attr = attribution
        self.gas = gas
        self.prices = prices
        self.wallet = wallet
        self.grid_list = frame.grid.tolist()
        self.delay_ns = int(params.withdrawal_delay_hours * 3600 * 10**9)
        self.queue: list[tuple[int, float]] = []  # (claimable at ns, ETH)
        self._last_i = -1
        attribution.bucket(name)

    def rate(self, i: int) -> float:
        """ETH per LST at step i (exchange-rate oracle)."""
        return self.prices.eth(self.lst, i)

    def queued_eth(self) -> float:
        return sum(e for _, e in self.queue)

    def accrue(self, i: int) -> list[Event]:
        a, self._last_i = self._last_i, i
        if not self.queue:
            return []
        if a >= 0:
            self.prices.revalue(self.attr, self.name, ETH, self.queued_eth(), a, i)
        t = self.grid_list[i]
        due = [(ts, e) for ts, e in self.queue if ts <= t]
        if not due:
            return []
        self.queue = [(ts, e) for ts, e in self.queue if ts > t]
        eth = sum(e for _, e in due)
        self.ledger.add(self.wallet, ETH, eth)
        return [Event(t, self.name, "withdrawal_claimed", {"eth": eth, "requests": len(due)})]

    def withdrawable(self, token: str, i: int) -> float:
        return 0.0

    def execute(self, order: Order, i: int) -> Trade:
        t = self.grid_list[i]
        op, a = order.operation, order.amount
        r = self.rate(i)
        w = self.wallet
        if op is Operation.STAKE and order.token == ETH:
            cash = self.ledger.get(w, ETH)
            if not within(a, cash):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient WETH in {w}: stake {fmt_amounts(a, cash)}")
            a = min(a, cash)
            fee_eth = a * self.params.stake_fee_bps * 1e-4
            out = (a - fee_eth) / r
            self.ledger.add(w, ETH, -a)
            self.ledger.add(w, self.lst, out)
            deltas = {(w, ETH): -a, (w, self.lst): out}
            price = r
        elif op is Operation.UNSTAKE and order.token == self.lst:
            held = self.ledger.get(w, self.lst)
            if not within(a, held):
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {self.lst} in {w}: unstake {fmt_amounts(a, held)}")
            a = min(a, held)
            gross = a * r
            fee_eth = gross * self.params.unstake_fee_bps * 1e-4
            self.ledger.add(w, self.lst, -a)
            self.queue.append((t + self.delay_ns, gross - fee_eth))
            deltas = {(w, self.lst): -a, (self.name, "queued_ETH"): gross - fee_eth}
            price = r
        else:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-001",
                         error=f"{self.name} cannot {op.value} {order.token} (stakes WETH into {self.lst})")
        if fee_eth:
            self.attr.add(FEES, self.name, -fee_eth * self.prices.usd(ETH, i))
        units = self.params.gas_units.get(op.value, 0)
        gas_usd = 0.0
        if order.execution_mode is not ExecutionMode.ATOMIC:
            gas_usd = self.gas.pay(self.ledger, self.attr, w, self.name, units, i)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=a, price=price, fee=fee_eth, fee_currency=ETH,
                     gas_usd=gas_usd, gas_units=units, position_deltas=deltas)

    def gas_units(self, operation: Operation) -> int:
        return self.params.gas_units.get(operation.value, 0)

    def gas_cost(self, operation: Operation, i: int) -> float:
        return self.gas.cost_usd(self.params.gas_units[operation.value], i)

    def value_usd(self, i: int) -> float:
        return self.queued_eth() * self.prices.usd(ETH, i) if self.queue else 0.0

    def eth_exposure(self, i: int) -> float:
        return self.queued_eth()

    def state(self):
        return list(self.queue), self._last_i

    def restore(self, state) -> None:
        self.queue, self._last_i = list(state[0]), state[1]
