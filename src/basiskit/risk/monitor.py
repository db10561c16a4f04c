"""Exposure and risk monitor, run every step before the strategy decides and after each pass.

Readings (updated in place, read through the strategy context and recorded per step by the engine):

* ``net_delta_usd``: sum over spot balances of non-stable tokens x price plus perp sizes x mark —
  the book's exposure to the underlying's price, USD(T);
* ``margin_ratios[account]``: margin balance / notional per perp account (None without a position).
"""

from __future__ import annotations


class RiskMonitor:
    def __init__(self, spot_venues: list, perp_venues: list) -> None:
        self.spot = [(v, list(v.prices)) for v in spot_venues]
        self.perps = perp_venues
        self.perp_names = [v.name for v in perp_venues]
        self.net_delta_usd = 0.0
        self.margin_ratios: dict[str, float | None] = {n: None for n in self.perp_names}

    def observe(self, i: int) -> "RiskMonitor":
        delta = 0.0
        for v, tokens in self.spot:
            balances = v.ledger.balances
            for tok in tokens:
                q = balances.get((v.name, tok), 0.0)
                if q:
                    delta += q * v.prices[tok][i]
        mr = self.margin_ratios
        for v in self.perps:
            for pos in v.positions.values():
                if pos.size:
                    delta += pos.size * pos.marks[i]
            mr[v.name] = v.margin_ratio(i)
        self.net_delta_usd = delta
        return self
