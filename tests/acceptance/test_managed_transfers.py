"""Managed transfers in a backtest on the real data: the transfer manager runs every transfer of a
funding_arbitrage run (delays, seeded failures, retries), writes each state change to the run store,
and the books stay whole (attribution = equity change, money in transit counted)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.persistence import MemoryRunStore
from basiskit.venues.transfers.store import RunStoreTransferLog

NASTY = {"transfers": {"seed": 3, "max_attempts": 3, "backoff_s": 600, "bridges": {
    "trc20": {"fee_kind": "fixed", "fixed_fee": 1.0, "withdrawal_delay_s": 1800, "bridge_delay_s": 1800,
              "deposit_delay_s": 1800, "send_error_rate": 0.4, "withdrawal_failure_rate": 0.3,
              "bridge_failure_rate": 0.3, "venues": ["binance", "bybit", "wallet"], "sources": ["test: stated rates"]}}},
    "entry_min_net_apr": -1.0, "rebalance": {"kind": "combined", "rules": [{"kind": "time_based", "max_hold_days": 3}]},
    "cooldown_hours": 0}


def run(catalog, store=None):
    req = BacktestRequest("funding_arbitrage", "2024-03-01", "2024-05-01", 100_000.0, overrides=NASTY)
    log = RunStoreTransferLog(store, "r1", "r1") if store is not None else None
    return run_backtest(req, catalog, transfer_store=log)


def test_failures_retries_and_delays_keep_the_books_whole_and_are_logged_as_they_move(catalog):
    store = MemoryRunStore()
    out = run(catalog, store)
    s = out.summary
    change = s["final_equity"] - s["initial_equity"] - s["net_deposits"]
    assert abs(sum(s["attribution"].values()) - change) < 0.01
    rows = [r for r in store.transfers("r1") if r.kind == "transfer_step"]
    by_key = defaultdict(list)
    for r in rows:
        by_key[(r.from_venue, r.to_venue, r.amount)].append(r.status)
    states = {st for sts in by_key.values() for st in sts}
    assert {"pending", "withdrawing", "bridging", "depositing", "completed", "failed"} <= states
    ops = RunStoreTransferLog(store, "r1").latest()
    assert ops and all(op.terminal or op.updated_ns >= out.loop.times[-1] - 3 * 3_600_000_000_000 for op in ops)
    done = [op for op in ops if op.terminal]
    assert any(op.state.value == "failed" and op.refunded > 0 for op in done)      # refunded after a failure in transit
    assert any(op.state.value == "failed" and op.withdrawal_id is None for op in done)  # gave up before sending
    # each transfer's rows follow the state table (timestamps never go back)
    steps = defaultdict(list)
    for r in rows:
        steps[(r.from_venue, r.to_venue, r.amount)].append(r.timestamp)
    assert all(ts == sorted(ts) for ts in steps.values())
    # money: what left the sources = what arrived + what was refunded + fees kept + what is still in transit
    ev = out.loop.events
    sent = sum(-d[2] for e in ev if e.kind == "transfer_sent" for d in e.deltas)
    sent += sum(-d[2] for t in out.loop.trades if t.order.operation.value == "transfer" for d in t.deltas if d[2] < 0)
    back = sum(d[2] for e in ev if e.kind in ("transfer_arrived", "transfer_refunded") for d in e.deltas)
    fee_back = sum(b[2] for e in ev if e.kind == "transfer_refunded" for b in e.pnl)
    fees = sum(t.fee for t in out.loop.trades if t.order.operation.value == "transfer") + sum(
        float(e.data.get("fee", 0.0)) for e in ev if e.kind == "transfer_sent")
    in_transit = sum(op.amount for op in ops if op.state.value in ("withdrawing", "bridging", "depositing"))
    assert sent == pytest.approx(back + (fees - fee_back) + in_transit, abs=1e-6)


def test_the_same_seed_gives_the_same_run(catalog):
    a, b = run(catalog), run(catalog)
    assert a.summary["final_equity"] == b.summary["final_equity"]
    assert [e.kind for e in a.loop.events if e.kind.startswith("transfer_")] == \
           [e.kind for e in b.loop.events if e.kind.startswith("transfer_")]


def test_the_strategy_reports_the_fees_it_paid_net_of_refunds(catalog):
    out = run(catalog)
    rep = out.summary["strategy_state"]["state"]["report"]
    assert rep["transfer_fees_usd"] == pytest.approx(_fees_booked(out), abs=1e-9) and rep["transfer_fees_usd"] > 0
    assert rep["transfers"].get("failed", 0) >= 1 and rep["transfers"].get("completed", 0) >= 1


def _fees_booked(out) -> float:
    """Transfer fees as the books have them: charged when sent, given back when a withdrawal failed."""
    ev = out.loop.events
    sent = sum(t.fee for t in out.loop.trades if t.order.operation.value == "transfer" and t.deltas)
    sent += sum(float(e.data.get("fee", 0.0)) for e in ev if e.kind == "transfer_sent")
    return sent - sum(b[2] for e in ev if e.kind == "transfer_refunded" for b in e.pnl)
