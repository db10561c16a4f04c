"""The on-chain runner (``basiskit.onchain_service.run_on_local_chain``, ``basiskit onchain-run``) for
the AAVE leg of eth_leveraged_restaking and usdt_market_neutral (perps, transfers, rewards simulated):
three days on a fresh local chain against a backtest of the same days -- equity step by step and the
attribution within 1e-9 x equity (the chain's wei / ray rounding), and the AAVE account's balances on
the contracts equal to the backtest's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from basiskit.domain.time import to_ns
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import simulate
from basiskit.engine.clock import Clock
from basiskit.onchain_service import run_on_local_chain
from basiskit.strategies.registry import build_strategy, load_mode_config

ROOT = Path(__file__).resolve().parents[2]
START, END = "2024-10-01", "2024-10-04"


@pytest.mark.parametrize("mode, capital, lst", [("eth_leveraged_restaking", 20.0, "weETH"),
                                                ("usdt_market_neutral", 100_000.0, "weETH")])
def test_mode_on_the_local_chain_matches_the_backtest(catalog, toolchain, mode, capital, lst):
    cfg = load_mode_config(mode)
    strategy = build_strategy(cfg)
    grid = Clock(to_ns(START), to_ns(END), cfg.step_seconds).grid()
    cat = catalog.for_policy(cfg.data_policy)
    frame = cat.frame(grid, series_specs(strategy.requirements(), set(cat.dataset_ids())))
    backtest = simulate(cfg, strategy, frame, capital)
    run = run_on_local_chain(mode, START, END, capital, catalog, ROOT, env={})
    eq_b, eq_c = np.asarray(backtest.loop.equity), np.asarray(run.simulation.loop.equity)
    tol = 1e-9 * float(np.max(np.abs(eq_b)))
    assert len(eq_b) == len(eq_c) and float(np.max(np.abs(eq_b - eq_c))) <= tol
    for src, v in backtest.attr.total.items():
        assert abs(v - run.simulation.attr.total[src]) <= tol, (src, v, run.simulation.attr.total[src])
    assert run.venue.receipts and all(r.ok for r in run.venue.receipts)
    model_b = backtest.venues.accounts["aave_v3"]
    model_c = run.venue.model
    assert model_b.supplied(lst) > 0 and abs(model_b.supplied(lst) - model_c.supplied(lst)) <= 1e-9 * model_b.supplied(lst)
    assert abs(model_b.borrowed("WETH") - model_c.borrowed("WETH")) <= 1e-9 * model_b.borrowed("WETH")
