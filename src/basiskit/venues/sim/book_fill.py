"""The fill rule of a simulated book-ticker venue, written once for both paths of the signal engine.

A market order decided at time ``t`` reaches the venue ``latency`` later and fills at the opposite
side of the book **as it stands then**: a buy at the ask, a sell at the bid of the latest *valid*
update (``BookTickerSeries.valid``: crossed books are skipped) of that instrument at or before
``t + latency`` (int ns). With latency 0 that is the book the decision saw. The fill is stamped
``t + latency``. No book yet, or a fill time past the end of the run's data (``end_ns``): no fill.

The venue simulator (``venues.sim.book_venues``) calls :meth:`BookFill.at` per order; the vectorised
path (``engine.signal_vector``) calls :meth:`BookFill.at_many` for all of a run's orders at once:
the same lookup (``searchsorted`` on the same arrays).
"""

from __future__ import annotations

import numpy as np

from basiskit.data.ticks import BookTickerSeries


class BookFill:
    """Fills against one instrument's book-ticker stream (in time order)."""

    def __init__(self, series: BookTickerSeries, end_ns: int) -> None:
        self.ts = series.ts
        self.bid = series.bid
        self.ask = series.ask
        self.end_ns = int(end_ns)
        idx = np.arange(len(series), dtype=np.int64)
        self._last_valid = np.maximum.accumulate(np.where(series.valid, idx, -1)) if len(series) else idx

    def at_many(self, due_ns: np.ndarray, buy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(fill price per order, or NaN where it cannot fill; row of the book it filled at, or -1)."""
        due_ns = np.asarray(due_ns, dtype=np.int64)
        k = np.searchsorted(self.ts, due_ns, "right") - 1
        row = np.where(k >= 0, self._last_valid[np.maximum(k, 0)], -1)
        row = np.where(due_ns > self.end_ns, -1, row)
        ok = row >= 0
        r = np.maximum(row, 0)
        price = np.where(np.asarray(buy, dtype=bool), self.ask[r], self.bid[r])
        return np.where(ok, price, np.nan), row

    def at(self, due_ns: int, buy: bool) -> float | None:
        """The fill price of one order due at ``due_ns`` (None: it cannot fill)."""
        if due_ns > self.end_ns:
            return None
        k = int(np.searchsorted(self.ts, due_ns, "right")) - 1
        if k < 0:
            return None
        r = int(self._last_valid[k])
        if r < 0:
            return None
        return float(self.ask[r] if buy else self.bid[r])
