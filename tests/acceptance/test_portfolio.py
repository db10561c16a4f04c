"""Several strategies in one run (``engine.portfolio``) on the real data: btc_basis and a BTC perp grid
side by side, each on its own sub-accounts.

* each strategy's attribution sums to its own equity change, and the combined attribution (per source,
  the sum of the strategies') to the combined equity change -- checked here from the outcomes, not
  only by the run's own check;
* the combined equity is, at every step, the sum of the strategies' equities;
* each strategy's book is its own: its equity series equals a run of that mode alone with its
  allocation of the capital (same trades, same numbers), so nothing leaks between the sub-accounts;
* the portfolio file's rules give coded errors naming the key.
"""

from __future__ import annotations

import numpy as np
import pytest

from basiskit.config.loader import ConfigError
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.portfolio import run_portfolio
from basiskit.strategies.portfolio import load_portfolio, portfolio_from_dict
from basiskit.strategies.registry import UnknownModeError

START, END, CAPITAL = "2024-03-01", "2024-05-01", 100_000.0
GRID = {"levels": 6, "spacing": 0.01, "order_size": 0.02}
PF = {"description": "test", "strategies": [
    {"id": "basis", "mode": "btc_basis", "allocation": 0.7},
    {"id": "grid", "mode": "grid", "allocation": 0.3, "config": GRID}]}


@pytest.fixture(scope="module")
def outcome(catalog):
    return run_portfolio(portfolio_from_dict(PF), START, END, CAPITAL, catalog)


def test_each_strategy_and_the_whole_reconcile(outcome):
    s = outcome.summary
    total_change = 0.0
    for sid, o in outcome.outcomes.items():
        change = o.summary["final_equity"] - o.summary["initial_equity"]
        assert sum(o.summary["attribution"].values()) == pytest.approx(change, abs=1e-6), sid
        assert s["strategies"][sid]["reconciliation"]["difference"] == pytest.approx(0.0, abs=1e-6)
        total_change += change
    assert [o.summary["initial_equity"] for o in outcome.outcomes.values()] == [70_000.0, 30_000.0]
    assert s["final_equity"] - s["initial_equity"] == pytest.approx(total_change, abs=1e-6)
    assert sum(s["attribution"].values()) == pytest.approx(total_change, abs=1e-6)
    for src, v in s["attribution"].items():
        assert v == pytest.approx(sum(o.summary["attribution"][src] for o in outcome.outcomes.values()), abs=1e-9)
    np.testing.assert_allclose(outcome.equity, outcome.equity_by_strategy["basis"] + outcome.equity_by_strategy["grid"],
                               rtol=0, atol=1e-9)
    assert outcome.outcomes["grid"].summary["trades"] > 50 and outcome.outcomes["basis"].summary["trades"] > 2
    assert set(s["attribution_by_venue"]) >= {"basis/bybit.spot", "basis/binance.perp", "grid/binance.perp"}


@pytest.mark.parametrize("sid,mode,capital,overrides", [("basis", "btc_basis", 70_000.0, {}),
                                                        ("grid", "grid", 30_000.0, GRID)])
def test_each_book_is_the_same_as_running_it_alone(outcome, catalog, sid, mode, capital, overrides):
    alone = run_backtest(BacktestRequest(mode, START, END, capital, overrides=overrides), catalog)
    mine = outcome.outcomes[sid]
    assert list(mine.loop.equity) == list(alone.loop.equity)
    assert [(t.timestamp, t.order.client_order_id, t.executed_amount, t.price) for t in mine.loop.trades] == \
        [(t.timestamp, t.order.client_order_id, t.executed_amount, t.price) for t in alone.loop.trades]
    assert mine.summary["attribution"] == alone.summary["attribution"]


def test_the_shipped_portfolio_file_loads():
    from basiskit.config.loader import configs_dir

    pf = load_portfolio(configs_dir() / "portfolios" / "grid_and_btc_basis.yaml")
    assert [(s.id, s.mode, s.allocation) for s in pf.strategies] == [("basis", "btc_basis", 0.7), ("grid", "grid", 0.3)]


def _with(**change) -> dict:
    out = {"strategies": [dict(s) for s in PF["strategies"]]}
    for k, v in change.items():
        idx, key = k.split("__")
        out["strategies"][int(idx[1:])][key] = v
    return out


@pytest.mark.parametrize("data,match", [
    (_with(s1__allocation=0.4), "allocations sum to 1.1"),
    (_with(s1__id="basis"), "ids must be unique; repeated: basis"),
    (_with(s1__mode="martingale"), r"strategies\[1\].mode: unknown mode 'martingale'"),
    (_with(s1__weight=0.3), "weight"),
    (_with(s0__id="Basis!"), "id"),
    ({"strategies": []}, "strategies"),
    ({"strategies": PF["strategies"], "risk": {}}, "risk"),
])
def test_portfolio_file_errors(data, match):
    with pytest.raises(ConfigError, match=match):
        portfolio_from_dict(data)


def test_strategy_config_errors_name_the_strategy(catalog, tmp_path):
    bad = _with(s1__config={**GRID, "levls": 3})
    with pytest.raises(ConfigError, match=r"strategies\[1\] \(grid\): .*levls"):
        run_portfolio(portfolio_from_dict(bad), START, END, CAPITAL, catalog)
    clock = _with(s1__config={**GRID, "step_seconds": 60})
    with pytest.raises(ConfigError, match=r"strategies\[1\] \(grid\).config.step_seconds"):
        run_portfolio(portfolio_from_dict(clock), START, END, CAPITAL, catalog)
    eth = _with(s0__mode="eth_staking_only", s0__config={"share_class": "ETH"})
    with pytest.raises(ConfigError, match=r"strategies\[0\] \(basis\): share_class ETH"):
        run_portfolio(portfolio_from_dict(eth), START, END, CAPITAL, catalog)
    with pytest.raises(ConfigError, match="config file not found"):
        load_portfolio(tmp_path / "missing.yaml")
    assert issubclass(UnknownModeError, ConfigError)


def test_stepping_every_step_gives_the_batched_numbers(outcome, catalog):
    """The backtest driver lets each strategy pass its own quiet stretches (btc_basis has many); a driver
    that steps every clock time (as a live one does) gives the same books."""
    from basiskit.engine.drivers import run_backtest_steps

    assert outcome.outcomes["basis"].loop.steps_batched > 0 and outcome.outcomes["grid"].loop.steps_batched == 0
    stepped = run_portfolio(portfolio_from_dict(PF), START, END, CAPITAL, catalog,
                            driver=lambda k, n, p, e: run_backtest_steps(k, n, p, e, batch=False))
    assert stepped.outcomes["basis"].loop.steps_batched == 0
    for sid in ("basis", "grid"):
        assert list(stepped.outcomes[sid].loop.equity) == list(outcome.outcomes[sid].loop.equity)
    assert stepped.summary["attribution"] == outcome.summary["attribution"]
