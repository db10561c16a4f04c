"""The ccxt feed's closed-bar rule (``data.live.ccxt_feed.CcxtFeed``) on hand-made candles: a candle is a
bar once a newer candle came or the venue's clock passed its close -- also when the clock is moved by
another stream's message after the candle came (book and candles on two connections) -- and never twice."""

from __future__ import annotations

import asyncio

from basiskit.data.live.ccxt_feed import CcxtFeed, Stream

H = 3_600_000  # one hour, ms
NS_MS = 1_000_000


def _feed():
    st = Stream("okx", "perp", "ETH", bars="1h")
    return CcxtFeed(object(), [st], now_ns=lambda: 0), st


def _drain(feed) -> list:
    out = []
    while not feed._queue.empty():
        out.append(feed._queue.get_nowait())
    return out


def test_a_candle_before_the_clock_passes_its_close_is_emitted_when_it_does_and_only_once():
    async def run():
        feed, st = _feed()
        label = f"{st.key}:bars"
        feed._venue_ms(10 * H)                            # the venue's clock: 10:00
        candle = [10 * H, 1.0, 2.0, 0.5, 1.5, 7.0]       # the 10:00 candle, closing at 11:00
        feed._bar_events(st, label, [candle])
        assert _drain(feed) == []                         # still open at 10:00
        feed._venue_ms(11 * H)                            # a book ticker at 11:00 moves the clock
        bars = _drain(feed)
        assert [(b.open_ns, b.timestamp, b.close) for b in bars] == [(10 * H * NS_MS, 11 * H * NS_MS, 1.5)]
        feed._bar_events(st, label, [candle])             # the same candle again: no second bar
        feed._venue_ms(12 * H)
        assert _drain(feed) == []
        feed._bar_events(st, label, [candle, [11 * H, 1.5, 1.6, 1.4, 1.55, 3.0]])  # the next one, closed at 12:00
        assert [b.open_ns for b in _drain(feed)] == [11 * H * NS_MS]
    asyncio.run(run())
