"""Features and labels of the ML directional modes, from hourly bars and funding, with no future information.

Shapes and units:

* ``bars``: a DataFrame indexed by the bar's open time (UTC, hourly), columns ``open, high, low, close,
  volume`` (quote per base; volume in base units); optionally ``filled`` (a bar that did not trade: the
  catalog's forward-filled gap rows). Filled bars and missing hours are *holes*: every feature whose
  window touches one is NaN (never filled here), and a row with any NaN feature gets no prediction.
* ``funding``: a Series of funding rates (per 8 h period, positive = longs pay shorts) indexed by
  settlement time (UTC).
* Result of :func:`feature_table`: a DataFrame indexed by *decision time* t (an hour boundary, ns
  precision, UTC), one column per name in ``FEATURES``.

The no-look-ahead rule: the row at decision time t uses only the bars that *closed* by t (open time
<= t - 1 h) and the funding settled at or before t. It is computed over whole arrays (rolling windows,
then a shift by one bar), and the same function applied to the data cut at t gives the same row (the
incremental path of a live runner: :func:`features_at`); ``tests/acceptance/test_ml_directional.py``
checks both.

The label of decision time t (:func:`labels`): the sign of the price change from the open of bar t to
the open of bar t + ``horizon_hours`` (1 = up), NaN when either open is missing. It is known only at
t + horizon: the walk-forward training purges samples whose label is not known by its cut-off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HOUR = pd.Timedelta(hours=1)

FEATURES: tuple[str, ...] = (
    "ret_1h", "ret_4h", "ret_24h", "ret_72h",      # log returns of closes ending at the last closed bar
    "vol_24h", "vol_ratio_24h_168h",               # std of 1 h log returns (per hour, not annualised); ratio
    "range_24h",                                   # mean (high - low) / close over 24 bars
    "close_pos_24h",                               # (close - min low) / (max high - min low) over 24 bars, 0..1
    "up_share_14h",                                # share of the last 14 bars that closed above their open
    "volume_z_168h",                               # (log volume - its 168-bar mean) / its std
    "funding_last", "funding_mean_3d",             # last settled rate; mean of the last 9 settlements (per 8 h)
    "hour_sin", "hour_cos",                        # hour of day of t (UTC), on the unit circle
)

WARMUP_HOURS = 169  # bars a feature row needs before t (the 168-bar windows plus the shift)
FUNDING_WINDOW = 9  # settlements a feature row reads (funding_mean_3d)


def hourly(bars: pd.DataFrame) -> pd.DataFrame:
    """``bars`` on a complete hourly index from its first to its last bar: missing hours and filled bars
    (column ``filled``) become NaN rows (holes), never values.

    Raises:
        ValueError: the index is not a unique, increasing UTC DatetimeIndex on whole hours, or a column is missing.
    """
    need = ["open", "high", "low", "close", "volume"]
    missing = [c for c in need if c not in bars.columns]
    if missing:
        raise ValueError(f"bars lack the column(s) {missing}")
    idx = bars.index
    if not isinstance(idx, pd.DatetimeIndex) or str(idx.tz) != "UTC":
        raise ValueError("bars must be indexed by a UTC DatetimeIndex (bar open times)")
    if not (idx.is_unique and idx.is_monotonic_increasing):
        raise ValueError("bars' index must be unique and increasing")
    if len(idx) and (idx != idx.floor("h")).any():
        bad = idx[idx != idx.floor("h")][0]
        raise ValueError(f"bars must open on whole hours; {bad} does not")
    out = bars[need].astype("float64")
    if "filled" in bars.columns:
        out = out.mask(bars["filled"].astype(bool))
    if len(out):
        out = out.reindex(pd.date_range(idx[0], idx[-1], freq="h", tz="UTC"))
    return out


def feature_table(bars: pd.DataFrame, funding: pd.Series, times: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Feature rows at decision times ``times`` (default: every hour from the second bar's open to one
    hour after the last bar's open), from ``bars`` and ``funding`` (module docstring for the shapes and
    the no-look-ahead rule). A decision time before enough history has NaN features."""
    h = hourly(bars)
    if times is None:
        times = pd.date_range(h.index[0] + HOUR, h.index[-1] + HOUR, freq="h", tz="UTC")
    close, high, low = h["close"].to_numpy(), h["high"].to_numpy(), h["low"].to_numpy()
    lc = np.log(close)
    r1 = _diff(lc, 1)
    f = pd.DataFrame(index=h.index)
    f["ret_1h"] = r1
    f["ret_4h"] = _diff(lc, 4)
    f["ret_24h"] = _diff(lc, 24)
    f["ret_72h"] = _diff(lc, 72)
    vol24 = rolling(r1, 24, "std")
    f["vol_24h"] = vol24
    f["vol_ratio_24h_168h"] = vol24 / rolling(r1, 168, "std")
    f["range_24h"] = rolling((high - low) / close, 24, "mean")
    hi24, lo24 = rolling(high, 24, "max"), rolling(low, 24, "min")
    with np.errstate(invalid="ignore", divide="ignore"):
        f["close_pos_24h"] = np.where(hi24 > lo24, (close - lo24) / (hi24 - lo24), np.nan)
        up = np.where(np.isfinite(close) & np.isfinite(h["open"].to_numpy()),
                      (close > h["open"].to_numpy()).astype("float64"), np.nan)
        f["up_share_14h"] = rolling(up, 14, "mean")
        vol = h["volume"].to_numpy()
        lv = np.log(np.where(vol > 0, vol, np.nan))
        f["volume_z_168h"] = (lv - rolling(lv, 168, "mean")) / rolling(lv, 168, "std")
    # the row of bar b (open time b) is known at b + 1 h: re-index by decision time
    f.index = f.index + HOUR
    out = f.reindex(times)
    fr = funding.sort_index().astype("float64")
    if len(fr):
        if not fr.index.is_unique:
            raise ValueError(f"funding has duplicated settlement times, e.g. {fr.index[fr.index.duplicated()][0]}")
        pos = fr.index.searchsorted(times, side="right") - 1  # settled at or before t
        ok = pos >= 0
        last = np.where(ok, fr.to_numpy()[np.clip(pos, 0, None)], np.nan)
        mean9 = rolling(fr.to_numpy(), FUNDING_WINDOW, "mean")
        out["funding_last"] = last
        out["funding_mean_3d"] = np.where(ok, mean9[np.clip(pos, 0, None)], np.nan)
    else:
        out["funding_last"] = np.nan
        out["funding_mean_3d"] = np.nan
    hours = times.hour.to_numpy()
    out["hour_sin"] = np.sin(2 * np.pi * hours / 24)
    out["hour_cos"] = np.cos(2 * np.pi * hours / 24)
    return out[list(FEATURES)]


