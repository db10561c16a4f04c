"""The historical feed: the catalog's series replayed on the kernel's clock.

The series a run needs are aligned to the clock's times once (``data.market.build_frame``: vectorised
as-of alignment, gap valuation, intrabar extremes -- the hourly grid is the default clock, not the
kernel's shape: any clock times work). The feed then replays them step by step:
:meth:`HistoricalFeed.advance` writes the values at the step's time into the run's ``MarketState`` in
place (no per-step objects) and returns a ``MarketTick`` carrying the discrete market events of the
interval since the previous step: ``FundingRate`` settlements (at each venue's own funding times, not
the grid's) and ``RewardPayout`` s (restaking rewards paid). Nothing downstream can read ahead: venues,
monitors and strategies see the ``MarketState`` (now, and windows of the past) only.

A live feed writes the same ``MarketState`` from exchange streams and produces the same ticks.
"""

from __future__ import annotations

import bisect

import numpy as np

from basiskit.data.market import MarketFrame
from basiskit.data.market_state import MarketState
from basiskit.domain.events import FundingRate, MarketTick, RewardPayout


_NEVER = 2**63
_NO_FUNDING = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))


def _changes(flags: dict) -> dict[int, list[tuple[str, bool]]]:
    """Step -> [(key, flag)] for the steps where a key's flag differs from the step before (step 0:
    every key), so the feed writes a flag only when it changes. Steps must be visited in order from 0."""
    out: dict[int, list[tuple[str, bool]]] = {}
    for key, s in flags.items():
        a = np.frombuffer(s, np.uint8).astype(bool) if isinstance(s, bytes) else np.asarray(s, dtype=bool)
        if not a.size:
            continue
        for i in [0, *(np.flatnonzero(a[1:] != a[:-1]) + 1).tolist()]:
            out.setdefault(i, []).append((key, bool(a[i])))
    return out


