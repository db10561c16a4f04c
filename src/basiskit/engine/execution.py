"""Execution manager: routes orders to venues; sequential orders in order, atomic groups
all-or-nothing.

An atomic group (orders sharing ``atomic_group_id``, run by ``sequence_in_group``) is executed
against a snapshot of the ledger, the attribution book and every venue's state; if any leg is not
filled, everything is restored and every leg's trade is marked FAILED with the failing leg's reason.
"""

from __future__ import annotations

import copy

from basiskit.domain.orders import ExecutionMode, Operation, Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.ledger import Attribution, Ledger


class ExecutionManager:
    def __init__(self, venues: dict, transfers, ledger: Ledger, attribution: Attribution, grid_list: list[int]) -> None:
        self.venues = venues
        self.transfers = transfers
        self.ledger = ledger
        self.attr = attribution
        self.grid_list = grid_list

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
        for o in group:
            tr = self._route(o, i)
            done.append(tr)
            if not tr.ok:
                self.ledger.restore(ledger_snap)
                self.attr.total, self.attr.by_venue = attr_snap
                for name, v in self.venues.items():
                    v.restore(venue_snaps[name])
                reason = f"atomic group {o.atomic_group_id} failed at leg {o.sequence_in_group}: {tr.error}"
                return [Trade(x, self.grid_list[i], TradeStatus.FAILED, error_code=tr.error_code or "EXEC-001", error=reason)
                        for x in group]
        return done
