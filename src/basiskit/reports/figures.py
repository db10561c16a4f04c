"""The report's charts as plotly figures, one function per chart; each returns ``None`` when the run
has nothing to draw (e.g. no AAVE debt, no perp).

Units: equity, net deposits, positions (``value``) and attribution in share-class units (USDT or
ETH); funding, perp notional, AAVE collateral/debt in USD(T); LTV, drawdown and delta drift in %;
margin ratio = margin balance / notional (%); health factor unitless.

Thresholds drawn: liquidation at health factor 1 and at LTV = the collateral's weighted liquidation
threshold (= LTV x health factor; AAVE v3 docs, health factor); the risk override levels of the
run's config (``risk.*``); the perp venue's maintenance margin rate (basiskit/configs/venues/<venue>.yaml);
the strategy's delta drift threshold and target LTV band when its config has them.

Time axes carry milliseconds since the epoch (plotly ``date`` axes), which keeps the report small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from basiskit.config.loader import ConfigError
from basiskit.engine.assembly import load_venue_config
from basiskit.reports.benchmarks import HIDDEN_BY_DEFAULT, Benchmarks
from basiskit.reports.rundata import RunData
from basiskit.results.metrics import twr_index

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939"]
BENCH_COLORS = {"AAVE v3 USDT supply": "#7f7f7f", "AAVE v3 WETH supply": "#7f7f7f", "Ethena sUSDe": "#8c564b",
                "Hold BTC": "#f2a900", "Hold ETH": "#627eea"}
SOURCE_LABELS = {"funding": "funding", "lending_interest": "lending interest", "staking": "staking",
                 "restaking_rewards": "restaking rewards", "borrow_cost": "borrow cost", "price_basis": "price / basis",
                 "slippage": "slippage", "fees": "trading fees", "flash_fees": "flash-loan fees", "gas": "gas",
                 "liquidation": "liquidation"}
SOURCE_COLORS = {"funding": "#1f77b4", "lending_interest": "#17becf", "staking": "#2ca02c",
                 "restaking_rewards": "#bcbd22", "borrow_cost": "#d62728", "price_basis": "#9467bd",
                 "slippage": "#8c564b", "fees": "#e377c2", "flash_fees": "#ff7f0e", "gas": "#7f7f7f",
                 "liquidation": "#000000"}
LAYOUT = dict(template="plotly_white", margin=dict(l=70, r=30, t=80, b=40), hovermode="x unified",
              legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0), font=dict(size=12))


def ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Milliseconds since the epoch (float64) for a plotly date axis."""
    return pd.DatetimeIndex(index).as_unit("ns").asi8 / 1e6


def _finish(fig: go.Figure, title: str, height: int = 420, dates: bool = True) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, xanchor="left", yref="container", y=0.99, yanchor="top"),
                      height=height, **LAYOUT)
    if dates:
        fig.update_xaxes(type="date")
    return fig


def drawdown(run: RunData) -> pd.Series:
    """Drawdown of the time-weighted index (fraction, <= 0); deposits and withdrawals do not count."""
    eq = run.equity
    idx = twr_index(eq["equity"].to_numpy(), eq["net_deposits"].to_numpy(), float(run.summary["initial_equity"]))
    peak = np.maximum.accumulate(np.concatenate(([1.0], idx)))[1:]
    return pd.Series(idx / peak - 1.0, index=eq.index)


