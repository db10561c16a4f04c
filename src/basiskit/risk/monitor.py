"""Exposure and risk monitor, run every step before the strategy decides.

* net delta (USD(T)): sum over spot balances of non-stable tokens x price plus perp sizes x mark —
  the share-class exposure to the underlying's price;
* margin ratio per perp account (margin balance / notional, None without a position).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RiskState:
    net_delta_usd: float
    margin_ratios: dict[str, float | None]  # perp account -> margin balance / notional


class RiskMonitor:
    def __init__(self, spot_venues: list, perp_venues: list) -> None:
        self.spot = [(v, list(v.prices)) for v in spot_venues]
        self.perps = perp_venues
        self.perp_names = [v.name for v in perp_venues]

    def observe(self, i: int) -> RiskState:
        delta = 0.0
        for v, tokens in self.spot:
            for tok in tokens:
                q = v.ledger.get(v.name, tok)
                if q:
                    delta += q * v.prices[tok][i]
        for v in self.perps:
            for pos in v.positions.values():
                if pos.size:
                    delta += pos.size * pos.marks[i]
        return RiskState(delta, {v.name: v.margin_ratio(i) for v in self.perps})
