"""Settlement schedules and the funding table, on series built by hand."""

from __future__ import annotations

import numpy as np
import pytest

from basiskit.data.funding.schedule import (infer_intervals, missing_settlements, off_schedule, segments,
                                            split_off_schedule)
from basiskit.data.funding.table import FundingTable, annualise, split_symbol

H = 3_600_000_000_000
DAY0 = 1_714_521_600 * 10**9  # 2024-05-01 00:00 UTC


def hours(*hs):
    return np.array([DAY0 + h * H for h in hs], dtype=np.int64)


def test_intervals_follow_a_switch_from_8h_to_4h_to_1h():
    t = hours(0, 8, 16, 20, 24, 25, 26)
    assert infer_intervals(t).tolist() == [8, 8, 8, 4, 4, 1, 1]
    assert segments(t, infer_intervals(t)) == [(int(t[0]), int(t[2]), 8), (int(t[3]), int(t[4]), 4), (int(t[5]), int(t[6]), 1)]


def test_a_missing_day_takes_the_interval_of_the_next_settlement_and_counts_the_missing_ones():
    t = hours(0, 8, 16, 48, 56)  # 24 h, 32 h, 40 h missing -> 3 settlements missing
    iv = infer_intervals(t)
    assert iv.tolist() == [8, 8, 8, 8, 8]
    assert missing_settlements(t, iv) == 3


def test_an_isolated_settlement_carries_the_last_known_interval():
    t = hours(0, 4, 40)  # 36 h gap, nothing after
    assert infer_intervals(t).tolist() == [4, 4, 4]
    assert infer_intervals(hours(5)).tolist() == [8]


def test_off_schedule_flags_times_off_their_own_grid():
    t = hours(0, 4, 16, 13)  # 16 h is on the 8 h grid, 13 h is not
    assert off_schedule(t, np.array([8, 4, 8, 8])).tolist() == [False, False, False, True]
    assert off_schedule(t, np.array([8, 3, 8, 1])).tolist() == [False, True, False, False]  # 3 h: not an allowed interval
    assert split_off_schedule(np.array([DAY0, DAY0 + 16 * 60 * 10**9])).tolist() == [False, True]


def test_unsorted_times_are_an_error():
    with pytest.raises(ValueError, match="strictly increasing"):
        infer_intervals(hours(8, 0))


def test_symbols_split_into_base_and_quote():
    assert split_symbol("okx", "BTC-USDT-SWAP") == ("BTC", "USDT")
    assert split_symbol("okx", "BTC-USD-SWAP") == ("BTC", "USD")
    assert split_symbol("binance", "ETHUSDT") == ("ETH", "USDT")
    with pytest.raises(ValueError, match="XYZ"):
        split_symbol("binance", "XYZ")


def _table():
    a = hours(0, 8, 16)
    b = hours(0, 4, 8, 12, 16)
    return FundingTable((("binance", "BTCUSDT"), ("okx", "BTC-USDT-SWAP")), np.array([0, 3, 8]),
                        np.concatenate([a, b]), np.array([1e-4, 2e-4, 3e-4, 1e-5, 2e-5, 3e-5, 4e-5, 5e-5]),
                        np.concatenate([infer_intervals(a), infer_intervals(b)]))


def test_table_reads_settlements_schedules_and_rates_asof():
    tab = _table()
    t, r, iv = tab.settlements("okx", "BTC-USDT-SWAP", DAY0 + 4 * H, DAY0 + 12 * H)
    assert t.tolist() == hours(8, 12).tolist() and r.tolist() == [3e-5, 4e-5] and iv.tolist() == [4, 4]
    assert tab.schedule("binance", "BTCUSDT") == [(DAY0, DAY0 + 16 * H, 8)]
    assert tab.off_schedule_count() == 0
    rates, ivs = tab.asof(hours(-1, 9, 40))
    assert np.isnan(rates[0]).all()
    assert rates[1].tolist() == [2e-4, 3e-5] and ivs[1].tolist() == [8, 4]
    # at +40 h: binance's last (16 h) is 24 h = 3 periods old, okx's 6 periods: no current rate
    assert np.isnan(rates[2]).all()
    with pytest.raises(KeyError, match="bybit:BTCUSDT"):
        tab.index("bybit", "BTCUSDT")


def test_concat_refuses_a_series_given_twice_and_keeps_offsets():
    tab = _table()
    with pytest.raises(ValueError, match="given twice"):
        FundingTable.concat([tab, tab])
    one = FundingTable.concat([tab])
    assert one.offsets.tolist() == [0, 3, 8] and one.base == ("BTC", "BTC")


def test_annualise_is_rate_times_periods_per_year():
    # 0.01 % per 8 h = 0.0001 x 1095 = 10.95 % APR; per 1 h: x 8760
    assert annualise(np.array([1e-4, 1e-4, 1e-4]), np.array([8, 1, 0])).tolist()[:2] == pytest.approx([0.1095, 0.876])
    assert np.isnan(annualise(np.array([1e-4]), np.array([0]))[0])