def equity_figure(run: RunData, bench: Benchmarks | None) -> go.Figure:
    eq, u = run.equity, run.unit
    x = ms(eq.index)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=x, y=eq["equity"].to_numpy(), name=f"strategy equity ({u})",
                             line=dict(color="#111111", width=2)), row=1, col=1)
    if (eq["net_deposits"].abs() > 0).any():
        fig.add_trace(go.Scatter(x=x, y=float(run.summary["initial_equity"]) + eq["net_deposits"].to_numpy(),
                                 name="capital + net deposits", line=dict(color="#999999", dash="dot", width=1)),
                      row=1, col=1)
    for name, curve in (bench.curves.items() if bench else []):
        hidden = name in HIDDEN_BY_DEFAULT  # directional holds: listed in the legend, drawn on a click
        fig.add_trace(go.Scatter(x=ms(curve.index), y=curve.to_numpy(), name=name + (" (click to show)" if hidden else ""),
                                 visible="legendonly" if hidden else True,
                                 line=dict(color=BENCH_COLORS.get(name), dash="dash", width=1.3)), row=1, col=1)
    dd = drawdown(run)
    fig.add_trace(go.Scatter(x=x, y=dd.to_numpy() * 100, name="drawdown (TWR, %)", fill="tozeroy",
                             line=dict(color="#d62728", width=1), showlegend=True), row=2, col=1)
    fig.update_yaxes(title_text=u, row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    return _finish(fig, f"Equity ({u}) and benchmarks; drawdown of the time-weighted return", 560)


def _period(span: pd.Timedelta) -> tuple[str, str]:
    if span <= pd.Timedelta(days=120):
        return "1D", "day"
    if span <= pd.Timedelta(days=3 * 365):
        return "W-SUN", "week"
    return "MS", "month"


def attribution_figure(run: RunData) -> go.Figure | None:
    """Stacked PnL by source per day/week/month, with the cumulative total on the right axis."""
    a = run.attribution
    if a is None or a.empty:
        return None
    freq, label = _period(a.index[-1] - a.index[0])
    at_end = a.resample(freq, label="right", closed="right").last().dropna(how="all")
    step = at_end.diff()
    step.iloc[0] = at_end.iloc[0]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = ms(step.index)
    for k, src in enumerate(a.columns):
        if np.abs(a[src].to_numpy()).max() <= 0:
            continue
        fig.add_trace(go.Bar(x=x, y=step[src].to_numpy(), name=SOURCE_LABELS.get(src, src),
                             marker_color=SOURCE_COLORS.get(src, PALETTE[k % len(PALETTE)])), secondary_y=False)
    fig.add_trace(go.Scatter(x=ms(a.index), y=a.sum(axis=1).to_numpy(), name="cumulative total",
                             line=dict(color="#111111", width=2)), secondary_y=True)
    fig.update_layout(barmode="relative", bargap=0.1)
    fig.update_yaxes(title_text=f"{run.unit} per {label}", secondary_y=False)
    fig.update_yaxes(title_text=f"cumulative {run.unit}", secondary_y=True, showgrid=False)
    return _finish(fig, f"PnL attribution by source, per {label} ({run.unit})")


def attribution_totals_figure(run: RunData) -> go.Figure:
    attr = run.summary.get("attribution", {})
    rec = run.summary.get("reconciliation", {})
    items = sorted(((SOURCE_LABELS.get(k, k), float(v)) for k, v in attr.items() if abs(float(v)) > 0),
                   key=lambda kv: kv[1])
    names = [n for n, _ in items] + ["= equity change"]
    values = [v for _, v in items] + [float(rec.get("equity_change", sum(v for _, v in items)))]
    colors = ["#2ca02c" if v >= 0 else "#d62728" for v in values[:-1]] + ["#111111"]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colors,
                           text=[f"{v:,.4f}" if run.unit == "ETH" else f"{v:,.2f}" for v in values],
                           textposition="auto"))
    diff = rec.get("difference")
    note = f" (sources sum - equity change = {diff:.2e} {run.unit})" if isinstance(diff, (int, float)) else ""
    fig.update_xaxes(title_text=run.unit)
    fig.update_layout(hovermode="closest")
    return _finish(fig, f"PnL attribution, total over the run{note}", max(300, 34 * len(names) + 120), dates=False)


def funding_figure(run: RunData) -> go.Figure | None:
    v = run.venues
    if v is None:
        return None
    fig = go.Figure()
    for name, g in v.groupby("venue", sort=True):
        f = g["funding_usd"].to_numpy(dtype=float)
        if np.nanmax(np.abs(f)) > 0:
            fig.add_trace(go.Scatter(x=ms(g["timestamp"]), y=f, name=name, mode="lines"))
    if not fig.data:
        return None
    fig.update_yaxes(title_text="USD(T), cumulative")
    return _finish(fig, "Funding received (+) or paid (-) by venue, cumulative (USD(T))", 360)


def ltv_health_figure(run: RunData) -> go.Figure | None:
    eq = run.equity
    if "ltv" not in eq or not (eq["ltv"].fillna(0) > 0).any():
        return None
    x = ms(eq.index)
    ltv = eq["ltv"].to_numpy(dtype=float)
    hf = eq["health_factor"].to_numpy(dtype=float) if "health_factor" in eq else np.full(len(eq), np.nan)
    liq_ltv = np.where(ltv > 0, ltv * hf, np.nan)  # weighted liquidation threshold = HF x LTV
    cfg = run.summary.get("config", {}) or {}
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("LTV (%)", "Health factor"))
    fig.add_trace(go.Scatter(x=x, y=ltv * 100, name="LTV", line=dict(color="#1f77b4")), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=liq_ltv * 100, name="liquidation LTV (weighted LT)",
                             line=dict(color="#d62728", dash="dash")), row=1, col=1)
    if isinstance(cfg.get("target_ltv"), (int, float)):
        fig.add_hline(y=cfg["target_ltv"] * 100, line=dict(color="#2ca02c", dash="dot", width=1), row=1, col=1,
                      annotation_text="target LTV", annotation_position="bottom right")
    fig.add_trace(go.Scatter(x=x, y=hf, name="health factor", line=dict(color="#9467bd")), row=2, col=1)
    fig.add_hline(y=1.0, line=dict(color="#d62728", width=2), row=2, col=1, annotation_text="liquidation (HF = 1)",
                  annotation_position="bottom right")
    risk = cfg.get("risk") or {}
    for key, label in (("health_factor_override", "risk override"), ("health_factor_exit", "full exit")):
        if risk.get("override") and isinstance(risk.get(key), (int, float)):
            fig.add_hline(y=risk[key], line=dict(color="#ff7f0e", dash="dot", width=1), row=2, col=1,
                          annotation_text=f"{label} ({risk[key]})", annotation_position="top right")
    finite = hf[np.isfinite(hf)]
    if finite.size:
        fig.update_yaxes(range=[0.9, max(1.1, float(np.nanpercentile(finite, 99)) * 1.05)], row=2, col=1)
    return _finish(fig, "AAVE v3 LTV and health factor with the liquidation lines", 560)