class HistoricalFeed:
    """Replays ``frame`` (aligned series of one run) on its grid; ``payouts``: the reward schedule rows
    (``data.rewards.RewardDistribution``, already filtered to the ones the run credits), whose amounts
    are announced at their payout time."""

    def __init__(self, frame: MarketFrame, payouts: list | None = None) -> None:
        self.frame = frame
        self.grid: list[int] = frame.grid.tolist()
        self.state = MarketState()
        self._series = list(frame.series.items())
        self._extremes = [(k, frame.highs[k], frame.lows[k]) for k in frame.highs]
        # stale flags change rarely (data gaps): the steps where any changes, with the new flags
        self._stale_at = _changes(frame.stale)
        self._stale_steps = sorted(k for k in self._stale_at if k > 0)
        self._next_i = 0
        funding = sorted((t, key, rate, mark) for key, (times, rates, marks) in frame.funding.items()
                         for t, rate, mark in zip(times, rates, marks))
        self._funding = funding
        by_key: dict[str, list] = {}
        for row in funding:  # each series' settlements in the emitting order
            by_key.setdefault(row[1], []).append(row)
        self._funding_by_key = {k: (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[2] for r in rows]),
                                    np.array([r[3] for r in rows])) for k, rows in by_key.items()}
        self._grid_np = np.asarray(self.grid, dtype=np.int64)
        self._f_ptr = 0
        self._funding_times = {key: times for key, (times, _, _) in frame.funding.items()}
        rows = list(payouts or [])
        # emitted at the first step at or after the payout, in the order of their windows' starts
        self._payouts = sorted(range(len(rows)), key=lambda k: (rows[k].payout_ns, rows[k].start_ns))
        self._payout_rows = rows
        self._p_ptr = 0
        self._set_next_event()
        self._quiet = MarketTick(0, -1, ())  # the tick of steps without discrete events (valid until the next)
        self.state._window = self._window
        self.state._funding_next = self._next_funding
        self.state._funding_past = self._past_funding

    def __len__(self) -> int:
        return len(self.grid)

    def advance(self, i: int) -> MarketTick:
        """Move the market state to step ``i`` (in increasing order) and return its tick. A tick is
        valid until the next ``advance`` (the tick of a step without discrete events is one object,
        moved on: no allocation on most steps); keep its fields, not the tick."""
        st = self.state
        t = self.grid[i]
        st.t_prev = st.t if i else t
        st.t = t
        st.step = i
        px = st.px
        for key, series in self._series:
            px[key] = series[i]
        if self._extremes:
            hi, lo = st.hi, st.lo
            for key, h, low in self._extremes:
                hi[key] = h[i]
                lo[key] = low[i]
        if i == self._next_i:
            ch = self._stale_at.get(i)
            if ch is not None:
                st.stale.update(ch)
        else:  # not the step after the previous one: every flag as it is at step i
            st.stale.update((key, s[i]) for key, s in self.frame.stale.items())
        self._next_i = i + 1
        if t < self._next_event_t:
            quiet = self._quiet  # no discrete event this step (most steps): one tick object, moved on
            quiet.timestamp, quiet.step = t, i
            return quiet
        f = self._funding
        events: list = []
        while self._f_ptr < len(f) and f[self._f_ptr][0] <= t:
            ft, key, rate, mark = f[self._f_ptr]
            self._f_ptr += 1
            events.append(FundingRate(ft, key, rate, mark))
        if self._p_ptr < len(self._payouts):
            due = []
            while self._p_ptr < len(self._payouts) and self._payout_rows[self._payouts[self._p_ptr]].payout_ns <= t:
                due.append(self._payouts[self._p_ptr])
                self._p_ptr += 1
            for k in sorted(due, key=lambda k: self._payout_rows[k].start_ns):
                d = self._payout_rows[k]
                events.append(RewardPayout(t, k, d.token, d.per_eeth, d.per_eeth_eth_value))
        self._set_next_event()
        return MarketTick(t, i, tuple(events))

    def _set_next_event(self) -> None:
        """The time of the next discrete event (funding settlement or reward payout) not yet emitted."""
        nxt = _NEVER
        if self._f_ptr < len(self._funding):
            nxt = self._funding[self._f_ptr][0]
        if self._p_ptr < len(self._payouts):
            nxt = min(nxt, self._payout_rows[self._payouts[self._p_ptr]].payout_ns)
        self._next_event_t = nxt

    # -- quiet stretches (engine.quiet): the backtest driver passes steps without discrete events in one go
    def quiet_until(self, i: int, funding: bool = False) -> int:
        """The first step at or after ``i`` that carries a discrete market event (a reward payout, and
        a funding settlement unless ``funding``) or changes a stale flag (``len(self)`` if none): steps
        ``[i, quiet_until(i))`` move prices (and, with ``funding``, settle funding) only. Valid while
        the feed has been advanced up to ``i - 1``."""
        nxt = self._next_payout_t() if funding else self._next_event_t
        j = bisect.bisect_left(self.grid, nxt, lo=i) if nxt < _NEVER else len(self.grid)
        k = bisect.bisect_left(self._stale_steps, i)
        if k < len(self._stale_steps):
            j = min(j, self._stale_steps[k])
        return j

    def funding_in(self, key: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The settlements of funding series ``key`` the steps ``[lo, hi)`` carry, in the order
        :meth:`advance` emits them: (step - lo, settlement time ns, rate, mark) arrays (valid while the
        feed has been advanced up to ``lo - 1``)."""
        times, rates, marks = self._funding_by_key.get(key, _NO_FUNDING)
        a = int(times.searchsorted(self.grid[lo - 1], "right")) if lo else 0
        b = int(times.searchsorted(self.grid[hi - 1], "right"))
        t = times[a:b]
        return self._grid_np.searchsorted(t, "left") - lo, t, rates[a:b], marks[a:b]

    def _next_payout_t(self) -> int:
        if self._p_ptr < len(self._payouts):
            return self._payout_rows[self._payouts[self._p_ptr]].payout_ns
        return _NEVER

    def values(self, key: str, lo: int, hi: int) -> np.ndarray:
        """Series ``key`` over steps ``[lo, hi)`` (float64; all NaN for a key the frame lacks)."""
        s = self.frame.series.get(key)
        return np.full(hi - lo, np.nan) if s is None else np.asarray(s[lo:hi], dtype=np.float64)

    def extremes(self, key: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(highs, lows) of the bars closed before each step of ``[lo, hi)`` (NaN: none; all NaN for a
        series without extremes)."""
        h, low = self.frame.highs.get(key), self.frame.lows.get(key)
        if h is None:
            nan = np.full(hi - lo, np.nan)
            return nan, nan
        return np.asarray(h[lo:hi], dtype=np.float64), np.asarray(low[lo:hi], dtype=np.float64)

    def jump(self, j: int) -> None:
        """Move the market state to step ``j`` after a quiet stretch that ends there (no discrete event
        but funding settlements, which the stretch applied, and no stale-flag change since the last
        ``advance``), as ``advance`` would have left it."""
        st = self.state
        st.t_prev = self.grid[j - 1] if j else self.grid[j]
        st.t = self.grid[j]
        st.step = j
        px = st.px
        for key, series in self._series:
            px[key] = series[j]
        hi, lo = st.hi, st.lo
        for key, h, low in self._extremes:
            hi[key] = h[j]
            lo[key] = low[j]
        self._next_i = j + 1
        f, t = self._funding, st.t
        if self._f_ptr < len(f) and f[self._f_ptr][0] <= t:  # settlements the stretch carried: emitted
            while self._f_ptr < len(f) and f[self._f_ptr][0] <= t:
                self._f_ptr += 1
            self._set_next_event()

    def _window(self, key: str, n: int) -> list[float]:
        i = self.state.step
        series = self.frame.series[key]
        return [x for x in series[max(0, i - n + 1): i + 1]]

    def _past_funding(self, key: str, n: int) -> list[tuple[int, float]]:
        times, rates, _ = self._funding_by_key.get(key, _NO_FUNDING[:3])
        k = int(np.searchsorted(times, self.state.t, "right"))
        return [(int(t), float(r)) for t, r in zip(times[max(0, k - n):k], rates[max(0, k - n):k])]

    def _next_funding(self, key: str) -> int | None:
        times = self._funding_times.get(key)
        if not times:
            return None
        k = bisect.bisect_right(times, self.state.t)
        return times[k] if k < len(times) else None
