"""A paper session of a book-ticker (signal) mode through the service (``basiskit live MODE --paper``'s
use case): replaying a recorded LUNC window from the catalog's tick files, then from the book tickers
the first session recorded in the store (``BASIS_DATA_MODE=db``), it makes the tick backtest's orders
and equity; ``--live`` is refused for these modes (no MEXC / Gate.io adapter). A session stopped
between two updates while its position is open and no order is on its way resumes (same strategy
id) from its stored book and ends where the backtest ends."""

from __future__ import annotations

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.live.errors import LiveInputError
from basiskit.live_service import LiveRequest, open_live_store, start_session

MODE = "signal_volatility_harvesting"
START, END = "2025-10-11T04:54:33Z", "2025-10-11T04:56:33Z"
SETS = {"warmup_events": 50}


def _orders(loop) -> list:
    return [(t.order.venue, t.order.side.value, t.order.amount, t.status.value, t.executed_amount, t.price)
            for t in loop.trades]


def test_paper_replay_of_lunc_ticks_through_the_service_makes_the_backtests_orders(catalog, tmp_path):
    bt = run_backtest(BacktestRequest(MODE, START, END, 50_000.0, overrides=SETS), catalog)
    assert len(bt.loop.trades) >= 5
    store = open_live_store(tmp_path)
    try:
        runs = []
        for data_mode in ("csv", "db"):  # db: the book tickers the csv session recorded
            res = start_session(LiveRequest(MODE, "paper", 50_000.0, SETS, replay=(START, END), data_mode=data_mode),
                                catalog, store, tmp_path)
            assert res.status["state"] == "finished", res.status
            runs.append(res.outcome.sim.loop)
        for loop in runs:
            assert _orders(loop) == _orders(bt.loop)
            assert list(loop.times) == list(bt.loop.times)
            assert abs(loop.equity[-1] - bt.loop.equity[-1]) <= 1e-9 * bt.loop.equity[-1]
        assert runs[0].equity[-1] == runs[1].equity[-1]
        assert res.status["summary"]["steps"] == len(bt.loop.times)
        with pytest.raises(LiveInputError, match="no live adapter"):
            start_session(LiveRequest(MODE, "live", 50_000.0, SETS, replay=(START, END), exchange="x"), catalog, store,
                          tmp_path)
    finally:
        store.close()


def test_a_stopped_tick_session_resumes_to_the_backtests_end(catalog, tmp_path):
    bt = run_backtest(BacktestRequest(MODE, START, END, 50_000.0, overrides=SETS), catalog)
    times = list(bt.loop.times)
    # the orders' lives (accepted at the decision, filled or expired 50 ms later): stop where none is on its way
    life: dict[str, list[int]] = {}
    for e in bt.loop.events:
        if e.kind == "order_status":
            life.setdefault(e.client_order_id, []).append(e.timestamp)
    first_fill = times.index(bt.loop.trades[0].timestamp)
    held = bt.loop.perp_notional["gateio.perp"]  # USDT, 0 when flat
    stop = next(s for s in range(first_fill + 5, len(times))
                if held[s - 1] and not any(v[0] <= times[s - 1] < v[-1] for v in life.values()))
    assert stop < len(times) - 50
    store = open_live_store(tmp_path)
    try:
        done = {"n": 0}
        first = start_session(LiveRequest(MODE, "paper", 50_000.0, SETS, replay=(START, END), strategy_id="desk"),
                              catalog, store, tmp_path, should_stop=lambda: done["n"] >= stop,
                              on_status=lambda st: done.update(n=st.get("steps_done", 0)))
        assert first.status["state"] == "interrupted" and done["n"] == stop
        again = start_session(LiveRequest(MODE, "paper", 50_000.0, SETS, replay=(START, END), strategy_id="desk"),
                              catalog, store, tmp_path)
        loop = again.outcome.sim.loop
        assert list(loop.times) == times[stop:]
        assert _orders(loop) == [o for o, t in zip(_orders(bt.loop), bt.loop.trades) if t.timestamp >= times[stop]]
        assert abs(loop.equity[-1] - bt.loop.equity[-1]) <= 1e-9 * bt.loop.equity[-1]
    finally:
        store.close()
