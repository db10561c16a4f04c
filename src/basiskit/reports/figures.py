"""The report's charts as plain plotly figure dicts (``{"data": [trace, ...], "layout": {...}}``, the
plotly.js JSON schema), one function per chart; each returns ``None`` when the run has nothing to
draw (e.g. no AAVE debt, no perp).

Why dicts and not ``plotly.graph_objects``: building and validating graph objects cost ~0.5 s per
report (and importing them ~0.3 s more), longer than the backtest itself. The dicts are what
plotly.js reads; ``basiskit.reports.html`` writes them into the page as they are, and the PNG export
turns them into validated figures (``plotly.graph_objects.Figure(chart)``) only when PNGs are asked
for. The acceptance tests check that plotly's validation accepts every chart and that the subplot
grids equal ``plotly.subplots.make_subplots``'s.

Data arrays stay numpy arrays (float64) in the dicts: the page carries them as base64 typed arrays
(``{"dtype": "f8", "bdata": ...}``, what plotly itself writes), so every point is exact.

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

from typing import Any

import numpy as np
import pandas as pd

from basiskit.config.loader import ConfigError
from basiskit.engine.assembly import load_venue_config
from basiskit.reports.benchmarks import HIDDEN_BY_DEFAULT, Benchmarks
from basiskit.reports.rundata import RunData
from basiskit.results.metrics import twr_index

Figure = dict[str, Any]  # {"data": [trace dicts], "layout": layout dict}

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
TEMPLATE = "plotly_white"  # a template shipped with plotly (package_data/templates); the page inlines it
LAYOUT = dict(template=TEMPLATE, margin=dict(l=70, r=30, t=80, b=40), hovermode="x unified",
              legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0), font=dict(size=12))
SUBPLOT_TITLE_FONT = {"size": 16}  # make_subplots' default


def ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Milliseconds since the epoch (float64) for a plotly date axis."""
    return pd.DatetimeIndex(index).as_unit("ns").asi8 / 1e6