def _diff(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[k:] = x[k:] - x[:-k]
    return out


def rolling(x: np.ndarray, n: int, how: str) -> np.ndarray:
    """``how`` (mean, std with ddof 1, max, min) of each window of the last ``n`` values, computed afresh
    for every window (a streaming pandas rolling sum depends in its last bits on where the series
    starts; this does not: a feature never depends on how much history was loaded). NaN for the first
    n - 1 positions and for any window holding a NaN."""
    out = np.full(len(x), np.nan)
    if len(x) < n:
        return out
    w = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=np.float64), n)
    with np.errstate(invalid="ignore"):
        out[n - 1:] = {"mean": lambda: w.mean(axis=1), "std": lambda: w.std(axis=1, ddof=1),
                       "max": lambda: w.max(axis=1), "min": lambda: w.min(axis=1)}[how]()
    return out


def features_at(bars: pd.DataFrame, funding: pd.Series, t: pd.Timestamp) -> pd.Series:
    """The feature row at decision time ``t`` from the data known then: the incremental path a paper or
    live runner takes (bars that closed by t, funding settled by t; the rest is cut off here)."""
    t = pd.Timestamp(t)
    known = bars[(bars.index <= t - HOUR) & (bars.index >= t - (WARMUP_HOURS + 1) * HOUR)]  # all a row reads
    fr = funding[funding.index <= t]
    return feature_table(known, fr.iloc[-FUNDING_WINDOW:], pd.DatetimeIndex([t]))


def labels(bars: pd.DataFrame, horizon_hours: int, times: pd.DatetimeIndex) -> tuple[pd.Series, pd.Series]:
    """(forward return, label) at decision times ``times``: ``open[t + h] / open[t] - 1`` (a fraction) and
    1.0 / 0.0 for up / not up; NaN where either open is missing (a hole or beyond the data)."""
    h = hourly(bars)["open"]
    now = h.reindex(times).to_numpy()
    later = h.reindex(times + horizon_hours * HOUR).to_numpy()
    fwd = later / now - 1.0
    y = np.where(np.isfinite(fwd), (fwd > 0).astype("float64"), np.nan)
    return pd.Series(fwd, index=times), pd.Series(y, index=times)
