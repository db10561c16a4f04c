"""The live feed: streaming market events folded into the run's ``MarketState`` on a wall clock.

A live or paper run gets its market data as a stream of domain market events (``domain.events``:
``Bar``, ``BookTicker``, ``FundingRate``, ``OraclePrice``, ``IndexUpdate``, ``GasPrice``) from a
**source** -- the ccxt streams of the venues, the exchange emulator, or a replay of recorded data
(``data.replay_source``). The kernel does not care where they come from: :class:`LiveFeed` has the
historical feed's interface (``grid``, ``state``, ``advance(i) -> MarketTick``, ``len``) and writes
the same ``MarketState`` fields with the same meaning:

* ``px[key]``: the open of the bar that opened at or before ``t`` -- folded from the *forming* bar
  a stream publishes when a bar opens (a ``Bar`` whose ``timestamp`` is before its close,
  ``open_ns + interval_s``); a ``MarkPrice`` sets the mark (a perp priced by its mark); a
  ``BookTicker`` the mid ``(bid + ask) / 2`` (unless the key has marks; ``books`` keeps the bid and
  ask); a stream of *closed* bars only (ccxt's ``watch_ohlcv`` as ``data.live.ccxt_feed`` emits it)
  the last close, for a key nothing else prices; ``OraclePrice``,
  ``IndexUpdate`` (liquidity index under ``<key>.liquidity_index``, borrow index under
  ``<key>.variable_borrow_index``) and ``GasPrice`` (``gas.gwei``) their value;
* ``hi[key]`` / ``lo[key]``: the highest high / lowest low of the bars of ``key`` that *closed*
  since the previous step (a closed ``Bar``: ``timestamp >= open_ns + interval_s``), NaN if none;
* ``stale[key]``: the forming bar behind ``px[key]`` was not traded (``Bar.traded`` False);
* funding settlements (``FundingRate``) are handed to the venues in the step's ``MarketTick``, in
  (time, key) order, as the historical feed does; one settled at the step's own time is marked at the
  perp's price then (``px["perp.<venue>.<SYM>"]``: the historical feed's mark, the open at the
  settlement; a live stream's settlement event carries the last mark it saw *before* the settlement);
* ``window(key, n)``: the last ``n`` per-step values of ``px[key]`` (kept for ``history`` steps);
* ``funding_next(key)``: the next settlement on the venue's schedule (``funding_interval_s``).

A source is anything with ``poll(until_ns) -> list`` (the events it has received stamped at or
before ``until_ns``, each a market event or a :class:`Received` wrapping one with its receipt time)
and ``close()``. The feed stamps each event's receipt (``now_ns()``, or the wrapper's), keeps the
last receipt per key (``ages``: seconds since, for the watchdog) and hands every received event to
its ``recorders`` (callables; the session recorder stores them so the session can be backtested).
An event's receipt is the ``Received`` wrapper's, else its own ``received_ns`` (live feeds stamp it),
else ``now_ns()``.

Errors: a source that raises ``FeedUnavailable`` is retried by the kernel (``Kernel.retry``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from basiskit.data.market_state import MarketState
from basiskit.domain.events import (Bar, BookTicker, FundingRate, GasPrice, IndexUpdate, MarketTick, MarkPrice,
                                    OraclePrice)

_NAN = float("nan")
GAS_KEY = "gas.gwei"


@dataclass(frozen=True, slots=True)
class Received:
    """A market event as it reached us: ``event`` (venue-stamped ``timestamp``), ``receipt_ns`` (our
    wall clock, ns since the epoch, UTC) and the ``venue`` that sent it."""

    event: Any
    receipt_ns: int
    venue: str = ""


class MarketSource(Protocol):
    def poll(self, until_ns: int) -> list: ...

    def close(self) -> None: ...


def receipt_ages(keys, last_receipt_ns: dict[str, int], now_ns: int) -> dict[str, float]:
    """Seconds from each key's last receipt (ns) to ``now_ns``; a key never heard from: inf."""
    out = {k: math.inf for k in keys}
    for k, r in last_receipt_ns.items():
        out[k] = (now_ns - r) / 1e9
    return out


