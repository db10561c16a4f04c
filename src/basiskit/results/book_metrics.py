"""What a desk asks of a book beyond its return: funding earned per venue, hedge, idle capital,
turnover, costs, and the return over passive benchmarks. Pure functions of the run's per-step series;
every figure is a float or None (with the reason in ``null_reasons``), never NaN.

Definitions (USD(T) unless stated; averages are over the run's clock steps):

* ``funding_apr_by_venue[v]``: funding booked on perp account v / average notional of v / years
  (realised funding APR on the average position; None without a position);
* ``avg_hedge_ratio``: mean over steps holding a long of (short notional / long exposure), with the
  long exposure = net delta + short notional (spot or on-chain ETH held); 1 = fully hedged;
* ``avg_idle_margin_share``: mean of sum_v max(0, margin balance_v - k x notional_v) / equity, with
  ``k`` the mode's ``perp_margin_fraction`` (margin beyond what the mode itself asks for);
  ``avg_idle_capital_share`` adds cash not at work (wallet share-class cash, USDT on spot accounts,
  money in transit) to the idle margin;
* ``turnover``: traded notional (spot, perp and DEX fills) / average equity over the run;
  ``turnover_per_year`` the same per year;
* ``costs``: fees, slippage, gas and flash-loan fees (share-class units, positive = paid);
  ``costs_bps_per_year`` = costs / average equity / years x 1e4; ``costs_share_of_gross_pnl`` =
  costs / PnL before costs (None when that PnL is not positive);
* ``excess_return[benchmark]``: the run's total return (TWR) less the benchmark's over the same
  steps, and ``excess_apr`` the difference of their simple annualised returns.
"""

from __future__ import annotations

import math

import numpy as np

from basiskit.domain.time import SECONDS_PER_YEAR

COST_SOURCES = ("fees", "slippage", "gas", "flash_fees")


def _mean(x) -> float | None:
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else None


def funding_apr_by_venue(funding_usd: dict[str, float], notional: dict[str, list[float]], years: float
                         ) -> tuple[dict[str, float | None], dict[str, str]]:
    out, reasons = {}, {}
    for v, series in notional.items():
        avg = _mean(series)
        if not avg or years <= 0:
            out[v] = None
            reasons[f"funding_apr_by_venue.{v}"] = "no position held" if not avg else "single-step run"
        else:
            out[v] = funding_usd.get(v, 0.0) / avg / years
    return out, reasons


def avg_hedge_ratio(net_delta_usd: list[float], notional: dict[str, list[float]]) -> float | None:
    if not notional:
        return None
    shorts = np.sum([np.asarray(s, dtype=float) for s in notional.values()], axis=0)
    long = np.asarray(net_delta_usd, dtype=float) + shorts
    held = long > 1e-9 * max(1.0, float(np.max(np.abs(long))) if len(long) else 1.0)
    if not held.any():
        return None
    return float(np.mean(shorts[held] / long[held]))


def idle_shares(equity_usd: list[float], idle_cash_usd: list[float], margin_ratios: dict[str, list],
                notional: dict[str, list[float]], k: float | None) -> tuple[float | None, float | None]:
    """(average idle margin share, average idle capital share) of equity (module docstring)."""
    eq = np.asarray(equity_usd, dtype=float)
    if not len(eq):
        return None, None
    idle_margin = np.zeros(len(eq))
    if k is not None:
        for v, series in notional.items():
            n = np.asarray(series, dtype=float)
            mr = np.asarray(margin_ratios[v], dtype=float)  # None (no position) -> NaN
            excess = np.where(n > 0, (np.nan_to_num(mr) - k) * n, 0.0)
            idle_margin += np.maximum(excess, 0.0)
    ok = eq > 0
    cash = np.asarray(idle_cash_usd, dtype=float) if len(idle_cash_usd) == len(eq) else np.zeros(len(eq))
    return float(np.mean(idle_margin[ok] / eq[ok])), float(np.mean((idle_margin[ok] + cash[ok]) / eq[ok]))


