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
