"""Ranked funding opportunities: annualised funding spread net of four taker legs and transfer cost.

Two kinds of opportunity, for every instrument of a :class:`~.table.FundingTable` at a time ``t``:

* ``cross_venue``: the same linear perpetual (same base and quote, e.g. BTC/USDT) on two venues: long
  where funding is low, short where it is high. Gross APR = APR(short venue) - APR(long venue) (the
  short receives its rate, the long pays its rate). Costs: four taker legs (open and close the long,
  open and close the short: ``2 x (fee_long + fee_short)``, fee = taker fee + slippage, fraction of
  notional) and the expected transfers (margin sent to the pair's venues and back:
  ``2 x route fee(long venue, short venue) / notional``).
* ``perp_spot``: one perpetual hedged with the same venue's spot (every instrument of a venue; for
  OKX's 344 swaps the only kind there is): gross APR = |APR| (short perp / long spot when funding is
  positive; long perp / short spot -- which needs a spot borrow whose cost is not in the data,
  ``needs_borrow`` -- when negative). Costs: four taker legs ``2 x (perp fee + spot fee)``; the
  transfer between a venue's own accounts is free.

The one-off costs are annualised over the expected holding period ``hold_days``:
``cost APR = one-off cost x 365 / hold_days``; ``net APR = gross APR - cost APR``. All APRs are simple
annual rates (365-day year, no compounding). The current rate of an instrument is its last settled
rate at or before ``t`` (its own interval), no older than ``max_age_hours``; nothing is predicted.

Shapes: :func:`rank_history` works on ``T`` times x ``M`` candidate opportunities at once (one
vectorised pass; ``bench/funding_scan.py`` times the whole history).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from basiskit.data.funding.schedule import HOUR_NS
from basiskit.data.funding.table import FundingTable

CROSS = "cross_venue"
PERP_SPOT = "perp_spot"


@dataclass(frozen=True)
class Costs:
    """Trading and transfer costs per venue (fractions of notional and USDT).

    Attributes:
        perp_taker: venue -> perp taker fee + slippage, fraction of notional (e.g. 0.0006).
        spot_taker: venue -> spot taker fee + slippage, fraction of notional.
        transfer_fee_usd: ``(venue a, venue b)`` -> fee of the cheapest route a -> b, USDT (both orders
            given, or the pair is priced as having no route: ``inf``).
        notional_usd: notional of each leg, USD(T) (transfer fees are fixed, so their share depends on it).
        hold_days: expected holding period over which one-off costs are annualised, days (> 0).
        max_age_hours: the newest settlement older than this is no current rate (data gap, delisting).
    """

    perp_taker: dict[str, float]
    spot_taker: dict[str, float] = field(default_factory=dict)
    transfer_fee_usd: dict[tuple[str, str], float] = field(default_factory=dict)
    notional_usd: float = 100_000.0
    hold_days: float = 30.0
    max_age_hours: float = 48.0

    def __post_init__(self) -> None:
        if not self.hold_days > 0:
            raise ValueError(f"hold_days must be > 0, got {self.hold_days}")
        if not self.notional_usd > 0:
            raise ValueError(f"notional_usd must be > 0, got {self.notional_usd}")

    def annualise_once(self, fraction: float | np.ndarray) -> float | np.ndarray:
        """One-off cost (fraction of notional) as an APR over ``hold_days``."""
        return fraction * 365.0 / self.hold_days


@dataclass(frozen=True)
class Candidates:
    """The opportunities to rank: ``long[m]`` / ``short[m]`` instrument indexes (-1: the venue's spot,
    for ``perp_spot`` the perp index is in ``long`` and ``short`` is -1), their ``kind`` and one-off
    ``cost`` (fraction of notional, four taker legs + transfers)."""

    kind: np.ndarray   # str
    long: np.ndarray   # int64
    short: np.ndarray  # int64
    cost: np.ndarray   # float64, fraction of notional


def candidates(table: FundingTable, costs: Costs) -> Candidates:
    """Every ``perp_spot`` opportunity of an instrument whose venue has a perp fee, and every ordered
    ``cross_venue`` pair of instruments with the same base and quote on two venues.

    Raises:
        KeyError: a venue of the table without a perp taker fee in ``costs`` (names it).
    """
    kind, lo, sh, cost = [], [], [], []
    for k, (venue, _) in enumerate(table.keys):
        if venue not in costs.perp_taker:
            raise KeyError(f"no perp taker fee for venue {venue!r}")
        spot = costs.spot_taker.get(venue, costs.perp_taker[venue])
        kind.append(PERP_SPOT); lo.append(k); sh.append(-1); cost.append(2 * (costs.perp_taker[venue] + spot))  # noqa: E702
    by_under: dict[tuple[str, str], list[int]] = {}
    for k, (b, q) in enumerate(zip(table.base, table.quote)):
        by_under.setdefault((b, q), []).append(k)
    for ks in by_under.values():
        for a in ks:
            for b in ks:
                va, vb = table.keys[a][0], table.keys[b][0]
                if va == vb:
                    continue
                fee = costs.transfer_fee_usd.get((va, vb), float("inf"))
                kind.append(CROSS); lo.append(a); sh.append(b)
                cost.append(2 * (costs.perp_taker[va] + costs.perp_taker[vb]) + 2 * fee / costs.notional_usd)
    return Candidates(np.asarray(kind), np.asarray(lo, dtype=np.int64), np.asarray(sh, dtype=np.int64),
                      np.asarray(cost, dtype=float))


def _current(table: FundingTable, costs: Costs, at_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rates, intervals) ``(T, N)`` of the last settlement at or before each time of ``at_ns`` (sorted),
    no older than ``costs.max_age_hours`` (else NaN / 0).

    One vectorised pass: each settlement is placed at the first time of ``at_ns`` at or after it (the last
    settlement of an instrument wins a place), and the row index is carried forward down the times."""
    at = np.asarray(at_ns, dtype=np.int64)
    if at.size > 1 and (np.diff(at) < 0).any():
        raise ValueError("times to rank at must be sorted")
    n, T = len(table), at.size
    counts = np.diff(table.offsets)
    inst = np.repeat(np.arange(n), counts)
    pos = np.searchsorted(at, table.times, "left")
    keep = pos < T
    last = np.ones(table.times.size, dtype=bool)  # the last settlement of each (time slot, instrument)
    last[:-1] = (pos[1:] != pos[:-1]) | (inst[1:] != inst[:-1])
    keep &= last
    idx = np.full((T, n), -1, dtype=np.int64)
    idx[pos[keep], inst[keep]] = np.flatnonzero(keep)
    np.maximum.accumulate(idx, axis=0, out=idx)
    has = idx >= 0
    safe = np.where(has, idx, 0)
    ok = has & (at[:, None] - table.times[safe] <= int(costs.max_age_hours * HOUR_NS))
    rates = np.where(ok, table.rates[safe], np.nan)
    ivs = np.where(ok, table.intervals[safe], 0)
    return rates, ivs


