"""Pre-trade risk gate: may replace a decision, only ever to reduce risk.

Rule in this version: when a perp account's margin ratio is below ``critical_margin_ratio``, orders
that add exposure on that account (perp sells that grow a short, buys that grow a long) are dropped
and a ``risk_override`` event records them. Reducing orders and transfers always pass.
"""

from __future__ import annotations

from basiskit.domain.events import Event
from basiskit.domain.orders import Operation, Order
from basiskit.risk.monitor import RiskMonitor


class RiskGate:
    def __init__(self, perp_names: list[str], critical_margin_ratio: float = 0.02) -> None:
        self.perp_names = perp_names
        self.critical = critical_margin_ratio

    def review(self, orders: list[Order], risk: RiskMonitor, sizes: dict[tuple[str, str], float], t: int) -> tuple[list[Order], list[Event]]:
        critical = {n for n, mr in risk.margin_ratios.items() if mr is not None and mr < self.critical}
        if not critical:
            return orders, []
        kept, dropped = [], []
        for o in orders:
            if o.operation is Operation.PERP_TRADE and o.venue in critical:
                size = sizes.get((o.venue, o.token), 0.0)
                grows = (size <= 0 and o.side.value == "sell") or (size >= 0 and o.side.value == "buy")
                if grows:
                    dropped.append(o)
                    continue
            kept.append(o)
        if not dropped:
            return orders, []
        return kept, [Event(t, "risk", "risk_override", {"dropped": [f"{o.operation.value} {o.side.value} {o.amount} {o.token} on {o.venue}" for o in dropped],
                                                         "critical_accounts": sorted(critical)})]
