"""Growth of the passive benchmarks a desk compares a run with (pure computation: numpy/pandas).

``G`` is a growth index on given clock times (ns, UTC), NaN where the data does not cover a time:

* ``aave_growth(catalog, token, at)``: AAVE v3 ``liquidityIndex`` of the reserve, geometric between the
  daily snapshots (``data.aave_index``): a supply earns exactly the index ratio (AAVE v3 docs, aTokens);
* ``susde_growth(catalog, at, notes)``: Ethena sUSDe, the daily APY of the DefiLlama export compounded
  over the hours of each day, ``(1 + apy_d) ** (1 / 8760)`` per hour; a missing day takes the previous
  day's APY and is named in ``notes``;
* ``close(catalog, dataset, at)``: a price series' close (hold benchmarks).

Used by the run summary (excess return over the benchmarks) and by the report's charts.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from basiskit.data.aave_index import interpolate_index

HOURS_PER_YEAR = 8760
NS_PER_HOUR = 3_600_000_000_000


_last_growth: list = [None, None]  # (key, growth) of the last aave_growth: the summary and the report ask alike


def _digest(*arrays: np.ndarray) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"|")
    return h.digest()


def aave_growth(catalog, token: str, at_ns: np.ndarray) -> np.ndarray:
    df = catalog.load(f"aave.{token}")
    snap_ns = pd.DatetimeIndex(df.index).as_unit("ns").asi8
    index = df["liquidity_index"].to_numpy()
    at_ns = np.asarray(at_ns, dtype=np.int64)
    key = (token, _digest(snap_ns, index, at_ns))  # the same snapshots on the same times: the same growth
    if _last_growth[0] == key:
        return _last_growth[1].copy()
    inside = (at_ns >= snap_ns[0]) & (at_ns <= snap_ns[-1])
    out = np.full(len(at_ns), np.nan)
    out[inside] = interpolate_index(snap_ns, index, at_ns[inside])
    _last_growth[:] = [key, out.copy()]
    return out


def close(catalog, dataset_id: str, at_ns: np.ndarray) -> np.ndarray:
    df = catalog.load(dataset_id)
    s = pd.Series(df["close"].to_numpy(), index=pd.DatetimeIndex(df.index).as_unit("ns").asi8)
    return s.reindex(at_ns).to_numpy(dtype=float)


def susde_growth(catalog, at_ns: np.ndarray, notes: list[str]) -> np.ndarray:
    df = catalog.load("benchmark.ethena.sUSDe")
    days = pd.DatetimeIndex(df.index).as_unit("ns").asi8
    full = np.arange(days[0], days[-1] + 1, 24 * NS_PER_HOUR)
    missing = np.setdiff1d(full, days)
    if len(missing):
        notes.append("Ethena sUSDe: no APY in the data for " + ", ".join(
            pd.to_datetime(missing, utc=True).strftime("%Y-%m-%d")) + "; the previous day's APY is used there")
    end = days[-1] + 24 * NS_PER_HOUR  # the last day's APY covers that day
    out = np.full(len(at_ns), np.nan)
    inside = (at_ns >= days[0]) & (at_ns <= end)
    if not inside.any():
        return out
    t = at_ns[inside]
    k = np.searchsorted(days, t[:-1], side="right")
    k -= 1  # APY in force over each step (t_j, t_j+1]
    log_g = np.log1p(df["apy"].to_numpy())[k]  # in place from here: log1p(apy) * hours / HOURS_PER_YEAR
    del k
    log_g *= np.diff(t) / NS_PER_HOUR
    log_g /= HOURS_PER_YEAR
    g = np.empty(len(t))
    g[0] = 0.0
    np.cumsum(log_g, out=g[1:])
    out[inside] = np.exp(g, out=g)
    return out
