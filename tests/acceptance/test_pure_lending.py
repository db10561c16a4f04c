"""pure_lending must earn exactly the liquidityIndex ratio on the capital left after the first supply's gas."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from basiskit.config.loader import configs_dir
from basiskit.engine.backtest import BacktestRequest, run_backtest

from groundtruth import one, read_rows, value_at

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2025, 9, 18, tzinfo=timezone.utc)


def test_pure_lending_earns_the_liquidity_index_ratio_less_gas(catalog, source_dir):
    capital = 100_000.0
    out = run_backtest(BacktestRequest("pure_lending", "2024-01-01", "2025-09-18", capital), catalog)
    s = out.summary

    rates = read_rows(one(source_dir, "aave_v3/rates/aave_v3_aave-v3-ethereum_USDT_rates_*[0-9].csv"))
    li_start = value_at(rates, "targetDate", START, "liquidityIndex")
    li_end = value_at(rates, "targetDate", END, "liquidityIndex")
    gas_units = yaml.safe_load((configs_dir() / "venues" / "aave_v3_ethereum.yaml").read_text())["aave"]["gas_units"]["supply"]
    gwei = value_at(read_rows(one(source_dir, "ethereum/gas/ethereum_gas_prices_1h_*.csv")), "timestamp", START, "gas_price_gwei")
    eth_usdt = value_at(read_rows(one(source_dir, "dex/uniswapv3_WETHUSDT_1h_*.csv")), "timestamp", START, "open")
    gas_usd = gas_units * gwei * 1e-9 * eth_usdt

    expected_final = (capital - gas_usd) * li_end / li_start
    assert s["final_equity"] == pytest.approx(expected_final, rel=1e-9)
    assert s["total_return"] == pytest.approx(expected_final / capital - 1, rel=1e-9)
    assert s["attribution"]["gas"] == pytest.approx(-gas_usd, rel=1e-9)
    assert s["attribution"]["lending_interest"] == pytest.approx((capital - gas_usd) * (li_end / li_start - 1), rel=1e-9)
    assert abs(s["reconciliation"]["difference"]) < 0.01


def test_pure_lending_pays_a_withdrawal_and_stays_reconciled(catalog):
    req = BacktestRequest("pure_lending", "2024-03-01", "2024-09-01", 100_000.0,
                          deposits=(("2024-04-01", 50_000.0),), withdrawals=(("2024-06-15", 30_000.0),))
    s = run_backtest(req, catalog).summary
    assert s["net_deposits"] == pytest.approx(20_000.0, abs=1e-6)
    assert abs(sum(s["attribution"].values()) - (s["final_equity"] - s["initial_equity"] - s["net_deposits"])) < 0.01
    # three on-chain operations (supply, supply of the deposit, withdraw) each paid gas
    assert s["trades"] == 3
    assert s["attribution"]["gas"] < 0
