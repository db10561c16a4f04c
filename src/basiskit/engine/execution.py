"""Execution manager: gives every order its client id, routes it to its venue, applies the outcome to
the portfolio and reports it; sequential orders in order, atomic groups all-or-nothing.

An atomic group (orders sharing ``atomic_group_id``, run by ``sequence_in_group``) is one on-chain
transaction (the shape of a flash-loan loop). Its legs run one by one, each applied to the portfolio
before the next (a leg sees what the previous ones did), against a checkpoint of the portfolio and of
every venue. If a leg is not filled, or a flash loan is still open when the last leg has run,
everything is restored and every leg's trade is reported FAILED with the failing leg's reason. Legs
are reported only once the group's outcome is known. Gas is paid once per transaction
(``gas.tx_gas_units`` of the legs' units): after success for every leg, and after a failure for the
legs up to the failing one -- a reverted transaction still burns its gas.

Client order ids: an order without one gets ``<prefix>-<n>`` (n counting the run's orders); an id the
run has seen before is refused (``EXEC-004``): an order is never sent, so never filled, twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from basiskit.domain.events import AccountChange
from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.portfolio import Portfolio
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.sim.gas import GasModel, tx_gas_units


class ExecutionManager:
    def __init__(self, venues: dict, transfers, portfolio: Portfolio, state, gas: GasModel | None = None,
                 wallet: str = "wallet", tx_base_gas: int = 21000, id_prefix: str = "o") -> None:
        self.venues = venues
        self.transfers = transfers
        self.portfolio = portfolio
        self.state = state
        self.gas = gas
        self.wallet = wallet
        self.tx_base_gas = tx_base_gas
        self.id_prefix = id_prefix
        self._next_id = 0
        self._seen: set[str] = set()

    def _with_id(self, order: Order) -> Order:
        if order.client_order_id is None:
            self._next_id += 1
            return replace(order, client_order_id=f"{self.id_prefix}-{self._next_id}")
        return order

    def _route(self, order: Order) -> Trade:
        cid = order.client_order_id
        if cid in self._seen:
            return Trade(order, self.state.t, TradeStatus.REJECTED, error_code="EXEC-004",
                         error=f"client order id {cid} was already used in this run: not sent again")
        self._seen.add(cid)
        if order.operation is Operation.TRANSFER:
            return self.transfers.submit((order,))[0]
        venue = self.venues.get(order.venue)
        if venue is None:
            return Trade(order, self.state.t, TradeStatus.REJECTED, error_code="EXEC-002",
                         error=f"unknown venue {order.venue!r}; known: {sorted(self.venues)}")
        return venue.submit((order,))[0]

    def execute(self, orders: list[Order], report: Callable) -> list[Trade]:
        """Run ``orders``; ``report(ev)`` receives every account event once it is final (already applied
        to the portfolio). Returns the trades in order."""
        trades: list[Trade] = []
        groups: dict[str, list[Order]] = {}
        plan: list[Order | list[Order]] = []
        for o in orders:
            o = self._with_id(o)
            if o.execution_mode is ExecutionMode.ATOMIC:
                g = groups.get(o.atomic_group_id)
                if g is None:
                    g = groups[o.atomic_group_id] = []
                    plan.append(g)
                g.append(o)
            else:
                plan.append(o)
        apply = self.portfolio.apply
        for item in plan:
            if isinstance(item, list):
                trades.extend(self._atomic(sorted(item, key=lambda o: o.sequence_in_group), report))
            else:
                tr = self._route(item)
                apply(tr)
                report(tr)
                trades.append(tr)
        return trades

    def _atomic(self, group: list[Order], report: Callable) -> list[Trade]:
        portfolio_cp = self.portfolio.snapshot()
        venue_cps = {name: v.checkpoint() for name, v in self.venues.items()}
        done: list[Trade] = []
        failed: Trade | None = None
        t = self.state.t
        for o in group:
            tr = self._route(o)
            done.append(tr)
            if not tr.ok:
                failed = tr
                break
            self.portfolio.apply(tr)
        if failed is None:
            open_loans = {f"{name}:{tok}": owed for name, v in self.venues.items()
                          for tok, owed in (v.open_flash() if hasattr(v, "open_flash") else {}).items()}
            if open_loans:
                failed = Trade(group[-1], t, TradeStatus.REJECTED, error_code="EXEC-003",
                               error=f"flash loan not repaid by the end of the group: {open_loans}")
        units = tx_gas_units([tr.gas_units if tr.ok else self._leg_units(tr.order) for tr in done], self.tx_base_gas)
        if failed is None:
            gas_usd = self._pay_gas(group[0].venue, units, report)
            out = [replace(tr, gas_usd=gas_usd) if k == 0 else tr for k, tr in enumerate(done)]
            for tr in out:
                report(tr)
            return out
        self.portfolio.restore(portfolio_cp)
        for name, v in self.venues.items():
            v.restore(venue_cps[name])
        gas_usd = self._pay_gas(group[0].venue, units, report)  # the reverted transaction still burnt its gas
        leg = failed.order.sequence_in_group
        reason = f"atomic group {group[0].atomic_group_id} failed at leg {leg}: {failed.error}"
        out = [Trade(x, t, TradeStatus.FAILED, error_code=failed.error_code or "EXEC-001", error=reason,
                     gas_usd=gas_usd if k == 0 else 0.0) for k, x in enumerate(group)]
        for tr in out:
            report(tr)
        return out

    def _leg_units(self, order: Order) -> int:
        """Gas of a leg that reverted: the call still ran up to the revert."""
        venue = self.venues.get(order.venue)
        return venue.gas_units(order.operation) if venue is not None and hasattr(venue, "gas_units") else 0

    def _pay_gas(self, venue: str, units: int, report: Callable) -> float:
        if not units or self.gas is None:
            return 0.0
        usd, deltas, pnl = self.gas.charge(self.wallet, venue, units)
        ev = AccountChange(self.state.t, self.wallet, "gas", deltas=deltas, pnl=pnl,
                           data={"venue": venue, "gas_units": units, "usd": usd})
        self.portfolio.apply(ev)
        report(ev)
        return usd