_YEAR_FACTOR = np.array([np.nan] + [8760.0 / h for h in range(1, 25)])  # interval h -> periods per year


def _net(table, costs, cands, at_ns, rates, ivs):
    """(net, gross, APR per instrument, intervals): perp_spot candidates are the first ``N`` (one per
    instrument, in order), the cross_venue ones follow."""
    apr = rates * _YEAR_FACTOR[np.minimum(ivs, 24)]
    n = len(table)
    single = cands.short < 0
    if single[:n].all() and (cands.long[:n] == np.arange(n)).all() and not single[n:].any():
        cross_l, cross_s = cands.long[n:], cands.short[n:]
        gross = np.empty((apr.shape[0], cands.long.size))
        np.abs(apr, out=gross[:, :n])
        np.subtract(apr[:, cross_s], apr[:, cross_l], out=gross[:, n:])
    else:  # any other candidate list
        lo = apr[:, cands.long]
        sh = apr[:, np.maximum(cands.short, 0)]
        gross = np.where(single, np.abs(lo), sh - lo)
    net = gross - costs.annualise_once(cands.cost)
    return net, gross, apr, ivs


def rank_history(table: FundingTable, costs: Costs, at_ns: np.ndarray, cands: Candidates | None = None
                 ) -> tuple[np.ndarray, np.ndarray, Candidates]:
    """Rank every candidate at every time of ``at_ns`` in one pass.

    Returns ``(order, net, candidates)``: ``order[t]`` lists candidate indexes best first (those without
    a current rate last), ``net`` the ``(T, M)`` net APRs (NaN: no current rate on a leg).
    """
    cands = cands if cands is not None else candidates(table, costs)
    rates, ivs = _current(table, costs, at_ns)
    net, _, _, _ = _net(table, costs, cands, at_ns, rates, ivs)
    key = np.where(np.isnan(net), np.inf, -net)
    return np.argsort(key, axis=1), net, cands


@dataclass(frozen=True)
class Opportunity:
    """One ranked opportunity at a time (APR: simple annual rates, fractions; 0.1 = 10 %)."""

    rank: int
    kind: str
    base: str
    quote: str
    long: str            # "venue:instrument", or "venue:spot"
    short: str
    net_apr: float
    gross_apr: float
    cost_apr: float
    long_rate: float | None       # per period of the long leg (None: spot)
    short_rate: float | None
    long_interval_h: int | None
    short_interval_h: int | None
    needs_borrow: bool = False    # perp_spot with negative funding: short spot needs a borrow (cost not included)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def rank_at(table: FundingTable, costs: Costs, at_ns: int, top: int | None = None,
            kinds: tuple[str, ...] = (CROSS, PERP_SPOT)) -> list[Opportunity]:
    """The opportunities with a current rate at ``at_ns``, best net APR first (``top`` of them)."""
    cands = candidates(table, costs)
    rates, ivs = _current(table, costs, np.asarray([at_ns]))
    net, gross, _, _ = _net(table, costs, cands, [at_ns], rates, ivs)
    net, gross, r, iv = net[0], gross[0], rates[0], ivs[0]
    out: list[Opportunity] = []
    for m in np.argsort(np.where(np.isnan(net), np.inf, -net), kind="stable"):
        if np.isnan(net[m]) or cands.kind[m] not in kinds:
            continue
        lo, sh = int(cands.long[m]), int(cands.short[m])
        lv, li = table.keys[lo]
        if sh < 0:
            pos = r[lo] >= 0
            perp, spot = f"{lv}:{li}", f"{lv}:spot"
            long_, short_ = (spot, perp) if pos else (perp, spot)
            lr, sr = (None, float(r[lo])) if pos else (float(r[lo]), None)
            lih, sih = (None, int(iv[lo])) if pos else (int(iv[lo]), None)
            borrow = not pos
        else:
            sv, si = table.keys[sh]
            long_, short_ = f"{lv}:{li}", f"{sv}:{si}"
            lr, sr, lih, sih, borrow = float(r[lo]), float(r[sh]), int(iv[lo]), int(iv[sh]), False
        out.append(Opportunity(len(out) + 1, str(cands.kind[m]), table.base[lo], table.quote[lo], long_, short_,
                               float(net[m]), float(gross[m]), float(gross[m] - net[m]), lr, sr, lih, sih, borrow))
        if top is not None and len(out) >= top:
            break
    return out
