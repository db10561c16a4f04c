"""``report.html``: one self-contained page per run (plotly.js inlined; no request leaves the file).

Sections: summary metrics and benchmark returns, equity with benchmarks and drawdown, PnL
attribution over time and in total, funding by venue, AAVE LTV and health factor, perp margin
ratios, net delta drift, positions by venue, notes on the data, and the trades table (the first
``MAX_TRADE_ROWS`` rows; every trade is in ``trades.csv``). Chart ``<div>`` ids are ``chart-<name>``
(``chart-equity``, ``chart-attribution``, ...).

The page is written here, not by plotly's Python package: the plotly.min.js bundle of the installed
``plotly`` is inlined as bytes (read from its package data, without importing plotly), the template
the charts name (``plotly_white``, from the same package data) once, and each chart is one
``Plotly.newPlot`` call on the figure dict of ``basiskit.reports.figures``. numpy arrays are written
as plotly's base64 typed arrays (``{"dtype": "f8", "bdata": ...}``): exact, compact, and a C-speed
encoding, so writing the page costs little more than serialising the data.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.util
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from basiskit import __version__
from basiskit.reports.benchmarks import Benchmarks
from basiskit.reports.folds import folds_section
from basiskit.reports.rundata import RunData

MAX_TRADE_ROWS = 5000
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}

CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1b1f24;
background:#f6f7f9}
header{background:#14213d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px;font-weight:600}
header .sub{color:#c9d3e6;font-size:13px;margin-top:4px}
main{max-width:1280px;margin:0 auto;padding:18px 24px 60px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;margin:16px 0;padding:12px 16px}
h2{font-size:15px;margin:4px 0 10px;color:#14213d}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px}
.kpi{border:1px solid #eef0f3;border-radius:4px;padding:8px 10px}.kpi .k{font-size:11px;color:#57606a;
text-transform:uppercase;letter-spacing:.03em}.kpi .v{font-size:17px;font-weight:600;margin-top:2px}
.pos{color:#1a7f37}.neg{color:#cf222e}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{padding:4px 8px;border-bottom:1px solid #eef0f3;
text-align:right;white-space:nowrap}th{background:#f6f8fa;position:sticky;top:0}td.l,th.l{text-align:left}
.scroll{max-height:520px;overflow:auto;border:1px solid #eef0f3}
.notes li{font-size:13px;margin:3px 0}.muted{color:#57606a;font-size:12px}
tr.failed td{color:#cf222e}
"""


