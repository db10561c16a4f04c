"""Replay parity: a paper session replaying a recorded month through the live path (LiveFeed folding
streamed market events into the market state, the wall-clock LiveDriver on an accelerated clock, the
simulators as venues) makes exactly the backtest's orders and ends at the backtest's equity."""

from __future__ import annotations

from basiskit.data.live_feed import LiveFeed
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import BacktestRequest, prepare, run_backtest
from basiskit.engine.live.driver import FastClock, LiveDriver
from basiskit.engine.live.session import replay_feed, run_session
from basiskit.strategies.registry import build_strategy

START, END = "2024-08-01", "2024-09-01"  # 49 orders: entry, 11 re-targets (margin both ways, idle cash), transfers


def _orders(trades):
    return [(t.order.venue, t.order.operation.value, t.order.side.value if t.order.side else None, t.order.token,
             t.order.amount, t.status.value, t.executed_amount, t.price) for t in trades]


def test_btc_basis_month_paper_replay_matches_backtest(catalog):
    req = BacktestRequest("btc_basis", START, END, 100_000.0)
    backtest = run_backtest(req, catalog)
    config, clock = prepare(req)
    grid = clock.grid()
    strategy = build_strategy(config)
    specs = series_specs(strategy.requirements(), set(catalog.dataset_ids()))
    frame = catalog.frame(grid, specs)
    fast = FastClock(int(grid[0]) - 3_600_000_000_000)  # an hour before the first step: the driver waits
    driver = LiveDriver(fast.now_ns, fast.sleep, poll_s=30.0, settle_s=1.0, heartbeat_s=600.0)
    feed = replay_feed(frame, config.step_seconds, specs, fast.now_ns, config.venues)
    assert isinstance(feed, LiveFeed)
    paper = run_session(config, strategy, feed, 100_000.0, driver)
    bt_orders, live_orders = _orders(backtest.loop.trades), _orders(paper.loop.trades)
    assert len(bt_orders) >= 40
    assert live_orders == bt_orders  # same sequence, amounts, prices (exact)
    assert abs(paper.loop.equity[-1] - backtest.loop.equity[-1]) <= 1e-9
    assert list(paper.loop.times) == list(backtest.loop.times)
    assert driver.steps_done == len(grid)
    # the live path did run: a heartbeat per 10 min of the accelerated clock, events folded
    assert sum(1 for e in paper.loop.events if e.kind == "heartbeat") > len(grid)
    assert feed.events_received > 2 * len(grid)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def test_live_feed_folds_the_stream_into_the_historical_feeds_market_state_every_step(catalog):
    """A whole year of btc_basis's series (Binance's data gaps included: their stale flags and
    reference valuations) streamed as events and folded by the LiveFeed gives, at every step, the
    HistoricalFeed's prices, intrabar extremes, stale flags and funding settlements."""
    from basiskit.data.feed import HistoricalFeed
    from basiskit.engine.live.driver import FastClock

    req = BacktestRequest("btc_basis", "2024-01-01", "2025-01-01", 100_000.0)
    config, clock = prepare(req)
    grid = clock.grid()
    specs = series_specs(build_strategy(config).requirements(), set(catalog.dataset_ids()))
    frame = catalog.frame(grid, specs)
    assert any(any(s) for s in frame.stale.values())  # the year has data gaps valued from a reference
    hist = HistoricalFeed(frame)
    live = replay_feed(frame, config.step_seconds, specs, FastClock(0).now_ns, config.venues)
    n_funding = 0
    for i in range(len(grid)):
        a, b = hist.advance(i), live.advance(i)
        fa = [(e.timestamp, e.key, e.rate, e.mark) for e in a.events]
        assert fa == [(e.timestamp, e.key, e.rate, e.mark) for e in b.events], i
        n_funding += len(fa)
        sa, sb = hist.state, live.state
        assert (sa.t, sa.t_prev, sa.step) == (sb.t, sb.t_prev, sb.step)
        for k, v in sa.px.items():
            assert _same(v, sb.px[k]), (i, k)
        for k, v in sa.hi.items():
            assert _same(v, sb.hi.get(k, float("nan"))) and _same(sa.lo[k], sb.lo.get(k, float("nan"))), (i, k)
        for k, v in sa.stale.items():
            assert v == sb.stale.get(k, False), (i, k)
        if i >= 24:
            for k in sa.px:
                w = sa.window(k, 24)
                assert len(w) == 24 and all(_same(x, y) for x, y in zip(w, sb.window(k, 24)))
    assert n_funding > 2 * 3 * 365  # two venues, every 8 h
