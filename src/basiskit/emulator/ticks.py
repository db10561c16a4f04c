"""Recorded book-ticker streams replayed tick by tick (the LUNC book tickers of ``data.ticks``).

A ``TickStream`` serves one recorded stream (``data.ticks.BookTickerSeries``, in time order) as an
instrument of an emulated account, e.g. Gate.io's LUNC/USDT perpetual ticks as ``LUNCUSDT`` on the
Binance USDT-M dialect (``binance.perp``): every recorded update is sent when the replay's tick clock
reaches its timestamp, with its recorded bid, ask and sizes, stamped with its recorded time -- and no
update in between, so a silence of the recorded stream (Gate.io's 19.4 s one on 2025-10-11 between
04:13:37.35 and 04:13:56.78 UTC) is a silence of the emulated venue. Which venue's dialect carries a
stream is the user's choice (``--ticks binance.perp:LUNC=ticks.gateio.perp.LUNCUSDT``): the data stays
the recording's. The instruments are book tickers only (no orders, bars or funding on them).

``TickReplay`` merges the streams on one clock: ``advance_to(t_ns)`` returns the updates with
``timestamp <= t_ns`` not yet sent, in time order (equal times in stream order); ``latest(account,
token)`` is the last update sent (what the REST book ticker answers). The clock starts just before the
first update of all streams (``t``) and moves only forward.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(frozen=True)
class TickStream:
    """One recorded stream (``series``: ``BookTickerSeries`` in time order) served as ``token`` quoted in
    USDT on ``account`` (``binance.spot`` / ``binance.perp``)."""

    account: str
    token: str
    series: object


@dataclass(frozen=True)
class Tick:
    """One update: venue time ``ts`` (ns), prices in quote units, sizes in base units."""

    account: str
    token: str
    ts: int
    bid: float
    bid_size: float
    ask: float
    ask_size: float


class TickReplay:
    """The streams on one clock (module docstring). ``start_ns``: start there instead of before the first
    update (the updates before it are taken as sent: ``latest`` knows them, nothing is published)."""

    def __init__(self, streams: list[TickStream], start_ns: int | None = None) -> None:
        if not streams:
            raise ValueError("a tick replay needs at least one stream")
        self.streams = list(streams)
        for s in self.streams:
            ts = s.series.ts
            if len(ts) == 0:
                raise ValueError(f"stream {s.series.key} for {s.account} {s.token} has no rows")
            if len(ts) > 1 and not bool((ts[1:] >= ts[:-1]).all()):
                raise ValueError(f"stream {s.series.key} is not in time order (BookTickerSeries.in_time_order)")
        self._pos = [0] * len(self.streams)
        self._latest: dict[tuple[str, str], Tick] = {}
        self.start = min(int(s.series.ts[0]) for s in self.streams)
        self.end = max(int(s.series.ts[-1]) for s in self.streams)
        self.t = self.start - 1
        if start_ns is not None:
            if not self.start <= start_ns <= self.end:
                raise ValueError(f"tick replay start {start_ns} is outside the streams ({self.start} .. {self.end})")
            self.advance_to(start_ns)
            self.start = start_ns

    def tokens(self, account: str) -> list[str]:
        return [s.token for s in self.streams if s.account == account]

    def latest(self, account: str, token: str) -> Tick | None:
        return self._latest.get((account, token))

    def next_ts(self) -> int | None:
        """The time of the next update not yet sent (None at the end)."""
        nxt = [int(s.series.ts[p]) for s, p in zip(self.streams, self._pos) if p < len(s.series.ts)]
        return min(nxt) if nxt else None

    def advance_to(self, t_ns: int) -> list[Tick]:
        """The updates up to ``t_ns`` not yet sent, in time order; the clock moves to ``t_ns``."""
        if t_ns <= self.t:
            return []
        heap = []
        for k, (s, p) in enumerate(zip(self.streams, self._pos)):
            if p < len(s.series.ts) and s.series.ts[p] <= t_ns:
                heapq.heappush(heap, (int(s.series.ts[p]), k))
        out = []
        while heap:
            ts, k = heapq.heappop(heap)
            s, p = self.streams[k], self._pos[k]
            ser = s.series
            tick = Tick(s.account, s.token, ts, float(ser.bid[p]), float(ser.bid_size[p]), float(ser.ask[p]),
                        float(ser.ask_size[p]))
            out.append(tick)
            self._latest[(s.account, s.token)] = tick
            self._pos[k] = p + 1
            if p + 1 < len(ser.ts) and ser.ts[p + 1] <= t_ns:
                heapq.heappush(heap, (int(ser.ts[p + 1]), k))
        self.t = t_ns
        return out


def load_tick_streams(source_dir, mapping: dict[tuple[str, str], str]) -> list[TickStream]:
    """``mapping``: (account, token) -> tick dataset id (``ticks.gateio.perp.LUNCUSDT``), read from the
    tick catalog (``data.ticks``; its validation applies: a bad row raises ``DataError``). Streams are put
    in time order (``in_time_order``, the tick catalog's rule for rows out of order)."""
    from basiskit.data.ticks import TickCatalog

    cat = TickCatalog(source_dir)
    out = []
    for (account, token), dsid in mapping.items():
        series, _ = cat.read(dsid)
        out.append(TickStream(account, token, series.in_time_order()))
    return out