def traded_notional_usd(trades, times_ns: np.ndarray, eth_usd: list[float] | None) -> float:
    """Sum of |amount| x price over filled spot, perp and DEX trades, in USD(T) (DEX trades quoted
    in WETH are converted at the step's ETH price)."""
    total = 0.0
    for tr in trades:
        if not tr.ok or tr.order.side is None:
            continue
        x = abs(tr.executed_amount) * tr.price
        if tr.order.quote != "USDT":
            if eth_usd is None:
                continue
            x *= eth_usd[int(np.searchsorted(times_ns, tr.timestamp))]
        total += x
    return total


def book_metrics(*, times_ns: np.ndarray, years: float, equity_usd: list[float], equity_sc: np.ndarray,
                 attribution_sc: dict[str, float], funding_usd_by_venue: dict[str, float],
                 perp_notional: dict[str, list[float]], margin_ratios: dict[str, list],
                 net_delta_usd: list[float], idle_cash_usd: list[float], perp_margin_fraction: float | None,
                 trades, eth_usd: list[float] | None, annualise: bool) -> tuple[dict, dict[str, str]]:
    """The desk metrics of the module docstring as ``(metrics, null_reasons)``."""
    out: dict = {}
    reasons: dict[str, str] = {}
    funding, r = funding_apr_by_venue(funding_usd_by_venue, perp_notional, years)
    if not annualise:
        funding = {v: None for v in funding}
        r = {f"funding_apr_by_venue.{v}": "run shorter than 30 days: not annualised" for v in funding}
    out["funding_apr_by_venue"] = funding
    reasons.update(r)
    out["avg_hedge_ratio"] = avg_hedge_ratio(net_delta_usd, perp_notional)
    if out["avg_hedge_ratio"] is None:
        reasons["avg_hedge_ratio"] = "no perp hedge in this mode" if not perp_notional else "no long position held"
    out["avg_idle_margin_share"], out["avg_idle_capital_share"] = idle_shares(
        equity_usd, idle_cash_usd, margin_ratios, perp_notional, perp_margin_fraction)
    avg_eq_usd = _mean(equity_usd)
    traded = traded_notional_usd(trades, times_ns, eth_usd)
    out["traded_notional_usd"] = traded
    out["turnover"] = traded / avg_eq_usd if avg_eq_usd else None
    out["turnover_per_year"] = out["turnover"] / years if out["turnover"] is not None and years > 0 and annualise else None
    if out["turnover_per_year"] is None:
        reasons["turnover_per_year"] = "run shorter than 30 days: not annualised" if not annualise else "no equity"
    costs = -sum(attribution_sc.get(s, 0.0) for s in COST_SOURCES)
    gross = sum(attribution_sc.values()) + costs
    avg_eq = _mean(equity_sc)
    out["costs"] = costs
    out["costs_bps_per_year"] = costs / avg_eq / years * 1e4 if avg_eq and years > 0 and annualise else None
    if out["costs_bps_per_year"] is None:
        reasons["costs_bps_per_year"] = "run shorter than 30 days: not annualised" if not annualise else "no equity"
    out["gross_pnl"] = gross
    out["costs_share_of_gross_pnl"] = costs / gross if gross > 0 else None
    if gross <= 0:
        reasons["costs_share_of_gross_pnl"] = "PnL before costs is not positive"
    for k, v in list(out.items()):
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
            reasons.setdefault(k, "not a finite number")
    return out, reasons


def excess_returns(times_ns: np.ndarray, total_return: float, apr: float | None,
                   growth: dict[str, np.ndarray]) -> tuple[dict[str, dict], dict[str, str]]:
    """Run minus benchmark over the run's steps; a benchmark that does not cover the whole run is
    None with the reason (never extrapolated)."""
    out, reasons = {}, {}
    years = (int(times_ns[-1]) - int(times_ns[0])) / 1e9 / SECONDS_PER_YEAR
    for name, g in growth.items():
        if not (np.isfinite(g[0]) and np.isfinite(g[-1]) and g[0] > 0):
            out[name] = None
            reasons[f"excess_return.{name}"] = "the benchmark's data does not cover the whole run"
            continue
        bench = float(g[-1] / g[0] - 1.0)
        out[name] = {"benchmark_return": bench, "excess_return": total_return - bench,
                     "excess_apr": (apr - bench / years) if apr is not None and years > 0 else None}
    return out, reasons
