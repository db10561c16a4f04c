"""Cash balances per account and the PnL attribution book.

``Ledger`` maps ``(account, token)`` to a token-unit balance. Accounts are venue accounts such as
``"wallet"`` (on-chain), ``"binance.perp"`` (USDT collateral) or ``"bybit.spot"``.

``Attribution`` accumulates every change in equity by source, in USD(T), as it happens: cash flows
(funding, fees, gas, interest) when they occur and revaluations (price/basis, lending interest
through the liquidity index) when a venue marks its positions. It is an independent book: the
engine checks at the end of a run that it sums to the change in equity computed from balances.
"""

from __future__ import annotations

from collections import defaultdict


class Ledger:
    __slots__ = ("balances",)

    def __init__(self) -> None:
        self.balances: dict[tuple[str, str], float] = defaultdict(float)

    def get(self, account: str, token: str) -> float:
        return self.balances.get((account, token), 0.0)

    def add(self, account: str, token: str, amount: float) -> None:
        self.balances[(account, token)] += amount

    def snapshot(self) -> dict[tuple[str, str], float]:
        return dict(self.balances)

    def restore(self, snap: dict[tuple[str, str], float]) -> None:
        self.balances = defaultdict(float, snap)


# Attribution sources (keys of summary.json "attribution").
FUNDING = "funding"
LENDING_INTEREST = "lending_interest"
PRICE_BASIS = "price_basis"
SLIPPAGE = "slippage"
FEES = "fees"
GAS = "gas"
LIQUIDATION = "liquidation"
STAKING = "staking"                      # LST exchange-rate growth (the only way staking yield shows up)
RESTAKING_REWARDS = "restaking_rewards"  # EIGEN/ETHFI credited, valued at their Uniswap price at credit
BORROW_COST = "borrow_cost"              # variable-debt growth through the variable borrow index
FLASH_FEES = "flash_fees"                # flash-loan premiums
SOURCES = (FUNDING, LENDING_INTEREST, STAKING, RESTAKING_REWARDS, BORROW_COST, PRICE_BASIS, SLIPPAGE, FEES,
           FLASH_FEES, GAS, LIQUIDATION)


class Attribution:
    """PnL by source and by venue, USD(T)."""

    __slots__ = ("total", "by_venue")

    def __init__(self) -> None:
        self.total: dict[str, float] = {s: 0.0 for s in SOURCES}
        self.by_venue: dict[str, dict[str, float]] = {}

    def add(self, source: str, venue: str, amount: float) -> None:
        self.total[source] += amount
        bv = self.by_venue.get(venue)
        if bv is None:
            bv = self.by_venue[venue] = {}
        bv[source] = bv.get(source, 0.0) + amount

    def bucket(self, venue: str) -> dict[str, float]:
        """The per-venue dict (created with every source at 0), for hot paths that add in place."""
        bv = self.by_venue.get(venue)
        if bv is None:
            bv = self.by_venue[venue] = {}
        for s in SOURCES:
            bv.setdefault(s, 0.0)
        return bv

    def sum(self) -> float:
        return sum(self.total.values())
