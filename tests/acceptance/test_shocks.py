"""Stress scenarios on eth_leveraged (real data, June 2024): a WETH borrow-rate shock drives the book into the
risk override, or with the override off into a liquidation that follows the AAVE rules."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from basiskit.engine.backtest import BacktestRequest, run_backtest

from groundtruth import one, parse_ts, read_rows

BASE = {"target_ltv": 0.92, "rebalance": False}  # HF at target 0.95 / 0.92 = 1.033; no LTV band re-targeting


def _shock(multiplier: float) -> dict:
    return {"kind": "borrow_rate", "at": "2024-06-10T00:00:00", "multiplier": multiplier, "hours": 168}


def _run(catalog, **over):
    cfg = {**BASE, **over}
    return run_backtest(BacktestRequest("eth_leveraged", "2024-06-01", "2024-07-01", 100.0, overrides=cfg), catalog)


def test_borrow_rate_shock_triggers_the_risk_override_which_only_cuts_leverage(catalog):
    out = _run(catalog, shock=_shock(20))
    s = out.summary
    overrides = [e for e in out.loop.events if e.kind == "risk_override"]
    assert overrides and all(e.data["action"] == "exit_partial" for e in overrides)
    assert s["liquidations"] == 0
    assert s["min_health_factor"] > 1.0
    assert "aave.WETH.variable_borrow_index" in s["shocked_series"]
    # every order of an override decision reduces: no borrow, supply or stake was executed at those steps
    override_times = {e.timestamp for e in overrides}
    ops = {tr.order.operation.value for tr in out.loop.trades if tr.timestamp in override_times and tr.ok}
    assert ops and ops <= {"flash_borrow", "repay", "withdraw", "swap", "flash_repay"}
    unshocked = _run(catalog)
    assert unshocked.summary["risk_overrides"] == 0


def test_without_the_override_the_shock_liquidates_by_the_aave_rules(catalog, source_dir):
    out = _run(catalog, shock=_shock(100), risk={"override": False})
    s = out.summary
    liqs = [e for e in out.loop.events if e.kind == "liquidation"]
    assert liqs and s["liquidations"] == len(liqs)
    rate = {parse_ts(r["timestamp"]): float(r["oracle_price_eth"])
            for r in read_rows(one(source_dir, "aave_v3/oracle/weETH_ETH_oracle_*.csv"))}
    eth_usd = {parse_ts(r["timestamp"]): float(r["open"]) for r in read_rows(one(source_dir, "dex/uniswapv3_WETHUSDT_1h_*.csv"))}
    total_loss_eth = 0.0
    for e in liqs:
        d = e.data
        when = datetime.fromtimestamp(e.timestamp / 1e9, tz=timezone.utc)
        assert d["health_factor"] < 1.0
        assert d["close_factor"] == (0.5 if d["health_factor"] >= 0.95 else 1.0)
        assert d["liquidation_bonus"] == 0.01  # ETH-correlated E-mode
        # collateral seized = repaid debt x (1 + bonus), priced by the weETH/ETH exchange-rate oracle
        assert d["collateral_seized"] * rate[when] == pytest.approx(d["debt_repaid"] * 1.01, rel=1e-9)
        assert d["loss_usd"] == pytest.approx(d["debt_repaid"] * 0.01 * eth_usd[when], rel=1e-9)
        total_loss_eth += d["debt_repaid"] * 0.01
    assert s["attribution"]["liquidation"] == pytest.approx(-total_loss_eth, rel=1e-9)


def test_an_eth_price_drop_does_not_move_the_health_factor_of_an_lst_weth_loop(catalog):
    base = _run(catalog)
    shocked = _run(catalog, shock={"kind": "eth_price", "at": "2024-06-10T00:00:00", "change": -0.30})
    assert shocked.loop.health_factor == pytest.approx(base.loop.health_factor, rel=1e-12)
    assert shocked.summary["liquidations"] == 0
    # in USD the position lost ~30 %, in ETH (the share class) the same as without the shock
    assert shocked.summary["final_equity"] == pytest.approx(base.summary["final_equity"], rel=1e-9)
