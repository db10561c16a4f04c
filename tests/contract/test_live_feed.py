"""The ccxt feed (``data.live.ccxt_feed``) against the emulator's websocket streams: book tickers,
closed bars, mark prices and funding settlements arrive as basiskit's market events, stamped with the
venue's time and the receipt time, and their values are the recorded data's."""

from __future__ import annotations

import asyncio
import time

import ccxt.pro as ccxtpro

from basiskit.data.live.ccxt_feed import CcxtFeed, Stream

NS_MS = 1_000_000


def _collect(emulator, venue: str, streams: list[Stream], steps: int, per_step_s: float = 0.6) -> tuple[list, dict]:
    from basiskit.emulator.server import ccxt_config

    cfg = ccxt_config(venue, emulator.url)

    async def run():
        client = getattr(ccxtpro, venue)({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"]})
        feed = CcxtFeed(client, streams)
        got: list = []

        async def reader():
            async for ev in feed.events():
                got.append(ev)
        async def settle(t_ns: int) -> None:
            # at least per_step_s; on a loaded machine up to ten times that, until the step's messages (a
            # closed bar when bars are streamed, else any event at the new time) have come in
            loop = asyncio.get_running_loop()
            await asyncio.sleep(per_step_s)
            deadline = loop.time() + 9 * per_step_s
            kinds = {"bar"} if any(s.bars for s in streams) else None
            while loop.time() < deadline and not any(
                    e.timestamp >= t_ns and (kinds is None or e.kind in kinds) for e in got):
                await asyncio.sleep(0.05)

        task = asyncio.ensure_future(reader())
        await asyncio.sleep(per_step_s)
        for _ in range(steps):
            await asyncio.get_running_loop().run_in_executor(None, lambda: emulator.advance(steps=1))
            await settle(emulator.emulator.replay.t)
        status = feed.status()
        task.cancel()
        await feed.close()
        await client.close()
        return got, status
    return asyncio.run(run())


def test_binance_feed_events_match_the_replay(emulator, catalog):
    replay = emulator.emulator.replay
    t0 = replay.t
    before = time.time_ns()
    events, status = _collect(emulator, "binance", [Stream("binance", "perp", "BTC", bars="1h", mark=True,
                                                           funding=True)], steps=10)
    kinds = {e.kind for e in events}
    assert {"book_ticker", "bar", "mark_price", "funding_rate"} <= kinds, (kinds, status)
    bars = catalog.load("perp.binance.BTCUSDT")
    idx = bars.index.as_unit("ns").asi8
    for e in events:
        assert e.received_ns >= before, e
        assert t0 - 3600 * 10**9 <= e.timestamp <= replay.t, e
        if e.kind == "bar":  # a closed hourly bar of the recorded data, stamped at its close
            row = bars.iloc[int((idx == e.open_ns).nonzero()[0][0])]
            assert (e.open, e.high, e.low, e.close) == (row.open, row.high, row.low, row.close)
            assert e.timestamp == e.open_ns + 3600 * 10**9 <= replay.t
        if e.kind == "book_ticker":
            assert e.bid < e.ask
        if e.kind == "funding_rate":  # a recorded settlement, at its own time
            f = catalog.load("funding.binance.BTCUSDT")
            rate = f.loc[f.index.as_unit("ns").asi8 == e.timestamp, "funding_rate"]
            assert len(rate) == 1 and rate.iloc[0] == e.rate and e.key == "funding.binance.BTCUSDT"
    bar_opens = [e.open_ns for e in events if e.kind == "bar"]
    assert bar_opens == sorted(set(bar_opens)) and len(bar_opens) >= 9


def test_bybit_feed_book_and_mark_come_from_the_ticker_stream(emulator):
    events, status = _collect(emulator, "bybit", [Stream("bybit", "perp", "ETH", mark=True)], steps=3)
    kinds = {e.kind for e in events}
    assert {"book_ticker", "mark_price"} <= kinds, (kinds, status)
    assert all(v["mode"] == "stream" for v in status.values()), status


def test_okx_feed_events_are_the_recording_under_okx_names(emulator, catalog):
    """OKX's bbo, 1H candle and mark-price streams (public and business endpoints): the bars are Bybit's
    recorded bars (``emulator.price_sources``), keyed as OKX's series."""
    replay = emulator.emulator.replay
    events, status = _collect(emulator, "okx", [Stream("okx", "perp", "ETH", bars="1h", mark=True)], steps=3,
                              per_step_s=0.4)
    kinds = {e.kind for e in events}
    assert {"book_ticker", "bar", "mark_price"} <= kinds, (kinds, status)
    assert all(v["mode"] == "stream" for v in status.values()), status
    bars = catalog.load("perp.bybit.ETHUSDT")
    idx = bars.index.as_unit("ns").asi8
    got = [e for e in events if e.kind == "bar"]
    assert len(got) >= 3 and all(e.key == "perp.okx.ETHUSDT" for e in events)
    for e in got:
        row = bars.iloc[int((idx == e.open_ns).nonzero()[0][0])]
        assert (e.open, e.high, e.low, e.close) == (row.open, row.high, row.low, row.close)
        assert e.timestamp == e.open_ns + 3600 * 10**9 <= replay.t
    for e in events:
        if e.kind == "mark_price":  # the open of the bar that opened at or before the event's time
            assert e.mark == float(bars.loc[idx <= e.timestamp, "open"].iloc[-1])


def test_feed_falls_back_to_rest_while_the_stream_is_down_and_comes_back(emulator):
    """The futures stream endpoint refuses connections (HTTP 503, a ccxt NetworkError): the feed polls the
    REST book ticker meanwhile (events keep coming, mode ``rest``), then the stream is retried with backoff
    and used again once the venue accepts it (mode ``stream``)."""
    from basiskit.emulator.server import ccxt_config

    cfg = ccxt_config("binance", emulator.url)
    emulator.fault("/binance/fstream", "unavailable", method="GET", count=2)

    async def run():
        client = ccxtpro.binance({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"]})
        feed = CcxtFeed(client, [Stream("binance", "perp", "ETH")], poll_s=0.1, retry_s=0.3)
        got, modes = [], []

        async def reader():
            async for ev in feed.events():
                got.append((ev, feed.status()["perp.binance.ETHUSDT:book"]["mode"]))
        task = asyncio.ensure_future(reader())
        for _ in range(40):
            await asyncio.sleep(0.1)
            modes.append(feed.status()["perp.binance.ETHUSDT:book"]["mode"])
        for _ in range(2):
            await asyncio.get_running_loop().run_in_executor(None, lambda: emulator.advance(steps=1))
            await asyncio.sleep(0.5)
        status = feed.status()
        task.cancel()
        await feed.close()
        await client.close()
        return got, modes, status
    got, modes, status = asyncio.run(run())
    assert "rest" in modes and modes[-1] == "stream", modes
    assert any(m == "rest" for _, m in got), "no event arrived by REST while the stream was down"
    assert any(m == "stream" for _, m in got), "no event arrived by the stream once it was back"
    assert status["perp.binance.ETHUSDT:book"]["errors"] >= 2
