"""A borrow-rate shock (x20 for a week, data rule of ``engine.shocks``) on eth_leveraged at target LTV
0.92 without rebalancing: the shocked borrow index reaches the contracts through the chain's rates (the
keeper drives AAVE's variable borrow index to the shocked data's), the health factor falls, and the
risk override cuts the loop -- flash loan, repay, withdraw, sell on the DEX, one transaction -- on the
contracts. Equity and attribution match the backtest of the same shocked days (1e-9 x equity)."""

from __future__ import annotations

import numpy as np

from basiskit.domain.time import to_ns
from basiskit.engine.assembly import series_specs
from basiskit.engine.backtest import simulate
from basiskit.engine.clock import Clock
from basiskit.engine.shocks import apply_shock
from basiskit.onchain_service import chain_patch
from basiskit.strategies.registry import build_strategy, load_mode_config

START, END = "2024-06-08", "2024-06-17"  # two days before the shock, its seven days
OVERRIDES = {"target_ltv": 0.92, "rebalance": False,
             "shock": {"kind": "borrow_rate", "multiplier": 20, "at": "2024-06-10T00:00", "hours": 168}}


def _frame(catalog, cfg, strategy):
    grid = Clock(to_ns(START), to_ns(END), cfg.step_seconds).grid()
    frame = catalog.frame(grid, series_specs(strategy.requirements(), set(catalog.dataset_ids())))
    assert apply_shock(frame, cfg.shock)
    return frame


def test_shocked_borrow_rate_delever_on_chain_matches_the_backtest(catalog, market, user):
    cfg = load_mode_config("eth_leveraged", OVERRIDES)
    backtest = simulate(cfg, build_strategy(cfg), _frame(catalog, cfg, build_strategy(cfg)), 100.0)
    strategy = build_strategy(cfg)
    frame = _frame(catalog, cfg, strategy)
    patch, made = chain_patch(market, user, frame)
    onchain = simulate(cfg, strategy, frame, 100.0, patch_venues=patch)
    venue = made["venue"]
    cut = [t for t in backtest.loop.trades if t.order.operation.value == "repay" and t.ok]
    assert cut, "the shock did not make the backtest cut its loop: the test would show nothing"
    eq_b, eq_c = np.asarray(backtest.loop.equity), np.asarray(onchain.loop.equity)
    tol = 1e-9 * float(np.max(np.abs(eq_b)))
    assert float(np.max(np.abs(eq_b - eq_c))) <= tol, float(np.max(np.abs(eq_b - eq_c)))
    for src, v in backtest.attr.total.items():
        assert abs(v - onchain.attr.total[src]) <= tol, (src, v, onchain.attr.total[src])
    assert len(venue.receipts) >= 2 and all(r.ok for r in venue.receipts)
    assert abs(user.borrowed("WETH") - backtest.venues.accounts["aave_v3"].borrowed("WETH")) \
        <= 1e-9 * max(user.borrowed("WETH"), 1e-9)


def test_liquidation_through_the_kernel_on_chain(catalog, market, user):
    """Without the risk override and with a x100 borrow-rate shock the loop is liquidated: the model's
    liquidation replayed as a ``liquidationCall`` on the contracts leaves the same balances, equity and
    attribution (liquidation loss included) as the backtest."""
    overrides = {**OVERRIDES, "risk": {"override": False},
                 "shock": {**OVERRIDES["shock"], "multiplier": 100}}
    cfg = load_mode_config("eth_leveraged", overrides)
    backtest = simulate(cfg, build_strategy(cfg), _frame(catalog, cfg, build_strategy(cfg)), 100.0)
    liq_b = [e for e in backtest.loop.events if getattr(e, "kind", "") == "liquidation"]
    assert liq_b, "the shock did not liquidate the backtest: the test would show nothing"
    strategy = build_strategy(cfg)
    frame = _frame(catalog, cfg, strategy)
    patch, made = chain_patch(market, user, frame)
    onchain = simulate(cfg, strategy, frame, 100.0, patch_venues=patch)
    eq_b, eq_c = np.asarray(backtest.loop.equity), np.asarray(onchain.loop.equity)
    tol = 1e-9 * float(np.max(np.abs(eq_b)))
    assert float(np.max(np.abs(eq_b - eq_c))) <= tol, float(np.max(np.abs(eq_b - eq_c)))
    for src, v in backtest.attr.total.items():
        assert abs(v - onchain.attr.total[src]) <= tol, (src, v, onchain.attr.total[src])
    assert backtest.attr.total["liquidation"] < 0
    model = backtest.venues.accounts["aave_v3"]
    assert abs(user.borrowed("WETH") - model.borrowed("WETH")) <= 1e-9 * model.borrowed("WETH")
    assert abs(user.supplied("weETH") - model.supplied("weETH")) <= 1e-9 * model.supplied("weETH")
