"""Venue snapshots: where the equity sits, taken every ``every`` clock steps and at the last step.

Per snapshot step ``i`` and venue account (all in USD(T) at step i's prices, after the step's
decisions and trades):

* ``value_usd``: the account's value (its contribution to equity; AAVE: collateral - variable debt),
* ``funding_usd``: cumulative funding booked on the account so far (perps; 0 elsewhere),
* ``perp_notional_usd``: signed perp notional, sum of size (token units, short < 0) x mark price,
* ``collateral_usd`` / ``debt_usd``: AAVE supplied and borrowed value,

and the attribution totals by source (USD(T), ``SOURCES`` order) so far.

The report (``basiskit.reports``) draws positions and funding by venue from these. Sampling keeps
the loop fast; the per-step series (equity, margin ratios, health factor, LTV) are recorded by the
loop itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from basiskit.domain.portfolio import Attribution


@dataclass
class VenueSnapshots:
    """Columns of sampled readings; ``steps[k]`` is the clock step of row k."""

    steps: list[int] = field(default_factory=list)
    value_usd: dict[str, list[float]] = field(default_factory=dict)
    funding_usd: dict[str, list[float]] = field(default_factory=dict)
    perp_notional_usd: dict[str, list[float]] = field(default_factory=dict)
    collateral_usd: dict[str, list[float]] = field(default_factory=dict)
    debt_usd: dict[str, list[float]] = field(default_factory=dict)
    attribution_usd: list[tuple] = field(default_factory=list)


class SnapshotTaker:
    """Takes a :class:`VenueSnapshots` row at step ``next_step`` (then moves it on). ``every`` in clock
    steps (>= 1); the loop compares one int per step."""

    def __init__(self, venues: dict, attribution: Attribution, n_steps: int, every: int) -> None:
        if every < 1:
            raise ValueError(f"snapshot interval must be >= 1 step, got {every}")
        self.venues = {name: v for name, v in venues.items() if hasattr(v, "value_usd")}
        self.attr = attribution
        self.every = every
        self.last = n_steps - 1
        self.out = VenueSnapshots()
        self.next_step = 0

    def following(self, i: int) -> int:
        """The snapshot step after one taken at step ``i`` (-1: none)."""
        return min(i + self.every, self.last) if i < self.last else -1

    def take(self, i: int) -> None:
        out = self.out
        out.steps.append(i)
        self.next_step = self.following(i)
        out.attribution_usd.append(tuple(self.attr.total.values()))
        for name, v in self.venues.items():
            out.value_usd.setdefault(name, []).append(v.value_usd())
            out.funding_usd.setdefault(name, []).append(self.attr.by_venue.get(name, {}).get("funding", 0.0))
            if hasattr(v, "exposure") and hasattr(v, "margin_readings"):  # a perp account: signed notional
                out.perp_notional_usd.setdefault(name, []).append(v.exposure()[0])
            if hasattr(v, "collateral_and_debt_usd"):
                coll, debt = v.collateral_and_debt_usd()
                out.collateral_usd.setdefault(name, []).append(coll)
                out.debt_usd.setdefault(name, []).append(debt)
