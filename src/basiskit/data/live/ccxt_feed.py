"""A live market feed from ccxt (pro) streams with REST fallback, producing basiskit's market events.

Interface (for the live/paper runner)::

    feed = CcxtFeed(client, [Stream("binance", "perp", "BTC", book_ticker=True, bars="1h", mark=True,
                                    funding=True)])
    async for ev in feed.events():      # BookTicker, Bar, MarkPrice, FundingRate (domain.events)
        ...                             # every event: .timestamp = the venue's time, .received_ns = ours
    await feed.close()

``client`` is a ccxt.pro exchange (``ccxt.pro.binance(...)``, or an adapter session's
``CcxtSession.client`` run on that session's loop: ``session.run(...)``); ``events()`` runs on the
client's loop. One task per stream and kind; events go to one queue in arrival order.

Keys are the catalog's series keys, so a recorded session replays like the historical data:
``spot.<venue>.<BASE>USDT`` / ``perp.<venue>.<BASE>USDT`` for book tickers, bars and mark prices,
``funding.<venue>.<BASE>USDT`` for funding settlements.

* book ticker: ``watch_bids_asks`` (Bybit: ``watch_ticker``, whose tickers carry the best bid/ask;
  ``BOOK_METHOD``); one ``BookTicker`` per update, stamped with the update's venue time (when the
  venue's message has none, e.g. Binance spot, the latest venue time this feed saw: ``venue_now_ns``).
* bars: ``watch_ohlcv`` -> a ``Bar`` (``timestamp`` = close time) for each candle once it is *closed*:
  a newer candle arrived, or the venue's clock (``venue_now_ns``) passed its close -- also when another
  stream's message moves that clock after the candle came. Never a bar still open.
* mark price: ``watch_mark_price`` (Bybit: ``watch_ticker``) -> ``MarkPrice`` with the venue's funding
  estimate and next settlement time (OKX's ``mark-price`` channel carries neither: NaN and 0, so no
  settlement is detected from it).
* funding settlements: when a mark update's next settlement time moves on, the period that ended
  settled: its rate is read from the venue (``fetch_funding_rate_history``, REST) -> ``FundingRate`` at
  the settlement time with the last mark seen before it. Nothing is emitted for a period whose rate the
  venue does not list.

Errors and rate limits: ccxt's client spaces REST calls by the venue's weights (``enableRateLimit``).
A stream that fails with ``ccxt.OperationFailed`` (ccxt's retryable branch: ``NetworkError`` and the
like) or is ``NotSupported`` falls back to REST polling
(``fetch_bids_asks`` -- ``fetch_tickers`` where ccxt has none, OKX -- / ``fetch_ohlcv`` / ``fetch_funding_rate``
-- OKX: ``fetch_mark_price``, ``MARK_POLL`` -- every ``poll_s`` seconds) and tries the
stream again after a backoff (``retry_s`` doubling up to ``max_retry_s``). ``status()`` says, per stream,
``"stream"`` / ``"rest"`` and the receipt time of its last event (``last_ns``), for the runner's watchdog.
Other ccxt errors (``BadSymbol``, ``AuthenticationError``) end that stream's task and are raised from
``events()`` as ``FeedUnavailable`` (DATA-004) naming the stream.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import ccxt

from basiskit.domain.events import Bar, BookTicker, FundingRate, MarkPrice
from basiskit.errors.exceptions import FeedUnavailable

NS_MS = 1_000_000
BOOK_METHOD = {"bybit": "watch_ticker"}   # venues whose book ticker comes with the ticker stream
MARK_METHOD = {"bybit": "watch_ticker"}   # venues without a mark-price stream of their own
MARK_POLL = {"okx": "fetch_mark_price"}   # venues whose funding-rate answer has no mark price (REST fallback)
TIMEFRAME_S = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "2h": 7200, "4h": 14400, "1d": 86400}


@dataclass(frozen=True)
class Stream:
    """What to follow for one instrument: ``venue`` (ccxt id), ``kind`` (``spot``/``perp``), ``base``
    token (USDT quoted); ``bars``: a ccxt timeframe (``"1h"``) or None; ``mark``/``funding`` for perps."""

    venue: str
    kind: str
    base: str
    book_ticker: bool = True
    bars: str | None = None
    mark: bool = False
    funding: bool = False

    @property
    def symbol(self) -> str:
        return f"{self.base}/USDT" if self.kind == "spot" else f"{self.base}/USDT:USDT"

    @property
    def key(self) -> str:
        return f"{self.kind}.{self.venue}.{self.base}USDT"

    @property
    def funding_key(self) -> str:
        return f"funding.{self.venue}.{self.base}USDT"


class CcxtFeed:
    """Live market events from one ccxt.pro client (module docstring).

    Args:
        client: a ccxt.pro exchange instance (markets loaded on first use).
        streams: what to follow.
        now_ns: the receipt clock (default ``time.time_ns``).
        poll_s: REST polling period while a stream is down (seconds).
        retry_s, max_retry_s: stream reconnection backoff (seconds).
    """

    def __init__(self, client, streams: list[Stream], now_ns: Callable[[], int] = time.time_ns, poll_s: float = 1.0,
                 retry_s: float = 0.5, max_retry_s: float = 30.0) -> None:
        self.client = client
        self.streams = list(streams)
        self.now_ns = now_ns
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self.venue_now_ns = 0
        self._queue: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._status: dict[str, dict] = {}
        self._last_mark: dict[str, float] = {}
        self._next_funding: dict[str, int] = {}
        self._emitted_bar: dict[str, int] = {}
        self._held_candles: dict[str, tuple] = {}  # label -> (stream, candles) with a candle not yet closed
        self._jobs = []  # (label, stream, coroutine function)
        for st in self.streams:
            kinds = [("book", self._book)] if st.book_ticker else []
            kinds += [("bars", self._bars)] if st.bars else []
            kinds += [("mark", self._mark)] if st.mark or st.funding else []
            for name, job in kinds:
                label = f"{st.key}:{name}"
                self._status[label] = {"mode": "stream", "last_ns": 0, "errors": 0}
                self._jobs.append((label, st, job))

    # -- public ---------------------------------------------------------------------------------------
    async def events(self) -> AsyncIterator:
        """Market events in arrival order (runs the stream tasks while iterated).

        Raises:
            FeedUnavailable: a stream ended on an error that is not a network error.
        """
        if not self._tasks:
            await self.client.load_markets()
            for label, st, job in self._jobs:
                self._tasks.append(asyncio.ensure_future(self._guard(label, job(st, label))))
        while True:
            ev = await self._queue.get()
            if isinstance(ev, BaseException):
                raise ev
            yield ev

    def status(self) -> dict[str, dict]:
        """Per stream (``<key>:book|bars|mark``): ``mode`` (``stream``/``rest``), ``last_ns`` (receipt time
        of its last event, 0 before any), ``errors`` (network errors so far)."""
        return {k: dict(v) for k, v in self._status.items()}

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # -- plumbing -------------------------------------------------------------------------------------
    async def _guard(self, label: str, coro) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - reported to the reader of events()
            await self._queue.put(FeedUnavailable(f"feed stream {label} ended: {type(e).__name__}: {e}"))

    def _put(self, label: str, ev) -> None:
        self._status[label]["last_ns"] = ev.received_ns
        self._queue.put_nowait(ev)

    def _venue_ms(self, ms) -> int:
        if ms and int(ms) * NS_MS > self.venue_now_ns:
            self.venue_now_ns = int(ms) * NS_MS
            # a candle that came before the message moving the clock past its close (another stream's,
            # on another connection) is closed now: emit it instead of waiting for the next candle
            for label, (st, candles) in list(self._held_candles.items()):
                self._bar_events(st, label, candles)
        return self.venue_now_ns

    async def _loop(self, label: str, watch, poll) -> None:
        """Call ``watch()`` while it works; on a network error poll REST (``poll()``) until a retry of
        the stream succeeds (backoff)."""
        delay = self.retry_s
        while True:
            try:
                await watch()
                delay = self.retry_s
                self._status[label]["mode"] = "stream"
            except (ccxt.OperationFailed, ccxt.NotSupported):  # OperationFailed: ccxt's retryable branch
                self._status[label]["errors"] += 1
                self._status[label]["mode"] = "rest"
                until = time.monotonic() + delay
                while time.monotonic() < until:
                    try:
                        await poll()
                    except ccxt.OperationFailed:
                        self._status[label]["errors"] += 1
                    await asyncio.sleep(self.poll_s)
                delay = min(self.max_retry_s, delay * 2)

    # -- book tickers ---------------------------------------------------------------------------------
    def _book_event(self, st: Stream, label: str, t: dict) -> None:
        bid, ask = t.get("bid"), t.get("ask")
        if bid is None or ask is None:
            return
        ts = self._venue_ms(t.get("timestamp"))
        self._put(label, BookTicker(ts, st.key, float(bid), float(t.get("bidVolume") or 0.0), float(ask),
                                    float(t.get("askVolume") or 0.0), self.now_ns()))

    async def _book(self, st: Stream, label: str) -> None:
        method = BOOK_METHOD.get(st.venue, "watch_bids_asks")

        async def watch():
            got = await getattr(self.client, method)(st.symbol) if method == "watch_ticker" else \
                (await self.client.watch_bids_asks([st.symbol]))[st.symbol]
            self._book_event(st, label, got)

        async def poll():  # fetch_tickers where ccxt has no fetchBidsAsks (OKX): its tickers carry bid / ask
            got = await (self.client.fetch_bids_asks([st.symbol]) if self.client.has.get("fetchBidsAsks")
                         else self.client.fetch_tickers([st.symbol]))
            if st.symbol in got:
                self._book_event(st, label, got[st.symbol])
        await self._loop(label, watch, poll)

    # -- bars -----------------------------------------------------------------------------------------
    def _bar_events(self, st: Stream, label: str, candles: list) -> None:
        step_ms = TIMEFRAME_S[st.bars] * 1000
        self._held_candles.pop(label, None)  # (re-entered from _venue_ms for another stream: not this one)
        newest = max((c[0] for c in candles), default=-1)
        held = False
        for c in sorted(candles, key=lambda c: c[0]):
            o_ms = int(c[0])
            if o_ms <= self._emitted_bar.get(label, -1):
                continue
            if not (o_ms < newest or o_ms + step_ms <= self.venue_now_ns // NS_MS):
                held = True
                continue
            self._emitted_bar[label] = o_ms
            self._put(label, Bar((o_ms + step_ms) * NS_MS, st.key, o_ms * NS_MS, TIMEFRAME_S[st.bars], float(c[1]),
                                 float(c[2]), float(c[3]), float(c[4]), float(c[5] or 0.0),
                                 received_ns=self.now_ns()))
            self._venue_ms(o_ms + step_ms)
        if held:
            self._held_candles[label] = (st, list(candles))

    async def _bars(self, st: Stream, label: str) -> None:
        async def watch():
            self._bar_events(st, label, await self.client.watch_ohlcv(st.symbol, st.bars))

        async def poll():
            self._bar_events(st, label, await self.client.fetch_ohlcv(st.symbol, st.bars, limit=3))
        if TIMEFRAME_S.get(st.bars) is None:
            raise ValueError(f"bars {st.bars!r}: one of {', '.join(TIMEFRAME_S)}")
        await self._loop(label, watch, poll)

    # -- mark prices and funding ----------------------------------------------------------------------
    async def _mark_event(self, st: Stream, label: str, t: dict) -> None:
        info = t.get("info") or {}
        mark = t.get("markPrice")
        if mark is None:
            return
        ts = self._venue_ms(t.get("timestamp"))
        est = t.get("fundingRate")
        nxt = t.get("fundingTimestamp") or t.get("nextFundingTimestamp")
        if est is None:  # a ticker: the raw fields
            est = info.get("fundingRate") or info.get("r")
            nxt = nxt or info.get("nextFundingTime") or info.get("T")
        nxt_ns = int(nxt) * NS_MS if nxt else 0
        est = float(est) if est not in (None, "") else math.nan
        if st.mark:
            self._put(label, MarkPrice(ts, st.key, float(mark), est, nxt_ns, self.now_ns()))
        prev = self._next_funding.get(st.key)
        if st.funding and prev and nxt_ns > prev:
            await self._settled(st, label, prev)
        if nxt_ns:
            self._next_funding[st.key] = nxt_ns
        self._last_mark[st.key] = float(mark)

    async def _settled(self, st: Stream, label: str, at_ns: int) -> None:
        """The settlement at ``at_ns`` passed: read its rate from the venue's history."""
        rows = await self.client.fetch_funding_rate_history(st.symbol, at_ns // NS_MS)
        for r in rows:
            if int(r["timestamp"]) * NS_MS == at_ns:
                mark = self._last_mark.get(st.key, math.nan)
                self._put(label, FundingRate(at_ns, st.funding_key, float(r["fundingRate"]), mark, self.now_ns()))
                return

    async def _mark(self, st: Stream, label: str) -> None:
        method = MARK_METHOD.get(st.venue, "watch_mark_price")

        async def watch():
            await self._mark_event(st, label, await getattr(self.client, method)(st.symbol))

        async def poll():
            fr = await getattr(self.client, MARK_POLL.get(st.venue, "fetch_funding_rate"))(st.symbol)
            await self._mark_event(st, label, fr)
        await self._loop(label, watch, poll)
