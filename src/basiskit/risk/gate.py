"""Pre-trade risk gate: may remove orders, only ever to reduce risk.

* ``review``: when a perp account's margin ratio is below ``critical_margin_ratio``, orders that add
  exposure on that account (perp sells that grow a short, buys that grow a long) are dropped and a
  ``risk_override`` event records them. Reducing orders and transfers always pass.
* ``reduce_only`` (used while the risk override is in force): drops every order that adds risk —
  borrow, supply, stake, perp trades that grow a position, spot buys; an atomic group with any such
  leg is dropped whole.
"""

from __future__ import annotations

from basiskit.domain.events import Event
from basiskit.domain.orders import ExecutionMode, Operation, Order, Side
from basiskit.risk.monitor import RiskMonitor

_ADDING = {Operation.BORROW, Operation.SUPPLY, Operation.STAKE}


def _describe(o: Order) -> str:
    side = f" {o.side.value}" if o.side else ""
    return f"{o.operation.value}{side} {o.amount:.6g} {o.token} on {o.venue}"


class RiskGate:
    def __init__(self, perp_names: list[str], critical_margin_ratio: float = 0.02) -> None:
        self.perp_names = perp_names
        self.critical = critical_margin_ratio

    @staticmethod
    def _grows(o: Order, sizes: dict[tuple[str, str], float]) -> bool:
        size = sizes.get((o.venue, o.token), 0.0)
        return (size <= 0 and o.side is Side.SELL) or (size >= 0 and o.side is Side.BUY)

    def review(self, orders: list[Order], risk: RiskMonitor, sizes: dict[tuple[str, str], float], t: int) -> tuple[list[Order], list[Event]]:
        critical = {n for n, mr in risk.margin_ratios.items() if mr is not None and mr < self.critical}
        if not critical:
            return orders, []
        kept, dropped = [], []
        for o in orders:
            if o.operation is Operation.PERP_TRADE and o.venue in critical and self._grows(o, sizes):
                dropped.append(o)
                continue
            kept.append(o)
        if not dropped:
            return orders, []
        return kept, [Event(t, "risk", "risk_override", {"dropped": [_describe(o) for o in dropped],
                                                         "critical_accounts": sorted(critical)})]

    def reduce_only(self, orders: list[Order], sizes: dict[tuple[str, str], float], t: int) -> tuple[list[Order], list[Event]]:
        bad_groups = set()
        dropped = []
        for o in orders:
            adds = (o.operation in _ADDING
                    or (o.operation is Operation.PERP_TRADE and self._grows(o, sizes))
                    or (o.operation is Operation.SPOT_TRADE and o.side is Side.BUY))
            if adds:
                dropped.append(o)
                if o.execution_mode is ExecutionMode.ATOMIC:
                    bad_groups.add(o.atomic_group_id)
        if not dropped:
            return orders, []
        gone = {id(o) for o in dropped}
        kept = [o for o in orders if id(o) not in gone and not (o.execution_mode is ExecutionMode.ATOMIC
                                                                and o.atomic_group_id in bad_groups)]
        kept_ids = {id(o) for o in kept}
        return kept, [Event(t, "risk", "override_dropped", {"dropped": [_describe(o) for o in orders if id(o) not in kept_ids]})]
