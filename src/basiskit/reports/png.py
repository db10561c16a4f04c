"""PNG export of report charts with kaleido (plotly's image engine; it drives a local Chrome or
Chromium, found on PATH or in ``BROWSER_PATH``). The charts come as plotly figure dicts
(``basiskit.reports.figures``); they become ``plotly.graph_objects`` figures only here.

Raises:
    PngExportError (RUN-009): kaleido cannot start a browser (the message says how to install one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from basiskit.errors.exceptions import StopRun


class PngExportError(StopRun):
    """No browser for kaleido, or the image engine failed; the message says what to install."""
    code = "RUN-009"


def write_images(charts: dict[str, dict[str, Any]], dest: Path, *, width: int = 1400, scale: float = 1.0) -> list[Path]:
    """Write ``<dest>/<name>.png`` per chart (``width`` CSS px, the figure's own height); returns the paths."""
    # plotly's graph objects and kaleido load only here: a PNG export is asked for explicitly (report --png)
    import plotly.graph_objects as go
    import plotly.io as pio

    dest.mkdir(parents=True, exist_ok=True)
    paths = [dest / f"{name}.png" for name in charts]
    figs = [go.Figure(c) for c in charts.values()]
    heights = [int(f.layout.height or 450) for f in figs]
    try:
        pio.write_images(figs, paths, format="png", scale=scale, width=width, height=heights)
    except Exception as exc:  # noqa: BLE001 - kaleido raises several types when no browser starts
        raise PngExportError(
            f"PNG export failed ({type(exc).__name__}: {exc}). It needs Chrome or Chromium: "
            "`apt-get install -y chromium` (Debian/Ubuntu), or set BROWSER_PATH to a Chrome binary.") from exc
    return paths
