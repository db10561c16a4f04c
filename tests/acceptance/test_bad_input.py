"""Bad input gets a clear error naming the file, row or key."""

from __future__ import annotations

import re

import pytest

from basiskit.config.loader import ConfigError
from basiskit.data.errors import DataError
from basiskit.engine.backtest import BacktestInputError, BacktestRequest, run_backtest
from basiskit.strategies.registry import UnknownModeError


def test_unknown_mode_lists_known_modes(catalog):
    with pytest.raises(UnknownModeError, match="btc_basis.*eth_basis.*pure_lending"):
        run_backtest(BacktestRequest("btc_basys", "2024-01-01", "2024-02-01", 1000.0), catalog)


def test_misspelled_config_key_is_named(catalog):
    with pytest.raises(ConfigError, match=r"hedge_alocation: unknown key"):
        run_backtest(BacktestRequest("btc_basis", "2024-01-01", "2024-02-01", 1000.0,
                                     overrides={"hedge_alocation": {"binance": 1.0}}), catalog)


@pytest.mark.parametrize("capital", [-5.0, 0.0, float("nan")])
def test_non_positive_capital_is_rejected(catalog, capital):
    with pytest.raises(BacktestInputError, match="capital"):
        run_backtest(BacktestRequest("pure_lending", "2024-01-01", "2024-02-01", capital), catalog)


def test_date_range_outside_the_data_names_the_dataset(catalog):
    with pytest.raises(DataError, match=r"aave\.USDT.*2023-06-01"):
        run_backtest(BacktestRequest("pure_lending", "2023-06-01", "2024-02-01", 1000.0), catalog)
    with pytest.raises(DataError, match=r"spot\.bybit\.BTCUSDT.*outside its range"):
        run_backtest(BacktestRequest("btc_basis", "2025-09-01", "2025-12-01", 1000.0), catalog)


def test_end_before_start(catalog):
    with pytest.raises(BacktestInputError, match="end 2024-01-01 must be after start 2024-02-01"):
        run_backtest(BacktestRequest("pure_lending", "2024-02-01", "2024-01-01", 1000.0), catalog)


def test_weighted_venue_without_data_is_an_error(catalog):
    with pytest.raises(DataError, match=r"spot\.binance\.ETHUSDT"):
        run_backtest(BacktestRequest("eth_basis", "2024-01-01", "2024-02-01", 1000.0, overrides={"spot_venue": "binance"}), catalog)
    with pytest.raises(DataError, match=r"perp\.okx\.BTCUSDT"):
        run_backtest(BacktestRequest("btc_basis", "2024-06-01", "2024-07-01", 1000.0,
                                     overrides={"hedge_allocation": {"binance": 0.5, "bybit": 0.25, "okx": 0.25}}), catalog)


def test_okx_hole_is_an_error_unless_its_weight_is_zero(catalog):
    alloc = {"binance": 0.4, "bybit": 0.4, "okx": 0.2}
    with pytest.raises(DataError, match=r"perp\.okx\.ETHUSDT.*gap from 2024-08-31"):
        run_backtest(BacktestRequest("eth_basis", "2024-08-15", "2024-10-15", 1000.0, overrides={"hedge_allocation": alloc}), catalog)
    # the same period with OKX at weight 0 runs
    s = run_backtest(BacktestRequest("eth_basis", "2024-08-15", "2024-10-15", 100_000.0), catalog).summary
    assert "okx.perp" not in s["attribution_by_venue"]


def test_okx_carries_a_share_of_the_short_where_its_data_is_complete(catalog):
    alloc = {"binance": 0.4, "bybit": 0.4, "okx": 0.2}
    s = run_backtest(BacktestRequest("eth_basis", "2025-07-01", "2025-08-01", 100_000.0, overrides={"hedge_allocation": alloc}), catalog).summary
    assert s["attribution_by_venue"]["okx.perp"]["funding"] != 0.0


def test_hedge_weights_must_sum_to_one(catalog):
    with pytest.raises(ConfigError, match=re.escape("hedge_allocation: Value error, weights must sum to 1")):
        run_backtest(BacktestRequest("btc_basis", "2024-01-01", "2024-02-01", 1000.0,
                                     overrides={"hedge_allocation": {"binance": 0.7, "bybit": 0.7}}), catalog)


def test_deposit_outside_the_period(catalog):
    with pytest.raises(BacktestInputError, match="deposit date 2025-01-01 is outside"):
        run_backtest(BacktestRequest("pure_lending", "2024-01-01", "2024-02-01", 1000.0, deposits=(("2025-01-01", 5.0),)), catalog)
