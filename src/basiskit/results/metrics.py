"""Performance metrics from an equity series with external flows.

* Returns are time-weighted: the step return is ``(E_i - F_i) / E_{i-1} - 1`` where ``F_i`` is the
  net deposit made at step i, so deposits and withdrawals do not count as performance (GIPS TWR).
* ``total_return``: compounded TWR over the run. ``apr``: total_return x (year / duration), simple
  annualisation. ``apy``: (1 + total_return) ** (year / duration) - 1. Year = 365 days.
* ``sharpe`` / ``sortino``: from daily TWR returns (last point of each UTC day), annualised with
  sqrt(365), risk-free rate 0; sortino uses the downside deviation (returns below 0).
* ``volatility``: standard deviation of those daily returns x sqrt(365) (annualised).
* ``max_drawdown``: largest peak-to-trough fall of the TWR index, as a negative fraction;
  ``calmar`` = apy / |max_drawdown|; ``longest_drawdown_days``: the longest time the TWR index
  spent below its previous peak (from the peak to the step it is regained, or to the end), days.

Annualised figures (apr, apy, sharpe, sortino, volatility, calmar) from a run shorter than
``MIN_DAYS_ANNUALISED`` days are not given (None, with the reason in ``null_reasons``) unless
``annualise_short`` is set: a week's return x 52 is noise, not a yield. No metric is ever NaN: an
undefined one is None with its reason.
"""

from __future__ import annotations

import math

import numpy as np

from basiskit.domain.time import SECONDS_PER_YEAR

MIN_DAYS_ANNUALISED = 30
ANNUALISED = ("apr", "apy", "sharpe", "sortino", "volatility", "calmar")


def twr_index(equity: np.ndarray, net_deposits: np.ndarray, initial_equity: float) -> np.ndarray:
    """Cumulative TWR index (starts at 1 before step 0), shape like ``equity``."""
    prev = np.concatenate(([initial_equity], equity[:-1]))
    r = np.subtract(equity, np.diff(np.concatenate(([0.0], net_deposits))), dtype=np.float64)  # E_i - F_i
    with np.errstate(divide="ignore", invalid="ignore"):  # in place: the floats of (E - F) / prev - 1, then 1 + r
        r /= prev
    r -= 1.0
    r[~(prev > 0)] = 0.0
    r += 1.0
    return np.cumprod(r, out=r)


def longest_drawdown_days(times_ns: np.ndarray, idx: np.ndarray, rtol: float = 1e-12) -> float:
    """Longest stretch (days) the index spends below its running peak (module docstring)."""
    t = np.concatenate(([int(times_ns[0])], np.asarray(times_ns, dtype=np.int64)))
    x = np.concatenate(([1.0], idx))
    peak = np.maximum.accumulate(x)
    peak *= 1 - rtol
    at_peak = x >= peak
    del x, peak  # (arrays of the run's length are made and dropped one at a time)
    peak_time = np.where(at_peak, t, t[0])
    np.maximum.accumulate(peak_time, out=peak_time)
    under = ~at_peak
    if not under.any():
        return 0.0
    # a drawdown lasts from its peak until the first step back at a peak (or the run's end)
    durations = t - peak_time
    durations[at_peak] = 0
    ends = np.flatnonzero(under[:-1] & at_peak[1:]) + 1  # recovery steps
    longest = int(durations.max())
    del durations
    if len(ends):
        longest = max(longest, int((t[ends] - peak_time[ends - 1]).max()))
    return longest / 86_400e9


def daily_returns(times_ns: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Returns of the index from one UTC day's last value to the next day's with data (the first day's
    from 1.0): ``pd.Series(idx, utc times).resample("1D").last().dropna()`` with 1.0 put in front,
    then ``pct_change()``, computed on arrays (the same floats: each return is ``x_d / x_{d-1} - 1``)."""
    t = np.asarray(times_ns, dtype=np.int64)
    x = np.asarray(idx, dtype=np.float64)
    ok = ~np.isnan(x)  # a day's last value is its last non-NaN one
    t, x = t[ok], x[ok]
    if not len(x):
        return np.empty(0)
    day = t // 86_400_000_000_000
    last = np.flatnonzero(np.append(day[1:] != day[:-1], True))
    daily = np.concatenate(([1.0], x[last]))
    return daily[1:] / daily[:-1] - 1.0


def compute_metrics(times_ns: np.ndarray, equity: np.ndarray, net_deposits: np.ndarray, initial_equity: float,
                    annualise_short: bool = False) -> tuple[dict, dict[str, str]]:
    """``(metrics, null_reasons)``; see the module docstring. ``metrics`` values are floats or None."""
    reasons: dict[str, str] = {}
    idx = twr_index(equity, net_deposits, initial_equity)
    total = float(idx[-1] - 1.0)
    duration_s = (int(times_ns[-1]) - int(times_ns[0])) / 1e9
    years = duration_s / SECONDS_PER_YEAR
    days = duration_s / 86_400
    out: dict[str, float | None] = {"total_return": total, "years": years}
    out["apr"] = total / years if years > 0 else None
    out["apy"] = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 and total > -1 else None
    dr = daily_returns(times_ns, idx)
    out["sharpe"] = out["sortino"] = out["volatility"] = None
    if len(dr) > 1:
        sd = dr.std(ddof=1)
        out["volatility"] = float(sd * math.sqrt(365))
        if sd > 0:
            out["sharpe"] = float(dr.mean() / sd * math.sqrt(365))
        else:
            reasons["sharpe"] = "daily returns do not vary"
        downside = np.sqrt(np.mean(np.minimum(dr, 0.0) ** 2))
        if downside > 0:
            out["sortino"] = float(dr.mean() / downside * math.sqrt(365))
        else:
            reasons["sortino"] = "no day with a negative return"
    else:
        for k in ("sharpe", "sortino", "volatility"):
            reasons[k] = "fewer than two daily returns"
    peak = np.maximum.accumulate(np.concatenate(([1.0], idx)))[1:]
    np.divide(idx, peak, out=peak)  # idx / peak - 1, in place of the peaks
    peak -= 1.0
    mdd = float(np.min(peak))
    del peak
    out["max_drawdown"] = mdd
    out["longest_drawdown_days"] = longest_drawdown_days(times_ns, idx)
    if out["apy"] is not None and mdd < 0:
        out["calmar"] = out["apy"] / abs(mdd)
    else:
        out["calmar"] = None
        reasons["calmar"] = "no drawdown" if mdd >= 0 else "APY undefined"
    if years <= 0:
        reasons.setdefault("apr", "the run has a single step")
        reasons.setdefault("apy", "the run has a single step")
    if days < MIN_DAYS_ANNUALISED and not annualise_short:
        why = (f"run of {days:.1f} days is shorter than {MIN_DAYS_ANNUALISED}: not annualised "
               "(set annualise_short_runs=true to see it anyway)")
        for k in ANNUALISED:
            out[k] = None
            reasons[k] = why
    for k, v in out.items():  # never NaN or inf
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
            reasons.setdefault(k, "not a finite number")
    return out, {k: v for k, v in reasons.items() if out.get(k) is None}