def _num(v, unit: str = "", pct: bool = False, digits: int | None = None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return html.escape(str(v))
    if pct:
        return f"{v * 100:,.2f} %"
    d = digits if digits is not None else (4 if unit == "ETH" else 2)
    return f"{v:,.{d}f}{(' ' + unit) if unit else ''}"


def _kpis(run: RunData) -> str:
    s, u = run.summary, run.unit
    items = [
        ("Final equity", _num(s.get("final_equity"), u), None),
        ("Initial capital", _num(s.get("initial_equity"), u), None),
        ("Net deposits", _num(s.get("net_deposits"), u), None),
        ("Total return (TWR)", _num(s.get("total_return"), pct=True), s.get("total_return")),
        ("APR (simple)", _num(s.get("apr"), pct=True), s.get("apr")),
        ("APY (compounded)", _num(s.get("apy"), pct=True), s.get("apy")),
        ("Sharpe (daily, ann.)", _num(s.get("sharpe"), digits=2), None),
        ("Sortino", _num(s.get("sortino"), digits=2), None),
        ("Max drawdown", _num(s.get("max_drawdown"), pct=True), s.get("max_drawdown")),
        ("Trades / failed", f"{s.get('trades', 0):,} / {s.get('failed_orders', 0):,}", None),
        ("Liquidations", f"{s.get('liquidations', 0):,}", -1 if s.get("liquidations") else None),
        ("Risk overrides", f"{s.get('risk_overrides', 0):,}", None),
        ("Min health factor", _num(s.get("min_health_factor"), digits=3), None),
        ("Max LTV", _num(s.get("max_ltv"), pct=True), None),
        ("Max |net delta|", _num(s.get("max_abs_net_delta"), u), None),
        ("Reconciliation diff", _num((s.get("reconciliation") or {}).get("difference"), u, digits=9), None),
    ]
    cells = []
    for k, v, sign in items:
        cls = "" if not isinstance(sign, (int, float)) or sign == 0 else (" pos" if sign > 0 else " neg")
        cells.append(f'<div class="kpi"><div class="k">{html.escape(k)}</div><div class="v{cls}">{v}</div></div>')
    return '<div class="grid" id="metrics">' + "".join(cells) + "</div>"


def _benchmark_table(run: RunData, bench: Benchmarks) -> str:
    eq = run.equity
    rows = [("Strategy", eq.index[0], eq.index[-1], float(run.summary["final_equity"]), run.summary.get("total_return"))]
    dep = eq["net_deposits"].to_numpy()
    cap = float(run.summary["initial_equity"])
    for name, c in bench.curves.items():
        ok = np.isfinite(c.to_numpy())
        last = len(ok) - 1 - int(np.argmax(ok[::-1]))
        final = float(c.iloc[last])
        simple = (final - cap - dep[last]) / cap if not np.any(dep) else None
        rows.append((name, c.index[0], c.index[last], final, simple))
    body = "".join(
        f'<tr><td class="l">{html.escape(n)}</td><td class="l">{a:%Y-%m-%d %H:%M}</td><td class="l">{b:%Y-%m-%d %H:%M}</td>'
        f"<td>{_num(f, run.unit)}</td><td>{_num(r, pct=True)}</td></tr>" for n, a, b, f, r in rows)
    return (f'<table id="benchmarks"><tr><th class="l">series</th><th class="l">from</th><th class="l">to</th>'
            f"<th>final equity</th><th>return</th></tr>{body}</table>"
            '<p class="muted">Benchmarks receive the run\'s own deposits and withdrawals; the return column is '
            "left blank for them when the run has flows (the strategy's is time-weighted).</p>")


def _trades_table(run: RunData) -> str:
    t = run.trades
    if t.empty:
        return "<p>No trades.</p>"
    shown = t.head(MAX_TRADE_ROWS)
    cols = [c for c in ("timestamp", "venue", "operation", "instrument", "side", "amount", "price", "fee",
                        "fee_currency", "gas", "status", "error_code", "reason") if c in t.columns]
    left = {"timestamp", "venue", "operation", "instrument", "side", "fee_currency", "status", "error_code", "reason"}
    head = "".join(f'<th class="{"l" if c in left else ""}">{c}</th>' for c in cols)
    out = []
    for row in shown[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, row):
            if c == "timestamp":
                txt = f"{v:%Y-%m-%d %H:%M}"
            elif isinstance(v, float):
                txt = "" if not math.isfinite(v) else (f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.2f}")
            else:
                txt = html.escape(str(v))
            cells.append(f'<td class="{"l" if c in left else ""}">{txt}</td>')
        failed = "status" in cols and str(row[cols.index("status")]) != "filled"
        out.append(f'<tr class="{"failed" if failed else ""}">{"".join(cells)}</tr>')
    more = (f'<p class="muted">Showing the first {MAX_TRADE_ROWS:,} of {len(t):,} trades; all are in trades.csv.</p>'
            if len(t) > MAX_TRADE_ROWS else f'<p class="muted">{len(t):,} trades (also in trades.csv).</p>')
    return f'{more}<div class="scroll"><table id="trades"><tr>{head}</tr>{"".join(out)}</table></div>'


def _plotly_dir() -> Path:
    """The installed plotly package's folder (found without importing plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("plotly is not installed: the report inlines its plotly.min.js")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def plotly_js() -> bytes:
    """The plotly.js bundle shipped with the installed plotly (what ``plotly.offline.get_plotlyjs`` returns)."""
    return (_plotly_dir() / "package_data" / "plotly.min.js").read_bytes()


@functools.lru_cache(maxsize=4)
def template_json(name: str) -> str:
    """A plotly template shipped with the installed plotly, as JSON (what plotly writes for ``template=name``)."""
    path = _plotly_dir() / "package_data" / "templates" / f"{name}.json"
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))


def _typed_array(a: np.ndarray) -> dict[str, str] | list:
    """A numeric array as plotly's base64 typed array (float64, little-endian); anything else as a list."""
    if a.dtype.kind not in "fiu" or a.ndim != 1:
        return a.tolist()
    return {"dtype": "f8", "bdata": base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")}


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return _typed_array(o)
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def to_json(obj: Any) -> str:
    """JSON of a figure dict (numpy arrays as typed arrays) that is safe inside ``<script>``: ``<`` is
    escaped, so no string in the data can close the script or open a comment."""
    return json.dumps(obj, default=_json_default, separators=(",", ":")).replace("<", "\\u003c")


def chart_div(fig: dict[str, Any], name: str) -> str:
    """The chart's ``<div id="chart-<name>">`` and the script that draws it (``basiskitPlot``, see ``_SCRIPT``)."""
    layout = dict(fig.get("layout") or {})
    template = layout.pop("template", None)
    height = layout.get("height")
    style = f"height:{int(height)}px; width:100%;" if isinstance(height, (int, float)) else "width:100%;"
    div_id = f"chart-{name}"
    return (f'<div style="{style}"><div id="{div_id}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
            f"<script>basiskitPlot({json.dumps(div_id)},{to_json(fig.get('data') or [])},{to_json(layout)},"
            f"{json.dumps(template)});</script></div>")


# Draws one chart: the template is looked up by name among those the page carries (a fresh copy per
# chart: plotly.js keeps a reference to what it is given).
_SCRIPT = ("var basiskitTemplates={%s};var basiskitConfig=%s;"
           "function basiskitPlot(id,data,layout,template){if(!document.getElementById(id))return;"
           "if(template&&basiskitTemplates[template])layout.template=JSON.parse(basiskitTemplates[template]);"
           "Plotly.newPlot(id,data,layout,basiskitConfig);}")


def _templates(charts: dict[str, dict | None]) -> str:
    names = sorted({str(f["layout"]["template"]) for f in charts.values()
                    if f is not None and isinstance((f.get("layout") or {}).get("template"), str)})
    return ",".join(f"{json.dumps(n)}:{to_json(template_json(n))}" for n in names)


def render_chunks(run: RunData, bench: Benchmarks, charts: dict[str, dict | None], notes: list[str]) -> Iterator[bytes]:
    """The page as UTF-8 byte chunks (the inlined plotly.js is one of them, never decoded); ``charts``
    maps a chart name to its figure dict (None = not applicable)."""
    s = run.summary
    title = f"{s.get('mode', '?')} — {run.run_id}"
    sub = (f"{html.escape(str(s.get('start')))} → {html.escape(str(s.get('end')))} · share class {html.escape(run.unit)} · "
           f"{s.get('steps', len(run.equity)):,} steps of {s.get('step_seconds', '?')} s · "
           f"generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by basiskit {__version__}")
    sections = [f"<section><h2>Summary</h2>{_kpis(run)}</section>",
                f"<section><h2>Strategy and benchmarks</h2>{_benchmark_table(run, bench)}</section>"]
    for name, fig in charts.items():
        if fig is not None:
            sections.append(f'<section class="chart">{chart_div(fig, name)}</section>')
    skipped = [n for n, f in charts.items() if f is None]
    if skipped:
        notes = notes + [f"Not applicable to this run (no data for it): {', '.join(skipped)}."]
    if notes:
        sections.append('<section class="notes"><h2>Notes</h2><ul>' +
                        "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul></section>")
    sections.append(folds_section(s))  # ML modes: per-fold out-of-sample results ("" otherwise)
    sections.append(f"<section><h2>Trades</h2>{_trades_table(run)}</section>")
    yield (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
           f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style>'
           f'<script type="text/javascript">').encode("utf-8")
    yield plotly_js()
    yield (f"</script><script>{_SCRIPT % (_templates(charts), json.dumps(PLOT_CONFIG))}</script></head><body>"
           f"<header><h1>{html.escape(title)}</h1><div class=\"sub\">{sub}</div></header>"
           f"<main>{''.join(sections)}</main></body></html>").encode("utf-8")


def render(run: RunData, bench: Benchmarks, charts: dict[str, dict | None], notes: list[str]) -> str:
    """The whole page as a string (see :func:`render_chunks`)."""
    return b"".join(render_chunks(run, bench, charts, notes)).decode("utf-8")
