"""Stale feed through the exchange emulator: it replays the recorded LUNC book tickers of Gate.io's perp
(Binance USDT-M dialect, real time), whose stream has a real 19.4 s silence; the session's feed
(ccxt streams -> StreamSource -> LiveFeed) and watchdog (limit 10 s) pause new entries within the limit
plus one second of the last update before the silence and resume when updates come again."""

from __future__ import annotations

import secrets
import time

import numpy as np

from basiskit.data.live.ccxt_feed import Stream
from basiskit.data.live.stream_source import StreamSource
from basiskit.data.live_feed import LiveFeed
from basiskit.data.ticks import TickCatalog
from basiskit.engine.live.watchdog import EntryPauseGate, FeedWatchdog
from basiskit.risk.gate import RiskGate

KEY = "perp.binance.LUNCUSDT"
LIMIT_S, LEAD_S, TAIL_S = 10.0, 6.0, 4.0


def test_lunc_silence_on_the_emulator_pauses_entries_within_limit_plus_one_second(catalog, source_dir):
    import ccxt.pro as ccxtpro

    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer, ccxt_config
    from basiskit.emulator.ticks import TickReplay, load_tick_streams

    rec, _ = TickCatalog(source_dir).read("ticks.gateio.perp.LUNCUSDT")
    rec = rec.in_time_order()
    k = int(np.diff(rec.ts).argmax())
    assert 19.4 < (rec.ts[k + 1] - rec.ts[k]) / 1e9 < 19.5
    start = int(rec.ts[k]) - int(LEAD_S * 1e9)
    ticks = TickReplay(load_tick_streams(source_dir, {("binance.perp", "LUNC"): "ticks.gateio.perp.LUNCUSDT"}), start)
    srv = EmulatorServer(Replay(catalog, "2024-03-01", "2024-03-02"), {secrets.token_hex(4): secrets.token_hex(16)},
                         speed=1.0, ticks=ticks).start()
    cfg = ccxt_config("binance", srv.url)
    source = StreamSource({"binance": lambda: ccxtpro.binance({**cfg["ccxt"], "urls": cfg["urls"],
                                                               "options": cfg["options"]})},
                          {"binance": [Stream("binance", "perp", "LUNC")]})
    feed = LiveFeed([2**62], source, [KEY])
    events: list = []
    gate = EntryPauseGate(RiskGate([]))
    dog = FeedWatchdog({KEY: LIMIT_S}, gate, events.append)
    receipts: list[tuple[int, int]] = []  # (venue time, receipt) of each update, as folded
    feed.recorders.append(lambda ev, rx: receipts.append((ev.timestamp, rx)))
    try:
        deadline = time.time() + LEAD_S + 19.5 + TAIL_S + 3.0
        while time.time() < deadline:
            now = time.time_ns()
            feed.pump(2**62)
            dog.check(feed.ages(now), now, now)
            time.sleep(0.1)
    finally:
        source.close()
        srv.stop()
    ms = rec.ts[k] // 1_000_000 * 1_000_000
    before = [rx for ts, rx in receipts if ts <= ms]
    after = [rx for ts, rx in receipts if ts > ms]
    assert before and after, (len(before), len(after))
    last, first_again = max(before), min(after)
    # before its first update the series has never been heard from: entries wait for data (one pause at
    # the start, resumed by the first update); then the silence
    first = min(rx for _, rx in receipts)
    assert [e.kind for e in events if e.data["wall_ns"] <= first + 1e9] == ["feed_stale", "feed_fresh"]
    stale = [e for e in events if e.kind == "feed_stale" and e.data["wall_ns"] > first + 1e9]
    fresh = [e for e in events if e.kind == "feed_fresh" and e.data["wall_ns"] > first + 1e9]
    assert len(stale) == 1 and len(fresh) == 1, [e.kind for e in events]
    paused_after = (stale[0].data["wall_ns"] - last) / 1e9
    assert LIMIT_S < paused_after <= LIMIT_S + 1.0  # paused within the limit plus one second
    resumed_after = (fresh[0].data["wall_ns"] - first_again) / 1e9
    assert 0 <= resumed_after <= 1.0  # and resumed once updates came again
    assert not gate.paused
