"""A strategy's ``snapshot()`` holds all of its state: a run whose strategy is replaced mid-run by a
fresh instance restored from the snapshot (through JSON, as the run store keeps it) gives the
uninterrupted run's numbers, also when the split falls inside a re-target (targets frozen, transfers
in flight)."""

from __future__ import annotations

import json

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.drivers import run_backtest_steps
from basiskit.strategies.registry import build_strategy

TIMING = {"loop_seconds", "steps_per_second", "run_seconds"}
CASES = [
    BacktestRequest("btc_basis", "2024-03-01", "2024-05-01", 100_000.0, deposits=(("2024-03-20", 50_000.0),)),
    BacktestRequest("usdt_market_neutral", "2024-06-01", "2024-08-01", 100_000.0),
    BacktestRequest("eth_leveraged_restaking", "2024-08-01", "2024-11-01", 50.0),
]


class SplitDriver:
    """Runs the steps; after every step whose strategy state is mid-decision (frozen targets or
    awaiting transfers) -- or at ``fallback`` if there is none -- replaces the strategy by a fresh one
    restored from its snapshot's JSON, at most ``max_splits`` times."""

    def __init__(self, config, fallback: int, max_splits: int = 5) -> None:
        self.config, self.fallback, self.max_splits = config, fallback, max_splits
        self.splits: list[tuple[int, dict]] = []

    def __call__(self, kernel, n_steps, progress=None, every=0) -> float:
        def step(i: int) -> None:
            kernel.step(i)
            state = kernel.strategy.snapshot()
            busy = state.get("targets") is not None or state.get("awaiting")
            if len(self.splits) < self.max_splits and (busy or i == self.fallback):
                fresh = build_strategy(self.config)
                fresh.restore(json.loads(json.dumps(state)))
                assert fresh.snapshot() == json.loads(json.dumps(state))
                kernel.use_strategy(fresh)
                self.splits.append((i, state))

        class Steps:
            feed = kernel.feed
            finish = kernel.finish
        Steps.step = staticmethod(step)
        return run_backtest_steps(Steps, n_steps, progress, every, batch=False)  # a split may come at any step


@pytest.mark.parametrize("req", CASES, ids=[r.mode for r in CASES])
def test_a_strategy_restored_from_its_snapshot_continues_the_run(catalog, req):
    whole = run_backtest(req, catalog)
    driver = SplitDriver(whole.config, fallback=len(whole.loop.times) // 2)
    split = run_backtest(req, catalog, driver=driver)
    assert driver.splits, "the run was split"
    a = {k: v for k, v in whole.summary.items() if k not in TIMING}
    b = {k: v for k, v in split.summary.items() if k not in TIMING}
    assert a == b
    assert split.loop.equity == whole.loop.equity
    assert whole.loop.strategy_state == split.loop.strategy_state and whole.loop.strategy_state["entered"]


def test_a_recorded_run_stores_its_strategy_state(catalog, tmp_path):
    """The run writes the finished strategy's state to the store (``strategy_state``, under the run's id)
    and to summary.json; restored into a fresh strategy, it is the same state."""
    from basiskit.persistence import MemoryRunStore
    from basiskit.runs.execute import execute_backtest

    store = MemoryRunStore()
    req = CASES[1]
    res = execute_backtest(req, catalog, run_id="state-1", out_dir=tmp_path / "out", store=store)
    stored = store.load_state("state-1")
    assert stored == res.outcome.summary["strategy_state"] == json.loads(
        (tmp_path / "out" / "summary.json").read_text())["strategy_state"]
    assert stored["entered"] is True and stored["action"] in {"hold", "entry_partial", "exit_partial", "entry_full"}
    fresh = build_strategy(res.outcome.config)
    fresh.restore(stored)
    assert fresh.snapshot() == stored
