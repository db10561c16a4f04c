"""Book-ticker streams aligned into one time-ordered event stream (the tick clock).

:func:`align_books` merges the streams of a run (``data.ticks.BookTickerSeries``, each in time order)
into one stream where **each event is a step**: row ``i`` is one book-ticker update (``src[i]``: the
index of its stream, ``ts[i]``: its time, int ns UTC). Events with equal times keep the order of the
streams as given, then their file order (a stable merge), so duplicates stay, each a step.

For every stream ``k`` the frame holds, per step, the latest *valid* book of that stream up to and
including the step (as-of, never ahead): ``bid[k]``, ``ask[k]``, ``bid_size[k]``, ``ask_size[k]``
(quote units per base unit / base units; NaN before the stream's first valid book) and ``mid[k]``.
An update that is not a valid book (crossed: bid > ask, or a price <= 0; ``BookTickerSeries.valid``)
is still a step, flagged in ``invalid``, but leaves that stream's book as it was: a crossed book is
neither a price to trade at nor a signal. The stale flag of a stream (no valid book yet) is
``np.isnan(mid[k])``.

The same frame feeds both paths of the signal engine: the engine's ``TickFeed`` replays it step by
step into the market state; the vectorised path reads its columns at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from basiskit.data.ticks import BookTickerSeries


@dataclass
class BookFrame:
    """See the module docstring. ``keys[k]`` is stream k's market series key; ``series[key]`` the stream
    itself (time ordered), which the simulated venues fill against (``venues.sim.book_fill``)."""

    keys: list[str]
    ts: np.ndarray
    src: np.ndarray
    invalid: np.ndarray
    bid: dict[str, np.ndarray]
    ask: dict[str, np.ndarray]
    bid_size: dict[str, np.ndarray]
    ask_size: dict[str, np.ndarray]
    mid: dict[str, np.ndarray]
    series: dict[str, BookTickerSeries]

    def __len__(self) -> int:
        return int(self.ts.size)

    def seconds(self) -> np.ndarray:
        """Step times as float64 seconds since the epoch (the signal kernels' clock)."""
        return self.ts.astype(np.float64) / 1e9


def align_books(streams: list[BookTickerSeries]) -> BookFrame:
    """Merge ``streams`` (each put in time order first: ``BookTickerSeries.in_time_order``) into a
    :class:`BookFrame`. Raises ValueError for no streams or two streams with the same key."""
    if not streams:
        raise ValueError("align_books needs at least one book-ticker stream")
    keys = [s.key for s in streams]
    if len(set(keys)) != len(keys):
        raise ValueError(f"two streams share a key: {keys}")
    streams = [s.in_time_order() for s in streams]
    ts = np.concatenate([s.ts for s in streams])
    src_all = np.concatenate([np.full(len(s), k, dtype=np.int8) for k, s in enumerate(streams)])
    order = np.argsort(ts, kind="stable")  # ties: stream order, then row order (the concatenation's)
    n = ts.size
    ts, src = ts[order], src_all[order]
    step_of = np.empty(n, dtype=np.int64)  # merged step of each concatenated row
    step_of[order] = np.arange(n, dtype=np.int64)
    invalid = np.zeros(n, dtype=bool)
    cols: dict[str, dict[str, np.ndarray]] = {c: {} for c in ("bid", "ask", "bid_size", "ask_size", "mid")}
    offset = 0
    for s in streams:
        m = len(s)
        steps = step_of[offset: offset + m]  # increasing: the stream is in time order and the merge stable
        offset += m
        ok = s.valid
        invalid[steps[~ok]] = True
        marker = np.full(n, -1, dtype=np.int64)
        marker[steps[ok]] = np.flatnonzero(ok)
        last = np.maximum.accumulate(marker) if n else marker  # the row of the latest valid book; -1: none yet
        for c in ("bid", "ask", "bid_size", "ask_size"):
            cols[c][s.key] = np.append(getattr(s, c), np.nan)[last]  # row -1 picks the appended NaN
        cols["mid"][s.key] = 0.5 * (cols["bid"][s.key] + cols["ask"][s.key])
    return BookFrame(keys, ts, src, invalid, cols["bid"], cols["ask"], cols["bid_size"], cols["ask_size"], cols["mid"],
                     {s.key: s for s in streams})
