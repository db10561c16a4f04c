"""Exposure and risk monitor, run every step before the strategy decides and after each pass.

Readings (updated in place, read through the strategy context and recorded per step by the engine):

* ``net_delta_usd``: the book's exposure to the underlying's price, USD(T): spot balances of
  non-stable tokens x price, perp sizes x mark, and on-chain ETH (wallet WETH/LSTs/reward tokens,
  AAVE collateral - debt, queued withdrawals; ETH units x the on-chain ETH/USD price);
* ``net_eth``: the on-chain part in ETH units plus ETH perp sizes (ETH modes);
* ``margin_ratios[account]``: margin balance / notional per perp account (None without a position);
  ``notionals[account]``: sum of |size| x mark, USD(T);
* ``health_factors[account]`` / ``ltvs[account]``: AAVE health factor (inf without debt) and
  debt / collateral per AAVE account.
"""

from __future__ import annotations


class RiskMonitor:
    def __init__(self, spot_venues: list, perp_venues: list, onchain: list | None = None, aave: list | None = None,
                 eth_usd: list[float] | None = None) -> None:
        self.spot = [(v, list(v.prices)) for v in spot_venues]
        self.spot_venues = list(spot_venues)
        self.perps = perp_venues
        self.perp_names = [v.name for v in perp_venues]
        self.onchain = onchain or []
        self.aave = aave or []
        self.aave_names = [v.name for v in self.aave]
        self.eth_usd = eth_usd
        self.net_delta_usd = 0.0
        self.net_eth = 0.0
        self.margin_ratios: dict[str, float | None] = {n: None for n in self.perp_names}
        self.notionals: dict[str, float] = {n: 0.0 for n in self.perp_names}
        self.health_factors: dict[str, float] = {n: float("inf") for n in self.aave_names}
        self.ltvs: dict[str, float] = {n: 0.0 for n in self.aave_names}

    def observe(self, i: int) -> "RiskMonitor":
        delta = 0.0
        for v, tokens in self.spot:
            balances = v.ledger.balances
            for tok in tokens:
                q = balances.get((v.name, tok), 0.0)
                if q:
                    delta += q * v.prices[tok][i]
        mr = self.margin_ratios
        eth = 0.0
        for v in self.perps:
            for tok, pos in v.positions.items():
                if pos.size:
                    delta += pos.size * pos.marks[i]
                    if tok == "ETH":
                        eth += pos.size
            mr[v.name], self.notionals[v.name] = v.margin_readings(i)
        if self.onchain:
            onchain_eth = 0.0
            for v in self.onchain:
                onchain_eth += v.eth_exposure(i)
            delta += onchain_eth * self.eth_usd[i]
            eth += onchain_eth
        for v in self.aave:
            self.health_factors[v.name], self.ltvs[v.name] = v.risk_readings(i)
        self.net_delta_usd = delta
        self.net_eth = eth
        return self
