"""The latency fill rule of the book-ticker venues over arrays (the vectorised path's side of it).

The engine path executes orders one at a time (``venues.sim.latency_book.LatencyBook``): an IOC limit
order placed at step i (time ``ts[i]``) executes at the first step j >= i with ``ts[j] >= ts[i] +
latency`` against the instrument's book standing at step j (the latest valid book: a buy at the ask,
a sell at the bid), filled when that price is within the limit, expired otherwise or when there is no
book; never when no such step exists (the data ended first). :func:`latency_fills` is the same rule for
many orders at once (``searchsorted`` over the step times), stamped at ``ts[j]``.
"""

from __future__ import annotations

import numpy as np


def latency_fills(ts: np.ndarray, steps: np.ndarray, latency_ns: int, bid: np.ndarray, ask: np.ndarray,
                  buy: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For orders placed at ``steps`` (int indexes into the step times ``ts``, int ns): (execution step j,
    fill price, filled?) -- ``bid`` / ``ask``: the instrument's book per step (quote units, NaN: none);
    ``buy``: bool per order; ``limit``: limit price per order."""
    steps = np.asarray(steps, dtype=np.int64)
    n = ts.size
    j = np.maximum(np.searchsorted(ts, ts[steps] + int(latency_ns), "left"), steps)
    reached = j < n
    jj = np.minimum(j, n - 1)
    price = np.where(buy, ask[jj], bid[jj])
    with np.errstate(invalid="ignore"):
        within = np.where(buy, price <= limit, price >= limit)
    return j, price, reached & ~np.isnan(price) & within
