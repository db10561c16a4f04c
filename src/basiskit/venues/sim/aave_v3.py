"""Simulated AAVE v3 supply side (Ethereum market).

A supply of ``a`` token units at step i stores the scaled balance ``a / liquidityIndex(t_i)``; its
value at step j is ``scaled x liquidityIndex(t_j)`` (AAVE v3 docs, "aTokens": balanceOf =
scaledBalance x liquidityIndex). Withdrawals burn ``a / liquidityIndex``. Indexes come from the
catalog's daily snapshots, interpolated geometrically (``basiskit.data.aave_index``).

Funds come from and go to the ``wallet`` account; each operation pays gas (units from
``configs/venues/aave_v3.yaml``) from the wallet's USDT. Balances are in token units; value is in
USD(T) assuming the supplied token is the share-class stablecoin (USDT) — other reserves arrive with
the borrowing issue.

Attribution: ``lending_interest`` = scaled x index change between steps; ``gas``.
"""

from __future__ import annotations

from basiskit.config.venues import AaveParams
from basiskit.data.market import MarketFrame
from basiskit.domain.events import Event
from basiskit.domain.orders import Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import GAS, LENDING_INTEREST, Attribution, Ledger
from basiskit.venues.sim.gas import GasModel


class AaveV3:
    def __init__(self, name: str, params: AaveParams, frame: MarketFrame, ledger: Ledger, attribution: Attribution,
                 gas: GasModel, liquidity_index_keys: dict[str, str], wallet: str = "wallet") -> None:
        self.name = name
        self.params = params
        self.ledger = ledger
        self.attr = attribution
        self.gas = gas
        self.wallet = wallet
        self.grid_list = frame.grid.tolist()
        self.index = {tok: frame.series[k] for tok, k in liquidity_index_keys.items()}
        self.scaled: dict[str, float] = {tok: 0.0 for tok in self.index}
        self._last_index: dict[str, float] = {}

    def accrue(self, i: int) -> list[Event]:
        for tok, series in self.index.items():
            li = series[i]
            last = self._last_index.get(tok)
            s = self.scaled[tok]
            if last is not None and s and li != last:
                self.attr.add(LENDING_INTEREST, self.name, s * (li - last))
            self._last_index[tok] = li
        return []

    def supplied(self, token: str, i: int) -> float:
        """aToken balance (token units) at step i."""
        return self.scaled[token] * self.index[token][i]

    def gas_cost(self, operation: Operation, i: int) -> float:
        return self.gas.cost_usd(self.params.gas_units[operation.value], i)

    def withdrawable(self, token: str, i: int) -> float:
        return 0.0  # funds leave AAVE only through a withdraw order

    def execute(self, order: Order, i: int) -> Trade:
        t = self.grid_list[i]
        tok = order.token
        if order.operation not in (Operation.SUPPLY, Operation.WITHDRAW) or tok not in self.index:
            return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-001",
                         error=f"{self.name} cannot {order.operation.value} {tok}")
        li = self.index[tok][i]
        a = order.amount
        gas_usd = self.gas_cost(order.operation, i)
        if order.operation is Operation.SUPPLY:
            cash = self.ledger.get(self.wallet, tok)
            if a > cash * (1 + 1e-12) + 1e-9:
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"insufficient {tok} in {self.wallet}: supply {a:.2f}, have {cash:.2f}")
            a = min(a, cash)
            d_scaled, d_cash = a / li, -a
        else:
            bal = self.scaled[tok] * li
            if a > bal * (1 + 1e-12) + 1e-9:
                return Trade(order, t, TradeStatus.REJECTED, error_code="VENUE-002",
                             error=f"withdraw {a:.2f} {tok} exceeds the aToken balance {bal:.2f}")
            a = min(a, bal)
            d_scaled, d_cash = -a / li, a
        self.scaled[tok] += d_scaled
        self.ledger.add(self.wallet, tok, d_cash - gas_usd)
        self.attr.add(GAS, self.name, -gas_usd)
        return Trade(order, t, TradeStatus.FILLED, executed_amount=a, price=1.0, fee=0.0, fee_currency=tok,
                     gas_usd=gas_usd,
                     position_deltas={(self.name, f"a{tok}"): d_scaled * li, (self.wallet, tok): d_cash - gas_usd})

    def value_usd(self, i: int) -> float:
        return sum(s * self.index[tok][i] for tok, s in self.scaled.items() if s)

    def state(self):
        return dict(self.scaled), dict(self._last_index)

    def restore(self, state) -> None:
        self.scaled, self._last_index = dict(state[0]), dict(state[1])
