"""Exposure and risk monitor, run every step before the strategy decides and after each pass.

Readings (updated in place, read through the strategy context and recorded per step by the kernel),
from the venues' declared readings only (``venues.protocol`` and the account methods below), never
their internals:

* ``net_delta_usd``: the book's exposure to the underlying's price, USD(T): spot holdings of
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
    """Args: spot venues (``exposure_usd()``), perp venues (``readings()`` -> (delta USD, ETH units,
    margin ratio, notional), ``position_sizes()``), on-chain accounts (``eth_exposure()`` in ETH units), AAVE
    accounts (``risk_readings()`` -> (HF, LTV)) and the on-chain prices (``eth_usd_now``)."""

    def __init__(self, spot_venues: list, perp_venues: list, onchain: list | None = None, aave: list | None = None,
                 prices=None) -> None:
        self.spot_venues = list(spot_venues)
        self.perps = perp_venues
        self.perp_names = [v.name for v in perp_venues]
        self.onchain = onchain or []
        self.aave = aave or []
        self.aave_names = [v.name for v in self.aave]
        self.prices = prices
        self.net_delta_usd = 0.0
        self.net_eth = 0.0
        self.margin_ratios: dict[str, float | None] = {n: None for n in self.perp_names}
        self.notionals: dict[str, float] = {n: 0.0 for n in self.perp_names}
        self.health_factors: dict[str, float] = {n: float("inf") for n in self.aave_names}
        self.ltvs: dict[str, float] = {n: 0.0 for n in self.aave_names}

    def observe(self) -> "RiskMonitor":
        delta = 0.0
        for v in self.spot_venues:
            delta += v.exposure_usd()
        mr, notionals = self.margin_ratios, self.notionals
        eth = 0.0
        for v in self.perps:
            d, e, mr[v.name], notionals[v.name] = v.readings()
            delta += d
            eth += e
        if self.onchain:
            onchain_eth = 0.0
            for v in self.onchain:
                onchain_eth += v.eth_exposure()
            delta += onchain_eth * self.prices.eth_usd_now
            eth += onchain_eth
        for v in self.aave:
            self.health_factors[v.name], self.ltvs[v.name] = v.risk_readings()
        self.net_delta_usd = delta
        self.net_eth = eth
        return self

    def position_sizes(self) -> dict[tuple[str, str], float]:
        """Signed perp position size per (account, base token), base units."""
        out = {}
        for v in self.perps:
            for tok, size in v.position_sizes().items():
                out[(v.name, tok)] = size
        return out
