"""A sweep's results: the trials table, the best trial, parameter importance, the charts (a heatmap of
the objective over two parameters, parallel coordinates for any number) and the files of
``results/sweeps/<id>/``: ``trials.csv``, ``best.json``, ``importance.json``, ``sweep.html``
(self-contained: plotly.js inlined), ``heatmap.png`` (two parameters; kaleido + Chromium, as the run
reports' PNGs), and for a walk-forward sweep ``walk_forward.csv``/``walk_forward.json``.

Parameter importance: Optuna's PED-ANOVA evaluator (``optuna.importance.PedAnovaImportanceEvaluator``,
Optuna's default: deterministic and without scikit-learn, which fANOVA and the mean-decrease-impurity
evaluator need); needs two finished trials that differ.

Raises: PngExportError (RUN-009) when no browser is there for the PNG (the other files are written first).
"""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path
from typing import Any

from basiskit.sweeps.driver import TRIAL_METRICS
from basiskit.sweeps.study import latest_by_index

Figure = dict[str, Any]


def trial_rows(study, keys: list[str]) -> list[dict[str, Any]]:  # noqa: ANN001
    """One row per sweep index (its last attempt), by index: ``index``, ``run_id``, ``state``,
    ``params`` (key -> value), ``value`` (the objective, None unless COMPLETE), ``metrics``,
    ``seconds``, ``error`` (code and message), ``note``."""
    out = []
    for k, t in sorted(latest_by_index(study.get_trials(deepcopy=False)).items()):
        err = t.user_attrs.get("error")
        out.append({"index": k, "run_id": t.user_attrs.get("run_id"), "state": t.state.name.lower(),
                    "params": {p: t.params.get(p) for p in keys}, "value": t.value if t.state.name == "COMPLETE" else None,
                    "metrics": t.user_attrs.get("metrics") or {}, "seconds": t.user_attrs.get("seconds"),
                    "error": None if not err else {"code": err.get("code"), "message": err.get("message")},
                    "note": t.user_attrs.get("note")})
    return out


