"""The emulator replays the recorded LUNC book tickers (``data.ticks``) tick by tick through the Binance
USDT-M dialect, and the ccxt feed receives them with their recorded times and values -- including the
real 19.4 s silence of the Gate.io stream on 2025-10-11 (04:13:37.35 -> 04:13:56.78 UTC), kept on the
wall clock at the replay's speed."""

from __future__ import annotations

import asyncio
import secrets

import ccxt.pro as ccxtpro
import numpy as np
import pytest

from basiskit.data.live.ccxt_feed import CcxtFeed, Stream
from basiskit.data.ticks import TickCatalog

SPEED = 4.0
LEAD_S = 8.0   # replay time before the silence
TAIL_S = 8.0   # replay time after it


def test_lunc_silence_is_replayed_at_speed(catalog, source_dir):
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer, ccxt_config
    from basiskit.emulator.ticks import TickReplay, load_tick_streams

    rec, _ = TickCatalog(source_dir).read("ticks.gateio.perp.LUNCUSDT")
    rec = rec.in_time_order()
    gaps = np.diff(rec.ts)
    k = int(gaps.argmax())
    silence_s = gaps[k] / 1e9
    assert 19.4 < silence_s < 19.5  # the recording's own silence (README of the data)
    start = int(rec.ts[k]) - int(LEAD_S * 1e9)
    end = int(rec.ts[k + 1]) + int(TAIL_S * 1e9)
    ticks = TickReplay(load_tick_streams(source_dir, {("binance.perp", "LUNC"): "ticks.gateio.perp.LUNCUSDT"}), start)
    replay = Replay(catalog, "2024-03-01", "2024-03-02")
    srv = EmulatorServer(replay, {secrets.token_hex(4): secrets.token_hex(16)}, speed=SPEED, ticks=ticks).start()
    cfg = ccxt_config("binance", srv.url)

    async def run():
        client = ccxtpro.binance({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"]})
        feed = CcxtFeed(client, [Stream("binance", "perp", "LUNC")])
        got = []

        async def reader():
            async for ev in feed.events():
                got.append(ev)
        task = asyncio.ensure_future(reader())
        wall = (end - start) / 1e9 / SPEED + 1.0
        await asyncio.sleep(wall)
        task.cancel()
        await feed.close()
        await client.close()
        return got
    try:
        events = asyncio.run(run())
    finally:
        srv.stop()
    ms = (rec.ts // 1_000_000) * 1_000_000  # Binance stamps its messages in ms
    n_rec = int(((rec.ts > start) & (rec.ts <= end)).sum())
    assert len(events) >= n_rec - 1 and len(events) >= 10, (len(events), n_rec)
    ts = np.array([e.timestamp for e in events])
    rx = np.array([e.received_ns for e in events])
    # every event is a recorded update, with its recorded time (ms) and book
    idx = np.searchsorted(ms, ts)
    assert np.array_equal(ms[idx], ts)
    assert [e.bid for e in events] == rec.bid[idx].tolist() and [e.ask_size for e in events] == rec.ask_size[idx].tolist()
    # the silence: venue times jump by the recorded 19.43 s; receipt times by that / SPEED
    j = int(np.diff(ts).argmax())
    assert ts[j] == ms[k] and ts[j + 1] == ms[k + 1]
    rx_gap = (rx[j + 1] - rx[j]) / 1e9
    assert rx_gap == pytest.approx(silence_s / SPEED, abs=0.4), rx_gap  # a shared 2-core box: scheduling noise
    # and nothing arrived in between
    others = np.delete(np.diff(rx), j) / 1e9
    assert others.max() < silence_s / SPEED / 2