# -- plotly's layout helpers, as plain dicts ---------------------------------------------------------
def grid_rows(row_heights: list[float] | None = None, vertical_spacing: float = 0.08,
              titles: tuple[str, str] | None = None) -> dict[str, Any]:
    """Layout axes of ``plotly.subplots.make_subplots(rows=2, cols=1, shared_xaxes=True, ...)``: two rows
    (``xaxis``/``yaxis`` on top, ``xaxis2``/``yaxis2`` below), the top x axis matching the bottom one
    with its tick labels hidden; with ``titles``, the subplot titles as annotations. Domains are computed
    by make_subplots' own arithmetic, so they are equal to its floats."""
    free = 1.0 - vertical_spacing
    if row_heights is None:
        heights = [free / 2] * 2
    else:
        total = float(sum(row_heights))
        heights = [free * (h / total) for h in row_heights][::-1]  # bottom row first
    top = [heights[0] + vertical_spacing, heights[0] + vertical_spacing + heights[1]]
    top[1] = 1.0 if 1.0 < top[1] < 1.01 else top[1]
    bottom = [0.0, 0.0 + heights[0]]
    layout: dict[str, Any] = {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "matches": "x2", "showticklabels": False},
        "yaxis": {"anchor": "x", "domain": top},
        "xaxis2": {"anchor": "y2", "domain": [0.0, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": bottom},
    }
    if titles:
        layout["annotations"] = [
            {"font": dict(SUBPLOT_TITLE_FONT), "showarrow": False, "text": text, "x": 0.5, "xanchor": "center",
             "xref": "paper", "y": y, "yanchor": "bottom", "yref": "paper"}
            for text, y in zip(titles, (top[1], bottom[1]))]
    return layout


def grid_secondary_y() -> dict[str, Any]:
    """Layout axes of ``make_subplots(specs=[[{"secondary_y": True}]])``: ``yaxis2`` on the right."""
    return {"xaxis": {"anchor": "y", "domain": [0.0, 0.94]}, "yaxis": {"anchor": "x", "domain": [0.0, 1.0]},
            "yaxis2": {"anchor": "x", "overlaying": "y", "side": "right"}}


def add_hline(layout: dict[str, Any], y: float, line: dict[str, Any], row: int = 1, text: str | None = None,
              position: str = "top right") -> None:
    """``Figure.add_hline``: a line across the (row's) x domain at ``y``, with its annotation at the right
    end (``position`` ``top right``: above the line, ``bottom right``: below it)."""
    n = "" if row == 1 else str(row)
    layout.setdefault("shapes", []).append({"line": line, "type": "line", "x0": 0, "x1": 1, "xref": f"x{n} domain",
                                            "y0": y, "y1": y, "yref": f"y{n}"})
    if text:
        layout.setdefault("annotations", []).append(
            {"showarrow": False, "text": text, "x": 1, "xanchor": "right", "xref": f"x{n} domain", "y": y,
             "yanchor": "top" if position.startswith("bottom") else "bottom", "yref": f"y{n}"})


def _axis(layout: dict[str, Any], name: str, **props: Any) -> None:
    layout.setdefault(name, {}).update(props)


def _finish(data: list[dict[str, Any]], layout: dict[str, Any], title: str, height: int = 420,
            dates: bool = True) -> Figure:
    """The common look (``LAYOUT``), the title top left, the height; every x axis a date axis."""
    layout.update(title={"text": title, "x": 0, "xanchor": "left", "yref": "container", "y": 0.99, "yanchor": "top"},
                  height=height, **{k: (dict(v) if isinstance(v, dict) else v) for k, v in LAYOUT.items()})
    if dates:
        axes = [k for k in layout if k.startswith("xaxis")] or ["xaxis"]
        for k in axes:
            _axis(layout, k, type="date")
    return {"data": data, "layout": layout}


# -- the charts ---------------------------------------------------------------------------------------
def drawdown(run: RunData) -> pd.Series:
    """Drawdown of the time-weighted index (fraction, <= 0); deposits and withdrawals do not count."""
    return pd.Series(_drawdown(run), index=run.equity.index, copy=False)


def _drawdown(run: RunData) -> np.ndarray:
    """The values of :func:`drawdown` (a fresh array)."""
    eq = run.equity
    idx = twr_index(eq["equity"].to_numpy(), eq["net_deposits"].to_numpy(), float(run.summary["initial_equity"]))
    peak = np.maximum.accumulate(np.concatenate(([1.0], idx)))[1:]
    idx /= peak  # in place: idx / peak - 1
    idx -= 1.0
    return idx


def _percent(a: np.ndarray) -> np.ndarray:
    """``a * 100`` in place (``a`` is a fresh array of the caller's)."""
    a *= 100
    return a


def equity_figure(run: RunData, bench: Benchmarks | None) -> Figure:
    eq, u = run.equity, run.unit
    x = ms(eq.index)
    top = {"xaxis": "x", "yaxis": "y"}
    data = [{"line": {"color": "#111111", "width": 2}, "name": f"strategy equity ({u})", "x": x,
             "y": eq["equity"].to_numpy(), "type": "scatter", **top}]
    if (eq["net_deposits"].abs() > 0).any():
        data.append({"line": {"color": "#999999", "dash": "dot", "width": 1}, "name": "capital + net deposits", "x": x,
                     "y": float(run.summary["initial_equity"]) + eq["net_deposits"].to_numpy(), "type": "scatter", **top})
    for name, curve in (bench.curves.items() if bench else []):
        hidden = name in HIDDEN_BY_DEFAULT  # directional holds: listed in the legend, drawn on a click
        data.append({"line": {"color": BENCH_COLORS.get(name), "dash": "dash", "width": 1.3},
                     "name": name + (" (click to show)" if hidden else ""), "visible": "legendonly" if hidden else True,
                     "x": x if curve.index is eq.index else ms(curve.index), "y": curve.to_numpy(), "type": "scatter",
                     **top})
    data.append({"fill": "tozeroy", "line": {"color": "#d62728", "width": 1}, "name": "drawdown (TWR, %)",
                 "showlegend": True, "x": x, "y": _percent(_drawdown(run)), "type": "scatter",
                 "xaxis": "x2", "yaxis": "y2"})
    layout = grid_rows([0.72, 0.28], 0.04)
    _axis(layout, "yaxis", title={"text": u})
    _axis(layout, "yaxis2", title={"text": "drawdown %"})
    return _finish(data, layout, f"Equity ({u}) and benchmarks; drawdown of the time-weighted return", 560)


def _period(span: pd.Timedelta) -> tuple[str, str]:
    if span <= pd.Timedelta(days=120):
        return "1D", "day"
    if span <= pd.Timedelta(days=3 * 365):
        return "W-SUN", "week"
    return "MS", "month"


def attribution_figure(run: RunData) -> Figure | None:
    """Stacked PnL by source per day/week/month, with the cumulative total on the right axis."""
    a = run.attribution
    if a is None or a.empty:
        return None
    freq, label = _period(a.index[-1] - a.index[0])
    at_end = a.resample(freq, label="right", closed="right").last().dropna(how="all")
    step = at_end.diff()
    step.iloc[0] = at_end.iloc[0]
    x = ms(step.index)
    data = []
    for k, src in enumerate(a.columns):
        if np.abs(a[src].to_numpy()).max() <= 0:
            continue
        data.append({"marker": {"color": SOURCE_COLORS.get(src, PALETTE[k % len(PALETTE)])},
                     "name": SOURCE_LABELS.get(src, src), "x": x, "y": step[src].to_numpy(), "type": "bar",
                     "xaxis": "x", "yaxis": "y"})
    data.append({"line": {"color": "#111111", "width": 2}, "name": "cumulative total", "x": ms(a.index),
                 "y": a.sum(axis=1).to_numpy(), "type": "scatter", "xaxis": "x", "yaxis": "y2"})
    layout = grid_secondary_y()
    layout.update(barmode="relative", bargap=0.1)
    _axis(layout, "yaxis", title={"text": f"{run.unit} per {label}"})
    _axis(layout, "yaxis2", title={"text": f"cumulative {run.unit}"}, showgrid=False)
    return _finish(data, layout, f"PnL attribution by source, per {label} ({run.unit})")


def attribution_totals_figure(run: RunData) -> Figure:
    attr = run.summary.get("attribution", {})
    rec = run.summary.get("reconciliation", {})
    items = sorted(((SOURCE_LABELS.get(k, k), float(v)) for k, v in attr.items() if abs(float(v)) > 0),
                   key=lambda kv: kv[1])
    names = [n for n, _ in items] + ["= equity change"]
    values = [v for _, v in items] + [float(rec.get("equity_change", sum(v for _, v in items)))]
    colors = ["#2ca02c" if v >= 0 else "#d62728" for v in values[:-1]] + ["#111111"]
    data = [{"marker": {"color": colors}, "orientation": "h",
             "text": [f"{v:,.4f}" if run.unit == "ETH" else f"{v:,.2f}" for v in values], "textposition": "auto",
             "x": values, "y": names, "type": "bar"}]
    diff = rec.get("difference")
    note = f" (sources sum - equity change = {diff:.2e} {run.unit})" if isinstance(diff, (int, float)) else ""
    layout: dict[str, Any] = {"xaxis": {"title": {"text": run.unit}}}
    return _finish(data, layout, f"PnL attribution, total over the run{note}", max(300, 34 * len(names) + 120),
                   dates=False)


def funding_figure(run: RunData) -> Figure | None:
    v = run.venues
    if v is None:
        return None
    data = []
    for name, g in v.groupby("venue", sort=True):
        f = g["funding_usd"].to_numpy(dtype=float)
        if np.nanmax(np.abs(f)) > 0:
            data.append({"mode": "lines", "name": name, "x": ms(g["timestamp"]), "y": f, "type": "scatter"})
    if not data:
        return None
    layout: dict[str, Any] = {"yaxis": {"title": {"text": "USD(T), cumulative"}}}
    return _finish(data, layout, "Funding received (+) or paid (-) by venue, cumulative (USD(T))", 360)


def ltv_health_figure(run: RunData) -> Figure | None:
    eq = run.equity
    if "ltv" not in eq or not (eq["ltv"].fillna(0) > 0).any():
        return None
    x = ms(eq.index)
    ltv = eq["ltv"].to_numpy(dtype=float)
    hf = eq["health_factor"].to_numpy(dtype=float) if "health_factor" in eq else np.full(len(eq), np.nan)
    liq_ltv = np.where(ltv > 0, ltv * hf, np.nan)  # weighted liquidation threshold = HF x LTV
    cfg = run.summary.get("config", {}) or {}
    data = [{"line": {"color": "#1f77b4"}, "name": "LTV", "x": x, "y": ltv * 100, "type": "scatter",
             "xaxis": "x", "yaxis": "y"},
            {"line": {"color": "#d62728", "dash": "dash"}, "name": "liquidation LTV (weighted LT)", "x": x,
             "y": liq_ltv * 100, "type": "scatter", "xaxis": "x", "yaxis": "y"},
            {"line": {"color": "#9467bd"}, "name": "health factor", "x": x, "y": hf, "type": "scatter",
             "xaxis": "x2", "yaxis": "y2"}]
    layout = grid_rows(None, 0.08, ("LTV (%)", "Health factor"))
    if isinstance(cfg.get("target_ltv"), (int, float)):
        add_hline(layout, cfg["target_ltv"] * 100, {"color": "#2ca02c", "dash": "dot", "width": 1}, 1,
                  "target LTV", "bottom right")
    add_hline(layout, 1.0, {"color": "#d62728", "width": 2}, 2, "liquidation (HF = 1)", "bottom right")
    risk = cfg.get("risk") or {}
    for key, label in (("health_factor_override", "risk override"), ("health_factor_exit", "full exit")):
        if risk.get("override") and isinstance(risk.get(key), (int, float)):
            add_hline(layout, risk[key], {"color": "#ff7f0e", "dash": "dot", "width": 1}, 2, f"{label} ({risk[key]})",
                      "top right")
    finite = hf[np.isfinite(hf)]
    if finite.size:
        _axis(layout, "yaxis2", range=[0.9, max(1.1, float(np.nanpercentile(finite, 99)) * 1.05)])
    return _finish(data, layout, "AAVE v3 LTV and health factor with the liquidation lines", 560)


def _maintenance_margin(venue: str, overrides: dict | None = None) -> float | None:
    """The venue's maintenance margin rate as the run used it (its ``venues.<venue>`` overrides applied)."""
    try:
        perp = load_venue_config(venue, (overrides or {}).get(venue)).perp
    except ConfigError:  # a venue without a config file simply gets no line
        return None
    return perp.maintenance_margin_rate if perp is not None else None


def margin_figure(run: RunData) -> Figure | None:
    cols = [c for c in run.equity.columns if c.startswith("margin_ratio_")]
    if not cols:
        return None
    x = ms(run.equity.index)
    data = []
    mmr = set()
    for k, c in enumerate(cols):
        venue = c.removeprefix("margin_ratio_")
        data.append({"line": {"color": PALETTE[k % len(PALETTE)]}, "name": venue, "x": x,
                     "y": run.equity[c].to_numpy(dtype=float) * 100, "type": "scatter"})
        m = _maintenance_margin(venue, (run.summary.get("config") or {}).get("venues"))
        if m is not None:
            mmr.add(m)
    layout: dict[str, Any] = {}
    for m in sorted(mmr):
        add_hline(layout, m * 100, {"color": "#d62728", "width": 2})
    if mmr:
        layout.setdefault("annotations", []).append(
            {"showarrow": False, "text": "maintenance margin " + " / ".join(f"{m:.2%}" for m in sorted(mmr)), "x": 0,
             "xanchor": "left", "xref": "paper", "y": max(mmr) * 100, "yanchor": "bottom", "yref": "y"})
    risk = (run.summary.get("config") or {}).get("risk") or {}
    if risk.get("override") and isinstance(risk.get("margin_ratio_override"), (int, float)):
        add_hline(layout, risk["margin_ratio_override"] * 100, {"color": "#ff7f0e", "dash": "dot"}, 1,
                  "risk override", "top right")
    _axis(layout, "yaxis", title={"text": "margin balance / notional, %"}, rangemode="tozero")
    return _finish(data, layout, "Margin ratio per CEX perp account (liquidation at the maintenance margin)", 380)


def delta_figure(run: RunData) -> Figure:
    eq = run.equity
    drift = eq["net_delta"].to_numpy(dtype=float) / eq["equity"].to_numpy(dtype=float)
    data = [{"line": {"color": "#1f77b4", "width": 1}, "name": "net delta / equity", "x": ms(eq.index),
             "y": drift * 100, "type": "scatter"}]
    layout: dict[str, Any] = {}
    thr = (run.summary.get("config") or {}).get("delta_drift_threshold")
    if isinstance(thr, (int, float)):
        for y in (thr * 100, -thr * 100):
            add_hline(layout, y, {"color": "#ff7f0e", "dash": "dot"})
        layout.setdefault("annotations", []).append(
            {"showarrow": False, "text": f"rebalance band ±{thr:.1%}", "x": 1, "xanchor": "right", "xref": "paper",
             "y": thr * 100, "yanchor": "bottom"})
    _axis(layout, "yaxis", title={"text": "% of equity"})
    return _finish(data, layout, f"Net delta drift (net delta / equity; {run.unit} share class)", 340)


def positions_figure(run: RunData) -> Figure | None:
    v = run.venues
    if v is None:
        return None
    data = []
    k = 0
    for name, g in v.groupby("venue", sort=True):
        x = ms(g["timestamp"])
        val = g["value"].to_numpy(dtype=float)
        if np.nanmax(np.abs(val)) > 1e-9:
            data.append({"line": {"color": PALETTE[k % len(PALETTE)], "width": 0.5}, "mode": "lines", "name": name,
                         "stackgroup": "value", "x": x, "y": val, "type": "scatter", "xaxis": "x", "yaxis": "y"})
            k += 1
        for col, label, dash in (("perp_notional_usd", "notional", None), ("collateral_usd", "collateral", None),
                                 ("debt_usd", "debt", "dash")):
            if col in g and g[col].notna().any() and np.nanmax(np.abs(g[col].to_numpy(dtype=float))) > 0:
                y = g[col].to_numpy(dtype=float) * (-1 if col == "debt_usd" else 1)
                trace = {"mode": "lines", "name": f"{name} {label}", "x": x, "y": y, "type": "scatter",
                         "xaxis": "x2", "yaxis": "y2"}
                if dash:
                    trace["line"] = {"dash": dash}
                data.append(trace)
    layout = grid_rows([0.55, 0.45], 0.08, (f"Value by venue account ({run.unit}, stacked)",
                                            "Exposure by venue (USD(T)): perp notional (short < 0), AAVE collateral "
                                            "and debt"))
    _axis(layout, "yaxis", title={"text": run.unit})
    _axis(layout, "yaxis2", title={"text": "USD(T)"})
    fig = _finish(data, layout, "Positions by venue (daily snapshots)", 620)
    layout["legend"] = dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top")
    layout["margin"] = dict(layout["margin"], r=170, t=70)
    return fig