def best_row(rows: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The completed trial with the best objective (ties: the lowest index)."""
    done = [r for r in rows if r["value"] is not None]
    if not done:
        return None
    sign = -1.0 if direction == "max" else 1.0
    return min(done, key=lambda r: (sign * r["value"], r["index"]))


def importance(study) -> dict[str, float]:  # noqa: ANN001
    """PED-ANOVA importance per parameter (normalised to sum to 1); {} with fewer than two distinct
    finished trials."""
    import optuna

    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(done) < 2 or len({json.dumps(t.params, sort_keys=True, default=str) for t in done}) < 2:
        return {}
    import warnings

    try:
        ev = optuna.importance.PedAnovaImportanceEvaluator()
        with warnings.catch_warnings():  # "quantiles select the same set of trials": equal importances, said by the numbers
            warnings.simplefilter("ignore", UserWarning)
            return {k: float(v) for k, v in optuna.importance.get_param_importances(study, evaluator=ev).items()}
    except (RuntimeError, ValueError):  # e.g. every parameter constant among the finished trials
        return {}


def _label(v: Any) -> str:
    return json.dumps(v) if isinstance(v, str) else str(v)


def heatmap_figure(rows: list[dict[str, Any]], keys: list[str], objective: str) -> Figure | None:
    """The objective over the first two parameters: a heatmap cell per pair of values taken (mean when
    several trials share a pair, e.g. a third parameter); None without two parameters or finished trials."""
    if len(keys) < 2:
        return None
    kx, ky = keys[0], keys[1]
    done = [r for r in rows if r["value"] is not None]
    if not done:
        return None
    xs = sorted({r["params"][kx] for r in done}, key=lambda v: (isinstance(v, str), v))
    ys = sorted({r["params"][ky] for r in done}, key=lambda v: (isinstance(v, str), v))
    if len(xs) > 60 or len(ys) > 60:  # continuous ranges: a scatter coloured by the objective instead
        return {"data": [{"type": "scatter", "mode": "markers", "x": [r["params"][kx] for r in done],
                          "y": [r["params"][ky] for r in done],
                          "marker": {"color": [r["value"] for r in done], "colorscale": "Viridis", "size": 10,
                                     "showscale": True, "colorbar": {"title": {"text": objective}}},
                          "text": [r["run_id"] for r in done], "hovertemplate": f"{kx}=%{{x}}<br>{ky}=%{{y}}<br>"
                          f"{objective}=%{{marker.color:.6g}}<br>%{{text}}<extra></extra>"}],
                "layout": {"title": {"text": f"{objective} by {kx} and {ky}"}, "xaxis": {"title": {"text": kx}},
                           "yaxis": {"title": {"text": ky}}, "height": 520, "template": "plotly_white"}}
    sums: dict[tuple, list[float]] = {}
    for r in done:
        sums.setdefault((r["params"][kx], r["params"][ky]), []).append(r["value"])
    z = [[(sum(sums[(x, y)]) / len(sums[(x, y)])) if (x, y) in sums else None for x in xs] for y in ys]
    text = [[("" if v is None else f"{v:.4g}") for v in row] for row in z]
    return {"data": [{"type": "heatmap", "x": [_label(x) for x in xs], "y": [_label(y) for y in ys], "z": z,
                      "text": text, "texttemplate": "%{text}", "colorscale": "Viridis",
                      "colorbar": {"title": {"text": objective}},
                      "hovertemplate": f"{kx}=%{{x}}<br>{ky}=%{{y}}<br>{objective}=%{{z:.6g}}<extra></extra>"}],
            "layout": {"title": {"text": f"{objective} by {kx} (x) and {ky} (y)"},
                       "xaxis": {"title": {"text": kx}, "type": "category"},
                       "yaxis": {"title": {"text": ky}, "type": "category"}, "height": 520, "template": "plotly_white"}}


def parcoords_figure(rows: list[dict[str, Any]], keys: list[str], objective: str) -> Figure | None:
    """Parallel coordinates: one axis per parameter (lists as numbered ticks) and the objective, one line
    per finished trial coloured by the objective."""
    done = [r for r in rows if r["value"] is not None]
    if not done:
        return None
    dims = []
    for k in keys:
        vals = [r["params"][k] for r in done]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            dims.append({"label": k, "values": vals})
        else:
            cats = sorted({_label(v) for v in vals})
            dims.append({"label": k, "values": [cats.index(_label(v)) for v in vals], "tickvals": list(range(len(cats))),
                         "ticktext": cats})
    values = [r["value"] for r in done]
    dims.append({"label": objective, "values": values})
    return {"data": [{"type": "parcoords", "dimensions": dims,
                      "line": {"color": values, "colorscale": "Viridis", "showscale": True,
                               "colorbar": {"title": {"text": objective}}}}],
            "layout": {"title": {"text": f"trials: parameters and {objective}"}, "height": 480,
                       "template": "plotly_white", "margin": {"l": 80, "r": 80}}}


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.10g}" if math.isfinite(v) else ""
    return str(v)


def write_trials_csv(path: Path, rows: list[dict[str, Any]], keys: list[str], objective: str) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["index", "run_id", "state", *keys, objective, *[f"m_{m}" for m in TRIAL_METRICS], "seconds",
                    "error_code", "note"])
        for r in rows:
            w.writerow([r["index"], r["run_id"], r["state"], *[_fmt(r["params"].get(k)) for k in keys], _fmt(r["value"]),
                        *[_fmt(r["metrics"].get(m)) for m in TRIAL_METRICS], _fmt(r["seconds"]),
                        (r["error"] or {}).get("code") or "", r["note"] or ""])


def _table_html(rows: list[dict[str, Any]], keys: list[str], objective: str, limit: int = 500) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["#", "run id", "state", *keys, objective, "apy", "sharpe",
                                                           "max dd"])
    body = []
    for r in rows[:limit]:
        m = r["metrics"]
        cells = [r["index"], r["run_id"], r["state"], *[r["params"].get(k) for k in keys], r["value"], m.get("apy"),
                 m.get("sharpe"), m.get("max_drawdown")]
        body.append("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_html(path: Path, info: dict[str, Any], rows: list[dict[str, Any]], keys: list[str],
               charts: dict[str, Figure | None]) -> None:
    """``sweep.html``: the sweep, its best trial, importance, the charts and the trials table; plotly.js
    inlined (the report's bundle), so the page opens offline."""
    from basiskit.reports.html import plotly_js, to_json

    spec = info["spec"]
    best = info.get("best")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(info['id'])}</title><style>"
             "body{font-family:sans-serif;margin:20px;color:#1b1f24}table{border-collapse:collapse;font-size:12px}"
             "td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f6f8fa}"
             "</style><script>", plotly_js().decode("utf-8"), "</script></head><body>",
             f"<h1>sweep {html.escape(info['id'])}</h1>",
             f"<p>{html.escape(spec['mode'])} {html.escape(spec['start'])} .. {html.escape(spec['end'])}, "
             f"objective {html.escape(spec['objective'])} ({html.escape(spec['direction'])}), sampler "
             f"{html.escape(spec['sampler'])}, seed {spec['seed']}, {info['progress']['done']}/{info['progress']['total']} "
             "trials done</p>"]
    if best:
        parts.append(f"<h2>best trial</h2><pre>{html.escape(json.dumps(best, indent=1, default=str))}</pre>")
    if info.get("importance"):
        parts.append("<h2>parameter importance (PED-ANOVA)</h2><pre>"
                     + html.escape(json.dumps(info["importance"], indent=1)) + "</pre>")
    for name, fig in charts.items():
        if fig is not None:
            parts.append(f"<div id='chart-{name}'></div><script>Plotly.newPlot('chart-{name}', "
                         f"{to_json(fig['data'])}, {to_json(fig['layout'])}, {{displaylogo: false}});</script>")
    parts.append("<h2>trials</h2>" + _table_html(rows, keys, spec["objective"]) + "</body></html>")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(parts), encoding="utf-8")
    tmp.replace(path)


