"""Value checks of the import (basiskit.data.checks via validate): one small table per check class.

Each table is built here, row by row; expected lines are physical lines of that table (header = line 1,
first data row = line 2). Default policy: a coded ImplausibleValue naming file, line, column, value and
count; a repair policy: the rows repaired and counted by class.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from basiskit.config.loader import ConfigError
from basiskit.data.errors import ImplausibleValue
from basiskit.config.data_policy import DataPolicy, parse_policy_items
from basiskit.data.sources import SPECS
from basiskit.data.validate import check, validate
from basiskit.engine.assembly import load_venue_config
from basiskit.strategies.registry import load_mode_config

SPOT = SPECS["spot.binance.BTCUSDT"]
FILE = "cex/spot/binance_BTCUSDT_spot_1h_2024-01-01_2024-12-31.csv"
T0 = pd.Timestamp("2024-03-01", tz="UTC")


def ts(i: int, step_h: int = 1) -> str:
    return (T0 + pd.Timedelta(hours=step_h * i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def candles(closes: list[float], **cells: dict[int, dict[str, float]]) -> pd.DataFrame:
    """A gently rising candle series (open = previous close, high/low 0.2 % around); ``cells`` overrides
    ``{row: {column: value}}`` via the single keyword ``rows``."""
    out = []
    prev = closes[0]
    for i, c in enumerate(closes):
        o = prev
        row = {"timestamp": ts(i), "open": o, "high": max(o, c) * 1.002, "low": min(o, c) * 0.998, "close": c,
               "volume": 10.0}
        row.update(cells.get("rows", {}).get(i, {}))
        out.append({k: (v if isinstance(v, str) else repr(float(v))) for k, v in row.items()})
        prev = c
    return pd.DataFrame(out)


def series(n: int = 48, start: float = 60_000.0) -> list[float]:
    return [start * (1 + 0.001 * i) for i in range(n)]


def rejected(raw, spec=SPOT, file=FILE, **kw) -> ImplausibleValue:
    with pytest.raises(ImplausibleValue) as ei:
        validate(raw, spec, file=file, **kw)
    return ei.value


# ------------------------------------------------------------------------------------ non_positive_price
@pytest.mark.parametrize("col,value", [("close", 0.0), ("open", -5.0), ("low", 0.0), ("high", -1e9)])
def test_non_positive_price_is_a_coded_error_naming_line_column_value(col, value):
    raw = candles(series(), rows={7: {col: value}, 30: {col: value}})
    err = rejected(raw)
    assert (err.code, err.check, err.file, err.row, err.key, err.column) == (
        "DATA-006", "non_positive_price", FILE, 9, col, col)
    assert float(err.value) == value and err.count == 2
    assert "2 row(s)" in str(err) and FILE in str(err) and "line 9" in str(err)


def test_zero_volume_is_a_real_value():
    frame, rep = validate(candles(series(), rows={5: {"volume": 0.0}}), SPOT, file=FILE)
    assert frame["volume"].iloc[5] == 0.0 and rep.repairs == {}


def test_non_positive_price_drop_and_fill_repairs_flags_and_counts():
    closes = series()
    raw = candles(closes, rows={10: {"close": 0.0}})
    frame, rep = validate(raw, SPOT, file=FILE, policy=DataPolicy(non_positive_price="drop_and_fill"), max_fill_steps=24)
    assert rep.repairs == {"non_positive_price": 1} and rep.data_policy == {"non_positive_price": "drop_and_fill"}
    t = pd.Timestamp(ts(10))
    assert frame.loc[t, "filled"] and frame.loc[t, "repaired"]
    assert frame.loc[t, "close"] == frame.loc[t, "open"] == closes[9]  # previous close, not an invented price
    assert frame.loc[t, "volume"] == 0.0 and len(frame) == len(closes)
    assert int(frame["repaired"].sum()) == 1 and int(frame["filled"].sum()) == 1
    assert any("non_positive_price" in n and "line 12" in n for n in rep.notes)


def test_drop_leaves_the_hole_unfilled_even_within_the_fill_limit():
    raw = candles(series(), rows={10: {"close": -1.0}})
    frame, rep = validate(raw, SPOT, file=FILE, policy=DataPolicy(non_positive_price="drop"), max_fill_steps=24)
    assert pd.Timestamp(ts(10)) not in frame.index
    assert rep.unfilled_gaps == [(pd.Timestamp(ts(10)).isoformat(), pd.Timestamp(ts(10)).isoformat(), 1)]
    assert rep.repairs == {"non_positive_price": 1} and rep.filled_rows == 0


def test_non_positive_oracle_price_and_aave_index():
    oracle = SPECS["oracle.WETH.USD"]
    raw = pd.DataFrame({"timestamp": [ts(i) for i in range(5)], "oracle_price_usd": ["3000", "3001", "0", "3002", "3003"]})
    err = rejected(raw, oracle, file="aave_v3/oracle/WETH_USD_oracle_x.csv")
    assert (err.code, err.row, err.key) == ("DATA-006", 4, "oracle_price_usd")

    aave = SPECS["aave.USDT"]
    days = [(T0 + pd.Timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(4)]
    raw = pd.DataFrame({"targetDate": days, "liquidityIndex": ["1.01", "1.0101", "-1.0102", "1.0103"],
                        "variableBorrowIndex": ["1.02", "1.0201", "1.0202", "1.0203"],
                        "currentLiquidityRate": ["0.05"] * 4, "currentVariableBorrowRate": ["0.0"] * 4})
    err = rejected(raw, aave, file="aave_v3/rates/x.csv")
    assert (err.code, err.row, err.key) == ("DATA-006", 4, "liquidityIndex")


# ------------------------------------------------------------------------------------ ohlc_inconsistent
def test_high_below_low_and_low_above_open_are_errors():
    raw = candles(series(), rows={4: {"high": 59_000.0, "low": 61_000.0}})
    err = rejected(raw)
    assert (err.code, err.check, err.row, err.key) == ("DATA-007", "ohlc_inconsistent", 6, "high")
    raw = candles(series(), rows={6: {"low": 70_000.0, "high": 71_000.0}})
    err = rejected(raw)
    assert (err.row, err.key) == (8, "low")


def test_clip_widens_high_and_low_and_flags_the_row():
    closes = series()
    raw = candles(closes, rows={4: {"high": 59_000.0, "low": 61_000.0}})
    frame, rep = validate(raw, SPOT, file=FILE, policy=DataPolicy(ohlc_inconsistent="clip"))
    row = frame.loc[pd.Timestamp(ts(4))]
    assert row["high"] == 61_000.0 and row["low"] == 59_000.0  # max / min of o, h, l, c
    assert row["open"] == closes[3] and row["close"] == closes[4]
    assert row["repaired"] and not row["filled"] and rep.repairs == {"ohlc_inconsistent": 1}


# ------------------------------------------------------------------------------------ spike (series)
def test_candle_times_ten_is_a_spike_naming_its_line():
    closes = series()
    raw = candles(closes, rows={20: {k: v * 10 for k, v in {"open": closes[19], "high": closes[20] * 1.002,
                                                               "low": closes[19] * 0.998, "close": closes[20]}.items()}})
    err = rejected(raw)
    assert (err.code, err.check, err.row, err.count) == ("DATA-008", "spike", 22, 1)
    assert "+900" in str(err)  # the x10 move is stated


def test_high_of_1e9_alone_is_a_spike_and_drop_and_fill_repairs_it():
    raw = candles(series(), rows={15: {"high": 1e9}})
    err = rejected(raw)
    assert (err.row, err.key, float(err.value)) == (17, "high", 1e9)
    frame, rep = validate(raw, SPOT, file=FILE, policy=DataPolicy(spike="drop_and_fill"), max_fill_steps=24)
    assert rep.repairs == {"spike": 1} and frame["high"].max() < 1e5
    assert frame.loc[pd.Timestamp(ts(15)), "repaired"]


def test_two_consecutive_corrupted_candles_are_both_found():
    closes = series()
    rows = {i: {"open": closes[i] * 10, "high": closes[i] * 10.1, "low": closes[i] * 9.9, "close": closes[i] * 10}
            for i in (20, 21)}
    frame, rep = validate(candles(closes, rows=rows), SPOT, file=FILE, policy=DataPolicy(spike="drop"))
    assert rep.repairs == {"spike": 2}
    assert pd.Timestamp(ts(20)) not in frame.index and pd.Timestamp(ts(21)) not in frame.index
    assert frame["close"].max() < 1e5


def test_spike_on_the_first_and_on_the_last_row():
    closes = series()
    err = rejected(candles(closes, rows={0: {"open": 6e5, "high": 6e5, "low": 5.9e5, "close": 6e5}}))
    assert err.row == 2
    n = len(closes)
    err = rejected(candles(closes, rows={n - 1: {"high": closes[-1] * 10}}))
    assert err.row == n + 1


def test_real_sized_moves_are_not_spikes():
    closes = series()
    # a wick 17.7 % down that recovers within the hour (ETH, 2024-08-05) and a 60 % jump that holds
    wick = {10: {"low": closes[10] * math.exp(-0.195)}}
    jump = [c if i < 30 else c * 1.6 for i, c in enumerate(closes)]
    for raw in (candles(closes, rows=wick), candles(jump)):
        frame, rep = validate(raw, SPOT, file=FILE)
        assert rep.repairs == {} and len(frame) == len(closes)


def test_oracle_spike_is_judged_on_its_own_values():
    oracle = SPECS["oracle.WETH.USD"]
    prices = [3000 + i for i in range(24)]
    prices[12] = 30_000
    raw = pd.DataFrame({"timestamp": [ts(i) for i in range(24)], "oracle_price_usd": [str(p) for p in prices]})
    err = rejected(raw, oracle, file="aave_v3/oracle/WETH_USD_oracle_x.csv")
    assert (err.check, err.row, err.key) == ("spike", 14, "oracle_price_usd")


# ------------------------------------------------------------------------------------ spike (venues)
def _peer(closes: list[float]) -> pd.DataFrame:
    frame = check(candles(closes), SPOT, file="peer.csv").peer_frame()
    assert list(frame.columns) == ["open", "high", "low", "close"]
    return frame


def test_a_candle_other_venues_do_not_show_is_a_spike():
    closes = series()
    bad = {25: {"open": closes[24] * 1.25, "high": closes[25] * 1.26, "low": closes[24] * 1.24, "close": closes[25] * 1.25}}
    raw = candles(closes, rows=bad)
    frame, rep = validate(raw, SPOT, file=FILE)  # +25 % then back: inside the series bound (+50 %)
    assert rep.repairs == {}
    peers = {"spot.bybit.BTCUSDT": _peer(closes), "perp.binance.BTCUSDT": _peer([c * 1.0005 for c in closes])}
    with pytest.raises(ImplausibleValue) as ei:
        validate(raw, SPOT, file=FILE, peers=peers)
    assert (ei.value.check, ei.value.code, ei.value.row) == ("spike", "DATA-008", 27)
    assert "spot.bybit.BTCUSDT" in str(ei.value)
    frame, rep = validate(raw, SPOT, file=FILE, peers=peers, policy=DataPolicy(spike="drop_and_fill"), max_fill_steps=24)
    assert rep.repairs == {"spike": 1} and frame.loc[pd.Timestamp(ts(25)), "filled"]


def test_the_venue_that_did_not_move_is_not_blamed():
    closes = series()
    bad = [c * 1.25 if i == 25 else c for i, c in enumerate(closes)]
    # judged against a peer that has the +25 % candle: this venue kept its price, so nothing is found
    frame, rep = validate(candles(closes), SPOT, file=FILE, peers={"spot.bybit.BTCUSDT": _peer(bad)})
    assert rep.repairs == {} and len(frame) == len(closes)


def test_hours_without_a_peer_row_are_not_judged():
    closes = series()
    raw = candles(closes, rows={25: {"high": closes[25] * 1.3}})
    peer = _peer(closes).drop(index=pd.Timestamp(ts(25)))
    frame, rep = validate(raw, SPOT, file=FILE, peers={"spot.bybit.BTCUSDT": peer})
    assert rep.repairs == {} and frame.loc[pd.Timestamp(ts(25)), "high"] == pytest.approx(closes[25] * 1.3)


# ------------------------------------------------------------------------------------ funding_cap
FUNDING = SPECS["funding.binance.BTCUSDT"]


def funding(rates: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"funding_timestamp": [ts(i, 8) for i in range(len(rates))], "funding_rate": rates})


def test_binance_cap_is_the_documented_0_3_percent():
    cap = load_venue_config("binance").perp.funding_cap
    assert cap.symbols["BTCUSDT"] == 0.003 and cap.sources  # Binance: BTCUSDT cap/floor +0.3 % / -0.3 %


def test_funding_beyond_the_cap_is_an_error_and_never_filled_when_dropped():
    rates = ["0.0001"] * 12
    rates[5] = "5.0"  # 500 % per settlement
    err = rejected(funding(rates), FUNDING, file="cex/funding/binance_BTCUSDT_funding_rates_x.csv")
    assert (err.code, err.check, err.row, err.key, err.value) == ("DATA-009", "funding_cap", 7, "funding_rate", "5")
    assert "binance.yaml" in str(err) and "0.3 %" in str(err)
    frame, rep = validate(funding(rates), FUNDING, file="f.csv", policy=DataPolicy(funding_cap="drop"), max_fill_steps=99)
    assert len(frame) == 11 and rep.repairs == {"funding_cap": 1} and rep.filled_rows == 0
    assert [g[2] for g in rep.unfilled_gaps] == [1]


def test_funding_at_the_cap_passes_just_above_fails():
    frame, _ = validate(funding(["0.0001", "-0.003", "0.003", "0.0001"]), FUNDING, file="f.csv")
    assert frame["funding_rate"].abs().max() == 0.003
    err = rejected(funding(["0.0001", "-0.0031", "0.0001"]), FUNDING, file="f.csv")
    assert err.row == 3


def test_okx_eth_cap_is_wider_than_btc():
    eth = SPECS["funding.okx.ETHUSDT"].audit
    frame, _ = validate(funding(["0.0001", "0.006", "0.0001"]), eth, file="f.csv")  # 0.6 % < 0.75 % (ETH)
    btc = SPECS["funding.okx.BTCUSDT"].audit
    assert rejected(funding(["0.0001", "0.006", "0.0001"]), btc, file="f.csv").row == 3  # > 0.375 % (BTC)


def test_funding_cap_has_no_fill_repair():
    with pytest.raises(ValidationError):
        DataPolicy(funding_cap="drop_and_fill")


# ------------------------------------------------------------------------------------ index_decreasing
AAVE = SPECS["aave.WETH"]


def aave(liq: list[float]) -> pd.DataFrame:
    days = [(T0 + pd.Timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(len(liq))]
    return pd.DataFrame({"targetDate": days, "liquidityIndex": [repr(x) for x in liq],
                         "variableBorrowIndex": [repr(1.05 + 1e-4 * i) for i in range(len(liq))],
                         "currentLiquidityRate": ["0.02"] * len(liq), "currentVariableBorrowRate": ["0.03"] * len(liq)})


def test_decreasing_liquidity_index_names_the_row_that_went_backwards():
    liq = [1.02 + 1e-4 * i for i in range(20)]
    low = list(liq)
    low[8] = liq[7] * 0.999  # below the day before
    err = rejected(aave(low), AAVE, file="aave_v3/rates/x.csv")
    assert (err.code, err.check, err.row, err.key, err.count) == ("DATA-010", "index_decreasing", 10, "liquidityIndex", 1)
    high = list(liq)
    high[8] = liq[8] * 10  # too high: the rows after it are not blamed
    err = rejected(aave(high), AAVE, file="aave_v3/rates/x.csv")
    assert (err.row, err.count) == (10, 1)
    frame, rep = validate(aave(high), AAVE, file="x.csv", policy=DataPolicy(index_decreasing="drop"))
    assert rep.repairs == {"index_decreasing": 1} and len(frame) == 19
    assert frame["liquidity_index"].is_monotonic_increasing


def test_equal_index_days_pass():
    frame, rep = validate(aave([1.0, 1.0, 1.0001, 1.0001]), AAVE, file="x.csv")
    assert rep.repairs == {} and len(frame) == 4


def test_lst_exchange_rate_may_not_step_back_beyond_its_tolerance():
    lst = SPECS["oracle.wstETH.ETH"]

    def raw(back: float) -> pd.DataFrame:
        rates = [1.17 * (1 + 1e-6 * i) for i in range(10)]
        rates[5] = rates[4] * (1 - back)
        return pd.DataFrame({"timestamp": [ts(i) for i in range(10)], "oracle_price_eth": [repr(r) for r in rates]})

    validate(raw(5e-4), lst, file="x.csv")  # 0.05 % back: inside the 0.1 % tolerance
    err = rejected(raw(2e-3), lst, file="x.csv")
    assert (err.check, err.row) == ("index_decreasing", 7)


# ------------------------------------------------------------------------------------ timestamps
def test_timestamp_outside_the_file_name_range_names_the_line():
    raw = candles(series(24))
    raw.loc[9, "timestamp"] = "2031-03-01T09:00:00Z"
    err = rejected(raw, file="cex/spot/binance_BTCUSDT_spot_1h_2024-03-01_2024-03-31.csv")
    assert (err.code, err.check, err.row, err.key) == ("DATA-011", "timestamp_out_of_range", 11, "timestamp")
    assert err.value.startswith("2031-03-01")
    frame, rep = validate(raw, SPOT, file="cex/spot/binance_BTCUSDT_spot_1h_2024-03-01_2024-03-31.csv",
                          policy=DataPolicy(timestamp_out_of_range="drop"))
    assert frame.index.max() < pd.Timestamp("2025-01-01", tz="UTC") and rep.repairs == {"timestamp_out_of_range": 1}


def test_the_last_day_of_the_name_range_is_inside_and_the_documented_slack_applies():
    raw = candles(series(24))
    validate(raw, SPOT, file="x_2024-02-01_2024-03-01.csv")  # rows on 2024-03-01 (the end date) pass
    assert rejected(raw, file="x_2024-02-01_2024-02-29.csv").row == 2
    oracle = SPECS["oracle.WETH.USD"]  # AAVE oracle files: rows up to 11 days past the name's end date
    late = pd.DataFrame({"timestamp": ["2025-09-28T23:00:00Z", "2025-09-29T00:00:00Z"], "oracle_price_usd": ["4000", "4001"]})
    validate(late, oracle, file="aave_v3/oracle/WETH_USD_oracle_2024-01-01_2025-09-18.csv")
    assert oracle.name_end_slack_days == 11 and SPOT.name_end_slack_days == 0
    later = pd.DataFrame({"timestamp": ["2025-09-30T00:00:00Z"], "oracle_price_usd": ["4000"]})
    assert rejected(later, oracle, file="aave_v3/oracle/WETH_USD_oracle_2024-01-01_2025-09-18.csv").check == \
        "timestamp_out_of_range"


def test_timestamp_far_from_both_neighbours_is_an_outlier():
    raw = candles(series(48))
    raw.loc[20, "timestamp"] = "2024-09-01T20:00:00Z"  # same file, months away from lines 21 and 23
    err = rejected(raw, file="no_dates_in_this_name.csv")
    assert (err.code, err.check, err.row) == ("DATA-012", "timestamp_outlier", 22)
    frame, rep = validate(raw, SPOT, file="no_dates.csv", policy=DataPolicy(timestamp_outlier="drop"), max_fill_steps=24)
    assert rep.repairs == {"timestamp_outlier": 1} and frame.index.max() < pd.Timestamp("2024-04-01", tz="UTC")


def test_real_gaps_and_small_disorder_are_not_outliers():
    raw = candles(series(6))
    raw.loc[0, "timestamp"] = "2024-01-15T00:00:00Z"  # first row, in order, 46 days before the next
    frame, rep = validate(raw, SPOT, file="no_dates.csv")
    assert rep.repairs == {} and len(frame) == 6
    swapped = candles(series(6))
    swapped.loc[[2, 3], "timestamp"] = swapped.loc[[3, 2], "timestamp"].to_numpy()  # OKX-like disorder
    frame, rep = validate(swapped, SPOT, file="no_dates.csv")
    assert rep.unsorted_rows == 1 and rep.repairs == {}


# ------------------------------------------------------------------------------------ the policy
def test_policy_rejects_unknown_classes_and_actions():
    with pytest.raises(ValidationError, match="spkie"):
        DataPolicy(spkie="drop")
    with pytest.raises(ValidationError):
        DataPolicy(spike="clip")
    assert DataPolicy().key() == "default" and DataPolicy().is_default
    a, b = DataPolicy(spike="drop"), parse_policy_items(["spike=drop"])
    assert a == b and a.key() == b.key() != DataPolicy(spike="drop_and_fill").key()
    with pytest.raises(ValueError, match="CLASS=ACTION"):
        parse_policy_items(["spike"])


def test_mode_config_takes_the_policy_and_names_a_typo():
    cfg = load_mode_config("btc_basis", {"data_policy": {"spike": "drop_and_fill"}})
    assert cfg.data_policy.spike == "drop_and_fill" and cfg.data_policy.funding_cap == "error"
    assert load_mode_config("btc_basis").data_policy.is_default
    with pytest.raises(ConfigError, match="data_policy.spkie: unknown key"):
        load_mode_config("btc_basis", {"data_policy": {"spkie": "drop"}})
    with pytest.raises(ConfigError, match="data_policy.funding_cap"):
        load_mode_config("btc_basis", {"data_policy": {"funding_cap": "drop_and_fill"}})


def test_checks_are_vectorised_on_a_year_of_hours():
    import time

    n = 24 * 366
    closes = list(60_000 * np.exp(np.cumsum(np.random.default_rng(7).normal(0, 0.004, n))))
    raw = candles(closes)
    t0 = time.perf_counter()
    frame, rep = validate(raw, SPOT, file="year.csv", peers={"spot.bybit.BTCUSDT": _peer(closes)})
    assert len(frame) == n and rep.repairs == {}
    assert time.perf_counter() - t0 < 3.0
