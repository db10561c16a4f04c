"""The portfolio is the fold of its events: the event log a run writes as it goes, read back from the
files alone and folded over the starting capital in ``seq`` order, gives the run's final balances
and perp positions -- for a CEX basis book with a deposit and a withdrawal, an AAVE/LST loop hedged
on two perp venues, and the restaking loop (flash loans, gas, reward credits, dust sales)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from basiskit.domain.portfolio import Position
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.eventlog import EventLog, read_events
from basiskit.runs.event_stream import EventRecorder

CASES = [
    BacktestRequest("btc_basis", "2024-03-01", "2024-06-01", 100_000.0,
                    deposits=(("2024-04-02", 25_000.0),), withdrawals=(("2024-05-06", 40_000.0),)),
    BacktestRequest("usdt_market_neutral", "2024-06-01", "2024-09-01", 100_000.0),
    BacktestRequest("eth_leveraged_restaking", "2024-08-01", "2024-12-01", 50.0),
]


@pytest.mark.parametrize("req", CASES, ids=[r.mode for r in CASES])
def test_the_event_log_folds_into_the_final_portfolio(catalog, tmp_path, req):
    log = EventLog(tmp_path, "fold", flush_every=1000)
    out = run_backtest(req, catalog, subscribers=[EventRecorder(log, keep=False)])
    log.close()
    events = sorted(read_events(tmp_path / "events"), key=lambda e: e["seq"])
    assert events and [e["seq"] for e in events] == list(range(len(events)))

    token = "USDT" if out.summary["share_class"] == "USDT" else "WETH"
    ledger: dict = defaultdict(float)
    ledger[("wallet", token)] += req.capital  # the run's capital, before the first step
    positions: dict = {}
    n_changes = 0
    for e in events:
        for acc, tok, amt in e.get("deltas", ()):
            ledger[(acc, tok)] += amt
            n_changes += 1
        if e["kind"] == "trade" and e["operation"] == "perp_trade" and e["status"] == "filled":
            base = e["instrument"].removesuffix("USDT")  # perps are USDT-margined: BTCUSDT -> BTC
            pos = positions.setdefault((e["component"], base), Position())
            pos.apply_fill(e["amount"] if e["side"] == "buy" else -e["amount"], e["price"])
        if e["kind"] == "liquidation":
            for tok in e.get("closed_sizes", {}):
                positions.pop((e["component"], tok), None)
    assert n_changes > 100

    final = out.loop.final_balances
    assert final, "the run reports its final balances"
    for key in set(final) | {k for k, v in ledger.items() if abs(v) > 1e-9}:
        assert ledger.get(key, 0.0) == pytest.approx(final.get(key, 0.0), rel=1e-9, abs=1e-8), key
    folded = {k: p.size for k, p in positions.items() if p.size}
    assert folded.keys() == out.loop.final_positions.keys()
    for k, size in folded.items():
        assert size == pytest.approx(out.loop.final_positions[k][0], rel=1e-9, abs=1e-12), k
    if req.mode != "eth_leveraged_restaking":
        assert folded, "the book holds perp shorts at the end"
