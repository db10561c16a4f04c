"""ML directional building blocks on data built from stated rules: features see only closed bars, holes
stay holes, labels, folds with purge and embargo, the entry rule, config errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from basiskit.strategies.implementations.ml_directional.config import MlDirectionalConfig
from basiskit.strategies.implementations.ml_directional.features import (FEATURES, feature_table, features_at,
                                                                         labels, rolling)
from basiskit.strategies.implementations.ml_directional.walkforward import direction, folds

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def bars(n: int = 400) -> pd.DataFrame:
    """Bar k (open time T0 + k h): open = 100 + k, close = open + (1 if k even else -0.5), high = max + 1,
    low = min - 1, volume = 10 + k % 7."""
    k = np.arange(n, dtype=float)
    o = 100 + k
    c = o + np.where(k % 2 == 0, 1.0, -0.5)
    idx = pd.date_range(T0, periods=n, freq="h", tz="UTC")
    return pd.DataFrame({"open": o, "high": np.maximum(o, c) + 1, "low": np.minimum(o, c) - 1, "close": c,
                         "volume": 10 + k % 7, "filled": False}, index=idx)


def funding(n_days: int = 20) -> pd.Series:
    idx = pd.date_range(T0, periods=n_days * 3, freq="8h", tz="UTC")
    return pd.Series(np.arange(len(idx)) * 1e-5, index=idx)


def cfg(**kw) -> MlDirectionalConfig:
    return MlDirectionalConfig(mode="ml_btc_directional", **kw)


def test_the_row_at_t_uses_the_bars_closed_by_t_only():
    b, f = bars(), funding()
    t = T0 + pd.Timedelta(hours=300)
    row = feature_table(b, f).loc[t]
    assert row["ret_1h"] == pytest.approx(np.log(b["close"].iloc[299] / b["close"].iloc[298]))  # bar 299 closed at t
    assert row["funding_last"] == f[f.index <= t].iloc[-1]
    changed = b.copy()
    changed.iloc[300:, :5] *= 3.0  # the bar opening at t and later: not known at t
    assert feature_table(changed, f).loc[t].equals(row)
    earlier = b.copy()
    earlier.iloc[299, earlier.columns.get_loc("close")] += 5  # the last closed bar: known at t
    assert feature_table(earlier, f).loc[t]["ret_1h"] != row["ret_1h"]
    np.testing.assert_array_equal(features_at(b, f, t).to_numpy()[0], row.to_numpy())


def test_a_missing_or_filled_bar_is_a_hole_never_a_value():
    b, f = bars(600), funding(30)
    gap = b.drop(b.index[250])
    filled = b.copy()
    filled.loc[b.index[250], "filled"] = True
    for data in (gap, filled):
        table = feature_table(data, f)
        at = T0 + pd.Timedelta(hours=251)  # the row right after the hole: its 1 h return reads the hole
        assert np.isnan(table.loc[at, "ret_1h"]) and np.isnan(table.loc[at, "vol_24h"])
        assert np.isfinite(table.loc[T0 + pd.Timedelta(hours=251 + 168 + 1)].to_numpy()).all()  # windows past it
    assert list(feature_table(b, f).columns) == list(FEATURES)


def test_bad_bars_are_refused_with_the_reason():
    b = bars()
    with pytest.raises(ValueError, match="unique"):
        feature_table(pd.concat([b, b.iloc[[5]]]).sort_index(), funding())
    with pytest.raises(ValueError, match="column"):
        feature_table(b.drop(columns="volume"), funding())
    with pytest.raises(ValueError, match="whole hours"):
        feature_table(b.set_axis(b.index + pd.Timedelta(minutes=30)), funding())


def test_labels_are_the_open_to_open_change_over_the_horizon():
    b = bars(50)
    times = pd.date_range(T0, periods=50, freq="h", tz="UTC")
    fwd, y = labels(b, 8, times)
    assert fwd.iloc[3] == pytest.approx((100 + 11) / (100 + 3) - 1) and y.iloc[3] == 1.0
    assert np.isnan(fwd.iloc[45]) and np.isnan(y.iloc[45])  # beyond the data: unknown, not 0


def test_rolling_windows_match_pandas_and_do_not_depend_on_the_start():
    x = np.random.default_rng(1).normal(size=500)
    for how in ("mean", "std", "max", "min"):
        want = getattr(pd.Series(x).rolling(24), how)().to_numpy()
        np.testing.assert_allclose(rolling(x, 24, how), want, rtol=1e-10, equal_nan=True)
        np.testing.assert_array_equal(rolling(x[100:], 24, how)[50:], rolling(x, 24, how)[150:])


def test_folds_are_calendar_months_with_purge_and_embargo():
    c = cfg(horizon_hours=8, purge_hours=10, embargo_hours=24, train_days=30)
    fs = folds(pd.Timestamp("2025-02-10", tz="UTC"), pd.Timestamp("2025-04-01", tz="UTC"), c)
    assert [f.name for f in fs] == ["2025-02", "2025-03", "2025-04"]
    mar = fs[1]
    assert mar.test_start == pd.Timestamp("2025-03-01", tz="UTC") and mar.test_end == pd.Timestamp("2025-04-01", tz="UTC")
    assert mar.cutoff == pd.Timestamp("2025-02-28", tz="UTC")  # 24 h embargo before the month
    assert mar.train_last == pd.Timestamp("2025-02-27 14:00", tz="UTC")  # cut-off - purge: its label is known by then
    assert mar.train_first == pd.Timestamp("2025-01-29", tz="UTC")


def test_the_entry_rule():
    c = cfg(entry_edge=0.1)
    assert [direction(p, c) for p in (0.61, 0.6, 0.59, 0.5, 0.41, 0.4, 0.2)] == [1, 1, 0, 0, 0, -1, -1]
    assert direction(0.2, cfg(entry_edge=0.1, allow_short=False)) == 0


def test_config_errors_name_the_key():
    with pytest.raises(ValidationError, match="purge_hours"):
        cfg(horizon_hours=12, purge_hours=8)
    with pytest.raises(ValidationError, match="step_seconds"):
        cfg(step_seconds=900)
    with pytest.raises(ValidationError, match="horizon_hour"):
        cfg(horizon_hour=8)
    with pytest.raises(ValidationError, match="bagging_fraction"):
        cfg(model={"bagging_fraction": 1.5})
