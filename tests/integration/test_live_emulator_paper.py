"""A paper session on live market data from the exchange emulator: the ccxt feed's websocket streams
(Binance and Bybit dialects: book tickers, closed bars, mark prices, funding settlements) through
StreamSource into the LiveFeed, the session's clock the emulator's (step mode, advanced by the test
once the session has stepped), the simulators filling. Compared with the backtest of the same hours;
then the session's recording, replayed from the store, makes the session's orders again."""

from __future__ import annotations

import secrets
import threading
import time

import ccxt.pro as ccxtpro

from basiskit.data.live.stream_source import StreamSource, streams_for
from basiskit.data.live_feed import LiveFeed
from basiskit.domain.time import to_ns
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import BacktestRequest, prepare, run_backtest
from basiskit.data.replay_source import EventListSource
from basiskit.engine.live.driver import EmulatorClock, FastClock
from basiskit.engine.live.runner import LiveOptions, run_live
from basiskit.engine.live.session import feed_keys, funding_intervals
from basiskit.persistence.live_store import MemoryLiveStore
from basiskit.live_service import recorded_events
from basiskit.strategies.registry import build_strategy

START, FIRST, END = "2024-08-01T00:00:00Z", "2024-08-01T01:00:00Z", "2024-08-03T00:00:00Z"


def test_paper_session_on_the_emulators_streams_makes_the_backtests_orders(catalog):
    from basiskit.emulator.replay import Replay
    from basiskit.emulator.server import EmulatorServer, ccxt_config

    key, secret = "t-" + secrets.token_hex(6), secrets.token_hex(16)
    backtest = run_backtest(BacktestRequest("btc_basis", FIRST, END, 100_000.0), catalog)
    config, clock = prepare(BacktestRequest("btc_basis", FIRST, END, 100_000.0))
    grid = [int(t) for t in clock.grid()]
    strategy = build_strategy(config)
    specs = series_specs(strategy.requirements(), set(catalog.dataset_ids()))
    keys = feed_keys(specs)
    funding = [s.key for s in specs if s.kind == "funding"]
    with EmulatorServer(Replay(catalog, START, "2024-08-05"), {key: secret}) as srv:
        def client(venue):
            cfg = ccxt_config(venue, srv.url)
            return lambda: getattr(ccxtpro, venue)({**cfg["ccxt"], "urls": cfg["urls"], "options": cfg["options"],
                                                    "apiKey": key, "secret": secret})
        streams = streams_for(keys, funding)
        source = StreamSource({v: client(v) for v in streams}, streams)
        venue_clock = EmulatorClock(srv.url)
        feed = LiveFeed(grid, source, keys, funding_intervals(specs, config.venues), now_ns=venue_clock.now_ns)
        store = MemoryLiveStore()
        out: dict = {}

        def run() -> None:
            try:
                out["result"] = run_live(config, strategy, feed, 100_000.0, store, "emu", "emu-run",
                                         LiveOptions("paper", 5400.0, 15.0, 3600.0, 0.05, 0.0, 0.3),
                                         now_ns=venue_clock.now_ns, sleep=venue_clock.sleep)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                out["error"] = exc

        th = threading.Thread(target=run, daemon=True)
        time.sleep(1.0)  # the streams subscribe
        th.start()
        driver = None
        try:
            for i in range(len(grid)):  # the venue's clock moves on once the session has stepped
                srv.advance(to_ns=grid[i])
                deadline = time.monotonic() + 60
                while th.is_alive() and time.monotonic() < deadline:
                    driver = driver or getattr(out.get("result"), "driver", None)
                    done = _steps_done(th, out, feed)
                    if done > i:
                        break
                    time.sleep(0.02)
                assert "error" not in out, out.get("error")
            th.join(60)
        finally:
            source.close()
    assert "error" not in out, out.get("error")
    sim = out["result"].sim
    bt = [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.amount,
           t.status.value, t.executed_amount, t.price) for t in backtest.loop.trades]
    live = [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.amount,
             t.status.value, t.executed_amount, t.price) for t in sim.loop.trades]
    assert len(bt) >= 6
    assert live == bt  # the same orders: sequence, amounts, prices, outcomes (exact)
    assert abs(sim.loop.equity[-1] - backtest.loop.equity[-1]) <= 1e-9 * backtest.loop.equity[-1]
    assert all(abs(a - b) <= 1e-9 * b for a, b in zip(sim.loop.equity, backtest.loop.equity))  # every step
    assert out["result"].events_recorded > 3 * len(grid)
    # the session recorded every market event it received: replayed from the store (BASIS_DATA_MODE=db's
    # reader), the same strategy makes the session's orders again -- the session can be backtested
    recorded = recorded_events(store, grid[0] - 3_600_000_000_000, grid[-1])
    assert {type(e).__name__ for e in recorded} >= {"Bar", "BookTicker", "MarkPrice", "FundingRate"}
    fast = FastClock(grid[0] - 3_600_000_000_000)
    again = run_live(config, build_strategy(config), LiveFeed(grid, EventListSource(recorded), keys,
                                                              funding_intervals(specs, config.venues), now_ns=fast.now_ns),
                     100_000.0, MemoryLiveStore(), "again", "again", LiveOptions("paper", 5400.0, 15.0, 3600.0, 900.0, 0.0),
                     now_ns=fast.now_ns, sleep=fast.sleep)
    assert [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.amount,
             t.status.value, t.executed_amount, t.price) for t in again.sim.loop.trades] == live
    assert list(again.sim.loop.equity) == list(sim.loop.equity)


def _steps_done(th, out, feed) -> int:
    return feed.state.step + 1

