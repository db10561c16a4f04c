"""Run reports: ``report.html`` (self-contained) and PNG charts, from a run's results folder.

``write_report(out_dir)`` -> ``out_dir/report.html``; ``write_pngs(out_dir)`` -> ``out_dir/png/*.png``
(rendered by kaleido, which drives a local Chrome/Chromium). Both read only the run's files and the
catalog (for benchmarks); they never re-run the backtest.

Raises:
    RunFilesMissing (RUN-008): the folder is not a finished run's results (the file is named).
    PngExportError (RUN-009): no Chrome/Chromium for the PNG export (the message says how to install it).
"""

from __future__ import annotations

import logging
from pathlib import Path

import plotly.graph_objects as go

from basiskit.data.catalog import Catalog
from basiskit.data.errors import DataError
from basiskit.reports import figures
from basiskit.reports.benchmarks import Benchmarks, benchmark_curves
from basiskit.reports.html import render
from basiskit.reports.png import PngExportError, write_images
from basiskit.reports.rundata import RunData, load_run

__all__ = ["write_report", "write_pngs", "build_charts", "load_run", "RunData", "PngExportError"]

log = logging.getLogger(__name__)

PNG_CHARTS = ("equity", "attribution", "attribution_totals", "funding", "ltv_health", "margin", "delta", "positions")


def _benchmarks(run: RunData, catalog: Catalog | None) -> Benchmarks:
    if catalog is None:
        return Benchmarks(notes=["Benchmarks not drawn: no data catalog given."])
    try:
        return benchmark_curves(catalog, run.equity.index, run.equity["net_deposits"].to_numpy(),
                                float(run.summary["initial_equity"]), run.unit)
    except DataError as exc:
        return Benchmarks(notes=[f"Benchmarks not drawn: {exc}"])


def build_charts(run: RunData, bench: Benchmarks) -> dict[str, go.Figure | None]:
    """Chart name -> figure (None where the run has nothing to draw), in report order."""
    return {"equity": figures.equity_figure(run, bench), "attribution": figures.attribution_figure(run),
            "attribution_totals": figures.attribution_totals_figure(run), "funding": figures.funding_figure(run),
            "ltv_health": figures.ltv_health_figure(run), "margin": figures.margin_figure(run),
            "delta": figures.delta_figure(run), "positions": figures.positions_figure(run)}


def write_report(out_dir: str | Path, *, catalog: Catalog | None = None, benchmarks: bool = True) -> Path:
    """Write ``out_dir/report.html`` for the run in ``out_dir``; returns its path. ``catalog`` feeds
    the benchmarks (none drawn without one, or with ``benchmarks=False``)."""
    run = load_run(out_dir)
    cat = catalog if benchmarks else None
    bench = _benchmarks(run, cat) if cat is not None else Benchmarks()
    page = render(run, bench, build_charts(run, bench), bench.notes)
    path = run.out_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)  # readers never see half a page
    return path


def write_pngs(out_dir: str | Path, *, catalog: Catalog | None = None, source_dir: Path | None = None,
               dest: str | Path | None = None, width: int = 1400, scale: float = 1.0) -> list[Path]:
    """Write the main charts of the run in ``out_dir`` as PNG files to ``dest`` (default
    ``out_dir/png``); returns the paths, in report order. Charts the run has no data for are skipped."""
    run = load_run(out_dir)
    bench = _benchmarks(run, catalog or _default_catalog(source_dir))
    charts = {k: f for k, f in build_charts(run, bench).items() if f is not None and k in PNG_CHARTS}
    return write_images(charts, Path(dest) if dest else run.out_dir / "png", width=width, scale=scale)
