"""The live tick feed: book-ticker events received from a source, each one a kernel step (a paper or
live session of a signal mode, ``strategies.signals.base``).

The tick backtest (``engine.tick_backtest``, ``data.tick_feed.TickFeed``) knows its clock in advance:
the merged events of the period. A session does not: :class:`TickLiveFeed`'s ``grid`` **grows** with
the events received (``grows = True``: the live driver, ``engine.live.driver.LiveDriver``, then waits
for event ``i`` instead of a clock time). Step ``i`` is the ``i``-th book ticker received of the run's
streams, at its venue timestamp (int ns, UTC). Per step :meth:`advance` writes what ``TickFeed`` writes
(same keys, same meaning, same arithmetic): for every series key ``K`` of the run ``px[K]`` (the mid
``0.5 x (bid + ask)`` of the latest *valid* book -- bid and ask finite and > 0, bid <= ask, the rule of
``BookTickerSeries.valid``; a crossed update is a step that leaves the book as it was), ``px[K + ".bid"]``,
``".ask"``, ``".bid_size"``, ``".ask_size"`` (NaN before the first valid book) and ``stale[K]`` (no
valid book yet), and returns a ``MarketTick`` holding the step's ``BookTicker`` (as received, under the
run's key). So a session fed the events of a recorded period steps exactly as the tick backtest of it.

Order: the events taken from the source in one :meth:`pump` are stepped in venue-time order, equal
times in the order of ``keys`` (spot before perp, as ``data.book_frame.align_books`` merges them), then
in arrival order. An event stamped before the step already made (a stream that lags another) is
stepped at the previous step's time -- the clock never goes back -- and counted in ``late_events``.

``keys``: the source's stream key -> the run's series key (``spot.binance.LUNCUSDT`` ->
``ticks.mexc.spot.LUNCUSDT``: a venue's stream standing for a recorded dataset); the ``recorders`` get
every event received, a mapped book ticker under the run's key (a recorded session replays as the
datasets it stood for); events of other keys or kinds are no step. ``n_steps``: the session's length in events
(``len``). ``after_ns``: events stamped at or before it are no step, their books stand (a resumed
session: the first attempt stepped them); :meth:`prime` folds recorded ones the same way.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from basiskit.data.live_feed import MarketSource, Received, receipt_ages
from basiskit.data.market_state import MarketState
from basiskit.data.tick_feed import SUFFIXES
from basiskit.domain.events import BookTicker, MarketTick

_NAN = float("nan")
_ALL = 2**62  # poll everything received: each event is a step, none waits for a clock time


class TickLiveFeed:
    grows = True

    def __init__(self, source: MarketSource, keys: dict[str, str], n_steps: int, history: int = 10_000,
                 now_ns: Callable[[], int] = time.time_ns, after_ns: int | None = None, paced: bool = False) -> None:
        if not keys:
            raise ValueError("a tick feed needs at least one book-ticker stream")
        self.source = source
        self.map = dict(keys)
        self._keys = list(dict.fromkeys(self.map.values()))  # the run's series keys (the watchdog's)
        self._rank = {k: r for r, k in enumerate(self._keys)}
        self.n_steps = int(n_steps)
        self.after_ns = after_ns
        self.paced = paced
        self.now_ns = now_ns
        self.state = MarketState()
        self.grid: list[int] = []
        self.events: list[BookTicker] = []
        self.recorders: list[Callable] = []
        self.last_receipt_ns: dict[str, int] = {}
        self.last_event_ns: dict[str, int] = {}
        self.events_received = 0
        self.last_receipt_ns_any = 0
        self.late_events = 0
        self._history = history
        self._hist: dict[str, deque] = {}
        st = self.state
        for k in self._keys:
            st.px[k] = _NAN
            st.stale[k] = True
            for s in SUFFIXES:
                st.px[k + s] = _NAN
        for c in list(st.px):
            self._hist[c] = deque(maxlen=history)
        st._window = self._window

    def __len__(self) -> int:
        return self.n_steps

    # -- receiving ---------------------------------------------------------------------------------
    def pump(self, until_ns: int | None = None) -> int:
        """Take every event the source has received (``until_ns`` is ignored: an event is a step, it
        waits for no clock time; ``paced``: the events stamped up to ``now_ns()``, a recorded period
        replayed on a scaled clock) and queue the run's book tickers as the next steps; returns how
        many events came."""
        got = self.source.poll(self.now_ns() if self.paced else _ALL)
        if not got:
            return 0
        new = []
        for item in got:
            if type(item) is Received:
                ev, receipt = item.event, item.receipt_ns
            else:
                ev = item
                receipt = getattr(ev, "received_ns", 0) or self.now_ns()
            key = self.map.get(ev.key) if type(ev) is BookTicker else None
            if key is not None:  # under the run's key: a recording replays as the datasets it stands for
                ev = BookTicker(ev.timestamp, key, ev.bid, ev.bid_size, ev.ask, ev.ask_size)
            for rec in self.recorders:
                rec(ev, receipt)
            self.events_received += 1
            self.last_receipt_ns_any = receipt
            if key is None:
                continue
            self.last_receipt_ns[key] = receipt
            self.last_event_ns[key] = ev.timestamp
            if self.after_ns is not None and ev.timestamp <= self.after_ns:
                self._fold(ev)  # stepped by an earlier attempt: its book stands, no step
                continue
            new.append(ev)
        new.sort(key=lambda e: (e.timestamp, self._rank[e.key]))  # stable: arrival order after that
        for ev in new:
            t = ev.timestamp
            if self.grid and t < self.grid[-1]:
                self.late_events += 1
                t = self.grid[-1]
            self.grid.append(t)
            self.events.append(ev)
        return len(got)

    def wait(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the source to receive something (a source without ``wait``: sleep)."""
        w = getattr(self.source, "wait", None)
        if w is not None:
            w(timeout_s)
        else:
            time.sleep(timeout_s)

    # -- the kernel's interface ---------------------------------------------------------------------
    def advance(self, i: int) -> MarketTick:
        """Move the market state to step ``i`` (the ``i``-th event received; module docstring)."""
        st = self.state
        t = self.grid[i]
        ev = self.events[i]
        st.t_prev = st.t if i else t
        st.t = t
        st.step = i
        self._fold(ev)
        px = st.px
        for c, d in self._hist.items():
            d.append(px[c])
        return MarketTick(t, i, (BookTicker(t, ev.key, ev.bid, ev.bid_size, ev.ask, ev.ask_size),))

    def prime(self, events: list) -> None:
        """Fold ``events`` (book tickers under the run's keys, time ordered) into the books without a step:
        a resumed session's books as the first attempt left them (its recording in the store)."""
        for ev in events:
            if ev.key in self._rank:
                self._fold(ev)

    def _fold(self, ev: BookTicker) -> None:
        """The update's book becomes its series' book when it is valid (module docstring)."""
        b, a = ev.bid, ev.ask
        if b > 0 and a > 0 and b <= a and math.isfinite(b) and math.isfinite(a):
            px, k = self.state.px, ev.key
            px[k] = 0.5 * (b + a)
            px[k + ".bid"] = b
            px[k + ".ask"] = a
            px[k + ".bid_size"] = ev.bid_size
            px[k + ".ask_size"] = ev.ask_size
            self.state.stale[k] = False

    def quiet_until(self, i: int, funding: bool = False) -> int:
        return i  # every step carries an event

    def ages(self, now_ns: int | None = None) -> dict[str, float]:
        """Seconds since the last event of each series was received (never heard from: inf)."""
        return receipt_ages(self._keys, self.last_receipt_ns, self.now_ns() if now_ns is None else now_ns)

    def close(self) -> None:
        self.source.close()

    def _window(self, key: str, n: int) -> list[float]:
        """The last ``n`` per-step values of ``K`` (mids) or ``K.bid`` / ``.ask`` / ``.bid_size`` / ``.ask_size``."""
        d = self._hist.get(key)
        if d is None:
            raise KeyError(f"no book series {key!r} in this run (known: {', '.join(sorted(self._hist))})")
        if n == 1:
            return [d[-1]] if d else []
        return list(d)[-n:] if n < len(d) else list(d)


__all__ = ["TickLiveFeed"]