def write_outputs(out: Path, info: dict[str, Any], rows: list[dict[str, Any]], png: bool = True) -> dict[str, Path]:
    """Write the sweep's files into ``out`` (created); returns name -> path. ``info``: ``sweep_info``."""
    out.mkdir(parents=True, exist_ok=True)
    keys = [p.split("=", 1)[0] for p in info["spec"]["params"]]
    objective = info["spec"]["objective"]
    paths = {"trials": out / "trials.csv", "best": out / "best.json", "importance": out / "importance.json",
             "html": out / "sweep.html"}
    write_trials_csv(paths["trials"], rows, keys, objective)
    paths["best"].write_text(json.dumps(info.get("best"), indent=2, default=str))
    paths["importance"].write_text(json.dumps(info.get("importance") or {}, indent=2))
    charts = {"heatmap": heatmap_figure(rows, keys, objective), "parcoords": parcoords_figure(rows, keys, objective)}
    wf = info.get("walk_forward")
    if wf:
        paths["walk_forward"] = out / "walk_forward.json"
        paths["walk_forward"].write_text(json.dumps(wf, indent=2, default=str))
        paths["walk_forward_csv"] = out / "walk_forward.csv"
        with paths["walk_forward_csv"].open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["window", "train_start", "train_end", "test_start", "test_end", *keys,
                        f"train_{objective}", f"test_{objective}", "test_total_return", "test_run_id"])
            for s in wf["series"]:
                w.writerow([s["window"], s["train_start"], s["train_end"], s["test_start"], s["test_end"],
                            *[_fmt((s["params"] or {}).get(k)) for k in keys], _fmt(s["train_value"]),
                            _fmt(s["test_value"]), _fmt(s["test_total_return"]), s["test_run_id"] or ""])
    write_html(paths["html"], info, rows, keys, charts)
    if png and charts["heatmap"] is not None:
        from basiskit.reports.png import write_images

        paths["heatmap_png"] = write_images({"heatmap": charts["heatmap"]}, out, width=900)[0]
    return paths
