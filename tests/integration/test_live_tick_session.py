"""A paper session of a book-ticker (signal) mode through the service (``basiskit live MODE --paper``'s
use case): replaying a recorded LUNC window from the catalog's tick files, then from the book tickers
the first session recorded in the store (``BASIS_DATA_MODE=db``), it makes the tick backtest's orders
and equity; ``--live`` is refused for these modes (no MEXC / Gate.io adapter).

Restarts: a session stopped after EVERY step of a window around six decisions (twelve IOC orders, each on
its way to the venue for one or two updates: the 50 ms latency; 8 of the 20 stops with two orders on
their way) and resumed each time (same strategy id,
from its stored book) makes the backtest's orders, its equity after every step (1e-9) and its end: the
orders on their way at a stop are back on their latency books after the restart (``recovery_order_in_flight``,
counted against the backtest's order lives), and each order is journaled once, with the backtest's fill.
And SIGKILLed (``basiskit live`` processes, ``BASISKIT_LIVE_CRASH_AT``) in the middle of a step: right
after the journal stored the first fill of a step where two orders met the venue (the stored book, a
step older, still has both on their way) and, on the restart, right after the latency book took an
order (journaled ``intent`` only: voided, the strategy decides again); the third process ends with the
backtest's orders, equity and journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

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


def _cli(data: Path, crash: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BASISKIT_LIVE_CRASH_AT", "BASISKIT_DATABASE_URL")}
    if crash:
        env["BASISKIT_LIVE_CRASH_AT"] = crash
    return subprocess.run([str(Path(sys.executable).parent / "basiskit"), "live", MODE, "--paper", "--replay", START,
                           "--replay", END, "--capital", "50000", "--set", "warmup_events=50", "--data-dir", str(data),
                           "--strategy-id", "desk"], env=env, capture_output=True, text=True, timeout=300)


def test_a_tick_session_sigkilled_mid_step_with_orders_on_their_way_resumes_to_the_backtests_orders(catalog, tmp_path):
    from basiskit.persistence.live_sql import SqlLiveStore

    bt = run_backtest(BacktestRequest(MODE, START, END, 50_000.0, overrides=SETS), catalog)
    life = _lives(bt.loop)
    placed = Counter(v[0] for v in life.values())
    filled = Counter(v[1] for v in life.values())
    # A: a step where orders meet the venue and new ones are placed; B: the next decision after it
    a = next(s for s in sorted(filled) if s in placed)
    b = next(s for s in sorted(placed) if s > a)
    # the journal's crash points per step (engine/live/journal.py, JournaledBook): the fills of the orders due
    # (after_ack, after_store each), then the new orders (before_submit, after_submit, after_ack, after_store)
    kill_a = 1 + sum(n for s, n in placed.items() if s < a) + sum(n for s, n in filled.items() if s < a)
    kill_b = 1 + sum(n for s, n in placed.items() if a <= s < b)  # the second process starts at step a
    data = tmp_path / "home"
    data.mkdir()
    (data / "catalog").symlink_to(Path(catalog.data_dir) / "catalog")
    folders = []
    for crash, rc in ((f"after_store:{kill_a}", -9), (f"after_submit:{kill_b}", -9), (None, 0)):
        before = set((data / "live").glob("*")) if (data / "live").exists() else set()
        run = _cli(data, crash)
        assert run.returncode == rc, run.stderr[-2000:]
        (folder,) = set((data / "live").glob("*")) - before
        folders.append(folder)
    store = SqlLiveStore(f"sqlite:///{data / 'basiskit.db'}")
    try:
        journal = store.live_orders("desk")
    finally:
        store.close()
    engine = [_log(f, ["engine"]) for f in folders]
    done = [next(e for e in log if e["kind"] == "recovery_done")["findings"] for log in engine]
    assert done[1].get("orders_in_flight") == filled[a] and not done[1].get("paper_orders_voided")
    assert done[2].get("paper_orders_voided") == 1 and not done[2].get("orders_in_flight")
    # what each killed process did up to the book its successor restored is what happened
    saved = [next(e for e in log if e["kind"] == "recovery_strategy_restored")["saved_at"] for log in engine[1:]]
    venues = sorted({t.order.venue for t in bt.loop.trades})
    logs = [e for f, upto in zip(folders, [*saved, None]) for e in _log(f, venues)
            if upto is None or e["clock_ns"] <= upto]
    trades = [(e["component"], e["side"], e["amount"], e["status"], e["price"], e["clock_ns"]) for e in logs
              if e["kind"] == "trade"]
    assert trades == [(t.order.venue, t.order.side.value, t.executed_amount, t.status.value, t.price, t.timestamp)
                      for t in bt.loop.trades]
    final = json.loads((folders[-1] / "status.json").read_text())["summary"]["final_equity_usd"]
    assert abs(final - bt.loop.equity[-1]) <= 1e-9 * bt.loop.equity[-1]
    # the journal: every order of the backtest filled once; the one the second kill interrupted is void
    assert Counter(r.status for r in journal) == {"filled": len(bt.loop.trades), "void": 1}
    assert sorted((r.venue, r.side, r.filled, r.price, r.timestamp) for r in journal if r.status == "filled") == sorted(
        (t.order.venue, t.order.side.value, t.executed_amount, t.price, t.timestamp) for t in bt.loop.trades)