def _maintenance_margin(venue: str, overrides: dict | None = None) -> float | None:
    """The venue's maintenance margin rate as the run used it (its ``venues.<venue>`` overrides applied)."""
    try:
        perp = load_venue_config(venue, (overrides or {}).get(venue)).perp
    except ConfigError:  # a venue without a config file simply gets no line
        return None
    return perp.maintenance_margin_rate if perp is not None else None


def margin_figure(run: RunData) -> go.Figure | None:
    cols = [c for c in run.equity.columns if c.startswith("margin_ratio_")]
    if not cols:
        return None
    x = ms(run.equity.index)
    fig = go.Figure()
    mmr = set()
    for k, c in enumerate(cols):
        venue = c.removeprefix("margin_ratio_")
        fig.add_trace(go.Scatter(x=x, y=run.equity[c].to_numpy(dtype=float) * 100, name=venue,
                                 line=dict(color=PALETTE[k % len(PALETTE)])))
        m = _maintenance_margin(venue, (run.summary.get("config") or {}).get("venues"))
        if m is not None:
            mmr.add(m)
    for m in sorted(mmr):
        fig.add_hline(y=m * 100, line=dict(color="#d62728", width=2))
    if mmr:
        fig.add_annotation(x=0, xref="paper", y=max(mmr) * 100, yref="y", yanchor="bottom", xanchor="left", showarrow=False,
                           text="maintenance margin " + " / ".join(f"{m:.2%}" for m in sorted(mmr)))
    risk = (run.summary.get("config") or {}).get("risk") or {}
    if risk.get("override") and isinstance(risk.get("margin_ratio_override"), (int, float)):
        fig.add_hline(y=risk["margin_ratio_override"] * 100, line=dict(color="#ff7f0e", dash="dot"),
                      annotation_text="risk override", annotation_position="top right")
    fig.update_yaxes(title_text="margin balance / notional, %", rangemode="tozero")
    return _finish(fig, "Margin ratio per CEX perp account (liquidation at the maintenance margin)", 380)


def delta_figure(run: RunData) -> go.Figure:
    eq = run.equity
    drift = eq["net_delta"].to_numpy(dtype=float) / eq["equity"].to_numpy(dtype=float)
    fig = go.Figure(go.Scatter(x=ms(eq.index), y=drift * 100, name="net delta / equity",
                               line=dict(color="#1f77b4", width=1)))
    thr = (run.summary.get("config") or {}).get("delta_drift_threshold")
    if isinstance(thr, (int, float)):
        for y in (thr * 100, -thr * 100):
            fig.add_hline(y=y, line=dict(color="#ff7f0e", dash="dot"))
        fig.add_annotation(x=1, xref="paper", y=thr * 100, text=f"rebalance band ±{thr:.1%}", showarrow=False,
                           xanchor="right", yanchor="bottom")
    fig.update_yaxes(title_text="% of equity")
    return _finish(fig, f"Net delta drift (net delta / equity; {run.unit} share class)", 340)


def positions_figure(run: RunData) -> go.Figure | None:
    v = run.venues
    if v is None:
        return None
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.55, 0.45],
                        subplot_titles=(f"Value by venue account ({run.unit}, stacked)",
                                        "Exposure by venue (USD(T)): perp notional (short < 0), AAVE collateral and debt"))
    k = 0
    for name, g in v.groupby("venue", sort=True):
        x = ms(g["timestamp"])
        val = g["value"].to_numpy(dtype=float)
        if np.nanmax(np.abs(val)) > 1e-9:
            fig.add_trace(go.Scatter(x=x, y=val, name=name, stackgroup="value", mode="lines",
                                     line=dict(width=0.5, color=PALETTE[k % len(PALETTE)])), row=1, col=1)
            k += 1
        for col, label, dash in (("perp_notional_usd", "notional", None), ("collateral_usd", "collateral", None),
                                 ("debt_usd", "debt", "dash")):
            if col in g and g[col].notna().any() and np.nanmax(np.abs(g[col].to_numpy(dtype=float))) > 0:
                y = g[col].to_numpy(dtype=float) * (-1 if col == "debt_usd" else 1)
                fig.add_trace(go.Scatter(x=x, y=y, name=f"{name} {label}", mode="lines", line=dict(dash=dash)),
                              row=2, col=1)
    fig.update_yaxes(title_text=run.unit, row=1, col=1)
    fig.update_yaxes(title_text="USD(T)", row=2, col=1)
    _finish(fig, "Positions by venue (daily snapshots)", 620)
    fig.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"),
                      margin=dict(r=170, t=70))
    return fig
