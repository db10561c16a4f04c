"""funding_arbitrage and a grid side by side in one run (``engine.portfolio``) on the real data: each
reconciles on its own (attribution = its equity change), the whole reconciles (the sum), and each book
is the same as the mode run alone with its allocation."""

from __future__ import annotations

import numpy as np
import pytest

from basiskit.config.loader import configs_dir
from basiskit.engine.backtest import BacktestRequest, run_backtest
from basiskit.engine.portfolio import run_portfolio
from basiskit.strategies.portfolio import load_portfolio

START, END, CAPITAL = "2024-03-01", "2024-06-01", 100_000.0


@pytest.fixture(scope="module")
def portfolio():
    return load_portfolio(configs_dir() / "portfolios" / "funding_arbitrage_and_grid.yaml")


@pytest.fixture(scope="module")
def outcome(catalog, portfolio):
    return run_portfolio(portfolio, START, END, CAPITAL, catalog)


def test_per_strategy_and_combined_reconcile(outcome):
    s = outcome.summary
    total = 0.0
    for sid, o in outcome.outcomes.items():
        change = o.summary["final_equity"] - o.summary["initial_equity"]
        assert sum(o.summary["attribution"].values()) == pytest.approx(change, abs=1e-6), sid
        total += change
    assert [o.summary["initial_equity"] for o in outcome.outcomes.values()] == [60_000.0, 40_000.0]
    assert s["final_equity"] - s["initial_equity"] == pytest.approx(total, abs=1e-6)
    assert sum(s["attribution"].values()) == pytest.approx(total, abs=1e-6)
    np.testing.assert_allclose(outcome.equity, outcome.equity_by_strategy["funding"] + outcome.equity_by_strategy["grid"],
                               rtol=0, atol=1e-9)
    fa = outcome.outcomes["funding"].summary
    assert fa["attribution"]["funding"] != 0.0 and fa["strategy_state"]["state"]["report"]["opens"] >= 1
    assert outcome.outcomes["grid"].summary["trades"] > 20
    assert {"funding/binance.perp", "funding/bybit.perp", "grid/binance.perp"} <= set(s["attribution_by_venue"])


@pytest.mark.parametrize("sid", ["funding", "grid"])
def test_each_book_is_the_same_as_running_it_alone(outcome, portfolio, catalog, sid):
    slot = next(x for x in portfolio.strategies if x.id == sid)
    alone = run_backtest(BacktestRequest(slot.mode, START, END, CAPITAL * slot.allocation, overrides=dict(slot.config)),
                         catalog)
    mine = outcome.outcomes[sid]
    assert list(mine.loop.equity) == list(alone.loop.equity)
    assert mine.summary["attribution"] == alone.summary["attribution"]