class LiveFeed:
    """Args:
        grid: the run's clock times (ns, UTC, increasing): the times the driver steps the kernel at.
        source: the ``MarketSource``.
        keys: the market series the run reads (``px`` has a NaN for each until its first value).
        funding_interval_s: perp funding series key -> seconds between settlements (venue configs).
        history: per-step values kept per key for ``window``.
        now_ns: the wall clock (injectable: a rehearsal runs on an accelerated clock).
    """

    def __init__(self, grid: list[int], source: MarketSource, keys: list[str] | tuple[str, ...] = (),
                 funding_interval_s: dict[str, float] | None = None, history: int = 10_000,
                 now_ns: Callable[[], int] = time.time_ns) -> None:
        self.grid = list(grid)
        self.source = source
        self.state = MarketState()
        self.now_ns = now_ns
        self.recorders: list[Callable[[Any, int], None]] = []
        self.last_receipt_ns: dict[str, int] = {}   # key -> receipt time of its last event
        self.last_event_ns: dict[str, int] = {}     # key -> venue timestamp of its last event
        self.events_received = 0
        self.last_receipt_ns_any = 0                # receipt time of the last event of any key
        self._keys = list(keys)
        self._open_ns: dict[str, int] = {}          # key -> open time of the bar behind px[key]
        self._hi: dict[str, float] = {}             # extremes of bars closed since the last step
        self._lo: dict[str, float] = {}
        self._funding: list[FundingRate] = []
        self._quoted: set[str] = set()   # keys priced by book tickers or marks (closed bars then only give extremes)
        self._marked: set[str] = set()   # keys priced by mark prices (book tickers then only give the book)
        self.books: dict[str, tuple[float, float]] = {}  # key -> latest (bid, ask)
        self._history = history
        self._hist: dict[str, deque] = {}
        self._funding_interval_ns = {k: int(v * 1e9) for k, v in (funding_interval_s or {}).items()}
        st = self.state
        for k in self._keys:
            st.px[k] = _NAN
        st._window = self._window
        st._funding_next = self._next_funding

    def __len__(self) -> int:
        return len(self.grid)

    # -- receiving ---------------------------------------------------------------------------------
    def pump(self, until_ns: int | None = None) -> int:
        """Take what the source has received up to ``until_ns`` (default: now) and fold it; returns
        how many events came. Called by :meth:`advance` and by the driver while it waits (so feed
        ages are fresh between steps)."""
        evs = self.source.poll(self.now_ns() if until_ns is None else until_ns)
        for ev in evs:
            self.on_event(ev)
        return len(evs)

    def on_event(self, item) -> None:
        """Fold one market event (or ``Received``) into the pending state (module docstring)."""
        if type(item) is Received:
            ev, receipt = item.event, item.receipt_ns
        else:
            ev = item
            receipt = getattr(ev, "received_ns", 0) or self.now_ns()  # live feeds stamp their receipt
        for rec in self.recorders:
            rec(ev, receipt)
        self.events_received += 1
        self.last_receipt_ns_any = receipt
        kind = type(ev)
        px = self.state.px
        if kind is Bar:
            key = ev.key
            if ev.timestamp < ev.open_ns + ev.interval_s * 1_000_000_000:  # forming: a bar just opened
                if ev.open_ns >= self._open_ns.get(key, -1):
                    self._open_ns[key] = ev.open_ns
                    px[key] = ev.open
                    self.state.stale[key] = not ev.traded
            else:  # closed: its extremes count at the next step
                h, lo = self._hi.get(key), self._lo.get(key)
                self._hi[key] = ev.high if h is None or ev.high > h else h
                self._lo[key] = ev.low if lo is None or ev.low < lo else lo
                if key not in self._quoted and ev.open_ns >= self._open_ns.get(key, -1):
                    # a stream of closed bars only: the latest traded price is the last close
                    self._open_ns[key] = ev.open_ns
                    px[key] = ev.close
                    self.state.stale[key] = not ev.traded
        elif kind is FundingRate:
            key = ev.key
            self._funding.append(ev)
        elif kind is BookTicker:
            key = ev.key
            self.books[key] = (ev.bid, ev.ask)
            if key not in self._marked:  # a perp's price is its mark when the stream gives one
                px[key] = (ev.bid + ev.ask) / 2.0
                self._quoted.add(key)
        elif kind is MarkPrice:
            key = ev.key
            px[key] = ev.mark
            self._marked.add(key)
            self._quoted.add(key)
        elif kind is OraclePrice:
            key = ev.key
            px[key] = ev.price
        elif kind is IndexUpdate:
            key = ev.key
            px[f"{key}.liquidity_index"] = ev.liquidity_index
            px[f"{key}.variable_borrow_index"] = ev.variable_borrow_index
        elif kind is GasPrice:
            key = GAS_KEY
            px[key] = ev.gwei
        else:
            return
        self.last_receipt_ns[key] = receipt
        self.last_event_ns[key] = ev.timestamp

    # -- the kernel's interface ---------------------------------------------------------------------
    def advance(self, i: int) -> MarketTick:
        """Move the market state to step ``i``: fold what the source has up to ``grid[i]``, write the
        extremes of the bars closed since the last step, record the step's values (history) and
        return the tick with the funding settlements received since."""
        st = self.state
        t = self.grid[i]
        self.pump(t)
        st.t_prev = st.t if st.step >= 0 else t
        st.t = t
        st.step = i
        hi, lo = st.hi, st.lo
        for key in hi:
            if key not in self._hi:
                hi[key] = _NAN
                lo[key] = _NAN
        for key, h in self._hi.items():
            hi[key] = h
            lo[key] = self._lo[key]
        self._hi.clear()
        self._lo.clear()
        hist = self._hist
        for key, v in st.px.items():
            d = hist.get(key)
            if d is None:
                d = hist[key] = deque(maxlen=self._history)
            d.append(v)
        if not self._funding:
            return MarketTick(t, i, ())
        due = [f for f in self._funding if f.timestamp <= t]
        self._funding = [f for f in self._funding if f.timestamp > t]
        due.sort(key=lambda f: (f.timestamp, f.key))
        px = st.px
        for k, f in enumerate(due):  # settled at this step's time: on the perp's price now (the historical
            if f.timestamp == t and f.key.startswith("funding."):  # feed's mark: the open at the settlement)
                m = px.get("perp." + f.key[8:])
                if m is not None and m == m and m != f.mark:
                    due[k] = FundingRate(f.timestamp, f.key, f.rate, m)
        return MarketTick(t, i, tuple(due))

    def ages(self, now_ns: int | None = None) -> dict[str, float]:
        """Seconds since the last event of each key was received (keys never heard from: inf)."""
        return receipt_ages(self._keys, self.last_receipt_ns, self.now_ns() if now_ns is None else now_ns)

    def close(self) -> None:
        self.source.close()

    def _window(self, key: str, n: int) -> list[float]:
        d = self._hist.get(key)
        if d is None:
            return []
        return list(d)[-n:] if n < len(d) else list(d)

    def _next_funding(self, key: str) -> int | None:
        iv = self._funding_interval_ns.get(key)
        if not iv:
            return None
        t = self.state.t
        return (t // iv + 1) * iv


def next_grid_time(now_ns: int, step_seconds: int) -> int:
    """The first clock time (a multiple of ``step_seconds`` since the epoch) at or after ``now_ns``."""
    step = step_seconds * 1_000_000_000
    return -(-now_ns // step) * step


def live_grid(start_ns: int, step_seconds: int, n_steps: int) -> list[int]:
    """``n_steps`` clock times from ``start_ns`` (rounded up to the step) every ``step_seconds``."""
    t0 = next_grid_time(start_ns, step_seconds)
    step = step_seconds * 1_000_000_000
    return [t0 + k * step for k in range(n_steps)]


__all__ = ["LiveFeed", "MarketSource", "Received", "live_grid", "next_grid_time"]
