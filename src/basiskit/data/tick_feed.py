"""The tick feed: a ``BookFrame`` (``data.book_frame``) replayed on the kernel, one book-ticker event a step.

Same interface as ``data.feed.HistoricalFeed`` (``len``, ``advance(i) -> MarketTick``, ``state``,
``grid``): :meth:`TickFeed.advance` writes, for every stream key ``K`` of the run, into the market state
``px[K]`` (the mid of the latest valid book), ``px[K + ".bid"]``, ``px[K + ".ask"]``, ``px[K +
".bid_size"]``, ``px[K + ".ask_size"]`` and ``stale[K]`` (no valid book yet), and returns a
``MarketTick`` whose ``events`` hold the step's ``BookTicker`` (as it came, crossed or not). Nothing
ahead of the step is written. No funding series: these runs settle no funding (the tick files have
none), which the venues see as ticks without ``FundingRate`` events.
"""

from __future__ import annotations

import numpy as np

from basiskit.data.book_frame import BookFrame
from basiskit.data.market_state import MarketState
from basiskit.domain.events import BookTicker, MarketTick

SUFFIXES = (".bid", ".ask", ".bid_size", ".ask_size")


class TickFeed:
    def __init__(self, frame: BookFrame) -> None:
        self.frame = frame
        self.grid: list[int] = frame.ts.tolist()
        self.state = MarketState()
        self._cols = []
        for k in frame.keys:
            self._cols.append((k, frame.mid[k].tolist(), frame.bid[k].tolist(), frame.ask[k].tolist(),
                               frame.bid_size[k].tolist(), frame.ask_size[k].tolist()))
        self._src = frame.src.tolist()
        self._raw = [(s.key, s.bid.tolist(), s.bid_size.tolist(), s.ask.tolist(), s.ask_size.tolist())
                     for s in (frame.series[k] for k in frame.keys)]
        self._pos = _positions(frame)
        self._columns: dict[str, list[float]] = {}
        for key, mid, bid, ask, bs, as_ in self._cols:
            self._columns.update({key: mid, key + ".bid": bid, key + ".ask": ask, key + ".bid_size": bs,
                                  key + ".ask_size": as_})
        self.state._window = self._window

    def __len__(self) -> int:
        return len(self.grid)

    def advance(self, i: int) -> MarketTick:
        """Move the market state to step ``i`` and return its tick (module docstring)."""
        st = self.state
        t = self.grid[i]
        st.t_prev = st.t if i else t
        st.t = t
        st.step = i
        px, stale = st.px, st.stale
        for key, mid, bid, ask, bs, as_ in self._cols:
            m = mid[i]
            px[key] = m
            px[key + ".bid"] = bid[i]
            px[key + ".ask"] = ask[i]
            px[key + ".bid_size"] = bs[i]
            px[key + ".ask_size"] = as_[i]
            stale[key] = m != m
        key, b, bs, a, as_ = self._raw[self._src[i]]
        j = self._pos[i]
        return MarketTick(t, i, (BookTicker(t, key, b[j], bs[j], a[j], as_[j]),))

    def quiet_until(self, i: int, funding: bool = False) -> int:
        return i  # every step carries an event

    def _window(self, key: str, n: int) -> list[float]:
        """The last ``n`` values of ``K`` (mids) or ``K.bid`` / ``K.ask`` / ``K.bid_size`` / ``K.ask_size``."""
        i = self.state.step
        col = self._columns.get(key)
        if col is None:
            raise KeyError(f"no book series {key!r} in this run (known: {', '.join(sorted(self._columns))})")
        if n == 1:
            return [col[i]]
        return col[max(0, i - n + 1): i + 1]


def _positions(frame: BookFrame) -> list[int]:
    """Row of each step's event in its own stream."""
    pos = np.zeros(len(frame), dtype=np.int64)
    for k in range(len(frame.keys)):
        mine = np.flatnonzero(frame.src == k)
        pos[mine] = np.arange(mine.size)
    return pos.tolist()
