"""Run reports: ``report.html`` (self-contained) and PNG charts, from a run's results folder.

``write_report(out_dir)`` -> ``out_dir/report.html``; ``write_pngs(out_dir)`` -> ``out_dir/png/*.png``
(rendered by kaleido, which drives a local Chrome/Chromium). Both read only the run's files and the
catalog (for benchmarks); they never re-run the backtest. The charts are plain plotly figure dicts
(``basiskit.reports.figures``): writing report.html never imports plotly's Python package (only its
plotly.js bundle is read); the PNG export does, when it is asked for.

Raises:
    RunFilesMissing (RUN-008): the folder is not a finished run's results (the file is named).
    PngExportError (RUN-009): no Chrome/Chromium for the PNG export (the message says how to install it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from typing import TYPE_CHECKING

from basiskit.data.errors import DataError
from basiskit.reports import figures
from basiskit.reports.benchmarks import Benchmarks, benchmark_curves
from basiskit.reports.downsample import downsample_figure
from basiskit.reports.html import render_chunks
from basiskit.reports.png import PngExportError, write_images
from basiskit.reports.rundata import RunData, load_run

if TYPE_CHECKING:
    from basiskit.data.catalog import Catalog

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


def build_charts(run: RunData, bench: Benchmarks) -> dict[str, figures.Figure | None]:
    """Chart name -> plotly figure dict (None where the run has nothing to draw), in report order.
    Line traces of more than ``downsample.MAX_POINTS`` points are downsampled, extremes kept, and
    the chart says so (``basiskit.reports.downsample``)."""
    makers = {"equity": lambda: figures.equity_figure(run, bench), "attribution": lambda: figures.attribution_figure(run),
              "attribution_totals": lambda: figures.attribution_totals_figure(run),
              "funding": lambda: figures.funding_figure(run), "ltv_health": lambda: figures.ltv_health_figure(run),
              "margin": lambda: figures.margin_figure(run), "delta": lambda: figures.delta_figure(run),
              "positions": lambda: figures.positions_figure(run)}
    # each chart cut as soon as it is built: one chart's per-step arrays alive at a time
    return {name: downsample_figure(make()) for name, make in makers.items()}


def write_report(out_dir: str | Path, *, catalog: Catalog | None = None, benchmarks: bool = True,
                 equity=None) -> Path:
    """Write ``out_dir/report.html`` for the run in ``out_dir``; returns its path. ``catalog`` feeds
    the benchmarks (none drawn without one, or with ``benchmarks=False``); ``equity``: the table the
    run's ``equity.csv`` writer returned (``results.export.WrittenTable``, what the file reads back),
    so the file is not parsed again."""
    run = load_run(out_dir, equity)
    cat = catalog if benchmarks else None
    bench = _benchmarks(run, cat) if cat is not None else Benchmarks()
    path = run.out_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    with tmp.open("wb") as fh:
        fh.writelines(render_chunks(run, bench, build_charts(run, bench), bench.notes))
    tmp.replace(path)  # readers never see half a page
    return path


def write_pngs(out_dir: str | Path, *, catalog: Catalog | None = None, dest: str | Path | None = None,
               width: int = 1400, scale: float = 1.0) -> list[Path]:
    """Write the main charts of the run in ``out_dir`` as PNG files to ``dest`` (default
    ``out_dir/png``); returns the paths, in report order. Charts the run has no data for are skipped;
    ``catalog`` feeds the benchmarks (none drawn without one)."""
    run = load_run(out_dir)
    bench = _benchmarks(run, catalog) if catalog is not None else Benchmarks()
    charts = {k: f for k, f in build_charts(run, bench).items() if f is not None and k in PNG_CHARTS}
    return write_images(charts, Path(dest) if dest else run.out_dir / "png", width=width, scale=scale)
