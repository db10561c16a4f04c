"""Execution manager: routes orders to venues; sequential orders in order, atomic groups
all-or-nothing.

An atomic group (orders sharing ``atomic_group_id``, run by ``sequence_in_group``) is one on-chain
transaction (the shape of a flash-loan loop). It is executed against a snapshot of the ledger, the
attribution book and every venue's state. If any leg is not filled, or a flash loan is still open
when the last leg has run, everything is restored and every leg's trade is marked FAILED with the
failing leg's reason. Gas is paid once per transaction (``gas.tx_gas_units`` of the legs' units):
after success for every leg, and after a failure for the legs up to the failing one — a reverted
transaction still burns its gas.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import Attribution, Ledger
from basiskit.venues.sim.gas import GasModel, tx_gas_units


class ExecutionManager:
    def __init__(self, venues: dict, transfers, ledger: Ledger, attribution: Attribution, grid_list: list[int],
                 gas: GasModel | None = None, wallet: str = "wallet", tx_base_gas: int = 21000) -> None:
        self.venues = venues
        self.transfers = transfers
        self.ledger = ledger
        self.attr = attribution
        self.grid_list = grid_list
        self.gas = gas
        self.wallet = wallet
        self.tx_base_gas = tx_base_gas

    def _route(self, order: Order, i: int) -> Trade:
        if order.operation is Operation.TRANSFER:
            return self.transfers.execute(order, i)
        venue = self.venues.get(order.venue)
        if venue is None:
            return Trade(order, self.grid_list[i], TradeStatus.REJECTED, error_code="EXEC-002",
                         error=f"unknown venue {order.venue!r}; known: {sorted(self.venues)}")
        return venue.execute(order, i)

    def execute(self, orders: list[Order], i: int) -> list[Trade]:
        trades: list[Trade] = []
        groups: dict[str, list[Order]] = {}
        plan: list[Order | list[Order]] = []
        for o in orders:
            if o.execution_mode is ExecutionMode.ATOMIC:
                g = groups.get(o.atomic_group_id)
                if g is None:
                    g = groups[o.atomic_group_id] = []
                    plan.append(g)
                g.append(o)
            else:
                plan.append(o)
        for item in plan:
            if isinstance(item, list):
                trades.extend(self._atomic(sorted(item, key=lambda o: o.sequence_in_group), i))
            else:
                trades.append(self._route(item, i))
        return trades

    def _atomic(self, group: list[Order], i: int) -> list[Trade]:
        ledger_snap = self.ledger.snapshot()
        attr_snap = (dict(self.attr.total), copy.deepcopy(self.attr.by_venue))
        venue_snaps = {name: v.state() for name, v in self.venues.items()}
        done: list[Trade] = []
        failed: Trade | None = None
        for o in group:
            tr = self._route(o, i)
            done.append(tr)
            if not tr.ok:
                failed = tr
                break
        if failed is None:
            open_loans = {f"{name}:{tok}": owed for name, v in self.venues.items()
                          for tok, owed in (v.open_flash() if hasattr(v, "open_flash") else {}).items()}
            if open_loans:
                failed = Trade(group[-1], self.grid_list[i], TradeStatus.REJECTED, error_code="EXEC-003",
                               error=f"flash loan not repaid by the end of the group: {open_loans}")
        units = tx_gas_units([tr.gas_units if tr.ok else self._leg_units(tr.order) for tr in done], self.tx_base_gas)
        if failed is None:
            gas_usd = self._pay_gas(group[0].venue, units, i)
            return [replace(tr, gas_usd=gas_usd) if k == 0 else tr for k, tr in enumerate(done)]
        self.ledger.restore(ledger_snap)
        self.attr.total, self.attr.by_venue = attr_snap
        for name, v in self.venues.items():
            v.restore(venue_snaps[name])
        gas_usd = self._pay_gas(group[0].venue, units, i)  # the reverted transaction still burnt its gas
        leg = failed.order.sequence_in_group
        reason = f"atomic group {group[0].atomic_group_id} failed at leg {leg}: {failed.error}"
        return [Trade(x, self.grid_list[i], TradeStatus.FAILED, error_code=failed.error_code or "EXEC-001", error=reason,
                      gas_usd=gas_usd if k == 0 else 0.0) for k, x in enumerate(group)]

    def _leg_units(self, order: Order) -> int:
        """Gas of a leg that reverted: the call still ran up to the revert."""
        venue = self.venues.get(order.venue)
        return venue.gas_units(order.operation) if venue is not None and hasattr(venue, "gas_units") else 0

    def _pay_gas(self, venue: str, units: int, i: int) -> float:
        if not units or self.gas is None:
            return 0.0
        return self.gas.pay(self.ledger, self.attr, self.wallet, venue, units, i)
