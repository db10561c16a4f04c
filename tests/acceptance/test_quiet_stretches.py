"""Quiet stretches passed in one vectorised go give exactly what stepping gives (engine.quiet).

Each case runs twice on the real data, once with the backtest driver's batching (the default) and
once stepping every clock step (``run_backtest_steps(batch=False)``), and every recorded value must be
equal -- not close: the per-step equity, net delta, margin ratios, notionals and idle cash, the daily
venue snapshots, every event and trade in order, the attribution by source and by venue, the final
balances and positions, and every summary figure but the timings. The minute-clock cases must
actually batch most of their steps (else the comparison would prove nothing), including a run with
rebalancing off whose perp accounts are liquidated inside what would otherwise be a quiet stretch; the
LST cases cover AAVE accrual and revaluation, health factors, the margin reserve, the risk override,
the ETH share class (per-step attribution rows) and restaking rewards accruing through a stretch.
"""

from __future__ import annotations

import dataclasses
import math
from array import array

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import run_backtest_steps

TIMINGS = {"steps_per_second", "loop_seconds", "run_id", "elapsed_seconds"}

CASES = {
    "pure_lending hourly, flows": (BacktestRequest("pure_lending", "2024-01-01", "2025-09-18", 100_000.0,
                                                   deposits=(("2024-06-01", 25_000.0),),
                                                   withdrawals=(("2025-02-01", 60_000.0),)), 0.9),
    "btc_basis hourly": (BacktestRequest("btc_basis", "2024-01-01", "2025-09-29", 100_000.0), 0.0),
    "eth_basis hourly, flows": (BacktestRequest("eth_basis", "2024-01-01", "2025-09-25", 250_000.0,
                                                overrides={"hedge_allocation": {"binance": 0.7, "bybit": 0.3, "okx": 0.0}},
                                                deposits=(("2024-06-01", 50_000.0),),
                                                withdrawals=(("2025-01-15", 20_000.0),)), 0.0),
    "btc_basis 1-minute clock": (BacktestRequest("btc_basis", "2024-02-01", "2024-04-01", 100_000.0,
                                                 overrides={"step_seconds": 60}), 0.9),
    "eth_basis 5-minute clock, flows": (BacktestRequest("eth_basis", "2024-05-01", "2024-07-15", 100_000.0,
                                                        overrides={"step_seconds": 300},
                                                        deposits=(("2024-06-01", 30_000.0),),
                                                        withdrawals=(("2024-07-01", 50_000.0),)), 0.8),
    "usdt_market_neutral hourly (AAVE loop, margin reserve, override)": (
        BacktestRequest("usdt_market_neutral", "2024-05-13", "2025-09-25", 100_000.0), 0.8),
    "usdt_market_neutral_no_leverage hourly, flows": (
        BacktestRequest("usdt_market_neutral_no_leverage", "2024-05-13", "2025-03-01", 100_000.0,
                        deposits=(("2024-08-01", 20_000.0),), withdrawals=(("2025-01-10", 30_000.0),)), 0.8),
    "usdt_market_neutral 5-minute clock": (BacktestRequest("usdt_market_neutral", "2024-07-01", "2024-09-01",
                                                           100_000.0, overrides={"step_seconds": 300}), 0.8),
    "eth_leveraged hourly, ETH share class": (BacktestRequest("eth_leveraged", "2024-05-13", "2025-09-25", 50.0), 0.8),
    "eth_leveraged_restaking hourly (rewards accrue, reward tokens held)": (
        BacktestRequest("eth_leveraged_restaking", "2024-05-13", "2025-09-25", 50.0), 0.6),
    "eth_staking_only hourly, flows": (BacktestRequest("eth_staking_only", "2024-05-13", "2025-09-25", 50.0,
                                                       deposits=(("2024-09-01", 10.0),),
                                                       withdrawals=(("2025-03-01", 20.0),)), 0.8),
    "btc_basis 1-minute clock, no rebalance (liquidations)": (
        BacktestRequest("btc_basis", "2024-01-01", "2024-03-10", 100_000.0,
                        overrides={"step_seconds": 60, "rebalance": False}), 0.9),
}


def _same(a, b, path: str) -> None:
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, array):  # the recorder's typed series: element by element (NaN: no position)
        assert type(b) is array and a.typecode == b.typecode, path
        _same(a.tolist(), b.tolist(), path)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)}"
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{k}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b and type(a) is type(b), f"{path}: {a!r} != {b!r}"


@pytest.mark.parametrize("name", list(CASES))
def test_batched_equals_stepped(catalog, name):
    req, min_batched = CASES[name]
    batched = run_backtest(req, catalog)
    stepped = run_backtest(req, catalog, driver=lambda k, n, p, e: run_backtest_steps(k, n, p, e, batch=False))
    steps = len(stepped.loop.times)
    assert stepped.loop.steps_batched == 0
    assert batched.loop.steps_batched >= min_batched * steps, (batched.loop.steps_batched, steps)
    loop_b = dataclasses.replace(batched.loop, steps_batched=0)
    _same(loop_b, stepped.loop, "loop")
    _same({k: v for k, v in batched.summary.items() if k not in TIMINGS},
          {k: v for k, v in stepped.summary.items() if k not in TIMINGS}, "summary")
    if "liquidations" in name:
        kinds = [ev.kind for ev in batched.loop.events]
        assert kinds.count("liquidation") >= 1
