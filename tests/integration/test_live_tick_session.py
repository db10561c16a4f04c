"""A paper session of a book-ticker (signal) mode through the service (``basiskit live MODE --paper``'s
use case): replaying a recorded LUNC window from the catalog's tick files, then from the book tickers
the first session recorded in the store (``BASIS_DATA_MODE=db``), it makes the tick backtest's orders
and equity; ``--live`` is refused for these modes (no MEXC / Gate.io adapter).

Restarts: a session stopped after EVERY step of a window around six decisions (twelve IOC orders, each on
its way to the venue for one or two updates: the 50 ms latency; 8 of the 20 stops with two orders on
their way) and resumed each time (same strategy id,
from its stored book) makes the backtest's orders, its equity after every step (1e-9) and its end: the
orders on their way at a stop are back on their latency books after the restart (``recovery_order_in_flight``,
counted against the backtest's order lives), and each order is journaled once, with the backtest's fill."""

from __future__ import annotations

import json
from collections import Counter

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


def _lives(loop) -> dict[str, list[int]]:
    """client order id -> the steps of its status changes (accepted at the decision, filled or expired later)."""
    idx = {t: k for k, t in enumerate(loop.times)}
    life: dict[str, list[int]] = {}
    for e in loop.events:
        if e.kind == "order_status":
            life.setdefault(e.client_order_id, []).append(idx[e.timestamp])
    return life


def _log(folder, components) -> list[dict]:
    """A session's events of ``components`` (its event log: events/<component>_events.jsonl), in emission order."""
    rows = []
    for c in components:
        f = folder / "events" / f"{c}_events.jsonl"
        if f.exists():
            rows += [json.loads(x) for x in f.read_text().splitlines() if x.strip()]
    return sorted(rows, key=lambda r: r["seq"])


def test_a_tick_session_stopped_after_every_step_around_its_orders_resumes_to_the_backtests_orders(catalog, tmp_path):
    bt = run_backtest(BacktestRequest(MODE, START, END, 50_000.0, overrides=SETS), catalog)
    times = list(bt.loop.times)
    life = _lives(bt.loop)
    assert all(len(v) == 2 and v[0] < v[1] for v in life.values())  # accepted, then filled a step or two later
    decisions = sorted({v[0] for v in life.values()})
    assert len(decisions) >= 10
    # stop after s steps for every s from the 5th decision's step to the step after the 10th's fills
    lo = decisions[4]
    hi = max(v[1] for v in life.values() if v[0] == decisions[9]) + 1
    flying = {s: sum(1 for v in life.values() if v[0] < s <= v[1]) for s in range(lo, hi + 1)}
    assert sum(1 for n in flying.values() if n) >= 8 and sum(flying.values()) >= 16
    assert any(v[1] - v[0] >= 2 and lo < v[0] for v in life.values())  # an order on its way over two stops
    venues = sorted({t.order.venue for t in bt.loop.trades})
    req = LiveRequest(MODE, "paper", 50_000.0, SETS, replay=(START, END), strategy_id="desk")
    store = open_live_store(tmp_path)
    equity: dict[int, float] = {}  # clock ns -> the session's equity after that step (its status)
    folders = []
    try:
        for n in [lo] + [1] * (hi - lo) + [None]:  # each stop after one step; None: to the end
            done = {"n": 0}

            def status(st, done=done):
                done["n"] = st.get("steps_done", 0)
                equity[st["clock_ns"]] = st["equity_usd"]

            res = start_session(req, catalog, store, tmp_path, on_status=status,
                                should_stop=lambda n=n, done=done: n is not None and done["n"] >= n)
            assert res.status["state"] == ("interrupted" if n is not None else "finished"), res.status
            folders.append(res.folder)
        journal = store.live_orders("desk")
    finally:
        store.close()
    assert len(folders) == hi - lo + 2
    # the equity after every step, whichever session ran it
    assert sorted(equity) == times
    for k, t in enumerate(times):
        assert abs(equity[t] - bt.loop.equity[k]) <= 1e-9 * bt.loop.equity[k], (k, equity[t], bt.loop.equity[k])
    # the orders: the sessions' event logs, one after the other, are the backtest's
    logs = [e for f in folders for e in _log(f, venues)]
    trades = [(e["component"], e["side"], e["amount"], e["status"], e["price"], e["clock_ns"]) for e in logs
              if e["kind"] == "trade"]
    assert trades == [(t.order.venue, t.order.side.value, t.executed_amount, t.status.value, t.price, t.timestamp)
                      for t in bt.loop.trades]
    changes = [(e["component"], e["status"], e.get("quantity"), e.get("price"), e["clock_ns"]) for e in logs
               if e["kind"] == "order_status"]
    assert changes == [(e.component, e.status, e.quantity or None, e.price, e.timestamp) for e in bt.loop.events
                       if e.kind == "order_status"]
    seen = Counter((e["client_order_id"], e["status"]) for e in logs if e["kind"] == "order_status")
    assert set(seen.values()) == {1} and len(seen) == 2 * len(life)  # each order accepted once, filled once
    # the restarts put back exactly the orders that were on their way at each stop
    found = [e["findings"].get("orders_in_flight", 0) for f in folders for e in _log(f, ["engine"])
             if e["kind"] == "recovery_done"]
    assert found == [0, *(flying[s] for s in range(lo, hi + 1))]
    # the journal: every order once, with the backtest's fill; none left open, none voided
    assert sorted((r.venue, r.side, r.status, r.filled, r.price, r.timestamp) for r in journal) == sorted(
        (t.order.venue, t.order.side.value, t.status.value, t.executed_amount, t.price, t.timestamp)
        for t in bt.loop.trades)
    assert {r.client_order_id for r in journal} == {e["client_order_id"] for e in logs if e["kind"] == "trade"}
