"""Data models of funding arbitrage (frozen value objects; no I/O).

Units: APRs are simple annual rates (fractions); quantities base units; times int ns since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_YEAR = 8760.0
NS_PER_HOUR = 3_600_000_000_000


@dataclass(frozen=True)
class Pair:
    """A long account and a short account (e.g. ``binance.perp`` / ``bybit.perp``)."""

    long: str
    short: str

    def reversed(self) -> "Pair":
        return Pair(self.short, self.long)

    def __str__(self) -> str:
        return f"long {self.long} / short {self.short}"


@dataclass(frozen=True)
class PositionPair:
    """An open pair: ``qty`` base units long on ``pair.long`` and short on ``pair.short``, opened at
    ``opened_ns`` when its spread APR estimate was ``entry_spread_apr`` and its notional per leg
    ``entry_notional_usd``."""

    pair: Pair
    qty: float
    opened_ns: int
    entry_spread_apr: float
    entry_notional_usd: float


@dataclass(frozen=True)
class FundingEstimate:
    """A venue's funding estimate: the mean of its last settled rates (per ``interval_h``-hour period)
    annualised: ``apr = mean rate x 8760 / interval_h``; ``last_ns`` its newest settlement."""

    account: str
    apr: float
    interval_h: float
    last_ns: int
    settlements: int


def estimate(account: str, settlements: list[tuple[int, float]]) -> FundingEstimate | None:
    """The estimate from ``(time ns, rate)`` settlements, oldest first (None without any). The interval is
    the time between the last two settlements (8 h with a single one).

    >>> round(estimate("a", [(0, 1e-4), (8 * NS_PER_HOUR, 3e-4)]).apr, 6)  # mean 2e-4 x 1095
    0.219
    """
    if not settlements:
        return None
    rates = [r for _, r in settlements]
    if len(settlements) >= 2:
        interval = (settlements[-1][0] - settlements[-2][0]) / NS_PER_HOUR
    else:
        interval = 8.0
    interval = interval if interval > 0 else 8.0
    return FundingEstimate(account, sum(rates) / len(rates) * HOURS_PER_YEAR / interval, interval,
                           settlements[-1][0], len(settlements))


def spread_apr(est: dict[str, FundingEstimate], pair: Pair) -> float | None:
    """APR the pair earns: the short receives its venue's funding, the long pays its venue's:
    ``apr(short) - apr(long)``; None when a leg has no estimate."""
    lo, sh = est.get(pair.long), est.get(pair.short)
    if lo is None or sh is None:
        return None
    return sh.apr - lo.apr


@dataclass(frozen=True)
class PairView:
    """What a rebalance rule sees about the open pair (all APRs simple annual fractions).

    Attributes:
        pair: the open pair; held_s: seconds since it was opened;
        entry_spread_apr: its spread estimate at entry; spread_apr: its spread estimate now;
        best_alt: the best other pair now and its spread APR (None: no other pair has estimates);
        switch_cost_apr: the one-off cost of switching to ``best_alt`` (closing the open legs, opening the
            new ones, moving margin) annualised over the holding period.
    """

    pair: Pair
    held_s: float
    entry_spread_apr: float
    spread_apr: float
    best_alt: tuple[Pair, float] | None = None
    switch_cost_apr: float = 0.0


@dataclass(frozen=True)
class RebalanceSignal:
    """A rule fired: ``action`` ``close`` (go flat, the open phase may pick a pair again) or ``switch``
    (to ``target``); ``rule`` names the rule, ``reason`` says why with the numbers."""

    action: str
    rule: str
    reason: str
    target: Pair | None = None
