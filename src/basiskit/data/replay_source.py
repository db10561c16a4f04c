"""Replay sources: recorded market data played back as a stream of market events, for a live feed.

A paper run on a replay is a rehearsal of the live path with no network: the same ``LiveFeed``, the
same wall-clock driver (on an accelerated clock in tests), the same simulated venues. Two sources:

* :class:`FrameReplaySource` plays back a run's aligned market data (``data.market.MarketFrame``: the
  catalog's series as a backtest of the same period reads them, gap valuation included) as the
  events a venue stream would have sent: at each clock time ``t`` the bar of each price series that
  closed at ``t`` (``Bar``, closed: its intrabar high and low) and the bar that opened at ``t``
  (``Bar``, forming: its open, ``traded`` False for a gap valued from a reference); point series
  (oracle rates, AAVE indexes, gas) as ``OraclePrice`` at ``t``; funding settlements as
  ``FundingRate`` at their own times (with the mark they settle on).
* :class:`EventListSource` plays back a list of market events (e.g. book tickers read from the
  LUNC tick files, ``book_tickers_from_csv``) by their timestamps.

Both are pull sources (``poll(until_ns)``: the events stamped at or before ``until_ns`` not yet
given), so a replay is deterministic whatever the speed of the clock that drives it.
"""

from __future__ import annotations

import bisect
import csv
from datetime import datetime
from pathlib import Path

from basiskit.data.errors import DataError
from basiskit.data.live_feed import Received
from basiskit.domain.events import Bar, BookTicker, FundingRate, OraclePrice


class EventListSource:
    """Plays back ``events`` (market events with ``timestamp``, any order: sorted here, stable). With
    ``received_at_stamp`` each comes as ``Received(event, event.timestamp)``: as if it had arrived the
    moment the venue stamped it (a replay's feed ages are then the stream's own silences)."""

    def __init__(self, events: list, received_at_stamp: bool = False) -> None:
        self._events = sorted(events, key=lambda e: e.timestamp)
        if received_at_stamp:
            self._events = [Received(e, e.timestamp) for e in self._events]
        self._times = [e.event.timestamp if type(e) is Received else e.timestamp for e in self._events]
        self._ptr = 0
        self.closed = False

    def poll(self, until_ns: int) -> list:
        j = bisect.bisect_right(self._times, until_ns, lo=self._ptr)
        out = self._events[self._ptr:j]
        self._ptr = j
        return out

    def remaining(self) -> int:
        return len(self._events) - self._ptr

    def close(self) -> None:
        self.closed = True


def frame_events(frame, step_seconds: int, bar_keys: set[str] | None = None) -> list:
    """The market events a stream would have sent for ``frame`` (module docstring). ``bar_keys``: the
    series that are bars (default: every series with intrabar extremes, plus every key with stale
    flags); other series are point values (``OraclePrice``)."""
    grid = [int(t) for t in frame.grid]
    interval_ns = step_seconds * 1_000_000_000
    bars = set(bar_keys) if bar_keys is not None else set(frame.highs) | set(frame.stale)
    out: list = []
    for key, series in frame.series.items():
        if key in bars:
            stale = frame.stale.get(key)
            highs, lows = frame.highs.get(key), frame.lows.get(key)
            for i, t in enumerate(grid):
                if highs is not None:
                    h, lo = highs[i], lows[i]
                    if h == h:  # a bar closed at t (NaN: none did)
                        out.append(Bar(t, key, t - interval_ns, step_seconds, _nan, h, lo, _nan, 0.0))
                v = series[i]
                out.append(Bar(t, key, t, step_seconds, v, v, v, v, 0.0,
                               traded=not (stale is not None and bool(stale[i]))))
        else:
            for i, t in enumerate(grid):
                out.append(OraclePrice(t, key, series[i]))
    for key, (times, rates, marks) in frame.funding.items():
        for t, r, m in zip(times, rates, marks):
            out.append(FundingRate(int(t), key, float(r), float(m)))
    return out


_nan = float("nan")


class FrameReplaySource(EventListSource):
    """``EventListSource`` of :func:`frame_events` (a recorded period as a stream)."""

    def __init__(self, frame, step_seconds: int, bar_keys: set[str] | None = None) -> None:
        super().__init__(frame_events(frame, step_seconds, bar_keys))


def _stamp_ns(text: str) -> int:
    """A tick file's timestamp: ISO 8601 with offset (``2025-10-11 02:44:56.873131+00:00``) or integer
    microseconds since the epoch -> int ns, UTC."""
    if text.isdigit():
        return int(text) * 1000
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def book_tickers_from_csv(path: Path | str, key: str) -> list[BookTicker]:
    """Book-ticker rows of a ``ticks/*.csv`` file (timestamp: ISO 8601 with offset or microseconds, bid_price, bid_qty,
    ask_price, ask_qty) as ``BookTicker`` events under ``key``.

    Raises:
        DataError: missing file or column, or a row whose numbers do not parse (named by line).
    """
    p = Path(path)
    if not p.exists():
        raise DataError("book-ticker file not found", file=str(p))
    out: list[BookTicker] = []
    with p.open(newline="") as fh:
        rows = csv.DictReader(fh)
        need = {"timestamp", "bid_price", "bid_qty", "ask_price", "ask_qty"}
        missing = need - set(rows.fieldnames or [])
        if missing:
            raise DataError(f"book-ticker file lacks columns {sorted(missing)}", file=str(p))
        for n, row in enumerate(rows, start=2):
            try:
                out.append(BookTicker(_stamp_ns(row["timestamp"]), key, float(row["bid_price"]),
                                      float(row["bid_qty"]), float(row["ask_price"]), float(row["ask_qty"])))
            except (TypeError, ValueError) as exc:
                raise DataError(f"line {n}: cannot read a book ticker ({exc})", file=str(p)) from exc
    return out
